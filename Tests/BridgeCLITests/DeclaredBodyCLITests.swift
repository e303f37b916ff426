import DQTTesting
import Foundation
import Testing

/// A feed on an existing endpoint is one mapping plus fixtures: its declared body is typed at lint, and a draft
/// made from a sample lints.
@Suite("Declared bodies and drafts through dqt-bridge")
struct DeclaredBodyCLITests {
    @Test("mappings lint names a wrong declared body's file, line, code and property")
    func lintFindsWrongBody() throws {
        let original = "    modifiedOn: updatedAt"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/ab-induction-hub.yaml"), encoding: .utf8)
        #expect(text.contains(original), "the mapping changed: update this test")
        let lineNumber = (text.components(separatedBy: "\n").firstIndex { $0 == original } ?? -1) + 1
        let mappings = try mappingsCopy(editing: "ab-induction-hub.yaml") {
            $0.replacingOccurrences(of: original, with: "    modifiedOn: startDate")
        }
        let run = try runBridge(["mappings", "lint", "--mappings", mappings.url.path])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let located = "\(mappings.url.path)/ab-induction-hub.yaml:\(lineNumber): body-type-error: body.modifiedOn: "
        #expect(run.stdout.contains(located), "expected \(located) in:\n\(run.stdout)")
    }

    @Test("mappings new drafts from a sample; the draft lints beside the committed mappings and checks the sample")
    func draftLints() throws {
        let folder = try TemporaryFolder()
        var sample = "Teacher Ref,Surname,Date of Birth,Result\n"
        for index in 0..<12 { sample += "\(1_000_300 + index),Synth\(index),0\(index % 9 + 1)/04/1990,\(index % 3 == 0 ? "Y" : "N")\n" }
        let samplePath = try folder.write("SAMPLE_20261120.csv", Array(sample.utf8))
        let mappings = try mappingsCopy(editing: "ab-induction-hub.yaml") { $0 }
        let draftPath = mappings.url.appendingPathComponent("sample-feed.yaml").path

        let made = try runBridge(["mappings", "new", "sample-feed", "--from", samplePath, "--out", draftPath, "--replaces", "hesa-import"])
        #expect(made.status == 0, "\(made.stdout)\(made.stderr)")
        #expect(made.stdout.contains("the draft loads"), "\(made.stdout)")
        let draft = try String(contentsOfFile: draftPath, encoding: .utf8)
        #expect(draft.contains(#"result: {column: "Result", type: boolean, required: true}"#), "\(draft)")

        let lint = try runBridge(["mappings", "lint", "--mappings", mappings.url.path])
        #expect(lint.status == 0 && lint.stdout.contains("sample-feed"), "\(lint.stdout)\(lint.stderr)")
        let check = try runBridge(["check", samplePath, "--feed", "sample-feed", "--mappings", mappings.url.path, "--today", checkDay])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        let again = try runBridge(["mappings", "new", "sample-feed", "--from", samplePath, "--out", draftPath])
        #expect(again.status == 2 && again.stderr.contains("never written over"), "\(again.stderr)")
    }
}
