public import Foundation

/// When a listed file may be taken: its size and mtime unchanged across listings at least `stableSeconds` apart
/// and the file at least `minimumAgeSeconds` old, or its done-marker present.
public struct StabilityRule: Sendable, Hashable {
    public var stableSeconds: Int
    public var minimumAgeSeconds: Int
    /// The marker's suffix (`.done`: `X.csv.done` beside `X.csv`), or nil.
    public var doneMarkerSuffix: String?

    public init(stableSeconds: Int, minimumAgeSeconds: Int, doneMarkerSuffix: String?) {
        self.stableSeconds = stableSeconds
        self.minimumAgeSeconds = minimumAgeSeconds
        self.doneMarkerSuffix = doneMarkerSuffix
    }
}

public enum StabilityVerdict: Sendable, Equatable {
    /// Take the file; the reason is recorded.
    case take(String)
    /// Leave it for a later listing; `readyIn` is how long until it could be taken if nothing changes.
    case leave(String, readyIn: Double?)
}

public enum Stability {
    /// Judges one file.
    /// - Parameters:
    ///   - unchangedSince: when a listing first saw the file's current size and mtime (from the ledger).
    ///   - markerPresent: whether its done-marker exists.
    public static func judge(
        _ file: RemoteFile, unchangedSince: Date, now: Date, markerPresent: Bool, rule: StabilityRule
    ) -> StabilityVerdict {
        if markerPresent, let suffix = rule.doneMarkerSuffix {
            return .take("its done-marker \(suffix) is present")
        }
        let age = now.timeIntervalSince(file.mtime)
        let unchanged = now.timeIntervalSince(unchangedSince)
        if age < -5 {
            return .leave(
                "its modification time is \(Int(-age)) s in the future (clock skew between the server and this host?)",
                readyIn: nil)
        }
        var waits: [Double] = []
        var reasons: [String] = []
        if age < Double(rule.minimumAgeSeconds) {
            reasons.append("it is \(max(0, Int(age))) s old, younger than the minimum age of \(rule.minimumAgeSeconds) s")
            waits.append(Double(rule.minimumAgeSeconds) - age)
        }
        if unchanged < Double(rule.stableSeconds) {
            reasons.append(
                unchanged < 1
                    ? "its size and mtime are new since the last listing (still growing or just arrived); stable after \(rule.stableSeconds) s unchanged"
                    : "its size and mtime have been unchanged for \(Int(unchanged)) s, less than \(rule.stableSeconds) s")
            waits.append(Double(rule.stableSeconds) - unchanged)
        }
        if reasons.isEmpty {
            return .take(
                "size and mtime unchanged for \(Int(unchanged)) s (at least \(rule.stableSeconds) s), age \(Int(age)) s (at least \(rule.minimumAgeSeconds) s)"
            )
        }
        return .leave(reasons.joined(separator: "; "), readyIn: waits.max())
    }
}
