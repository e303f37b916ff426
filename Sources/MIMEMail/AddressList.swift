// RFC 5322 section 3.4 address lists: mailboxes, name-addr and angle-addr, groups, nested comments, quoted strings,
// and RFC 2047 encoded words in display names. The obsolete forms of section 4.4 (routes, empty list elements,
// dots in display names, whitespace inside dot-atoms) are refused: no partner needs them and each is a way to make
// two readers disagree on the address.

/// One mailbox of an address header.
public struct Mailbox: Sendable, Hashable {
    /// The display name, encoded words decoded; nil when there is none.
    public let displayName: String?
    /// `local@domain`: a quoted local part keeps its quotes unless it is a plain dot-atom.
    public let address: String
    /// The part after `@`, lowercased.
    public let domain: String
}

/// An element of an address list: a mailbox, or a named group of mailboxes (possibly empty).
public enum Address: Sendable, Hashable {
    case mailbox(Mailbox)
    case group(name: String, members: [Mailbox])
}

/// Why an address header does not parse. Messages name the problem, never the header's content.
public struct AddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

public enum AddressList {
    /// Comment nesting beyond this is refused (a comment bomb costs nothing to send).
    public static let maxCommentDepth = 32

    /// Parses an address header's raw value (as sent, before any encoded-word decoding).
    public static func parse(_ value: String) throws(AddressError) -> [Address] {
        var parser = AddressParser(tokens: try AddressLexer.tokens(Array(value.utf8)))
        return try parser.addressList()
    }

    /// The mailboxes of an address list, group members included, in order.
    public static func mailboxes(of addresses: [Address]) -> [Mailbox] {
        addresses.flatMap { address -> [Mailbox] in
            switch address {
            case .mailbox(let mailbox): return [mailbox]
            case .group(_, let members): return members
            }
        }
    }
}

struct AddressToken: Equatable {
    enum Kind: Equatable {
        /// A run of atext and dots (a dot-atom when its dots are well placed).
        case atom(String)
        case quoted(String)
        case domainLiteral(String)
        case special(UInt8)
    }
    let kind: Kind
    /// Whitespace or a comment came right before the token.
    let spaced: Bool
}

enum AddressLexer {
    static let specials = Set("()<>[]:;@\\,\"".utf8)

    static func tokens(_ s: [UInt8]) throws(AddressError) -> [AddressToken] {
        var tokens: [AddressToken] = []
        var i = 0
        var spaced = false
        while i < s.count {
            let c = s[i]
            switch c {
            case 32, 9, 13, 10:
                spaced = true
                i += 1
            case UInt8(ascii: "("):
                i = try skipComment(s, from: i)
                spaced = true
            case UInt8(ascii: "\""):
                let (text, end) = try quoted(s, from: i + 1, closing: UInt8(ascii: "\""), what: "quoted string")
                tokens.append(AddressToken(kind: .quoted(text), spaced: spaced))
                (i, spaced) = (end, false)
            case UInt8(ascii: "["):
                let (text, end) = try quoted(s, from: i + 1, closing: UInt8(ascii: "]"), what: "domain literal")
                tokens.append(AddressToken(kind: .domainLiteral(text), spaced: spaced))
                (i, spaced) = (end, false)
            case _ where specials.contains(c):
                tokens.append(AddressToken(kind: .special(c), spaced: spaced))
                (i, spaced) = (i + 1, false)
            case 0..<32, 127:
                throw AddressError("a control character in an address header")
            default:
                let start = i
                while i < s.count, s[i] > 32, s[i] != 127, !specials.contains(s[i]) { i += 1 }
                tokens.append(AddressToken(kind: .atom(String(decoding: s[start..<i], as: UTF8.self)), spaced: spaced))
                spaced = false
            }
        }
        return tokens
    }

    /// The index after the comment opening at `start`, nested comments and quoted pairs included.
    static func skipComment(_ s: [UInt8], from start: Int) throws(AddressError) -> Int {
        var depth = 0
        var i = start
        while i < s.count {
            switch s[i] {
            case UInt8(ascii: "\\"): i += 1
            case UInt8(ascii: "("):
                depth += 1
                if depth > AddressList.maxCommentDepth { throw AddressError("comments nested deeper than \(AddressList.maxCommentDepth)") }
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return i + 1 }
            default: break
            }
            i += 1
        }
        throw AddressError("an unterminated comment")
    }

    /// The content of a quoted string or domain literal starting after its opening character, quoted pairs undone.
    static func quoted(_ s: [UInt8], from start: Int, closing: UInt8, what: String) throws(AddressError) -> (String, Int) {
        var out: [UInt8] = []
        var i = start
        while i < s.count {
            let c = s[i]
            if c == closing { return (String(decoding: out, as: UTF8.self), i + 1) }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < s.count else { break }
                out.append(s[i + 1])
                i += 2
                continue
            }
            if c == 13 || c == 10 {
                i += 1
                continue
            }
            if closing == UInt8(ascii: "]") && (c == UInt8(ascii: "[")) { throw AddressError("a malformed domain literal") }
            out.append(c)
            i += 1
        }
        throw AddressError("an unterminated \(what)")
    }
}
