import Foundation
import Testing

@testable import FeedMapping

/// The estate inventory: the committed one covers every legacy job and exchange and agrees with the mappings both
/// ways; each kind of mistake is found and located; progress and the servers' switch-off follow the documented rule.
@Suite("Estate inventory")
struct EstateInventoryTests {
    static let path = EstateInventory.path(inMappings: repositoryRoot.appendingPathComponent("mappings").path)
    static let text = try! String(contentsOfFile: path, encoding: .utf8)

    static func inventory(_ text: String = EstateInventoryTests.text) throws(MappingError) -> EstateInventory {
        try EstateInventoryLoader.parse(text, file: path)
    }

    @Test("the committed inventory has every SSIS job, email and portal exchange and lints clean against the mappings")
    func committedInventoryLints() throws {
        let inventory = try Self.inventory()
        #expect(EstateLint.check(inventory, catalog: committedCatalog).map(\.description) == [])
        #expect(LegacyEstate.ssisJobs.count == 19)
        for (id, kind) in LegacyEstate.required { #expect(inventory.entry(id: id)?.kind == kind, "\(id)") }
        // Every feed replaces something, and every entry says how it goes.
        for feed in committedCatalog.feeds { #expect(!feed.replaces.isEmpty) }
        for entry in inventory.entries {
            #expect(!entry.feeds.isEmpty || !entry.planned.isEmpty || entry.capability != nil || entry.decision != nil || entry.layoutUnknown != nil)
        }
    }

    /// The entry's block in the inventory text, from its key line to the next blank or key line at its level.
    static func removing(entry id: String, from text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        let start = lines.firstIndex(of: "  \(id):")!
        var end = start + 1
        while end < lines.count, lines[end].hasPrefix("    ") { end += 1 }
        lines.removeSubrange(start..<end)
        return lines.joined(separator: "\n")
    }

    @Test("a job with no entry fails, naming the job")
    func missingJob() throws {
        let inventory = try Self.inventory(Self.removing(entry: "web-audit-import", from: Self.text))
        let errors = EstateLint.check(inventory, catalog: committedCatalog).map(\.message)
        #expect(errors == ["entries: the legacy SSIS job 'web-audit-import' has no entry"])
    }

    @Test("an entry naming a feed no mapping defines fails at the entry's line, with the nearest feed")
    func unknownFeed() throws {
        let text = Self.text.replacingOccurrences(of: "feeds: [capita-import]", with: "feeds: [capita-imports]")
        let errors = EstateLint.check(try Self.inventory(text), catalog: committedCatalog)
        let line = text.components(separatedBy: "\n").firstIndex(of: "  capita-import:")! + 1
        #expect(
            errors.map(\.description).contains(
                "\(Self.path):\(line): entry capita-import: feeds names 'capita-imports', which no mapping defines (did you mean 'capita-import'?)"))
        // ...and capita-import's own mapping now names an entry that does not list it.
        #expect(errors.contains { $0.file.hasSuffix("capita-import.yaml") && $0.message.contains("does not list feed capita-import") })
    }

    @Test("a feed whose replaces names no entry fails at its replaces line")
    func replacesNamesNoJob() throws {
        var feeds = committedCatalog.feeds
        let index = feeds.firstIndex { $0.id == "ewc-qts" }!
        let text = try String(contentsOfFile: feeds[index].mappingFile, encoding: .utf8)
            .replacingOccurrences(of: "replaces: [gtc-wales-import]", with: "replaces: [gtc-wales-imports]")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("estate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("ewc-qts.yaml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        feeds[index] = try MappingLoader.parse(text, file: file)
        let catalog = FeedCatalog(feeds: feeds, outboundFeeds: committedCatalog.outboundFeeds)
        let errors = EstateLint.check(try Self.inventory(), catalog: catalog).map(\.description)
        #expect(
            errors.contains("\(file):6: replaces: 'gtc-wales-imports' is no entry of the estate inventory (did you mean 'gtc-wales-import'?)"),
            "\(errors)")
        #expect(errors.contains { $0.contains("entry gtc-wales-import: feed 'ewc-qts' does not name it in its replaces") }, "\(errors)")
    }

    @Test("a planned feed that is in the mappings must move to feeds; a broken mapping's feed still exists")
    func plannedAndBroken() throws {
        let text = Self.text.replacingOccurrences(of: "feeds: [gias-establishments]", with: "planned: [tps-workforce]")
        let errors = EstateLint.check(try Self.inventory(text), catalog: committedCatalog).map(\.message)
        #expect(errors.contains("entry edubase-import: planned feed 'tps-workforce' is in the mappings now: move it to feeds"))
        let withoutQTS = FeedCatalog(feeds: committedCatalog.feeds.filter { $0.id != "ewc-qts" }, outboundFeeds: committedCatalog.outboundFeeds)
        #expect(EstateLint.check(try Self.inventory(), catalog: withoutQTS, brokenFeeds: ["ewc-qts"]).isEmpty)
        #expect(!EstateLint.check(try Self.inventory(), catalog: withoutQTS).isEmpty)
    }

    @Test("the inventory's own mistakes are located: unknown key, unknown server, no replacement, layoutUnknown without needs")
    func formMistakes() {
        let cases: [(String, String, String)] = [
            (
                "    legacy: disabled\n    feeds: [ab-induction, ab-induction-hub]",
                "    legacy: disabled\n    feed: [ab-induction, ab-induction-hub]",
                "unknown key 'feed' in entry dqt-ab-import (did you mean 'feeds'?)"
            ),
            (
                "    servers: [ssis, sftp]\n    legacy: disabled", "    servers: [ssis, sftpd]\n    legacy: disabled",
                "unknown server 'sftpd' (did you mean 'sftp'?)"
            ),
            ("    legacy: disabled\n    feeds: [ab-induction, ab-induction-hub]", "    legacy: disabled", "dqt-ab-import needs its replacement"),
            ("layoutUnknown: needs the import file's layout", "layoutUnknown: the import file's layout", "layoutUnknown says what is needed"),
            (
                "    legacy: disabled\n    feeds: [ab-induction, ab-induction-hub]", "    legacy: off\n    feeds: [ab-induction, ab-induction-hub]",
                "legacy must be one of running, disabled, removed"
            ),
        ]
        for (original, mistake, message) in cases {
            #expect(Self.text.contains(original), "the inventory changed: update \(message)")
            let text = Self.text.replacingOccurrences(of: original, with: mistake)
            do {
                _ = try Self.inventory(text)
                Issue.record("\(message): loaded")
            } catch {
                #expect(error.message.contains(message), "\(error)")
                #expect(error.line > 0)
            }
        }
    }

    @Test("progress: an entry is done when its legacy side is off and its replacement complete; a server goes when all on it are done")
    func switchOffRule() throws {
        let inventory = try EstateInventoryLoader.parse(
            """
            servers:
              sftp: {title: SFTP}
              ssis: {title: SSIS}
            entries:
              a-job: {kind: ssis-job, title: A, servers: [ssis, sftp], legacy: disabled, feeds: [a-feed]}
              b-job: {kind: ssis-job, title: B, servers: [ssis], legacy: running, feeds: [b-feed]}
              c-job: {kind: ssis-job, title: C, servers: [ssis], legacy: removed, layoutUnknown: needs a sample}
              d-job: {kind: ssis-job, title: D, servers: [sftp], legacy: disabled, decision: {outcome: retire, reason: unused, agreed: true}}
            """, file: "inventory.yaml")
        var progress = EstateProgress(inventory: inventory, statuses: ["a-feed": .live, "b-feed": .shadow])
        let judged = Dictionary(uniqueKeysWithValues: progress.entries.map { ($0.entry.id, $0) })
        #expect(judged["a-job"]!.done && judged["d-job"]!.done)
        #expect(judged["b-job"]!.missing.count == 2)
        #expect(judged["c-job"]!.missing == ["layout unknown: needs a sample"])
        let servers = Dictionary(uniqueKeysWithValues: progress.servers.map { ($0.server.id, $0) })
        #expect(servers["sftp"]!.canSwitchOff)
        // c-job is removed: a gap, not a blocker; b-job still runs on ssis.
        #expect(!servers["ssis"]!.canSwitchOff && servers["ssis"]!.blocking.map(\.entry.id) == ["b-job"])
        // b-feed live while the job still runs: the one thing left is to switch the job off.
        progress = EstateProgress(inventory: inventory, statuses: ["a-feed": .live, "b-feed": .live])
        let b = progress.entries.first { $0.entry.id == "b-job" }!
        #expect(b.missing == ["the legacy job still runs although its feeds are live: switch it off and set legacy: disabled"])
        // A feed whose mapping does not load blocks its entry.
        progress = EstateProgress(inventory: inventory, statuses: ["b-feed": .live])
        #expect(progress.entries.first { $0.entry.id == "a-job" }!.missing.first?.contains("does not load") == true)
    }
}
