import DQTModel
import Foundation
import Testing

/// File-system refusals become a reason a person can act on, asked of the file system itself.
@Suite("File problems")
struct FileProblemTests {
    @Test("reading: no such file, is a directory, not a directory; fine for a readable file")
    func reading() throws {
        let folder = NSTemporaryDirectory() + "file-problem-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder + "/IND_20261101.csv", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "x".write(toFile: folder + "/plain", atomically: true, encoding: .utf8)
        #expect(FileProblem.reading(file: folder + "/missing") == "no such file or directory")
        #expect(FileProblem.reading(file: folder + "/IND_20261101.csv") == "is a directory")
        #expect(FileProblem.reading(file: folder + "/plain/inside") == "not a directory")
        #expect(FileProblem.reading(file: folder + "/plain") == nil)
        #expect(FileProblem.listing(folder: folder + "/plain") == "not a directory")
        #expect(FileProblem.listing(folder: folder) == nil)
    }

    @Test("writing in a folder: a file in the way is named; a missing folder under a writable one is fine")
    func writing() throws {
        let folder = NSTemporaryDirectory() + "file-problem-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "x".write(toFile: folder + "/work", atomically: true, encoding: .utf8)
        #expect(FileProblem.writing(folder: folder + "/work") == "not a directory")
        #expect(FileProblem.writing(folder: folder + "/work/files/deeper") == "\(folder)/work is a file, not a directory")
        #expect(FileProblem.writing(folder: folder + "/new/deeper") == nil)
        #expect(FileProblem.writing(folder: folder) == nil)
    }
}
