import Foundation

/// How the notice sender sends: the envelope sender, the Message-ID domain, the sent copy's address, the retry budget
/// and the grace period after which an unproved attempt counts as not queued.
struct NoticePolicy: Sendable {
    /// The envelope sender and the `From:` header.
    var from: String
    /// The right-hand side of every Message-ID.
    var messageIDDomain: String
    /// The TQ unit's own mailbox, added to every submission's envelope (a Bcc: no header names it).
    var sentCopyAddress: String?
    /// Submission attempts per notice in all, across runs.
    var attempts = 6
    /// Of those, at most this many in one run.
    var attemptsPerRun = 3
    /// The wait before the first retry within a run, doubled each time, at most `maxBackoffSeconds`.
    var backoffSeconds = 5.0
    var maxBackoffSeconds = 300.0
    /// How long after an attempt whose outcome is unknown its absence from the sent copy proves it was not queued:
    /// longer than the mail system's local delivery can take.
    var graceSeconds = 900.0

    func backoff(afterRetry retry: Int) -> Double {
        min(maxBackoffSeconds, backoffSeconds * pow(2, Double(max(0, retry - 1))))
    }

    /// `<first 16 hex of the attachment's SHA-256>.<entry>@<domain>`: the same for every attempt at one entry, and
    /// another for a resend's entry or other bytes. Characters outside letters, digits, `-` and `_` become `_`.
    func messageID(entry: String, sha256: String) -> String {
        let local = String(
            entry.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
                    ? Character(scalar) : "_"
            })
        return "\(sha256.prefix(16)).\(local)@\(messageIDDomain)"
    }
}
