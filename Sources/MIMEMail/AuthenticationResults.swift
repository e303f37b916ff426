// RFC 8601 Authentication-Results: `authserv-id [version]; method=result [reason=...] ptype.property=value...; ...`
// or `authserv-id; none`. Comments are dropped; values may be quoted.

/// One Authentication-Results header field.
public struct AuthenticationResults: Sendable, Hashable {
    /// Who added the field (our MTA's authserv-id when it is ours), lowercased.
    public let authservID: String
    public let results: [Result]

    /// One method's outcome: `dkim=pass header.d=ewc.wales`.
    public struct Result: Sendable, Hashable {
        /// Lowercased method (`dkim`, `spf`, `dmarc`...), without its version.
        public let method: String
        /// Lowercased result (`pass`, `fail`, `neutral`...).
        public let result: String
        /// `ptype.property` (lowercased) to value: `header.d`, `header.i`, `smtp.mailfrom`.
        public let properties: [String: String]
    }

    /// Parses a field's value; nil when it is not a well-formed Authentication-Results value.
    public static func parse(_ value: String) -> AuthenticationResults? {
        guard let tokens = try? AuthenticationResultsLexer.tokens(Array(value.utf8)) else { return nil }
        let statements = tokens.split(separator: .semicolon, omittingEmptySubsequences: false)
        guard let head = statements.first, case .word(let id)? = head.first, head.count <= 2 else { return nil }
        if head.count == 2 { guard case .word(let version) = head[head.startIndex + 1], version.allSatisfy(\.isNumber) else { return nil } }
        var results: [Result] = []
        for statement in statements.dropFirst() {
            let parts = Array(statement)
            if parts.isEmpty { continue }
            if parts == [.word("none")] { continue }
            guard let result = Self.result(parts) else { return nil }
            results.append(result)
        }
        return AuthenticationResults(authservID: id.lowercased(), results: results)
    }

    /// `method[/version] = result (name = value)*`.
    private static func result(_ parts: [AuthenticationResultsLexer.Token]) -> Result? {
        var pairs: [(String, String)] = []
        var i = 0
        while i < parts.count {
            guard i + 2 < parts.count, case .word(let key) = parts[i], parts[i + 1] == .equals, case .word(let value) = parts[i + 2] else {
                return nil
            }
            pairs.append((key.lowercased(), value))
            i += 3
        }
        guard let first = pairs.first else { return nil }
        let method = String(first.0.split(separator: "/", maxSplits: 1).first ?? "")
        var properties: [String: String] = [:]
        for (key, value) in pairs.dropFirst() where properties[key] == nil { properties[key] = value }
        return Result(method: method, result: first.1.lowercased(), properties: properties)
    }
}

enum AuthenticationResultsLexer {
    enum Token: Equatable {
        case word(String)
        case equals
        case semicolon
    }

    struct Malformed: Error {}

    static func tokens(_ s: [UInt8]) throws(Malformed) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            switch c {
            case 32, 9, 13, 10: i += 1
            case UInt8(ascii: "("):
                guard let end = try? AddressLexer.skipComment(s, from: i) else { throw Malformed() }
                i = end
            case UInt8(ascii: ";"):
                tokens.append(.semicolon)
                i += 1
            case UInt8(ascii: "="):
                tokens.append(.equals)
                i += 1
            case UInt8(ascii: "\""):
                guard let (text, end) = try? AddressLexer.quoted(s, from: i + 1, closing: c, what: "quoted string") else { throw Malformed() }
                tokens.append(.word(text))
                i = end
            case 0..<32, 127:
                throw Malformed()
            default:
                let start = i
                while i < s.count, s[i] > 32, s[i] != 127, !"(;=\"".utf8.contains(s[i]) { i += 1 }
                tokens.append(.word(String(decoding: s[start..<i], as: UTF8.self)))
            }
        }
        return tokens
    }
}
