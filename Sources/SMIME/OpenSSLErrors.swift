import CLibCrypto

/// OpenSSL's error queue, read into a message. Only the library's own error strings are kept (library, function,
/// reason), never the data OpenSSL may attach to an error, so a message carries no content of the email.
enum OpenSSLErrors {
    /// Every queued error, oldest first, joined; the queue is left empty.
    static func drain() -> String {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "no OpenSSL error recorded" : reasons.joined(separator: "; ")
    }
}
