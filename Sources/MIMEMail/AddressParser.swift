/// The grammar of RFC 5322 section 3.4 over ``AddressLexer``'s tokens. Every path either consumes the whole header
/// or throws: text after an address (a second `@`, a second address without a comma) is never ignored.
struct AddressParser {
    let tokens: [AddressToken]
    var index = 0

    init(tokens: [AddressToken]) { self.tokens = tokens }

    var peek: AddressToken.Kind? { index < tokens.count ? tokens[index].kind : nil }

    mutating func addressList() throws(AddressError) -> [Address] {
        guard !tokens.isEmpty else { throw AddressError("an empty address header") }
        var addresses: [Address] = []
        while true {
            if peek == .special(UInt8(ascii: ",")) { throw AddressError("an empty element in an address list (obsolete syntax)") }
            addresses.append(try address(allowingGroup: true))
            guard let next = peek else { return addresses }
            guard next == .special(UInt8(ascii: ",")) else { throw AddressError("text after an address") }
            index += 1
            if peek == nil { throw AddressError("an empty element in an address list (obsolete syntax)") }
        }
    }

    mutating func address(allowingGroup: Bool) throws(AddressError) -> Address {
        let words = phraseWords()
        switch peek {
        case .special(UInt8(ascii: "<")):
            index += 1
            if peek == .special(UInt8(ascii: "@")) { throw AddressError("a source route in an address (obsolete syntax)") }
            let spec = try addrSpec(localWords: phraseWords())
            guard peek == .special(UInt8(ascii: ">")) else { throw AddressError("an angle address without its closing >") }
            index += 1
            return .mailbox(Mailbox(displayName: try displayName(words), address: spec.address, domain: spec.domain))
        case .special(UInt8(ascii: ":")):
            guard allowingGroup else { throw AddressError("a group inside a group") }
            guard let name = try displayName(words) else { throw AddressError("a group without a name") }
            index += 1
            var members: [Mailbox] = []
            while peek != .special(UInt8(ascii: ";")) {
                guard peek != nil else { throw AddressError("a group without its closing ;") }
                if peek == .special(UInt8(ascii: ",")) { throw AddressError("an empty element in a group (obsolete syntax)") }
                guard case .mailbox(let member) = try address(allowingGroup: false) else { throw AddressError("a group inside a group") }
                members.append(member)
                if peek == .special(UInt8(ascii: ",")) {
                    index += 1
                    if peek == .special(UInt8(ascii: ";")) { throw AddressError("an empty element in a group (obsolete syntax)") }
                }
            }
            index += 1
            return .group(name: name, members: members)
        case .special(UInt8(ascii: "@")):
            let spec = try addrSpec(localWords: words)
            return .mailbox(Mailbox(displayName: nil, address: spec.address, domain: spec.domain))
        default:
            throw AddressError(words.isEmpty ? "a character that cannot start an address" : "a name without an address")
        }
    }

    /// The atoms and quoted strings from here: a display name, or the local part before `@`.
    mutating func phraseWords() -> [AddressToken.Kind] {
        var words: [AddressToken.Kind] = []
        while let kind = peek, kind.isWord {
            words.append(kind)
            index += 1
        }
        return words
    }

    /// `local-part "@" domain`, the `@` being the next token.
    mutating func addrSpec(localWords words: [AddressToken.Kind]) throws(AddressError) -> (address: String, domain: String) {
        guard words.count == 1 else {
            throw AddressError(words.isEmpty ? "an address without a local part" : "a local part with spaces or comments (obsolete syntax)")
        }
        let local: String
        switch words[0] {
        case .atom(let text):
            guard Self.isDotAtom(text) else { throw AddressError("a local part with misplaced dots") }
            local = text
        case .quoted(let text):
            local = Self.isDotAtom(text) ? text : "\"" + text.replacingBackslashesAndQuotes() + "\""
        default:
            throw AddressError("an address without a local part")
        }
        guard peek == .special(UInt8(ascii: "@")) else { throw AddressError("an address without @") }
        index += 1
        let domain: String
        switch peek {
        case .atom(let text):
            guard Self.isDotAtom(text) else { throw AddressError("a domain with misplaced dots") }
            domain = text.lowercased()
        case .domainLiteral(let text):
            domain = "[" + text + "]"
        default:
            throw AddressError("an address without a domain")
        }
        index += 1
        return (local + "@" + domain, domain)
    }

    /// A phrase's text, encoded words decoded (whitespace between two of them dropped); nil for no words. A dot in
    /// an unquoted display name is obsolete syntax.
    func displayName(_ words: [AddressToken.Kind]) throws(AddressError) -> String? {
        guard !words.isEmpty else { return nil }
        var parts: [String] = []
        var lastEncoded = false
        for word in words {
            switch word {
            case .atom(let text):
                if text.contains(".") { throw AddressError("a dot in an unquoted display name (obsolete syntax)") }
                let encoded = text.hasPrefix("=?") && text.hasSuffix("?=")
                let decoded = encoded ? decodeEncodedWords(Array(text.utf8)) : text
                if encoded && lastEncoded, let last = parts.popLast() { parts.append(last + decoded) } else { parts.append(decoded) }
                lastEncoded = encoded
            case .quoted(let text):
                parts.append(text)
                lastEncoded = false
            default:
                break
            }
        }
        return parts.joined(separator: " ")
    }

    static func isDotAtom(_ text: String) -> Bool {
        guard !text.isEmpty, !text.hasPrefix("."), !text.hasSuffix("."), !text.contains("..") else { return false }
        return text.utf8.allSatisfy { $0 > 32 && $0 != 127 && !AddressLexer.specials.contains($0) }
    }
}

extension AddressToken.Kind {
    var isWord: Bool {
        switch self {
        case .atom, .quoted: return true
        default: return false
        }
    }
}

extension String {
    fileprivate func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for c in self {
            if c == "\\" || c == "\"" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
