import DQTModel
import Foundation

/// Every feed mapping in a folder (`mappings/`), each checked when loaded.
public struct FeedCatalog: Sendable {
    /// The inbound feeds (partners' files read into the API).
    public let feeds: [FeedDefinition]
    /// The outbound feeds (files written for partners from the API's changes or an inbound feed's problems).
    public let outboundFeeds: [OutboundFeedDefinition]
    /// Mappings that do not load, when loaded with `isolatingBroken`: their feeds are held back, the others run.
    public let broken: [BrokenMapping]

    /// Loads every `*.yaml` in `directory`, in name order. Throws every mapping error found, not just the first;
    /// with `isolatingBroken` (an unattended run) a mapping that does not load, or an outbound feed that names an
    /// inbound feed no loaded mapping defines, is set aside in `broken` instead, so one mistake holds back only its
    /// own feed. A folder that cannot be listed always throws.
    public static func load(directory: String, isolatingBroken: Bool = false) throws(MappingErrors) -> FeedCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
        } catch {
            let reason = FileProblem.listing(folder: directory) ?? "\(error)"
            throw MappingErrors(errors: [MappingError(file: directory, line: 0, message: "cannot list the mappings folder: \(reason)")])
        }
        var feeds: [FeedDefinition] = []
        var outboundFeeds: [OutboundFeedDefinition] = []
        var errors: [MappingError] = []
        var broken: [BrokenMapping] = []
        for name in names {
            do {
                switch try LoadedMapping.load(path: (directory as NSString).appendingPathComponent(name)) {
                case .inbound(let feed): feeds.append(feed)
                case .outbound(let feed): outboundFeeds.append(feed)
                }
            } catch {
                errors.append(error)
                broken.append(BrokenMapping(feed: (name as NSString).deletingPathExtension, errors: [error]))
            }
        }
        // An outbound feed that follows or reads an inbound feed must name one that exists.
        let inboundIDs = Set(feeds.map(\.id))
        outboundFeeds.removeAll { feed in
            var named: [String] = []
            if case .problems(let id) = feed.input { named.append(id) }
            if case .afterEachFile(let id) = feed.schedule { named.append(id) }
            let missing = Set(named).sorted().filter { !inboundIDs.contains($0) }.map { id in
                MappingError(file: feed.mappingFile, line: 0, message: "names the inbound feed '\(id)', which no mapping defines")
            }
            errors += missing
            if !missing.isEmpty { broken.append(BrokenMapping(feed: feed.id, errors: missing)) }
            return !missing.isEmpty
        }
        guard isolatingBroken || errors.isEmpty else { throw MappingErrors(errors: errors) }
        return FeedCatalog(feeds: feeds, outboundFeeds: outboundFeeds, broken: broken)
    }

    /// Loads only feed `id`'s own mapping, `<id>.yaml` or `<id>.yml` in `directory`; nil when there is no such file
    /// or it defines another feed (then load the whole folder). Parsing every mapping costs more than checking a
    /// small file, and one feed's check should not depend on the others.
    public static func loadFeed(id: String, directory: String) throws(MappingError) -> FeedDefinition? {
        for name in [id + ".yaml", id + ".yml"] where !id.contains("/") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            guard case .inbound(let definition) = try LoadedMapping.load(path: path) else { return nil }
            return definition.id == id ? definition : nil
        }
        return nil
    }

    public init(feeds: [FeedDefinition], outboundFeeds: [OutboundFeedDefinition] = [], broken: [BrokenMapping] = []) {
        self.feeds = feeds
        self.outboundFeeds = outboundFeeds
        self.broken = broken
    }

    public func feed(id: String) -> FeedDefinition? { feeds.first { $0.id == id } }

    public func outboundFeed(id: String) -> OutboundFeedDefinition? { outboundFeeds.first { $0.id == id } }

    /// The feeds whose file patterns match a file's name (not its folder).
    public func feeds(matching fileName: String) -> [FeedDefinition] {
        let name = (fileName as NSString).lastPathComponent
        return feeds.filter { feed in feed.filePatterns.contains { FileNamePattern.matches($0, name: name) } }
    }
}

/// A mapping file set aside because it does not load: its feed (the file's name without `.yaml`, or the outbound
/// feed's id) and its errors, each located by file and line.
public struct BrokenMapping: Sendable {
    public let feed: String
    public let errors: [MappingError]

    /// One line for a summary or a report: the feed and its first error.
    public var summary: String {
        "mapping of feed \(feed) does not load: \(errors.first.map(\.description) ?? "unknown error")"
            + (errors.count > 1 ? " (and \(errors.count - 1) more)" : "")
    }
}

public struct MappingErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [MappingError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
