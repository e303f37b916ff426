import FileSources
import Foundation
import Testing

@Suite("Stability of files in a pickup folder")
struct StabilityTests {
    let rule = StabilityRule(stableSeconds: 30, minimumAgeSeconds: 60, doneMarkerSuffix: ".done")
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func file(age: Double) -> RemoteFile {
        RemoteFile(path: "p/IND.csv", name: "IND.csv", size: 10, mtime: now.addingTimeInterval(-age))
    }

    @Test("A file is taken when unchanged across listings long enough apart and old enough")
    func stable() {
        #expect(Stability.judge(file(age: 120), unchangedSince: now.addingTimeInterval(-31), now: now, markerPresent: false, rule: rule).isTake)
        // First listing: never seen unchanged before.
        let first = Stability.judge(file(age: 120), unchangedSince: now, now: now, markerPresent: false, rule: rule)
        guard case .leave(let reason, let readyIn) = first else {
            Issue.record("taken on first sight")
            return
        }
        #expect(reason.contains("new since the last listing"))
        #expect(readyIn == 30)
        // Too young, even when unchanged.
        guard
            case .leave(let young, _) = Stability.judge(
                file(age: 10), unchangedSince: now.addingTimeInterval(-40), now: now, markerPresent: false, rule: rule)
        else {
            Issue.record("a young file was taken")
            return
        }
        #expect(young.contains("minimum age"))
        // An mtime in the future (copies keeping odd times, clock skew) is never taken on time alone.
        #expect(!Stability.judge(file(age: -600), unchangedSince: now.addingTimeInterval(-999), now: now, markerPresent: false, rule: rule).isTake)
    }

    @Test("A done-marker takes the file at once")
    func marker() {
        #expect(Stability.judge(file(age: 0), unchangedSince: now, now: now, markerPresent: true, rule: rule).isTake)
        let noMarkerRule = StabilityRule(stableSeconds: 30, minimumAgeSeconds: 60, doneMarkerSuffix: nil)
        #expect(!Stability.judge(file(age: 0), unchangedSince: now, now: now, markerPresent: true, rule: noMarkerRule).isTake)
    }
}

extension StabilityVerdict {
    var isTake: Bool { if case .take = self { true } else { false } }
}
