import Delivery
import Foundation
import Testing

@Suite("FolderDelivery")
struct FolderDeliveryTests {
    @Test("Delivers under the final name only after the copy is checked; a second delivery finds it and sends nothing")
    func deliversOnce() throws {
        let work = try Scratch()
        let target = try Scratch()
        let file = try WorkFile(in: work.path, bytes: WorkFile.bytes(3 << 20))
        let delivery = FolderDelivery(folder: target.path)
        #expect(try !delivery.isDelivered(name: "Reg01_DTR_20261206_030000_New.txt", size: file.size, sha256: file.sha256))
        var steps: [DeliveryStep] = []
        let receipt = try delivery.deliver(
            localFile: file.path, name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: file.size, expectedSHA256: file.sha256
        ) { step in
            steps.append(step)
            // The final name appears only after both steps.
            #expect(target.contents("Reg01_DTR_20261206_030000_New.txt") == nil)
        }
        #expect(steps == [.uploaded, .verified])
        #expect(!receipt.alreadyPresent && receipt.size == file.size && receipt.sha256 == file.sha256)
        #expect(try target.names() == ["Reg01_DTR_20261206_030000_New.txt"])
        #expect(target.contents("Reg01_DTR_20261206_030000_New.txt") == WorkFile.bytes(3 << 20))
        #expect(try delivery.isDelivered(name: "Reg01_DTR_20261206_030000_New.txt", size: file.size, sha256: file.sha256))

        var again: [DeliveryStep] = []
        let second = try delivery.deliver(
            localFile: file.path, name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: file.size, expectedSHA256: file.sha256
        ) { again.append($0) }
        #expect(second.alreadyPresent && again.isEmpty)
        #expect(try target.names() == ["Reg01_DTR_20261206_030000_New.txt"])
    }

    @Test("A temporary file left by an interrupted delivery is replaced; one left beside a delivered file is removed")
    func leftoverTemporaryFile() throws {
        let work = try Scratch()
        let target = try Scratch()
        let file = try WorkFile(in: work.path, bytes: WorkFile.bytes(100_000))
        try target.write(".out.csv.part", Array(WorkFile.bytes(100_000).prefix(4096)))
        let delivery = FolderDelivery(folder: target.path)
        let receipt = try delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: file.size, expectedSHA256: file.sha256)
        #expect(!receipt.alreadyPresent)
        #expect(try target.names() == ["out.csv"])
        #expect(target.contents("out.csv") == WorkFile.bytes(100_000))

        // A crash between the final link and the clean-up leaves both names.
        try target.write(".out.csv.part", WorkFile.bytes(100_000))
        #expect(try delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: file.size, expectedSHA256: file.sha256).alreadyPresent)
        #expect(try target.names() == ["out.csv"])
    }

    @Test("A final file with other content is refused and left exactly as it was")
    func conflictingFileRefused() throws {
        let work = try Scratch()
        let target = try Scratch()
        let file = try WorkFile(in: work.path, bytes: WorkFile.bytes(5000))
        let theirs = Array("TRN,Date of birth\n".utf8)
        try target.write("out.csv", theirs)
        let delivery = FolderDelivery(folder: target.path)
        #expect(throws: DeliveryError.self) {
            try delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: file.size, expectedSHA256: file.sha256)
        }
        do {
            _ = try delivery.isDelivered(name: "out.csv", size: file.size, sha256: file.sha256)
            Issue.record("a conflicting file was taken as delivered")
        } catch DeliveryError.conflictingFile(_, let name, let size, _) {
            #expect(name == "out.csv" && size == Int64(theirs.count))
        }
        #expect(target.contents("out.csv") == theirs)
        #expect(try target.names() == ["out.csv"])
    }

    @Test("The local file must be what the ledger recorded: a different one is refused and removed", arguments: [false, true])
    func verification(changedSize: Bool) throws {
        let work = try Scratch()
        let target = try Scratch()
        let file = try WorkFile(in: work.path, bytes: WorkFile.bytes(5000))
        let delivery = FolderDelivery(folder: target.path)
        let size = changedSize ? file.size + 1 : file.size
        let sha = changedSize ? file.sha256 : String(repeating: "0", count: 64)
        #expect(throws: DeliveryError.self) {
            try delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: size, expectedSHA256: sha)
        }
        #expect(try target.names().isEmpty)
    }

    @Test("Names that are not one plain file name are refused", arguments: ["", ".hidden", "../x.csv", "a/b.csv", "tab\there"])
    func badNames(name: String) throws {
        let target = try Scratch()
        #expect(throws: DeliveryError.invalidName(name)) {
            try FolderDelivery(folder: target.path).isDelivered(name: name, size: 0, sha256: "")
        }
    }
}

@Suite("MailOutboxDelivery")
struct MailOutboxDeliveryTests {
    @Test("An outbox entry (file and manifest) appears whole; delivered again, in the outbox or sent, it is not queued twice")
    func entryOnce() throws {
        let work = try Scratch()
        let outbox = try Scratch()
        let file = try WorkFile(in: work.path, bytes: Array("TRN,Date of birth,Full name\n".utf8))
        let delivery = MailOutboxDelivery(outbox: outbox.path, to: ["alerts@gtcs.example"], subject: "Prohibitions 2026-12-06")
        try outbox.write(".prohibitions.csv.part", [1, 2, 3])  // what a crash while building leaves (a file, here)
        let receipt = try delivery.deliver(localFile: file.path, name: "prohibitions.csv", expectedSize: file.size, expectedSHA256: file.sha256)
        #expect(!receipt.alreadyPresent)
        #expect(try outbox.names() == ["prohibitions.csv"])
        #expect(try outbox.names("prohibitions.csv") == ["manifest.json", "prohibitions.csv"])
        let manifest = try #require(outbox.contents("prohibitions.csv/manifest.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(manifest)) as? [String: Any])
        #expect(json["to"] as? [String] == ["alerts@gtcs.example"])
        #expect(json["subject"] as? String == "Prohibitions 2026-12-06")
        #expect(json["attachment"] as? String == "prohibitions.csv")
        #expect(json["sha256"] as? String == file.sha256)
        #expect((json["size"] as? NSNumber)?.int64Value == file.size)

        #expect(
            try delivery.deliver(localFile: file.path, name: "prohibitions.csv", expectedSize: file.size, expectedSHA256: file.sha256).alreadyPresent)
        try FileManager.default.createDirectory(atPath: outbox.path + "/sent", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: outbox.path + "/prohibitions.csv", toPath: outbox.path + "/sent/prohibitions.csv")
        #expect(try delivery.isDelivered(name: "prohibitions.csv", size: file.size, sha256: file.sha256))
        #expect(
            try delivery.deliver(localFile: file.path, name: "prohibitions.csv", expectedSize: file.size, expectedSHA256: file.sha256).alreadyPresent)
        #expect(try outbox.names() == ["sent"])

        // A resend is another email: its own entry, the attachment under its name.
        let resend = MailOutboxDelivery(outbox: outbox.path, to: ["alerts@gtcs.example"], subject: "Prohibitions 2026-12-06", tag: "resend-7")
        #expect(
            !(try resend.deliver(localFile: file.path, name: "prohibitions.csv", expectedSize: file.size, expectedSHA256: file.sha256).alreadyPresent)
        )
        #expect(try outbox.names() == ["resend-7-prohibitions.csv", "sent"])
        #expect(try outbox.names("resend-7-prohibitions.csv") == ["manifest.json", "prohibitions.csv"])
    }
}
