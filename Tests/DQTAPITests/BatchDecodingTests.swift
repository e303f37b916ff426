import DQTTesting
import Foundation
import Testing

@testable import DQTAPI

/// The batch endpoint's fast reader against the reference path, on seeded batches: valid workforce and mixed
/// batches, then structured mutations (escapes, unicode, nulls, missing and extra keys, wrong types, huge numbers,
/// duplicate keys) and byte mutations and truncations of them.
@Suite struct BatchDecodingTests {
    static let principal = Principal(keyID: 1, keyName: "test-all", roles: Set(Role.allCases), rateLimit: 1_000_000)

    /// Bodies of every kind of batch operation, valid.
    static let operations: [String] = [
        workforce(trn: "1000001"), workforce(trn: "1000002", start: "2023-04-01", establishment: nil),
        #"{"method":"PUT","path":"/v3/capita/persons/2200001","idempotencyKey":"b:1","source":{"feed":"capita-import","fileSha256":"ff00","line":1},"body":{"lastName":"Batchperson","firstName":"Un","dateOfBirth":"1991-01-01","gender":"Male"}}"#,
        #"{"method":"PUT","path":"/v3/persons/1000016/welsh-induction","body":{"passed":true,"startDate":"2021-09-01","completedDate":"2022-07-01"}}"#,
        #"{"method":"PUT","path":"/v3/persons/1000005/cpd-induction","body":{"status":"InProgress","startDate":"2024-09-01","completedDate":null,"modifiedOn":"2024-09-02T10:00:00Z"}}"#,
        #"{"method":"PUT","path":"/v3/persons/1000050/routes-to-professional-statuses/ewc-qts-1","body":{"routeToProfessionalStatusTypeId":"877ba701-fe26-4951-9f15-171f3755d50d","status":"Holds","holdsFrom":"2023-03-01","trainingAgeSpecialism":{"type":"Range","from":11,"to":16},"trainingSubjectReferences":["100425"],"isExemptFromInduction":false}}"#,
        #"{"method":"PUT","path":"/v3/persons/deceased/1000040","body":{"dateOfDeath":"2024-01-01"}}"#,
        #"{"method":"PATCH","path":"/v3/persons/1000044","body":{"lastName":"Newlast","nationalInsuranceNumber":"JE 99 88 77 A"}}"#,
        #"{"method":"put","path":"/v3/persons/1000060/qtls?x=1","body":{"qtsDate":"2020-01-01"}}"#,
        #"{"method":"POST","path":"/v3/alerts","idempotencyKey":"b:9","body":{"trn":"2200001","alertTypeCode":"T1","startDate":"2025-01-01"}}"#,
        #"{"method":"POST","path":"/v3/trn-requests","body":{"requestId":"req-001","person":{"firstName":"Brand","lastName":"Newteacher","dateOfBirth":"1995-05-05","nationalInsuranceNumber":"JA998877A"}}}"#,
        #"{"method":"DELETE","path":"/v3/persons/2200001","body":{}}"#,
        #"{"method":"PUT","path":"/v3/nothing/here"}"#,
    ]

    static func workforce(trn: String, start: String = "2024-09-01", establishment: String? = "4001", key: String? = nil) -> String {
        let employmentKey = "\(trn).201.\(establishment ?? "NULL").\(start.replacingOccurrences(of: "-", with: ""))"
        return
            #"{"method":"PUT","path":"/v3/persons/\#(trn)/employments/\#(employmentKey)","idempotencyKey":"\#(key ?? "tps:\(trn)")","source":{"feed":"tps-workforce","fileSha256":"00ff","line":9},"body":\#(employmentBody(trn: trn, start: start, establishment: establishment).replacingOccurrences(of: "\n", with: ""))}"#
    }

