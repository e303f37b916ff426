/// An IMAP mailbox (folder) name, checked once so that it can go into a command and a URL safely: printable ASCII,
/// no quote or backslash (so a quoted string needs no escapes), no `;`, `?` or `%` (libcurl's URL syntax), not empty.
/// Non-ASCII names (modified UTF-7) are refused rather than guessed at.
public struct IMAPMailbox: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
            !name.contains(where: { "\"\\;?%*#".contains($0) }), !name.hasPrefix("/"), !name.hasSuffix("/")
        else {
            throw MailTransportError(
                .fatal, "the mailbox name '\(name)' is not usable: printable ASCII without \" \\ ; ? % * # and no leading or trailing /")
        }
        self.name = name
    }

    public var description: String { name }

    /// The name as an IMAP quoted string.
    var quoted: String { "\"\(name)\"" }

    /// The name as a URL path, each hierarchy level percent-encoded.
    var urlPath: String {
        name.split(separator: "/", omittingEmptySubsequences: false).map { level in
            level.utf8.map { byte in
                let c = Character(Unicode.Scalar(byte))
                return c.isLetter || c.isNumber || "-._~".contains(c) ? String(c) : "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }.joined()
        }.joined(separator: "/")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
