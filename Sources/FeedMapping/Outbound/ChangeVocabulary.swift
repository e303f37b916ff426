/// What the change feed carries, for checking outbound mappings when they load: the kinds (`resource.verb`) and the
/// document fields of each resource (contract of `GET /v3/changes`).
enum ChangeVocabulary {
    static let itemFields: Set<String> = ["cursor", "kind", "trn", "keyName", "operation", "at"]
    static let problemFields: Set<String> = ["file", "line", "field", "code", "message", "trn"]

    static let personFields: Set<String> = [
        "trn", "firstName", "middleName", "lastName", "previousLastName", "dateOfBirth", "nationalInsuranceNumber", "gender",
        "emailAddress", "dateOfDeath",
    ]
    static let alertFields: Set<String> = [
        "alertId", "trn", "alertTypeCode", "details", "startDate", "endDate", "sender", "source", "reference", "endReason", "firstName",
        "middleName", "lastName", "dateOfBirth",
    ]

    /// Every kind, with its documents' fields; nil where the contract names none (only item fields can be used).
    static let kinds: [String: Set<String>?] = [
        "person.created": personFields, "person.updated": personFields,
        "alert.created": alertFields, "alert.updated": alertFields, "alert.ended": alertFields,
        "induction.updated": nil, "qtls.updated": nil, "route.updated": nil, "employment.upserted": nil, "trnRequest.created": nil,
        "establishment.upserted": nil,
    ]

    /// Document fields that are personal data: a column showing one must say `pii: true`.
    static let personalData: Set<String> = [
        "firstName", "middleName", "lastName", "previousLastName", "dateOfBirth", "nationalInsuranceNumber", "emailAddress", "dateOfDeath",
    ]
}