    /// Structured edits, each a (find, replace) tried on one operation.
    static let edits: [(String, String)] = [
        (#""FT""#, #""PTR""#), (#""FT""#, #""XX""#), (#""FT""#, #""F\u0054""#), (#""FT""#, "null"), (#""FT""#, "7"),
        (#""Male""#, #""Female""#), (#""Male""#, #""male""#), (#""Male""#, #""M\u0061le""#),
        (#""withdrawn":false"#, #""withdrawn":true"#), (#""withdrawn":false"#, #""withdrawn":0"#),
        (#""withdrawn":false"#, #""withdrawn":null"#), (#""withdrawn":false"#, #""withdrawn":"false""#),
        (#""withdrawn":false,"#, ""), (#""withdrawn":false,"#, #""withdrawn":false,"withdrawn":true,"#),
        (#""endDate":null"#, #""endDate":"2025-07-31""#), (#""endDate":null"#, #""endDate":"2020-01-01""#),
        (#""endDate":null,"#, ""), (#""endDate":null"#, #""endDate":{}"#), (#""endDate":null"#, #""endDate":[1,2]"#),
        (#""dateOfDeath":null"#, #""dateOfDeath":"1960-01-01""#), (#""dateOfDeath":null"#, #""dateOfDeath":12345678901234567890123"#),
        (#""dateOfDeath":null"#, #""dateOfDeath":1e400"#), (#""dateOfDeath":null"#, #""dateOfDeath":-0"#),
        (#""dateOfDeath":null"#, #""dateOfDeath":1.5"#),
        (#""localAuthorityCode":"201""#, #""localAuthorityCode":201"#), (#""localAuthorityCode":"201","#, ""),
        (#""localAuthorityCode":"201""#, #""localAuthorityCode":null"#), (#""localAuthorityCode":"201""#, #""localAuthorityCode":"2\u00301""#),
        (#""localAuthorityCode":"201""#, #""local\u0041uthorityCode":"201""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"CF10 1AA\"""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"Caerdydd é \ud83d\ude00""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"Caerdydd é 😀 ü""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"\ud83d""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"\u0000""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"  ""#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"CF10 1AA","extra":{"deep":[1,{"a":null}]}"#),
        (#""establishmentPostcode":"CF10 1AA""#, #""establishmentPostcode":"CF10 1AA","extra":1e999"#),
        (#""nationalInsuranceNumber":"JA100037B""#, #""nationalInsuranceNumber":"BAD""#),
        (#""nationalInsuranceNumber":"JA100037B""#, #""nationalInsuranceNumber":"ja 10 00 37 b""#),
        (#""startDate":"2024-09-01""#, #""startDate":"2024-13-01""#), (#""extractDate":"2025-01-31""#, #""extractDate":false"#),
        (#""dateOfBirth":"1970-01-01""#, #""dateOfBirth":"2099-01-01""#),
        (#""body":{"#, #""body":null,"x":{"#), (#""body":{"#, #""body":[{"#), (#""body":{"#, #""body":{"body":{"#),
        (#""idempotencyKey":"tps:"#, #""idempotencyKey":null,"k":"tps:"#), (#""idempotencyKey":"tps:"#, #""idempotencyKey":"tps: "#),
        (#""idempotencyKey":"tps:"#, #""idempotencyKey":"tps\u003a"#), (#""idempotencyKey":"#, #""idempotencyKey":7,"x":"#),
        (#""method":"PUT""#, #""method":"put""#), (#""method":"PUT""#, #""method":null"#), (#""method":"PUT","#, ""),
        (#""method":"PUT""#, #""method":"PUT","method":"PUT""#), (#""method":"PUT""#, #""method":"P\u0055T""#),
        (#""path":"/v3/persons/"#, #""path":"/v3/persons/%31"#), (#""path":"/v3/persons/"#, #""path":"\/v3/persons/"#),
        (#""path":"/v3/persons/"#, #""path":"/v3/personnes/"#), (#""path":"#, #""path":null,"p":"#),
        (#""line":9"#, #""line":"9""#), (#""line":9"#, #""line":9.5"#), (#""line":9"#, #""line":null"#), (#""line":9"#, #""line":-3"#),
        (#""line":9"#, #""line":99999999999999999999"#), (#""line":9"#, #""line":9,"other":true"#), (#""line":9"#, #""line":9,"line":10"#),
        (#""source":{"#, #""source":null,"s":{"#), (#""source":{"#, #""source":{},"t":{"#), (#""source":{"#, #""source":[{"#),
        (#""feed":"tps-workforce""#, #""feed":"tps\tworkforce""#), (#""feed":"tps-workforce""#, #""feed":"tps\u0009workforce""#),
        ("{", " {\n\t"), ("}", " } "), (",", " , "), (":", " : "),
    ]

    /// A batch of seeded random operations, some edited.
    static func batch(_ random: inout SplitMix64) -> String {
        var operations: [String] = []
        for index in 0..<Int.random(in: 0...6, using: &random) {
            var operation =
                Bool.random(using: &random) && index > 0
                ? operations.randomElement(using: &random)!
                : Int.random(in: 0..<3, using: &random) == 0
                    ? Self.operations.randomElement(using: &random)!
                    : workforce(
                        trn: String(1_000_001 + Int.random(in: 0..<58, using: &random)),
                        start: "20\(10 + Int.random(in: 0..<15, using: &random))-0\(1 + Int.random(in: 0..<9, using: &random))-01",
                        establishment: Bool.random(using: &random) ? "4001" : nil)
            for _ in 0..<(Int.random(in: 0..<3, using: &random) == 0 ? Int.random(in: 1...3, using: &random) : 0) {
                let (find, replace) = edits.randomElement(using: &random)!
                if let range = operation.range(of: find) { operation.replaceSubrange(range, with: replace) }
            }
            operations.append(operation)
        }
        switch Int.random(in: 0..<20, using: &random) {
        case 0: return "{\"operations\":[\(operations.joined(separator: ","))],\"extra\":1}"
        case 1: return "{\"operations\":[\(operations.joined(separator: ","))],\"operations\":[]}"
        case 2: return "[\(operations.joined(separator: ","))]"
        case 3: return "{\"operations\":[\(operations.joined(separator: ","))]} x"
        case 4: return "{\"operations\":null}"
        default: return "{\"operations\":[\(operations.joined(separator: ","))]}"
        }
    }

    /// Round `round`'s batch: as generated, byte-mutated, truncated, or as generated, in turn.
    static func input(_ round: Int, seeds: [[UInt8]], _ random: inout SplitMix64) -> [UInt8] {
        let bytes = Array(batch(&random).utf8)
        switch round % 4 {
        case 1: return mutator.mutate(bytes, seeds: seeds, using: &random)
        case 2: return Array(bytes[..<Int.random(in: 0...bytes.count, using: &random)])
        default: return bytes
        }
    }

    static let mutator = ByteMutator(
        tokens: [
            Array("\"".utf8), Array("\\".utf8), Array("\\u".utf8), Array(",".utf8), Array(":".utf8), Array("{".utf8),
            Array("}".utf8), Array("[".utf8), Array("]".utf8), Array("null".utf8), Array("1e309".utf8), Array("é".utf8),
            [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xEF, 0xBB, 0xBF], Array("\"operations\"".utf8), Array("\"body\"".utf8),
        ],
        allowsNUL: true)

    /// What a prepared batch is, fully spelled out (commands, hashes, sources, problems).
    static func outcome(_ prepare: () throws(Problem) -> [Result<WriteRequest, Problem>]) -> String {
        do throws(Problem) {
            return try prepare().map { result in
                switch result {
                case .success(let request): "ok " + describe(request)
                case .failure(let problem): "problem " + describe(problem)
                }
            }.joined(separator: "\n")
        } catch {
            return "batch problem " + describe(error)
        }
    }

    /// A prepared request, every field (`dump` also spells out the fields of the workforce row, a class).
    static func describe(_ request: WriteRequest) -> String {
        var text = ""
        dump(request, to: &text)
        return text
    }

    /// A problem's JSON (keys sorted: its `errors` dictionary has no order of its own) and headers.
    static func describe(_ problem: Problem) -> String {
        String(decoding: problem.jsonData, as: UTF8.self) + " " + problem.headers.sorted { $0.key < $1.key }.description
    }

    @Test func theFastReaderPreparesWhatTheReferencePathPrepares() throws {
        var random = SplitMix64(seed: 0xD0_7B47C4)
        var seeds: [[UInt8]] = Self.operations.map { Array("{\"operations\":[\($0)]}".utf8) }
        var scanned = 0
        var employmentsReadDirectly = 0
        var inputs = 0
        for round in 0..<6000 {
            let bytes = Self.input(round, seeds: seeds, &random)
            if round % 50 == 0 { seeds.append(bytes) }
            let data = Data(bytes)
            inputs += 1
            for maximum in round % 20 == 0 ? [1, 1000] : [1000] {
                let fast = Self.outcome { () throws(Problem) in try BatchFastPath.prepare(data, principal: Self.principal, maximumOperations: maximum)
                }
                // The reference path reads an object's members in its dictionary's order, which varies from one
                // decoding to the next: with two bad members, either may be the one named.
                let reference = {
                    Self.outcome { () throws(Problem) in
                        try BatchPreparation.prepare(batchJSON: data, principal: Self.principal, maximumOperations: maximum)
                    }
                }
                let first = reference()
                let references = fast == first ? [first] : [first] + (0..<40).map { _ in reference() }
                #expect(references.contains(fast), "round \(round): \(String(decoding: bytes, as: UTF8.self))\n\(fast)\n\(references[0])")
                if !references.contains(fast) { return }
            }
            bytes.withUnsafeBufferPointer { buffer in
                guard let operations = try? BatchFastPath.scan(buffer) else { return }
                scanned += 1
                employmentsReadDirectly +=
                    operations.filter { operation in
                        operation.path.contains("/employments/") && operation.body.map { BatchFastPath.employment(buffer, body: $0) != nil } == true
                    }.count
            }
        }
        // The fast reader must take the batches left valid JSON (about a quarter) and read their workforce bodies itself.
        #expect(scanned > inputs / 5, "scanned \(scanned) of \(inputs)")
        #expect(employmentsReadDirectly > scanned, "workforce bodies read directly: \(employmentsReadDirectly)")
        print("batch reader: \(scanned) of \(inputs) batches read by the fast reader, \(employmentsReadDirectly) workforce bodies read directly")
    }

    /// Request hashes are stored with idempotency keys: a change of how they are computed would turn every replay of
    /// an earlier run into a 422. These values are the ones computed before the hash was taken over bytes (and by sha256sum).
    @Test func requestHashesAreUnchanged() throws {
        let data = Data(
            #"{"operations":[\#(Self.workforce(trn: "1000004", start: "2013-05-01").replacingOccurrences(of: #""FT""#, with: #""PTR""#))]}"#.utf8)
        let prepared = try BatchFastPath.prepare(data, principal: Self.principal, maximumOperations: 10)
        #expect(try prepared[0].get().requestHash == "49f467772ccc6345a392322f1cf977ce6fbf94c641ef29412c009c436166e3e0")
        #expect(
            WriteRequest.hash(method: "PUT", path: "/v3/persons/1000040", canonicalBody: #"{"a":"é"}"#)
                == "1a01baed64b350be5b22ef1cf5acb706c3ff7467fd5a5553212caddce2a1c501")
    }
}
