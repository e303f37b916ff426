public import DQTModel
public import FlatFile
import Foundation

/// Where a feed stands in the move off the legacy servers. Moving on is a one-line change in its mapping.
public enum FeedStatus: String, Sendable, CaseIterable {
    /// The SSIS job or mailbox still owns the exchange; the bridge does not poll it.
    case legacy
    /// Polled, parsed, validated and reported, never published: compared against the legacy job.
    case shadow
    /// Polled and published to the DQT API.
    case live
    /// Switched off with its legacy job; not polled.
    case retired

    public var isPolled: Bool { self == .shadow || self == .live }
    public var publishes: Bool { self == .live }
}

/// One exchange, as its mapping file declares it.
public struct FeedDefinition: Sendable {
    public let id: String
    public let title: String
    public let partner: String
    /// The estate inventory entries (SSIS jobs, email or portal exchanges) this feed replaces, by id.
    public let replaces: [String]
    public let status: FeedStatus
    /// The hand-written record type its rows become; nil when the mapping declares the body itself (`body`).
    public let record: RecordTypeName?
    /// The request body the mapping declares (`operation.body`), built from the row's fields; nil with `record`, or
    /// for a declared operation that takes no body.
    public let body: BodyTemplate?
    /// The row's value slots by field name: the record type's fields, or the mapping's own in their order.
    let slotNames: [String]
    /// Globs (case-insensitive) that a file's name must match to belong to this feed.
    public let filePatterns: [String]
    public let source: SourceSettings
    public let email: EmailSettings?
    public let format: FileFormat
    public let fields: [FieldSpec]
    public let rules: [Rule]
    /// Fields whose values together must be unique in a file; absent: whole rows must be unique.
    public let uniqueKey: [String]?
    public let operation: OperationTemplate
    /// When the partner's files are due; nil when the feed declares no expected arrivals.
    public let due: DueSchedule?
    /// The bar for moving on from shadow and from live, and how long shadow evidence is kept.
    public let lifecycle: LifecycleSettings
    /// The mapping file it was loaded from.
    public let mappingFile: String
    /// Set for a reconciliation feed: its files are compared with the API's alerts, never published.
    public var reconcile: ReconcileSettings? = nil

    /// The fields mapped from one record type (fixed width) or from every row (delimited).
    public func fields(forRecordType code: String?) -> [FieldSpec] {
        fields.filter { $0.recordType == nil || $0.recordType == code }
    }
}

/// Where the unattended run finds a feed's files.
public struct SourceSettings: Sendable, Hashable {
    /// The pickup folder on the SFTP server (or below a local source root), relative to the partner's home.
    public var folder: String?
    /// A file is taken once its size and mtime are unchanged across listings this many seconds apart...
    public var stableSeconds: Int = 30
    /// ...and it is at least this old.
    public var minimumAgeSeconds: Int = 60
    /// Or as soon as a marker file with this suffix exists beside it (e.g. `.done`).
    public var doneMarkerSuffix: String?
    /// Set when the file is downloaded over HTTPS into `folder` (on the folder source) before the folder is polled.
    public var https: HTTPSSourceSettings?
    public init() {}
}

/// A feed's HTTPS download, as its mapping states it.
public struct HTTPSSourceSettings: Sendable, Hashable {
    /// `https` only; `{yyyyMMdd}` stands for the day's date.
    public var url: String
    /// A larger file is refused.
    public var maxBytes: Int64
    /// Extra certificate authorities to trust (PEM); verification itself is always on.
    public var caFile: String?

    public init(url: String, maxBytes: Int64, caFile: String? = nil) {
        self.url = url
        self.maxBytes = maxBytes
        self.caFile = caFile
    }
}

public enum FileFormat: Sendable {
    /// A delimited layout; `fieldCounts`, when set, are the only row widths accepted.
    case delimited(DelimitedLayout, fieldCounts: [Int]?)
    case fixedWidth(FixedWidthLayout)

    public var encoding: TextEncoding {
        switch self {
        case .delimited(let layout, _): layout.encoding
        case .fixedWidth(let layout): layout.encoding
        }
    }
}

