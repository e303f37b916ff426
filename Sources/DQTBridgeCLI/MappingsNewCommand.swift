import ArgumentParser
import FeedMapping
import Foundation

/// `dqt-bridge mappings new ID --from SAMPLE.csv`: drafts a mapping from a sample file for an analyst to finish.
struct MappingsNewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Draft a mapping from a sample file (delimiter, encoding, types, date formats and personal data guessed).",
        discussion: """
            Reads at most the sample's first 1,000 rows. The draft starts with status legacy and marks each guess \
            `# check`; it is loaded as `mappings lint` would load it, and what is left to do is printed.
            """
    )

    @Argument(help: "The new feed's id (a-z, 0-9, '-'); the mapping file is named after it.")
    var id: String

    @Option(name: .customLong("from"), help: "A sample delimited file of the feed.")
    var sample: String

    @Option(name: .long, help: "Where to write the draft (default: standard output). An existing file is never overwritten.")
    var out: String?

    @Option(name: .long, help: "The API call each row becomes, e.g. \"PUT /v3/persons/{trn}/qtls\" (default: GET /v3/persons/{trn}).")
    var operation: String?

    @Option(name: .long, help: "An estate inventory entry the feed replaces, e.g. hesa-import (repeatable).")
    var replaces: [String] = []

    func run() throws {
        let parts = operation.map { $0.split(separator: " ", maxSplits: 1).map(String.init) }
        if let parts, parts.count != 2 { Self.fail(CommandFailure(message: "--operation must be \"METHOD PATH\"", status: 2)) }
        let draft: MappingDraft
        do {
            draft = try MappingDraft.make(id: id, samplePath: sample, method: parts?[0], path: parts?[1], replaces: replaces)
        } catch {
            Self.fail(CommandFailure(message: "\(error)", status: 2))
        }
        // Loaded under its own file name, as lint will load it.
        let file = out ?? "\(id).yaml"
        let verdict: String
        do {
            _ = try MappingLoader.parse(draft.yaml, file: file)
            verdict = "the draft loads; finish the lines marked # check"
        } catch {
            verdict = "the draft does not load yet: \(error)"
        }
        guard let out else {
            print(draft.yaml, terminator: "")
            FileHandle.standardError.write(Data("dqt-bridge: \(verdict)\n".utf8))
            return
        }
        guard !FileManager.default.fileExists(atPath: out) else {
            Self.fail(CommandFailure(message: "\(out) exists; the draft is never written over a file", status: 2))
        }
        do {
            try Data(draft.yaml.utf8).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
        } catch {
            Self.fail(CommandFailure(message: "cannot write \(out): \(error)", status: 2))
        }
        print("wrote \(out): \(verdict)")
    }
}
