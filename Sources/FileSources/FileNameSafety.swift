import Crypto
import DQTModel
public import Foundation

/// File names a partner (or an attacker) can put in a pickup folder are checked before anything uses them: path
/// separators, `..`, absolute or drive paths, control characters, invalid UTF-8 and names over 255 bytes are refused.
/// A refused name is never used to build a local path or an archive name.
public enum FileNameSafety {
    public static let maximumBytes = 255

    /// Why `name` is unsafe, or nil when it is fine.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "the name is empty" }
        if name.utf8.count > maximumBytes { return "the name is \(name.utf8.count) bytes long (at most \(maximumBytes))" }
        if name.hasPrefix("/") || name.hasPrefix("\\") { return "the name is an absolute path" }
        let scalars = Array(name.unicodeScalars)
        if scalars.count >= 2, scalars[1] == ":", scalars[0].properties.isAlphabetic { return "the name is a drive path" }
        if name == "." || name == ".." || name.contains("../") || name.contains("..\\") || name.hasSuffix("/..") {
            return "the name climbs out of its folder (..)"
        }
        if name.contains("/") || name.contains("\\") { return "the name contains a path separator" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            return "the name contains control characters"
        }
        if name.unicodeScalars.contains("\u{FFFD}") { return "the name is not valid UTF-8" }
        return nil
    }

    /// A printable form for the ledger and logs: control characters escaped, at most 255 bytes.
    public static func printable(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if out.utf8.count > maximumBytes {
            var cut = ""
            for character in out {
                if cut.utf8.count + String(character).utf8.count > maximumBytes - 3 { break }
                cut.append(character)
            }
            out = cut + "..."
        }
        return out
    }

    /// Eight hex digits of SHA-256 over the name's bytes (to name a quarantined file without using its name).
    public static func nameHash(_ name: String) -> String {
        String(Hex.lowercase(SHA256.hash(data: Array(name.utf8))).prefix(8))
    }
}

/// Archive names: `<yyyyMMddHHmmss>-<first 8 of sha256>-<name>` (UTC), unique per content and second.
public enum ArchiveName {
    public static func make(at date: Date, sha256: String?, name: String, suffix: String? = nil) -> String {
        let stamp = timestamp(date)
        let hash = sha256.map { String($0.prefix(8)) } ?? FileNameSafety.nameHash(name)
        let safeName = FileNameSafety.problem(name) == nil ? name : "unsafe-name"
        var result = "\(stamp)-\(hash)-\(safeName)"
        if let suffix { result += "-\(suffix)" }
        // Keep within the 255-byte limit by shortening the original name part.
        while result.utf8.count > FileNameSafety.maximumBytes { result.removeLast() }
        return result
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02d%02d%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}
