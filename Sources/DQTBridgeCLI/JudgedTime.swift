import Foundation

/// The time a command judges expected arrivals at: `--at` (ISO 8601 with a zone) or now.
enum JudgedTime {
    static func parse(_ text: String?) throws -> Date {
        guard let text else { return Date() }
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: text) else {
            throw CommandFailure(message: "--at must be an ISO 8601 time with its zone, e.g. 2026-12-05T10:00:00Z", status: 2)
        }
        return date
    }
}
