public import BridgeReport
import Foundation

/// Classifies one planned write against the state the API holds now: a no-op (the legacy job already wrote the same),
/// a change (which fields), a creation, or not comparable (and why).
///
/// Each write operation has a rule: which GET reads its state and how that answer's values are named as in the write's
/// body. Only the body's fields that the answer shows are compared, by their JSON values.
public struct ReadBack: Sendable {
    let reader: any StateReader

    public init(reader: any StateReader) {
        self.reader = reader
    }

    public struct Outcome: Sendable, Equatable {
        public let kind: ParityReport.ReadBackClass
        public let fields: [String]
        public let note: String?
    }

    /// Classifies `method path` with the planned JSON `body` (nil: wiped or none).
    public func classify(method: String, path: String, body: String?) async throws -> Outcome {
        guard let matched = ReadBackRule.match(method: method, path: path) else {
            return Outcome(kind: .unavailable, fields: [], note: "no read-back for \(method) \(Self.route(path))")
        }
        let (rule, parameters) = matched
        guard let body, let planned = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else {
            return Outcome(kind: .unavailable, fields: [], note: "the planned body is gone (wiped after the parity window)")
        }
        let answer = try await reader.get(rule.read(parameters))
        let document: [String: Any]
        switch answer.status {
        case 200:
            guard let parsed = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any] else {
                return Outcome(kind: .unavailable, fields: [], note: "the API's answer is not a JSON object")
            }
            document = parsed
        case 404 where rule.createsPerson:
            return Outcome(kind: .wouldCreate, fields: [], note: nil)
        case 404: return Outcome(kind: .unavailable, fields: [], note: "no person with this TRN (404)")
        case 308: return Outcome(kind: .unavailable, fields: [], note: "the record was merged into another (308)")
        case 410: return Outcome(kind: .unavailable, fields: [], note: "the record is deactivated (410)")
        default: return Outcome(kind: .unavailable, fields: [], note: "the read-back answered \(answer.status)")
        }
        guard let current = rule.project(document, parameters) else { return Outcome(kind: .wouldCreate, fields: [], note: nil) }
        var changed: [String] = []
        for (field, value) in planned.sorted(by: { $0.key < $1.key }) {
            guard let held = current[field] else { continue }
            if Self.canonical(value) != Self.canonical(held) { changed.append(field) }
        }
        return changed.isEmpty ? Outcome(kind: .noOp, fields: [], note: nil) : Outcome(kind: .wouldChange, fields: changed, note: nil)
    }

    /// A JSON value as sorted-key text, so values compare by content (`null` and a missing value are the same).
    static func canonical(_ value: Any) -> String {
        if value is NSNull { return "null" }
        guard let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The path with its TRN-like segments hidden, for messages.
    static func route(_ path: String) -> String {
        path.split(separator: "/").map { $0.allSatisfy(\.isNumber) ? "{trn}" : String($0) }.joined(separator: "/").prepending("/")
    }
}

extension String {
    fileprivate func prepending(_ prefix: String) -> String { prefix + self }
}

/// How one write operation's state is read back.
struct ReadBackRule: Sendable {
    let method: String
    /// The route's segments; `{}` matches one segment, which becomes a parameter.
    let route: [String]
    /// A 404 means the write would create the person (rather than fail).
    var createsPerson = false
    let read: @Sendable ([String]) -> String
    /// The current values, named as the body names them; nil when the API holds nothing there yet.
    let project: @Sendable ([String: Any], [String]) -> [String: Any]?

    static func match(method: String, path: String) -> (ReadBackRule, [String])? {
        let segments = path.split(separator: "?", maxSplits: 1)[0].split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        for rule in all where rule.method == method && rule.route.count == segments.count {
            var parameters: [String] = []
            var matches = true
            for (pattern, segment) in zip(rule.route, segments) {
                if pattern == "{}" { parameters.append(segment) } else if pattern != segment { matches = false }
            }
            if matches { return (rule, parameters) }
        }
        return nil
    }

    static func personPath(_ trn: String, include: String) -> String {
        "/v3/persons/\(trn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? trn)?include=\(include)"
    }

    /// A person's own fields, named as the person writes name them.
    static func personFields(_ person: [String: Any]) -> [String: Any] {
        var fields: [String: Any] = [:]
        for name in ["firstName", "middleName", "lastName", "dateOfBirth", "nationalInsuranceNumber", "emailAddress", "gender", "dateOfDeath"] {
            fields[name] = person[name] ?? NSNull()
        }
        fields["previousLastName"] = ((person["previousNames"] as? [[String: Any]])?.last?["lastName"]) ?? NSNull()
        return fields
    }

    static let all: [ReadBackRule] = [
        ReadBackRule(
            method: "PUT", route: ["v3", "persons", "{}", "welsh-induction"], read: { ReadBackRule.personPath($0[0], include: "Induction") },
            project: { person, _ in
                guard let induction = person["induction"] as? [String: Any], let status = induction["status"] as? String,
                    ["Passed", "FailedInWales"].contains(status)
                else { return nil }
                return [
                    "passed": status == "Passed", "startDate": induction["startDate"] ?? NSNull(),
                    "completedDate": induction["completedDate"] ?? NSNull(), "dateOfBirth": person["dateOfBirth"] ?? NSNull(),
                ]
            }),
        ReadBackRule(
            method: "PUT", route: ["v3", "persons", "{}", "cpd-induction"], read: { ReadBackRule.personPath($0[0], include: "Induction") },
            project: { person, _ in
                guard let induction = person["induction"] as? [String: Any], let status = induction["status"] as? String, status != "None"
                else { return nil }
                return ["status": status, "startDate": induction["startDate"] ?? NSNull(), "completedDate": induction["completedDate"] ?? NSNull()]
            }),
        ReadBackRule(
            method: "PATCH", route: ["v3", "persons", "{}"], read: { ReadBackRule.personPath($0[0], include: "PreviousNames") },
            project: { person, _ in ReadBackRule.personFields(person) }),
        ReadBackRule(
            method: "PUT", route: ["v3", "persons", "{}"], read: { ReadBackRule.personPath($0[0], include: "PreviousNames") },
            project: { person, _ in ReadBackRule.personFields(person) }),
        ReadBackRule(
            method: "PUT", route: ["v3", "capita", "persons", "{}"], createsPerson: true,
            read: { ReadBackRule.personPath($0[0], include: "PreviousNames") },
            project: { person, _ in ReadBackRule.personFields(person) }),
        ReadBackRule(
            method: "PUT", route: ["v3", "persons", "{}", "employments", "{}"],
            read: { "/v3/persons/\($0[0].addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0[0])/employments" },
            project: { list, parameters in
                guard let employment = (list["employments"] as? [[String: Any]])?.first(where: { $0["employmentKey"] as? String == parameters[1] })
                else { return nil }
                return employment.filter { $0.key != "employmentKey" && $0.key != "trn" }
            }),
    ]
}
