public import Foundation
public import LibPQ

/// `dqt-api seed FILE.ndjson`: persons, one JSON object a line, in the shape of `GET /v3/persons/{trn}?include=All`
/// plus the seed-only fields `gender`, `status` (Active, Deactivated, Merged), `mergedIntoTrn`, `dateOfDeath` and
/// `initialTeacherTraining`. A person already present is replaced with its routes, alerts and previous names.
public enum Seeder {
    public struct SeedError: Error, CustomStringConvertible {
        public let line: Int
        public let field: String
        public var description: String { "line \(line): \(field) is missing or invalid" }
    }

    /// Streams the file line by line; all or nothing (one transaction). Returns the persons loaded.
    @discardableResult
    public static func seed(_ connection: PGConnection, file: URL) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw CocoaError(.fileNoSuchFile) }
        defer { try? handle.close() }
        return try connection.transaction { connection in
            var count = 0
            var lineNumber = 0
            var pending = Data()
            func process(_ line: Data) throws {
                lineNumber += 1
                guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) else { return }
                guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                    throw SeedError(line: lineNumber, field: "line (not a JSON object)")
                }
                try insert(connection, object, line: lineNumber)
                count += 1
            }
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    try process(pending[pending.startIndex..<newline])
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            if !pending.isEmpty { try process(pending) }
            return count
        }
    }

    static func json(_ value: Any?) throws -> String? {
        guard let value, !(value is NSNull) else { return nil }
        return String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]), as: UTF8.self)
    }

    static func insert(_ connection: PGConnection, _ p: [String: Any], line: Int) throws {
        func string(_ key: String, in object: [String: Any]? = nil) -> String? { (object ?? p)[key] as? String }
        guard let trn = string("trn"), trn.count == 7, trn.allSatisfy(\.isASCIIDigit) else { throw SeedError(line: line, field: "trn") }
        guard let last = string("lastName") else { throw SeedError(line: line, field: "lastName") }
        guard let dob = string("dateOfBirth") else { throw SeedError(line: line, field: "dateOfBirth") }
        let induction = p["induction"] as? [String: Any] ?? [:]
        for table in ["routes", "alerts", "previous_names", "employments"] {
            try connection.execute("DELETE FROM \(table) WHERE trn = $1", [.text(trn)])
        }
        try connection.execute(
            """
            INSERT INTO persons (trn, status, merged_into, first_name, middle_name, last_name, date_of_birth, nino, email,
              gender, date_of_death, qtls_date, qtls_status, induction_status, induction_start, induction_completed,
              induction_exemption_reasons, itt)
            VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, $10, $11::date, $12::date, $13, $14, $15::date, $16::date, $17::jsonb, $18::jsonb)
            ON CONFLICT (trn) DO UPDATE SET status = EXCLUDED.status, merged_into = EXCLUDED.merged_into,
              first_name = EXCLUDED.first_name, middle_name = EXCLUDED.middle_name, last_name = EXCLUDED.last_name,
              date_of_birth = EXCLUDED.date_of_birth, nino = EXCLUDED.nino, email = EXCLUDED.email, gender = EXCLUDED.gender,
              date_of_death = EXCLUDED.date_of_death, qtls_date = EXCLUDED.qtls_date, qtls_status = EXCLUDED.qtls_status,
              induction_status = EXCLUDED.induction_status, induction_start = EXCLUDED.induction_start,
              induction_completed = EXCLUDED.induction_completed,
              induction_exemption_reasons = EXCLUDED.induction_exemption_reasons, itt = EXCLUDED.itt,
              induction_modified_on = NULL, updated_at = now()
            """,
            [
                .text(trn), .text(string("status") ?? "Active"), string("mergedIntoTrn").map { .text($0) },
                .text(string("firstName") ?? ""), string("middleName").map { .text($0) }, .text(last), .text(dob),
                string("nationalInsuranceNumber").map { .text($0) }, string("emailAddress").map { .text($0) },
                string("gender").map { .text($0) }, string("dateOfDeath").map { .text($0) },
                string("qtlsStatus") == "Active" ? .text((p["qts"] as? [String: Any])?["holdsFrom"] as? String ?? "2015-01-01") : nil,
                .text(string("qtlsStatus") ?? "None"), .text(string("status", in: induction) ?? "None"),
                string("startDate", in: induction).map { .text($0) }, string("completedDate", in: induction).map { .text($0) },
                .json(try json(induction["exemptionReasons"]) ?? "[]"), .json(try json(p["initialTeacherTraining"]) ?? "[]"),
            ])
        for (index, route) in ((p["routesToProfessionalStatuses"] as? [[String: Any]]) ?? []).enumerated() {
            let type = route["routeToProfessionalStatusType"] as? [String: Any] ?? [:]
            var detail: [String: Any] = [:]
            for key in ["trainingSubjects", "trainingAgeSpecialism", "trainingCountry", "trainingProvider", "degreeType", "inductionExemption"] {
                detail[key] = route[key] ?? NSNull()
            }
            let id = string("routeToProfessionalStatusId", in: route) ?? "\(trn)-seed-\(index)"
            try connection.execute(
                """
                INSERT INTO routes (route_id, trn, reference, route_type_id, route_type_name, professional_status_type, status,
                  holds_from, training_start, training_end, detail)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::date, $9::date, $10::date, $11::jsonb)
                """,
                [
                    .text(id), .text(trn), .text("seed-\(index)"),
                    .text(string("routeToProfessionalStatusTypeId", in: type) ?? ""), .text(string("name", in: type) ?? ""),
                    .text(string("professionalStatusType", in: type) ?? "QualifiedTeacherStatus"),
                    .text(string("status", in: route) ?? "InTraining"), string("holdsFrom", in: route).map { .text($0) },
                    string("trainingStartDate", in: route).map { .text($0) }, string("trainingEndDate", in: route).map { .text($0) },
                    .json(try json(detail) ?? "{}"),
                ])
        }
        for alert in (p["alerts"] as? [[String: Any]]) ?? [] {
            let type = alert["alertType"] as? [String: Any] ?? [:]
            let typeID = string("alertTypeId", in: type) ?? ""
            let code = AlertTypes.all.first { $0.id == typeID }?.code ?? "T1"
            try connection.execute(
                """
                INSERT INTO alerts (alert_id, trn, alert_type_code, details, start_date, end_date, sender)
                VALUES ($1, $2, $3, $4, $5::date, $6::date, 'seed') ON CONFLICT (alert_id) DO NOTHING
                """,
                [
                    .text(string("alertId", in: alert) ?? UUID().uuidString.lowercased()), .text(trn), .text(code),
                    string("details", in: alert).map { .text($0) }, .text(string("startDate", in: alert) ?? dob),
                    string("endDate", in: alert).map { .text($0) },
                ])
        }
        for name in (p["previousNames"] as? [[String: Any]]) ?? [] {
            try connection.execute(
                "INSERT INTO previous_names (trn, first_name, middle_name, last_name) VALUES ($1, $2, $3, $4)",
                [
                    .text(trn), .text(string("firstName", in: name) ?? ""), string("middleName", in: name).map { .text($0) },
                    .text(string("lastName", in: name) ?? ""),
                ])
        }
    }
}
