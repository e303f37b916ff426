public import Foundation

/// A message in a mailbox as a listing sees it.
public struct IMAPMessageInfo: Sendable, Hashable {
    public let uid: UInt32
    /// RFC822.SIZE: the number of bytes a whole fetch of the message returns.
    public let size: Int64
    /// INTERNALDATE: when the server received the message, whole seconds.
    public let received: Date

    public init(uid: UInt32, size: Int64, received: Date) {
        self.uid = uid
        self.size = size
        self.received = received
    }
}

/// Reads the untagged response lines libcurl hands over for a command (`* 3 FETCH (...)`, `* STATUS ...`,
/// `* OK [COPYUID ...]`), a line at a time as chunks arrive, so a long listing is never held whole.
struct IMAPLineReader {
    private var partial: [UInt8] = []
    private let line: (Substring) throws -> Void

    init(line: @escaping (Substring) throws -> Void) { self.line = line }

    mutating func consume(_ chunk: UnsafeRawBufferPointer) throws {
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                var bytes = partial
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                partial.removeAll(keepingCapacity: true)
                try line(Substring(String(decoding: bytes, as: UTF8.self)))
            } else {
                partial.append(byte)
            }
        }
    }

    /// Hands over a last line without a line end.
    mutating func finish() throws {
        if !partial.isEmpty {
            let bytes = partial
            partial.removeAll()
            try line(Substring(String(decoding: bytes, as: UTF8.self)))
        }
    }
}

enum IMAPResponse {
    /// `* 12 FETCH (UID 40 RFC822.SIZE 1834 INTERNALDATE "06-Dec-2026 22:31:23 +0000")`, in any item order.
    static func fetchInfo(_ line: Substring) -> IMAPMessageInfo? {
        guard line.hasPrefix("* "), line.contains(" FETCH (") else { return nil }
        guard let uid = number(after: "UID ", in: line).flatMap({ UInt32($0) }),
            let size = number(after: "RFC822.SIZE ", in: line).flatMap({ Int64($0) }),
            let dateStart = line.range(of: "INTERNALDATE \"")?.upperBound,
            let dateEnd = line[dateStart...].firstIndex(of: "\""),
            let received = internalDate(line[dateStart..<dateEnd])
        else { return nil }
        return IMAPMessageInfo(uid: uid, size: size, received: received)
    }

    /// A number in a `STATUS` answer or a response code: `UIDVALIDITY 1796596283`.
    static func number(after key: String, in line: Substring) -> String? {
        var search = line[...]
        while let found = search.range(of: key) {
            // The key must start an item: after "(", "[" or a space.
            let before = found.lowerBound == line.startIndex ? " " : line[line.index(before: found.lowerBound)]
            if "([ ".contains(before) {
                let digits = line[found.upperBound...].prefix { $0.isASCII && $0.isNumber }
                if !digits.isEmpty { return String(digits) }
            }
            search = line[found.upperBound...]
        }
        return nil
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMAP's date-time: `dd-MMM-yyyy HH:mm:ss +hhmm`, the day possibly space-padded.
    static func internalDate(_ text: Substring) -> Date? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard parts.count == 3 else { return nil }
        let day = parts[0].split(separator: "-")
        let time = parts[1].split(separator: ":")
        let zone = parts[2]
        guard day.count == 3, time.count == 3, zone.count == 5, let month = months.firstIndex(of: String(day[1])),
            let d = Int(day[0]), let y = Int(day[2]), let h = Int(time[0]), let m = Int(time[1]), let s = Int(time[2]),
            let zh = Int(zone.dropFirst().prefix(2)), let zm = Int(zone.suffix(2)), "+-".contains(zone.first!)
        else { return nil }
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(secondsFromGMT: (zone.first == "-" ? -1 : 1) * (zh * 3600 + zm * 60))
        components.year = y
        components.month = month + 1
        components.day = d
        components.hour = h
        components.minute = m
        components.second = s
        return components.date
    }
}
