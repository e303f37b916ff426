/// Just enough HTTP/1.1 to find where each request and response ends on a keep-alive connection, so that whole
/// messages can be forwarded verbatim and faults injected between them.
struct HTTPHead {
    let firstLine: String
    let fields: [(name: String, value: String)]
    /// The head's bytes as received, up to and including the blank line.
    let raw: [UInt8]

    init?(_ raw: [UInt8]) {
        self.raw = raw
        let text = String(decoding: raw, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return nil }
        firstLine = lines.removeFirst()
        var fields: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            fields.append((String(line[..<colon]).trimmed, String(line[line.index(after: colon)...]).trimmed))
        }
        self.fields = fields
    }

    func value(_ name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }

    var words: [Substring] { firstLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true) }

    var isChunked: Bool { value("Transfer-Encoding")?.lowercased().contains("chunked") ?? false }
    var contentLength: Int? { value("Content-Length").flatMap { Int($0) } }

    /// The sender asked to end the connection after this message.
    var closes: Bool {
        let connection = value("Connection")?.lowercased() ?? ""
        if connection.contains("close") { return true }
        return firstLine.contains("HTTP/1.0") && !connection.contains("keep-alive")
    }

    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked, untilClose
    }

    var requestFraming: Framing {
        if isChunked { return .chunked }
        if let length = contentLength { return .length(length) }
        return .none
    }

    func responseFraming(requestMethod: String) -> Framing {
        let status = self.status ?? 0
        if requestMethod == "HEAD" || (100..<200).contains(status) || status == 204 || status == 304 { return .none }
        if isChunked { return .chunked }
        if let length = contentLength { return .length(length) }
        return .untilClose
    }

    /// A response's status code.
    var status: Int? { words.count >= 2 ? Int(words[1]) : nil }
}

extension String {
    var trimmed: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

enum WireError: Error {
    case stopped, timedOut, reset, closedEarly, tooLarge, malformed
}

/// Buffered reading of one socket, in poll steps that notice the proxy stopping.
final class WireReader {
    let socket: Socket
    let shouldStop: () -> Bool
    private(set) var buffer: [UInt8] = []
    private var position = 0
    private var searchedUpTo = 0

    init(socket: Socket, shouldStop: @escaping () -> Bool) {
        self.socket = socket
        self.shouldStop = shouldStop
    }

    var buffered: Int { buffer.count - position }

    /// Reads more bytes: true when some arrived, false at the end of the stream.
    private func fill(until deadline: ContinuousClock.Instant) throws(WireError) -> Bool {
        if position > 1 << 20 {
            buffer.removeSubrange(0..<position)
            searchedUpTo -= position
            position = 0
        }
        while true {
            if shouldStop() { throw .stopped }
            if ContinuousClock.now >= deadline { throw .timedOut }
            guard socket.wait() else { continue }
            let n = socket.receive(into: &buffer)
            if n > 0 { return true }
            if n == 0 { return false }
            throw .reset
        }
    }

    /// The next message head, or nil when the stream ends cleanly before it starts.
    func readHead(until deadline: ContinuousClock.Instant, limit: Int = 64 << 10) throws(WireError) -> HTTPHead? {
        while true {
            var index = max(position, searchedUpTo - 3)
            while index + 3 < buffer.count {
                if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                    let raw = Array(buffer[position..<(index + 4)])
                    position = index + 4
                    searchedUpTo = position
                    guard let head = HTTPHead(raw) else { throw .malformed }
                    return head
                }
                index += 1
            }
            searchedUpTo = buffer.count
            if buffered > limit { throw .tooLarge }
            if try !fill(until: deadline) {
                if buffered == 0 { return nil }
                throw .closedEarly
            }
        }
    }

    func readExactly(_ count: Int, until deadline: ContinuousClock.Instant) throws(WireError) -> [UInt8] {
        while buffered < count {
            if try !fill(until: deadline) { throw .closedEarly }
        }
        let bytes = Array(buffer[position..<(position + count)])
        position += count
        return bytes
    }

    /// One line, with its CRLF.
    func readLine(until deadline: ContinuousClock.Instant) throws(WireError) -> [UInt8] {
        var index = position
        while true {
            while index < buffer.count {
                if buffer[index] == 10 {
                    let line = Array(buffer[position...index])
                    position = index + 1
                    return line
                }
                index += 1
            }
            if buffered > 16 << 10 { throw .tooLarge }
            if try !fill(until: deadline) { throw .closedEarly }
        }
    }

    func readToEnd(until deadline: ContinuousClock.Instant, limit: Int) throws(WireError) -> [UInt8] {
        while try fill(until: deadline) {
            if buffered > limit { throw .tooLarge }
        }
        let bytes = Array(buffer[position...])
        position = buffer.count
        return bytes
    }

    /// A message body as received (chunk framing kept), so it can be forwarded verbatim.
    func readBody(_ framing: HTTPHead.Framing, until deadline: ContinuousClock.Instant, limit: Int) throws(WireError) -> [UInt8] {
        switch framing {
        case .none: return []
        case .length(let count):
            guard count >= 0 && count <= limit else { throw .tooLarge }
            return try readExactly(count, until: deadline)
        case .untilClose: return try readToEnd(until: deadline, limit: limit)
        case .chunked:
            var body: [UInt8] = []
            while true {
                let line = try readLine(until: deadline)
                body += line
                let text = String(decoding: line, as: UTF8.self)
                let sizeText = text.split(separator: ";", maxSplits: 1).first.map { String($0).trimmed } ?? ""
                guard let size = Int(sizeText.replacingCRLF, radix: 16), size >= 0 else { throw .malformed }
                if size == 0 {
                    while true {
                        let trailer = try readLine(until: deadline)
                        body += trailer
                        if trailer == [13, 10] || trailer == [10] { return body }
                    }
                }
                guard body.count + size <= limit else { throw .tooLarge }
                body += try readExactly(size + 2, until: deadline)
            }
        }
    }
}

extension String {
    var replacingCRLF: String { String(unicodeScalars.filter { $0 != "\r" && $0 != "\n" }) }
}

enum CannedResponse {
    static func reason(_ status: Int) -> String {
        switch status {
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Injected"
        }
    }

    /// A problem+json answer that the proxy makes up.
    static func bytes(status: Int, retryAfter: Int? = nil, detail: String) -> [UInt8] {
        let title = status == 429 ? "API calls quota exceeded" : reason(status)
        let body = #"{"detail":"\#(detail)","status":\#(status),"title":"\#(title)","type":"about:blank"}"#
        var head = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Type: application/problem+json\r\n"
        if let retryAfter { head += "Retry-After: \(retryAfter)\r\n" }
        head += "X-Fault-Proxy: injected\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        return Array((head + body).utf8)
    }
}
