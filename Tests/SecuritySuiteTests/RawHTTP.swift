import Foundation

@testable import FaultProxy

/// Requests AsyncHTTPClient will not send as they are (a chunked body of a chosen size), over a plain socket.
enum RawHTTP {
    /// Sends one request with a chunked body and returns the response's text (head and body) as far as it came.
    static func send(port: Int, method: String, path: String, key: String, chunkedBody: String) throws -> String {
        let socket = try Socket.connect(host: "127.0.0.1", port: port)
        defer { socket.close() }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\n"
        request += "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        try socket.send(Array(request.utf8))
        let bytes = Array(chunkedBody.utf8)
        var response: [UInt8] = []
        var ended = false
        // Read whatever comes back as soon as it comes: the server may answer 413 and close before the whole body is
        // sent, and a reset caused by the rest of the upload would discard an answer left unread.
        func drain(waiting milliseconds: Int32) {
            while !ended && socket.wait(milliseconds: milliseconds) {
                if socket.receive(into: &response) <= 0 { ended = true }
            }
        }
        var index = 0
        while index < bytes.count && response.isEmpty && !ended {
            let part = Array(bytes[index..<min(index + 8192, bytes.count)])
            guard (try? socket.send(Array((String(part.count, radix: 16) + "\r\n").utf8) + part + [13, 10])) != nil else { break }
            index += part.count
            drain(waiting: 0)
        }
        if response.isEmpty && !ended { _ = try? socket.send(Array("0\r\n\r\n".utf8)) }
        let deadline = Date().addingTimeInterval(10)
        while !ended && Date() < deadline { drain(waiting: 100) }
        return String(decoding: response, as: UTF8.self)
    }
}
