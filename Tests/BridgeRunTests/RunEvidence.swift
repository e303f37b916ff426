import DQTTesting
import FileSources
import Foundation
import LibPQ
import Synchronization

/// What the crash and fault suites compare a run's end against: the API writes the input files must become
/// (computed by `dqt-bridge check --records`, independently of any run), the writes the API's audit holds per
/// idempotency key, and the API's final state as rows.

/// One write the files must become: its idempotency key, method and path.
struct ExpectedWrite: Hashable, Sendable {
    let key: String
    let method: String
    let path: String
}

/// A file a scenario places, with the feed it belongs to.
struct PlacedFile: Sendable {
    let feed: String
    let folder: String
    let name: String
    let content: Data
}

/// The end of a scenario compared with what was expected.
struct Verdict: Sendable, CustomStringConvertible {
    var expected = 0
    /// Expected writes the API applied (once or more).
    var applied = 0
    /// Expected writes the API refused with a problem (4xx), recorded as such in the ledger.
    var refusedByAPI = 0
    /// Expected writes the API never applied nor refused.
    var lost = 0
    /// Extra applications of expected writes, plus writes nobody expected.
    var duplicated = 0
    /// Applied under the expected key but to another path.
    var misdirected = 0
    /// Tables whose rows differ from the reference state.
    var stateDifferences: [String] = []

    var exact: Bool { lost == 0 && duplicated == 0 && misdirected == 0 && stateDifferences.isEmpty && applied + refusedByAPI == expected }

    var description: String {
        "expected \(expected), applied \(applied), refused by the API \(refusedByAPI), lost \(lost), duplicated \(duplicated), misdirected \(misdirected)"
            + (stateDifferences.isEmpty ? "" : ", state differs in \(stateDifferences.joined(separator: ", "))")
    }
}

extension BridgeHarness {
    /// The day every check and run of these suites judges dates by, so expectations do not move with the calendar.
    static let today = "2026-11-21"

    @discardableResult
    func place(_ file: PlacedFile) throws -> String {
        try place(file.content, in: file.folder, as: file.name)
    }

