public import DQTModel
public import FeedMapping
public import Foundation

/// The retirement's progress for the service owner: per server, the jobs and exchanges still on it and whether it
/// can be switched off today (and why not); per job or exchange, its replacement, the replacing feeds' lifecycle
/// states, last files, parity with the legacy job over their last files and expected arrivals, and what is missing.
/// As JSON and as a self-contained HTML page. It holds no record data: file names, states, counts and dates only.
public struct EstateReport: Sendable {
    /// The newest file of a feed: received (inbound) or delivered (outbound).
    public struct LastFile: Sendable {
        public var id: Int64
        public var name: String
        public var state: String
        public var at: Date
        public init(id: Int64, name: String, state: String, at: Date) {
            self.id = id
            self.name = name
            self.state = state
            self.at = at
        }
    }

    /// One file's parity with the legacy job.
    public struct ParityFile: Sendable {
        public var fileID: Int64
        public var fileName: String
        public var comparedAt: Date
        public var rowsCompared: Int
        public var rowsAgreed: Int
        public var agreement: Double { rowsCompared == 0 ? 1 : Double(rowsAgreed) / Double(rowsCompared) }
        public init(fileID: Int64, fileName: String, comparedAt: Date, rowsCompared: Int, rowsAgreed: Int) {
            self.fileID = fileID
            self.fileName = fileName
            self.comparedAt = comparedAt
            self.rowsCompared = rowsCompared
            self.rowsAgreed = rowsAgreed
        }
    }

    /// What the ledger says about one replacing feed.
    public struct Feed: Sendable {
        public var id: String
        public var outbound: Bool
        /// Its lifecycle state; nil when its mapping does not load.
        public var status: FeedStatus?
        public var lastFile: LastFile?
        /// Its last files' parity, newest first (empty: no parity yet).
        public var parity: [ParityFile]
        /// Its expected arrival, when it declares `due:` and is polled.
        public var arrival: ArrivalCheck?
        public init(id: String, outbound: Bool, status: FeedStatus?, lastFile: LastFile?, parity: [ParityFile], arrival: ArrivalCheck?) {
            self.id = id
            self.outbound = outbound
            self.status = status
            self.lastFile = lastFile
            self.parity = parity
            self.arrival = arrival
        }

        /// Rows agreed over rows compared across its last files (nil: nothing compared yet).
        public var parityAgreement: Double? {
            let compared = parity.map(\.rowsCompared).reduce(0, +)
            return parity.isEmpty ? nil : compared == 0 ? 1 : Double(parity.map(\.rowsAgreed).reduce(0, +)) / Double(compared)
        }
    }

    public let generatedAt: Date
    /// How many of each feed's last files parity is shown over.
    public let parityFiles: Int
    public let progress: EstateProgress
    /// Every feed an entry names, by id.
    public let feeds: [String: Feed]

    public init(generatedAt: Date, parityFiles: Int, progress: EstateProgress, feeds: [String: Feed]) {
        self.generatedAt = generatedAt
        self.parityFiles = parityFiles
        self.progress = progress
        self.feeds = feeds
    }

    /// Feeds whose file due is late, in id order.
    public var lateFeeds: [Feed] { feeds.values.filter { $0.arrival?.isLate == true }.sorted { $0.id < $1.id } }

    public var json: JSONValue {
        .object([
            ("generatedAt", Self.iso(generatedAt)), ("parityFiles", .int(parityFiles)),
            (
                "summary",
                .object([
                    ("entries", .int(progress.entries.count)), ("done", .int(progress.entries.filter(\.done).count)),
                    ("serversThatCanBeSwitchedOff", .array(progress.servers.filter(\.canSwitchOff).map { .string($0.server.id) })),
                    ("lateFeeds", .array(lateFeeds.map { .string($0.id) })),
                ])
            ),
            ("servers", .array(progress.servers.map(serverJSON))),
            ("entries", .array(progress.entries.map(entryJSON))),
        ])
    }

    private func serverJSON(_ server: EstateProgress.Server) -> JSONValue {
        .object([
            ("id", .string(server.server.id)), ("title", .string(server.server.title)), ("canSwitchOff", .bool(server.canSwitchOff)),
            ("entriesOnIt", .array(server.entries.map { .string($0.entry.id) })),
            (
                "blocking",
                .array(
                    server.blocking.map { entry in
                        .object([("entry", .string(entry.entry.id)), ("missing", .array(entry.missing.map(JSONValue.string)))])
                    })
            ),
        ])
    }

    private func entryJSON(_ judged: EstateProgress.Entry) -> JSONValue {
        let entry = judged.entry
        var replacement: [(String, JSONValue)] = []
        if !entry.feeds.isEmpty { replacement.append(("feeds", .array(entry.feeds.map { feeds[$0].map(feedJSON) ?? .string($0) }))) }
        if !entry.planned.isEmpty { replacement.append(("planned", .array(entry.planned.map(JSONValue.string)))) }
        if let capability = entry.capability {
            replacement.append(("capability", .object([("name", .string(capability.name)), ("available", .bool(capability.available))])))
        }
        if let decision = entry.decision {
            replacement.append(
                (
                    "decision",
                    .object([
                        ("outcome", .string(decision.outcome.rawValue)), ("reason", .string(decision.reason)), ("agreed", .bool(decision.agreed)),
                    ])
                ))
        }
        if let layoutUnknown = entry.layoutUnknown { replacement.append(("layoutUnknown", .string(layoutUnknown))) }
        return .object([
            ("id", .string(entry.id)), ("kind", .string(entry.kind.rawValue)), ("title", .string(entry.title)),
            ("servers", .array(entry.servers.map(JSONValue.string))), ("legacy", .string(entry.legacy.rawValue)),
            ("replacement", .object(replacement)), ("done", .bool(judged.done)), ("missing", .array(judged.missing.map(JSONValue.string))),
            ("notes", JSONValue(entry.notes)),
        ])
    }

    private func feedJSON(_ feed: Feed) -> JSONValue {
        let last: JSONValue =
            feed.lastFile.map { file in
                .object([("id", .int(Int(file.id))), ("name", .string(file.name)), ("state", .string(file.state)), ("at", Self.iso(file.at))])
            } ?? .null
        let arrival: JSONValue =
            feed.arrival.map { check in
                .object([
                    ("due", .string(check.schedule.description)), ("state", .string(check.state.rawValue)), ("late", .bool(check.isLate)),
                    ("windowOpens", Self.iso(check.period.opens)), ("deadline", Self.iso(check.period.deadline)),
                    ("firstArrival", check.firstArrival.map(Self.iso) ?? .null), ("nextDeadline", Self.iso(check.nextDeadline)),
                ])
            } ?? .null
        return .object([
            ("id", .string(feed.id)), ("direction", .string(feed.outbound ? "outbound" : "inbound")), ("status", JSONValue(feed.status?.rawValue)),
            ("lastFile", last),
            (
                "parity",
                .array(
                    feed.parity.map { file in
                        .object([
                            ("fileId", .int(Int(file.fileID))), ("fileName", .string(file.fileName)), ("comparedAt", Self.iso(file.comparedAt)),
                            ("rowsCompared", .int(file.rowsCompared)), ("rowsAgreed", .int(file.rowsAgreed)),
                        ])
                    })
            ),
            ("expectedArrival", arrival),
        ])
    }

    static func iso(_ date: Date) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return .string(formatter.string(from: date))
    }
}
