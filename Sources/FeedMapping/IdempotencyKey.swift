import Crypto

/// Record keys: `<feed>-<40 hex digits>` from SHA-256 over the feed, the file's SHA-256, the attachment (emailed
/// exchanges) and the line. At most 100 characters of `[0-9a-z-]`, as the API's keys require.
public enum IdempotencyKey {
    public static func make(feed: String, fileSHA256: String, attachment: String?, line: Int) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(feed.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(fileSHA256.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array((attachment ?? "").utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(String(line).utf8))
        let hex = hasher.finalize().map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
        return "\(feed)-\(hex.prefix(40))"
    }
}
