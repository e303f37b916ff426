import DQTModel

/// What a checked row becomes, in the parts a planned call needs.
struct BuiltRow {
    var warnings: [RecordWarning] = []
    /// Empty unless the call was asked for.
    var path = ""
    var body: String?
    var expectation: JSONValue?
}

/// Turns a row's converted values (by slot) into its API call: through a hand-written record type, or through the
/// body and path the mapping declares. The pipeline is generic over it, so each is compiled specialised.
protocol RowBuilder: Sendable {
    func build(_ values: [FieldValue], recordType: String?, genderDigit: UInt8?, wantsCall: Bool) throws(RecordRejection)
        -> BuiltRow
}

/// A hand-written record type: it says which fields exist, checks what only code can, and builds its body.
struct TypedRowBuilder<Record: FeedRecord>: RowBuilder {
    let operation: OperationTemplate

    func build(_ values: [FieldValue], recordType: String?, genderDigit: UInt8?, wantsCall: Bool) throws(RecordRejection)
        -> BuiltRow
    {
        let record = try Record(MappedRow(values: values, recordType: recordType, trnGenderDigit: genderDigit))
        guard wantsCall else { return BuiltRow(warnings: record.warnings) }
        return BuiltRow(
            warnings: record.warnings, path: operation.path(for: record), body: record.body?.serialized, expectation: record.expectation)
    }
}

/// A mapping's declared body: the path's placeholders and the body's values come straight from the row's fields.
struct DeclaredRowBuilder: RowBuilder {
    let operation: OperationTemplate
    let body: BodyTemplate?
    /// The slot that fills each placeholder of the path, in order, and its field's name.
    let pathSlots: [(slot: Int, name: String)]

    func build(_ values: [FieldValue], recordType: String?, genderDigit: UInt8?, wantsCall: Bool) throws(RecordRejection)
        -> BuiltRow
    {
        var parameters: [String] = []
        parameters.reserveCapacity(pathSlots.count)
        for (slot, name) in pathSlots {
            guard let text = values[slot].comparableText else {
                throw RecordRejection(fieldName: name, code: "constraint-error", message: "the API path needs this field")
            }
            parameters.append(text)
        }
        let body = try self.body?.serialized(values)
        guard wantsCall else { return BuiltRow() }
        return BuiltRow(path: operation.path({ parameters[$0] }), body: body)
    }
}
