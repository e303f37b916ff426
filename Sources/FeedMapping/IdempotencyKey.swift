import Crypto

/// Record keys: `<feed>-<40 hex digits>` from SHA-256 over the feed, the SHA-256 of the content the record was read
/// from (the file, or an email's attachment) and the line. The same on every run, replay and machine for the same
/// content; at most 100 characters of `[0-9a-z-]`, as the API's keys require.
public enum IdempotencyKey {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    public static func make(feed: String, contentSHA256: String, line: Int) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(feed.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(contentSHA256.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(String(line).utf8))
        // Made once per record of a run: the 40 hex digits are written straight into the key's bytes.
        var key = Array(feed.utf8)
        key.reserveCapacity(key.count + 41)
        key.append(UInt8(ascii: "-"))
        for byte in hasher.finalize().prefix(20) {
            key.append(hexDigits[Int(byte >> 4)])
            key.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: key, as: UTF8.self)
    }
}
