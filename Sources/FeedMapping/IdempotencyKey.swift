import Crypto
import DQTModel

/// Record keys: `<feed>-<40 hex digits>` from SHA-256 over the feed, the SHA-256 of the content the record was read
/// from (the file, or an email's attachment) and the line. The same on every run, replay and machine for the same
/// content; at most 100 characters of `[0-9a-z-]`, as the API's keys require.
public enum IdempotencyKey {
    public static func make(feed: String, contentSHA256: String, line: Int) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(feed.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(contentSHA256.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(String(line).utf8))
        return feed + "-" + Hex.lowercase(hasher.finalize().prefix(20))
    }
}