    /// The writes `files` must become, from `dqt-bridge check --records` on each (refused files become none).
    static func expectedWrites(_ files: [PlacedFile], scratch: String) async throws -> [ExpectedWrite] {
        let binary = try bridgeBinary()
        var writes: [ExpectedWrite] = []
        for (index, file) in files.enumerated() {
            let input = joinPath(scratch, "expected-\(index)-\(file.name)")
            let records = input + ".ndjson"
            try file.content.write(to: URL(fileURLWithPath: input))
            let check = try ChildProcess(
                binary,
                [
                    "check", input, "--feed", file.feed, "--records", records, "--today", today,
                    "--mappings", joinPath(repository, "mappings"),
                ], output: input + ".out")
            let status = await check.wait()
            guard (0...2).contains(status) else { throw CheckFailed(file: file.name, status: status) }
            let text = (try? String(contentsOfFile: records, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let key = object["key"] as? String, let method = object["method"] as? String, let path = object["path"] as? String
                else { throw CheckFailed(file: file.name, status: -1) }
                writes.append(ExpectedWrite(key: key, method: method, path: path))
            }
        }
        return writes
    }

    /// The API's audit rows with an idempotency key: how many times each (key, path) was applied.
    func appliedWritesByKey() async throws -> [ExpectedWrite: Int] {
        try await apiPool.withConnection { connection in
            var counts: [ExpectedWrite: Int] = [:]
            for row in try connection.query(
                "SELECT idempotency_key, method, path, count(*) AS n FROM audit WHERE idempotency_key IS NOT NULL GROUP BY 1, 2, 3"
            ).rows {
                counts[
                    ExpectedWrite(key: row["idempotency_key"] ?? "", method: row["method"] ?? "", path: row["path"] ?? ""),
                    default: 0] += row.int("n") ?? 0
            }
            return counts
        }
    }

    /// The API's data as canonical JSON rows per table, without what differs between equal histories (times,
    /// generated ids).
    func apiState() async throws -> [String: [String]] {
        let tables = ["persons": "trn", "routes": "route_id", "alerts": "alert_id", "previous_names": "id", "employments": "employment_key"]
        return try await apiPool.withConnection { connection in
            var state: [String: [String]] = [:]
            for (table, order) in tables {
                var rows: [String] = []
                for row in try connection.query("SELECT to_jsonb(t)::text AS row FROM \(table) t ORDER BY \(order)").rows {
                    guard var object = try JSONSerialization.jsonObject(with: Data((row["row"] ?? "{}").utf8)) as? [String: Any] else { continue }
                    for name in object.keys where name.hasSuffix("_at") || name.hasSuffix("_on") || name == "id" || name == "alert_id" {
                        object[name] = nil
                    }
                    rows.append(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                }
                state[table] = rows.sorted()
            }
            return state
        }
    }

    /// Compares the API's writes and state with the expected writes and, when given, a reference state. A write the
    /// API refused (4xx, recorded in the ledger with its problem) is refused with a reason, not lost.
    func verdict(expected: [ExpectedWrite], reference: [String: [String]]?) async throws -> Verdict {
        let applied = try await appliedWritesByKey()
        let refusedByAPI = try ledgerQuery { connection in
            Set(try connection.query("SELECT key FROM bridge.records WHERE outcome = 'failed' AND key IS NOT NULL").rows.compactMap { $0["key"] })
        }
        var verdict = Verdict(expected: expected.count)
        let expectedKeys = Set(expected.map(\.key))
        for write in expected {
            let times = applied[write] ?? 0
            if times > 0 { verdict.applied += 1 } else if refusedByAPI.contains(write.key) { verdict.refusedByAPI += 1 } else { verdict.lost += 1 }
            verdict.duplicated += max(0, times - 1)
            if times == 0, applied.keys.contains(where: { $0.key == write.key }) { verdict.misdirected += 1 }
        }
        for (write, times) in applied where !expectedKeys.contains(write.key) { verdict.duplicated += times }
        if let reference {
            let state = try await apiState()
            verdict.stateDifferences = reference.keys.sorted().filter { reference[$0] != state[$0] }
        }
        return verdict
    }

    /// Rows and files the run refused, with their reasons: rejected rows by problem code, records the API refused
    /// by status, quarantined files by code (each file counted once).
    func refusals() throws -> (rows: Int, reasons: [String: Int]) {
        try ledgerQuery { connection in
            var reasons: [String: Int] = [:]
            var rows = 0
            for row in try connection.query(
                """
                SELECT coalesce(r.problem -> 0 ->> 'code', 'status ' || r.api_status::text, 'refused') AS reason, count(*) AS n
                FROM bridge.records r WHERE r.outcome IN ('rejected', 'failed') GROUP BY 1
                """
            ).rows {
                rows += row.int("n") ?? 0
                reasons["row \(row["reason"] ?? "?")", default: 0] += row.int("n") ?? 0
            }
            for row in try connection.query(
                "SELECT coalesce(error_code, 'refused') AS code, count(*) AS n FROM bridge.files WHERE state = 'quarantined' GROUP BY 1"
            ).rows {
                reasons["file \(row["code"] ?? "?")", default: 0] += row.int("n") ?? 0
            }
            return (rows, reasons)
        }
    }
}

struct CheckFailed: Error, CustomStringConvertible {
    let file: String
    let status: Int32
    var description: String { "dqt-bridge check on \(file) failed (status \(status))" }
}

/// A `dqt-bridge` child process with the harness's ledger, its output in a file.
func bridgeProcess(_ arguments: [String], harness: BridgeHarness, environment extra: [String: String] = [:], output: String) throws -> ChildProcess {
    var environment = ProcessInfo.processInfo.environment
    environment["DQT_BRIDGE_DATABASE_URL"] = harness.ledgerURL
    environment["DQT_BRIDGE_LOG_LEVEL"] = "info"
    environment.merge(extra) { $1 }
    return try ChildProcess(try bridgeBinary(), arguments, environment: environment, output: output)
}

extension ChildProcess {
    /// Waits (polling /proc, up to `seconds`) until the process has stopped itself at a `name:n:stop` fail point;
    /// false if it ended or never stopped.
    func waitUntilStopped(seconds: Double = 120) async -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let state = stat[stat.index(close, offsetBy: 2)]
            if state == "T" || state == "t" { return true }
            if state == "Z" { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    func resume() { send(SIGCONT) }
}
