/// A session with one IMAP account over TLS, through libcurl's IMAP: the connection and login are made on the first
/// command and kept for the next ones.
///
/// Every command that names messages by UID names the mailbox's UIDVALIDITY too (libcurl's `;UIDVALIDITY=`), so a UID
/// is never applied to a mailbox that was recreated or renumbered since it was listed: such a command fails with
/// ``MailTransportError/Kind/notFound``.
///
/// Not thread-safe: one thread at a time (``FileSources/IMAPSource`` serialises its calls on a queue of its own).
public final class IMAPConnection {
    public let endpoint: MailEndpoint
    private let curl: CurlHandle

    public init(endpoint: MailEndpoint) throws {
        self.endpoint = endpoint
        curl = try CurlHandle(endpoint: endpoint)
    }

    /// The mailbox's UIDVALIDITY (STATUS, without selecting it).
    public func uidValidity(of mailbox: IMAPMailbox) throws -> UInt32 {
        var value: UInt32?
        try command("STATUS \(mailbox.quoted) (UIDVALIDITY)", at: endpoint.address("")) { line in
            if line.hasPrefix("* STATUS"), let number = IMAPResponse.number(after: "UIDVALIDITY ", in: line) { value = UInt32(number) }
        }
        guard let value else { throw MailTransportError(.failed, "\(endpoint.redactedURL): no UIDVALIDITY for mailbox \(mailbox)") }
        return value
    }

    /// Every message in the mailbox (UID, size, received date), by ascending UID.
    public func messages(in mailbox: IMAPMailbox, uidValidity: UInt32) throws -> [IMAPMessageInfo] {
        var found: [IMAPMessageInfo] = []
        try command("UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE)", at: selecting(mailbox, uidValidity)) { line in
            if let info = IMAPResponse.fetchInfo(line) { found.append(info) }
        }
        return found.sorted { $0.uid < $1.uid }
    }

    /// One message's UID, size and received date; nil when the mailbox no longer holds it (or its UIDVALIDITY changed).
    public func message(uid: UInt32, in mailbox: IMAPMailbox, uidValidity: UInt32) throws -> IMAPMessageInfo? {
        var found: IMAPMessageInfo?
        do {
            try command("UID FETCH \(uid) (UID RFC822.SIZE INTERNALDATE)", at: selecting(mailbox, uidValidity)) { line in
                if let info = IMAPResponse.fetchInfo(line), info.uid == uid { found = info }
            }
        } catch let error as MailTransportError where error.kind == .notFound {
            return nil
        }
        return found
    }

    /// Streams the whole message (`UID FETCH <uid> BODY[]`) to `received`, chunk by chunk as it arrives.
    public func fetch(uid: UInt32, in mailbox: IMAPMailbox, uidValidity: UInt32, into received: (UnsafeRawBufferPointer) throws -> Void) throws {
        try curl.perform(url: selecting(mailbox, uidValidity) + "/;UID=\(uid)", received: received)
    }

    /// Moves a message to `target` (UID MOVE, RFC 6851), first tagging it with `keyword` when given so that it can be
    /// found there again (``uids(withKeyword:in:)``). Returns false when the mailbox no longer holds the message.
    public func move(uid: UInt32, from mailbox: IMAPMailbox, uidValidity: UInt32, to target: IMAPMailbox, keyword: String? = nil) throws -> Bool {
        let address = selecting(mailbox, uidValidity)
        if let keyword {
            try command("UID STORE \(uid) +FLAGS.SILENT (\(try Self.checked(keyword: keyword)))", at: address) { _ in }
        }
        var moved = false
        try command("UID MOVE \(uid) \(target.quoted)", at: address) { line in
            // COPYUID names the UIDs moved; an EXPUNGE says the source copy is gone. Neither: nothing had that UID.
            if line.contains("[COPYUID ") || line.hasSuffix(" EXPUNGE") { moved = true }
        }
        return moved
    }

    /// The UIDs in `mailbox` that carry `keyword`.
    public func uids(withKeyword keyword: String, in mailbox: IMAPMailbox) throws -> [UInt32] {
        var found: [UInt32] = []
        try command("UID SEARCH KEYWORD \(try Self.checked(keyword: keyword))", at: endpoint.address(mailbox.urlPath)) { line in
            guard line.hasPrefix("* SEARCH") else { return }
            found += line.dropFirst("* SEARCH".count).split(separator: " ").compactMap { UInt32($0) }
        }
        return found
    }

    /// The UIDs in `mailbox` whose header field `field` contains `value` (`UID SEARCH HEADER`, a substring match as IMAP
    /// defines it): a sender finds its own copy of a message by its Message-ID this way.
    public func uids(withHeader field: String, containing value: String, in mailbox: IMAPMailbox) throws -> [UInt32] {
        guard !field.isEmpty, field.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw MailTransportError(.fatal, "'\(field.prefix(100))' is not a header field name")
        }
        // A quoted string needs no escapes without quotes and backslashes; line ends would end the command.
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
            throw MailTransportError(.fatal, "a header value to search for must be printable ASCII without quotes or backslashes")
        }
        var found: [UInt32] = []
        try command("UID SEARCH HEADER \(field) \"\(value)\"", at: endpoint.address(mailbox.urlPath)) { line in
            guard line.hasPrefix("* SEARCH") else { return }
            found += line.dropFirst("* SEARCH".count).split(separator: " ").compactMap { UInt32($0) }
        }
        return found
    }

    /// Creates the mailbox unless it exists.
    public func ensureMailbox(_ mailbox: IMAPMailbox) throws {
        var exists = false
        try command("LIST \"\" \(mailbox.quoted)", at: endpoint.address("")) { line in
            if line.hasPrefix("* LIST") { exists = true }
        }
        if !exists { try command("CREATE \(mailbox.quoted)", at: endpoint.address("")) { _ in } }
    }

    private func selecting(_ mailbox: IMAPMailbox, _ uidValidity: UInt32) -> String {
        endpoint.address("\(mailbox.urlPath);UIDVALIDITY=\(uidValidity)")
    }

    private func command(_ text: String, at url: String, line: @escaping (Substring) throws -> Void) throws {
        var reader = IMAPLineReader(line: line)
        try curl.perform(url: url, command: text) { chunk in try reader.consume(chunk) }
        try reader.finish()
    }

    /// A keyword is an IMAP atom: letters, digits and `$-_.` only.
    private static func checked(keyword: String) throws -> String {
        guard !keyword.isEmpty, keyword.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "$-_.".contains($0)) }) else {
            throw MailTransportError(.fatal, "'\(keyword)' is not an IMAP keyword")
        }
        return keyword
    }
}
