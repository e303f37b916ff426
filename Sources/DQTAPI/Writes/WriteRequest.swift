import Crypto
import DQTModel
import Foundation

/// What the engine applies: most writes one at a time, each under its own savepoint; workforce rows many at a time,
/// in one bulk statement (see ``WriteTransaction/applyEmployments(_:)``).
enum WriteCommand: Sendable {
    case single(any SingleWrite)
    case employment(EmploymentRow)

    /// The operationId of the command's endpoint (the audit's `operation`).
    var operationID: String {
        switch self {
        case .single(let write): type(of: write).operationID
        case .employment: UpsertEmployment.operationID
        }
    }

    var isEmployment: Bool {
        if case .employment = self { true } else { false }
    }
}

/// A validated write with everything the engine needs: the command, and what idempotency and the audit need.
struct WriteRequest: Sendable {
    var command: WriteCommand
    var method: String
    var path: String
    var idempotencyKey: String?
    var requestHash: String
    var source: SourceInfo?

    /// SHA-256 of `<method>\n<path>\n<canonical body>`, lower-case hex. Stored with idempotency keys: a change here
    /// turns every replay of an earlier request into a 422.
    static func hash(method: String, path: String, canonicalBody: [UInt8]) -> String {
        var preimage: [UInt8] = []
        preimage.reserveCapacity(method.utf8.count + path.utf8.count + 2 + canonicalBody.count)
        preimage += method.utf8
        preimage.append(0x0A)
        preimage += path.utf8
        preimage.append(0x0A)
        preimage += canonicalBody
        return Hex.lowercase(SHA256.hash(data: preimage))
    }

    static func hash(method: String, path: String, canonicalBody: String) -> String {
        hash(method: method, path: path, canonicalBody: Array(canonicalBody.utf8))
    }

    static func validIdempotencyKey(_ key: String?) throws(Problem) -> String? {
        guard let key else { return nil }
        guard !key.isEmpty, key.utf8.count <= 200, key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
            throw Problem.invalid(field: "Idempotency-Key", "Idempotency-Key must be 1-200 printable ASCII characters.")
        }
        return key
    }
}

/// What a write request carries besides its body, as the direct call or the batch operation gave it.
struct WriteEnvelope: Sendable {
    /// The path as called (batch: as given, without its query), stored with the idempotency key and in the audit.
    var path: String
    var idempotencyKey: String?
    var source: SourceInfo?
}

/// Where a change comes from, as the caller declared it (batch `source` or the `X-DQT-Source` header).
public struct SourceInfo: Sendable, Equatable {
    public var feed: String?
    public var fileSha256: String?
    public var line: Int?

    public init(feed: String?, fileSha256: String?, line: Int?) {
        func clean(_ text: String, _ limit: Int) -> String {
            if text.utf8.count <= limit && text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) { return text }
            return String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }).prefix(limit))
        }
        self.feed = feed.map { clean($0, 100) }
        self.fileSha256 = fileSha256.map { clean($0, 128) }
        self.line = line.flatMap { Int32(exactly: $0) == nil ? nil : $0 }  // the audit's column is an int4
    }

    /// `feed=<id>;sha256=<hex>;line=<n>` (any order, unknown parts ignored).
    public init?(header: String?) {
        guard let header, !header.isEmpty else { return nil }
        var feed: String?
        var sha: String?
        var line: Int?
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0].lowercased() {
            case "feed": feed = pair[1]
            case "sha256": sha = pair[1]
            case "line": line = Int(pair[1])
            default: continue
            }
        }
        self.init(feed: feed, fileSha256: sha, line: line)
    }
}
