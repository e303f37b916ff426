import DQTModel
import Foundation

/// Every feed mapping in a folder (`mappings/`), each checked when loaded.
public struct FeedCatalog: Sendable {
    /// The inbound feeds (partners' files read into the API).
    public let feeds: [FeedDefinition]
    /// The outbound feeds (files written for partners from the API's changes or an inbound feed's problems).
    public let outboundFeeds: [OutboundFeedDefinition]

    /// Loads every `*.yaml` in `directory`, in name order. Throws every mapping error found, not just the first.
    public static func load(directory: String) throws(MappingErrors) -> FeedCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
        } catch {
            throw MappingErrors(errors: [MappingError(file: directory, line: 0, message: "cannot list the mappings folder")])
        }
        var feeds: [FeedDefinition] = []
        var outboundFeeds: [OutboundFeedDefinition] = []
        var errors: [MappingError] = []
        for name in names {
            do {
                switch try LoadedMapping.load(path: (directory as NSString).appendingPathComponent(name)) {
                case .inbound(let feed): feeds.append(feed)
                case .outbound(let feed): outboundFeeds.append(feed)
                }
            } catch {
                errors.append(error)
            }
        }
        // An outbound feed that follows or reads an inbound feed must name one that exists.
        let inboundIDs = Set(feeds.map(\.id))
        for feed in outboundFeeds {
            var named: [String] = []
            if case .problems(let id) = feed.input { named.append(id) }
            if case .afterEachFile(let id) = feed.schedule { named.append(id) }
            for id in Set(named).sorted() where !inboundIDs.contains(id) {
                errors.append(MappingError(file: feed.mappingFile, line: 0, message: "names the inbound feed '\(id)', which no mapping defines"))
            }
        }
        guard errors.isEmpty else { throw MappingErrors(errors: errors) }
        return FeedCatalog(feeds: feeds, outboundFeeds: outboundFeeds)
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

    public init(feeds: [FeedDefinition], outboundFeeds: [OutboundFeedDefinition] = []) {
        self.feeds = feeds
        self.outboundFeeds = outboundFeeds
    }

    public func feed(id: String) -> FeedDefinition? { feeds.first { $0.id == id } }

    public func outboundFeed(id: String) -> OutboundFeedDefinition? { outboundFeeds.first { $0.id == id } }

    /// The feeds whose file patterns match a file's name (not its folder).
    public func feeds(matching fileName: String) -> [FeedDefinition] {
        let name = (fileName as NSString).lastPathComponent
        return feeds.filter { feed in feed.filePatterns.contains { FileNamePattern.matches($0, name: name) } }
    }
}

public struct MappingErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [MappingError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
