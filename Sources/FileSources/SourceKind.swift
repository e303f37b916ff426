/// Which kind of ``FileSource`` reaches a file. The raw values are the words the configuration and the ledger use.
public enum SourceKind: String, Sendable, Hashable, CaseIterable, Codable {
    case sftp, folder
    /// An IMAP mailbox: its messages are a mail drop's `.eml` files (``IMAPSource``).
    case imap

    /// A configuration word that names no source kind.
    public struct UnknownWord: Error, CustomStringConvertible {
        public let word: String
        public var description: String { "source \(word) is not one of sftp, folder, imap" }
    }

    /// Decodes the configuration's word; an unknown one throws ``UnknownWord`` so that the message can name it.
    public init(from decoder: any Decoder) throws {
        let word = try decoder.singleValueContainer().decode(String.self)
        guard let kind = SourceKind(rawValue: word) else { throw UnknownWord(word: word) }
        self = kind
    }
}