/// Where a field's value sits in a row.
public enum FieldSource: Sendable, Hashable, CustomStringConvertible {
    /// A header name (delimited files with a header).
    case column(String)
    /// A 0-based position (delimited files).
    case position(Int)
    /// Character columns of a fixed-width record type; `index` is the field's place in the reader's record.
    case columns(ColumnRange, index: Int)
    /// `from: email.sender` or `from: email.senderDomain` (email feeds): a value of the email, the same for every row.
    case email(EmailValue)

    public var description: String {
        switch self {
        case .email(let value): value.rawValue
        case .column(let name): name
        case .position(let position): "#\(position + 1)"
        case .columns(let range, _): range.first == range.last ? "\(range.first)" : "\(range.first)-\(range.last)"
        }
    }
}

/// What an email feed's field can read from the email rather than its attachment. The email's sender is read only
/// once it has been authenticated (the feed's `email.authentication`), so these values are proved, never claimed.
public enum EmailValue: String, Sendable, Hashable, CaseIterable {
    /// The authenticated From address, lower case.
    case sender = "email.sender"
    /// Its domain, lower case: what a lookup turns into the partner, e.g. `ewc.wales.example` -> `ewc`.
    case senderDomain = "email.senderDomain"

    /// The value for an email from `sender` (nil when the row is not from an email).
    public func value(sender: String?) -> String? {
        guard let sender = sender?.lowercased() else { return nil }
        switch self {
        case .sender: return sender
        case .senderDomain: return sender.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init)
        }
    }
}

public enum Severity: String, Sendable { case error, warning }

public struct FieldSpec: Sendable {
    public let name: String
    public let source: FieldSource
    /// Fixed width: the data record type this field belongs to; nil for every row.
    public let recordType: String?
    /// Fixed width: the field comes from a continuation line, and so exists only when that line was joined.
    public var fromContinuation = false
    public let type: FieldType
    public let required: Bool
    /// Personal data: never logged, masked in reports.
    public let pii: Bool
    /// `warning`: a value that fails its checks is dropped with a warning instead of rejecting the row.
    public let onInvalid: Severity
    /// Line in the mapping file, for messages about the mapping itself.
    public let line: Int
}

/// The API call each record becomes: a method and a path whose `{placeholders}` the record fills.
public struct OperationTemplate: Sendable, Hashable {
    public let method: String
    public let path: String
    public let placeholders: [String]
    /// The text around the placeholders: `literals[i]` comes before `placeholders[i]`, the last one after them all.
    let literals: [String]

    init?(method: String, path: String) {
        guard ["GET", "PUT", "POST", "PATCH", "DELETE"].contains(method), path.hasPrefix("/") else { return nil }
        var placeholders: [String] = []
        var literals: [String] = []
        var rest = Substring(path)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return nil }
            literals.append(String(rest[..<open]))
            placeholders.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        literals.append(String(rest))
        self.method = method
        self.path = path
        self.placeholders = placeholders
        self.literals = literals
    }

    /// The path with every placeholder replaced by the record's percent-encoded value (built once per record on a
    /// run, so it is spliced from the parts found at load time rather than searched and replaced).
    public func path(for record: some FeedRecord) -> String {
        path { record.pathParameter(placeholders[$0]) }
    }

    /// The path with placeholder `i` replaced by `value(i)`, percent-encoded.
    func path(_ value: (Int) -> String) -> String {
        var result = literals[0]
        for index in placeholders.indices {
            result += percentEncodePathSegment(value(index))
            result += literals[index + 1]
        }
        return result
    }
}

/// RFC 3986 unreserved characters stay; everything else in a path segment is percent-encoded.
func percentEncodePathSegment(_ text: String) -> String {
    func isUnreserved(_ byte: UInt8) -> Bool {
        ASCII.isDigit(byte) || ASCII.isUpper(byte) || ASCII.isLower(byte) || byte == 45 || byte == 46 || byte == 95 || byte == 126
    }
    // Keys and TRNs are almost always unreserved already: returned as they are (built once per record on a run).
    if text.utf8.allSatisfy(isUnreserved) { return text }
    var out: [UInt8] = []
    let hex = Array("0123456789ABCDEF".utf8)
    for byte in text.utf8 {
        if isUnreserved(byte) {
            out.append(byte)
        } else {
            out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }
    return String(decoding: out, as: UTF8.self)
}
