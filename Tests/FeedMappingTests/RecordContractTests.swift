import DQTModel
import Foundation
import Testing

@testable import FeedMapping

/// The hand-written record types against the contract: a fully filled record of each, serialized as the checker
/// sends it, must satisfy the request schema of the operation its committed mapping names (the schema a declared body
/// is typed against when it loads).
@Suite("Hand-written records against the contract's request schemas")
struct RecordContractTests {
    /// A row of each record type with every field filled, by field name.
    static func sampleRow(_ type: RecordTypeName) -> [String: FieldValue] {
        let trn = FieldValue.trn(TRN("1000007")!)
        let nino = FieldValue.nationalInsuranceNumber(NationalInsuranceNumber("AB123456C")!)
        switch type {
        case .capitaImport:
            return [
                "trn": trn, "gender": .code("Female"), "lastName": .text("Synthetic"), "forenames": .text("Ann Marie"),
                "previousLastName": .text("Example"), "dateOfBirth": date("1980-02-03"), "nationalInsuranceNumber": nino,
                "dateOfDeath": date("2026-01-02"),
            ]
        case .capitaRegister:
            return [
                "trn": trn, "gender": .code("Male"), "dateOfBirth": date("1980-02-03"), "lastName": .text("Synthetic"),
                "forenames": .text("Ann"), "previousLastName": .text("Example"), "nationalInsuranceNumber": nino, "surnamePrefix": .text("de"),
            ]
        case .welshInduction:
            return [
                "trn": trn, "firstName": .text("Ann"), "lastName": .text("Synthetic"), "dateOfBirth": date("1980-02-03"),
                "startDate": date("2024-09-01"), "passDate": date("2026-07-01"), "status": .code("Pass"), "employerName": .text("School"),
                "employerCode": .text("123"),
            ]
        case .welshQTS:
            return [
                "trn": trn, "firstName": .text("Ann"), "lastName": .text("Synthetic"), "dateOfBirth": date("1980-02-03"),
                "statusCode": .text("71"), "routeType": .code(RouteType.welshRecognition), "trainingCountry": .code("GB-WLS"),
                "qtsDate": date("2026-07-01"), "ittStartMonth": .integer(9), "ittStartYear": .integer(25), "ittEndDate": date("2026-06-30"),
                "ittSubject1": .text("100403"), "ittSubject2": .text("100425"), "ittMinimumAge": .integer(7), "ittMaximumAge": .integer(11),
            ]
        case .workforce:
            return [
                "trn": trn, "nationalInsuranceNumber": nino, "dateOfBirth": date("1980-02-03"), "dateOfDeath": date("2026-01-02"),
                "memberPostcode": .text("AB1 2CD"), "memberEmailAddress": .text("member@example.org"), "localAuthorityCode": .text("201"),
                "establishmentCode": .text("1234"), "establishmentPostcode": .text("AB1 2CE"),
                "establishmentEmailAddress": .text("school@example.org"), "startDate": date("2025-09-01"), "endDate": date("2026-07-31"),
                "employmentType": .code("FT"), "withdrawn": .boolean(false), "extractDate": date("2026-10-31"), "gender": .code("Female"),
            ]
        case .claimExtract:
            return ["trn": trn, "qtsDate": date("2020-07-01"), "activeAlert": .boolean(false)]
        case .giasEstablishment:
            return [
                "urn": .integer(100001), "laCode": .text("201"), "laName": .text("Synthetic LA"), "establishmentNumber": .text("1234"),
                "name": .text("Synthetic School"), "typeCode": .text("01"), "typeName": .text("Community school"), "typeGroupCode": .text("4"),
                "typeGroupName": .text("Local authority maintained schools"), "statusCode": .text("2"), "statusName": .text("Closed"),
                "phaseCode": .text("2"), "phaseName": .text("Primary"), "numberOfPupils": .integer(210), "percentageFsm": .decimal("12.5"),
                "street": .text("1 Example Road"), "locality": .text("Example"), "address3": .text("Block B"), "town": .text("Exampleton"),
                "county": .text("Exampleshire"), "postcode": .text("AB1 2CD"), "closeDate": date("2025-08-31"),
            ]
        case .tpsEstablishment:
            return [
                "laCode": .text("201"), "establishmentCode": .text("1234"), "empsName": .text("Synthetic School"),
                "giasName": .text("Synthetic School"), "schoolClosedDate": date("2025-08-31"),
            ]
        case .dbsReconciliation:
            return [
                "reference": .text("DBS0000000001"), "trn": trn, "barredList": .code("B1"), "status": .code("Barred"),
                "statusDate": date("2026-03-02"),
            ]
        }
    }

    /// The body a record type builds from `values`, as the checker serializes it.
    static func body(of type: RecordTypeName, _ values: [String: FieldValue]) throws -> String? {
        struct Build: RecordTypeVisitor {
            let values: [String: FieldValue]
            func visit<Record: FeedRecord>(_ type: Record.Type) -> Result<String?, RecordRejection> {
                let row = Record.Field.allCases.map { values[$0.name] ?? .absent }
                return Result { () throws(RecordRejection) -> String? in
                    try TypedRowBuilder<Record>(operation: OperationTemplate(method: "PUT", path: "/")!)
                        .build(row, recordType: nil, genderDigit: nil, wantsCall: true).body
                }
            }
        }
        var build = Build(values: values)
        return try type.accept(&build).get()
    }

    @Test("every record type's body satisfies its operation's request schema", arguments: RecordTypeName.allCases)
    func conforms(_ type: RecordTypeName) throws {
        let feeds = committedCatalog.feeds.filter { $0.record == type }
        #expect(!feeds.isEmpty, "no committed mapping uses \(type.rawValue)")
        let body = try Self.body(of: type, Self.sampleRow(type))
        for feed in feeds {
            let operation = try #require(try contract().operation(method: feed.operation.method, path: feed.operation.path), "\(feed.id)")
            guard let schema = operation.requestBody else {
                #expect(body == nil, "\(type.rawValue) builds a body for \(operation.id), which takes none")
                continue
            }
            let json = try parsedJSON(try #require(body, "\(type.rawValue) builds no body for \(operation.id)"))
            #expect(schema.violations(of: json) == [], "\(type.rawValue) for \(feed.id)")
        }
    }

    @Test("the validator finds a body that breaks the schema")
    func findsViolations() throws {
        let schema = try #require(try contract().operation(method: "PUT", path: "/v3/persons/1/cpd-induction")?.requestBody)
        let broken = try parsedJSON(#"{"status":"Done","startDate":"01/09/2024","completedDate":7,"extra":true}"#)
        let found = Set(schema.violations(of: broken).map { "\($0.path) \($0.code)" })
        #expect(
            found == [
                "body.status body-enum-error", "body.startDate body-format-error", "body.startDate body-pattern-error",
                "body.completedDate body-type-error", "body.extra body-unknown-property", "body.modifiedOn body-missing-property",
            ])
    }

    @Test("every request body of the contract resolves to an object schema with its properties")
    func contractLoads() throws {
        let withBodies = try contract().operations.filter { $0.requestBody != nil }
        #expect(withBodies.count >= 10)
        for operation in withBodies {
            let schema = try #require(operation.requestBody)
            #expect(schema.allows("object") && !schema.properties.isEmpty, "\(operation.id)")
        }
    }
}
