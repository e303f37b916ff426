import DQTModel
public import FlatFile
public import Foundation

/// An outbound exchange, as its mapping (`direction: outbound`) declares it: what it reads, which items it keeps,
/// the file each run writes, and where and when the file goes.
public struct OutboundFeedDefinition: Sendable {
    public let id: String
    public let title: String
    public let partner: String
    /// The estate inventory entries (SSIS jobs, email or portal exchanges) this feed replaces, by id.
    public let replaces: [String]
    public let status: FeedStatus
    public let input: OutboundInput
    public let filter: OutboundFilter
    public let layout: OutboundLayout
    /// The file name with `{yyyyMMdd}`-style timestamp tokens (UTC).
    public let fileNamePattern: String
    public let destination: OutboundDestination
    public let schedule: OutboundSchedule
    public let emptyFile: EmptyFilePolicy
    /// The mapping file it was loaded from.
    public let mappingFile: String

    /// The file's name for a run at `date`: each token of the pattern written in UTC, the rest as it is.
    public func fileName(at date: Date) -> String {
        TimestampPattern.expandTokens(in: fileNamePattern, at: date)
    }
}

/// What an outbound feed reads.
public enum OutboundInput: Sendable, Hashable {
    /// Changes of these kinds from `GET /v3/changes`; `fields` are the document fields the mapping uses.
    case changes(kinds: [String], fields: Set<String>)
    /// The refused rows of each file of this inbound feed.
    case problems(feed: String)

    /// The kinds to ask the change feed for (empty for a problems feed).
    public var kinds: [String] {
        if case .changes(let kinds, _) = self { return kinds }
        return []
    }
}

/// Which items go into the file. An item is kept when its kind is wanted, it was not made by one of `excludeKeys`,
/// and every condition holds.
public struct OutboundFilter: Sendable, Hashable {
    /// API keys whose changes are left out, so a partner's own updates are not echoed back to it.
    public var excludeKeys: [String] = []
    public var conditions: [OutboundCondition] = []

    public func keeps(_ item: OutboundItem) -> Bool {
        if case .change(let change) = item, excludeKeys.contains(change.keyName) { return false }
        return conditions.allSatisfy { $0.holds(for: item) }
    }
}

/// A test on one item, for filters and for record types written only sometimes.
public enum OutboundCondition: Sendable, Hashable {
    /// The value is one of these (an absent value is in no list).
    case oneOf(FieldPath, [String])
    /// The value is present and not blank.
    case present(FieldPath)
    /// At least one of these document fields differs between `before` and `after`.
    case changed([String])

    public func holds(for item: OutboundItem) -> Bool {
        switch self {
        case .oneOf(let path, let values):
            guard let value = item.value(path) else { return false }
            return values.contains(value)
        case .present(let path):
            return !(item.value(path) ?? "").allSatisfy { $0 == " " }
        case .changed(let names):
            return names.contains { item.value(.before($0)) != item.value(.after($0)) }
        }
    }
}

/// The file's layout and text conventions.
public struct OutboundLayout: Sendable {
    public enum Shape: Sendable {
        /// Each kept item writes each record type whose condition holds, in the order declared.
        case fixedWidth(lineLength: Int, records: [OutboundRecordType])
        /// Each kept item writes one row.
        case delimited(columns: [OutboundColumn], header: Bool, delimiter: Unicode.Scalar, quoting: Quoting)
    }
    public let shape: Shape
    public let encoding: TextEncoding
    public let lineEnd: LineEnd
    public let finalNewline: Bool
}

/// One fixed-width record type of an outbound file.
public struct OutboundRecordType: Sendable {
    public let name: String
    /// Written only when this holds (nil: always).
    public let when: OutboundCondition?
    public let format: FixedWidthLineFormat
    /// One per `format.columns` entry, same order.
    public let columns: [OutboundColumn]
}

/// One column of an outbound file: where its value comes from and how it is written.
public struct OutboundColumn: Sendable {
    public let name: String
    public let value: OutboundValue
    /// Personal data: never logged, masked in reports.
    public let pii: Bool
}

/// How a column's text is made from an item.
public struct OutboundValue: Sendable {
    public enum Source: Sendable, Hashable {
        case field(FieldPath)
        case constant(String)
        /// The present values, joined by single spaces (e.g. a full name).
        case join([FieldPath])
        /// `text` when the field is present, else empty (e.g. the flag announcing a previous-surname line).
        case flag(FieldPath, text: String)
    }
    public let source: Source
    /// Applied to the field's value; a value with no entry takes `defaultText`, or is an error without one.
    public let lookup: [String: String]?
    /// Writes an ISO date (`yyyy-MM-dd`, optionally with a time after it) in this layout.
    public let date: TimestampPattern?
    /// Written when the value is absent (or has no lookup entry); nil: absent is written empty.
    public let defaultText: String?

    /// The field paths the value reads.
    var paths: [FieldPath] {
        switch source {
        case .field(let path), .flag(let path, _): [path]
        case .join(let paths): paths
        case .constant: []
        }
    }
}

/// Where the finished file goes.
public enum OutboundDestination: Sendable, Hashable {
    /// A folder on the bridge's SFTP server, relative to the partner's home.
    case sftp(folder: String)
    /// A local folder.
    case folder(path: String)
    /// An email with the file attached, left in the mail outbox for the mail system to send.
    case mailOutbox(to: [String], subject: String?)
}

/// When a run writes the file.
public enum OutboundSchedule: Sendable, Hashable {
    /// Once a day at this UTC time of day (`HH:mm`).
    case daily(hour: Int, minute: Int)
    /// After each file of this inbound feed is finished.
    case afterEachFile(feed: String)
}

/// What to do when no item is kept.
public enum EmptyFilePolicy: String, Sendable, CaseIterable {
    /// Write no file.
    case skip
    /// Write the file anyway (a delimited file then holds its header only), so the partner sees the run happened.
    case write
}
