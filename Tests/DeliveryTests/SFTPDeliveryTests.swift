import DQTTesting
import Delivery
import Foundation
import Logging
import SFTP
import Testing

/// Against the real OpenSSH sshd that `scripts/services.sh start` runs (paths on the server are local paths).
@Suite("SFTPDelivery", .enabled(if: TestSFTP.isConfigured))
struct SFTPDeliveryTests {
    struct Setup {
        let work: Scratch
        let remote: Scratch
        let delivery: SFTPDelivery

        init() throws {
            work = try Scratch()
            remote = try Scratch(in: try TestSFTP.root(), prefix: "deliverytests")
            delivery = SFTPDelivery(
                configuration: try TestSFTP.configuration(), folder: remote.path, scratchFolder: work.path,
                logger: Logger(label: "test.delivery"))
        }
    }

    @Test("Uploads under a temporary name, reads it back, renames it; a second delivery finds the same bytes and sends nothing")
    func deliversOnce() throws {
        let setup = try Setup()
        let bytes = WorkFile.bytes(5 << 20)
        let file = try WorkFile(in: setup.work.path, bytes: bytes)
        var seen: [(DeliveryStep, [String])] = []
        let receipt = try setup.delivery.deliver(
            localFile: file.path, name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: file.size, expectedSHA256: file.sha256
        ) { step in seen.append((step, (try? setup.remote.names()) ?? [])) }
        #expect(!receipt.alreadyPresent && receipt.destination.hasPrefix("sftp://"))
        #expect(seen.map(\.0) == [.uploaded, .verified])
        #expect(seen.allSatisfy { $0.1 == [".Reg01_DTR_20261206_030000_New.txt.part"] })
        #expect(try setup.remote.names() == ["Reg01_DTR_20261206_030000_New.txt"])
        #expect(setup.remote.contents("Reg01_DTR_20261206_030000_New.txt") == bytes)
        // Read-back copies are removed at once.
        #expect(try setup.work.names() == ["work-file"])

        let before = try FileManager.default.attributesOfItem(atPath: setup.remote.path + "/Reg01_DTR_20261206_030000_New.txt")
        var again: [DeliveryStep] = []
        let second = try setup.delivery.deliver(
            localFile: file.path, name: "Reg01_DTR_20261206_030000_New.txt", expectedSize: file.size, expectedSHA256: file.sha256
        ) { again.append($0) }
        #expect(second.alreadyPresent && again.isEmpty)
        let after = try FileManager.default.attributesOfItem(atPath: setup.remote.path + "/Reg01_DTR_20261206_030000_New.txt")
        #expect(before[.systemFileNumber] as? Int == after[.systemFileNumber] as? Int)
        #expect(try setup.delivery.isDelivered(name: "Reg01_DTR_20261206_030000_New.txt", size: file.size, sha256: file.sha256))
    }

    @Test("Resuming after a crash mid-upload: the partial temporary file is replaced and the file delivered whole")
    func resumesAfterPartialUpload() throws {
        let setup = try Setup()
        let bytes = WorkFile.bytes(2 << 20, seed: 3)
        let file = try WorkFile(in: setup.work.path, bytes: bytes)
        try setup.remote.write(".out.csv.part", Array(bytes.prefix(700_000)))
        #expect(try !setup.delivery.isDelivered(name: "out.csv", size: file.size, sha256: file.sha256))
        let receipt = try setup.delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: file.size, expectedSHA256: file.sha256)
        #expect(!receipt.alreadyPresent)
        #expect(try setup.remote.names() == ["out.csv"])
        #expect(setup.remote.contents("out.csv") == bytes)
    }

    @Test("A crash after the rename: the final file with the same hash counts as delivered and the leftover is removed")
    func finalFilePresent() throws {
        let setup = try Setup()
        let bytes = WorkFile.bytes(300_000, seed: 9)
        let file = try WorkFile(in: setup.work.path, bytes: bytes)
        try setup.remote.write("out.csv", bytes)
        try setup.remote.write(".out.csv.part", bytes)
        let receipt = try setup.delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: file.size, expectedSHA256: file.sha256)
        #expect(receipt.alreadyPresent)
        #expect(try setup.remote.names() == ["out.csv"])
    }

    @Test("A final file with other content is refused, never overwritten, and nothing else is left", arguments: [0, 1])
    func conflictingFileRefused(sizeDelta: Int) throws {
        let setup = try Setup()
        let bytes = WorkFile.bytes(10_000, seed: 1)
        let file = try WorkFile(in: setup.work.path, bytes: bytes)
        var theirs = WorkFile.bytes(10_000 + sizeDelta, seed: 2)
        theirs[0] = bytes[0] &+ 1
        try setup.remote.write("out.csv", theirs)
        do {
            _ = try setup.delivery.deliver(localFile: file.path, name: "out.csv", expectedSize: file.size, expectedSHA256: file.sha256)
            Issue.record("a file with other content was taken as delivered")
        } catch DeliveryError.conflictingFile(let destination, let name, let size, let sha256) {
            #expect(destination == setup.delivery.destination && name == "out.csv" && size == Int64(theirs.count))
            #expect(sha256 != file.sha256)
        }
        #expect(setup.remote.contents("out.csv") == theirs)
        #expect(try setup.remote.names() == ["out.csv"])
    }

    @Test("An unreachable server is `unavailable`, naming the destination")
    func unreachable() throws {
        let work = try Scratch()
        var configuration = try TestSFTP.configuration()
        configuration.port = try freeLoopbackPort()
        let delivery = SFTPDelivery(configuration: configuration, folder: "out", scratchFolder: work.path, logger: Logger(label: "test"))
        let file = try WorkFile(in: work.path, bytes: [1, 2, 3])
        do {
            _ = try delivery.deliver(localFile: file.path, name: "x.csv", expectedSize: file.size, expectedSHA256: file.sha256)
            Issue.record("delivered to a closed port")
        } catch DeliveryError.unavailable(let destination, _) {
            #expect(destination == delivery.destination)
        }
    }
}
