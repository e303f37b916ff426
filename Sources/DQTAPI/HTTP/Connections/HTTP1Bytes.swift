import HTTPTypes
import NIOCore

/// An HTTP/1.1 response as bytes, for the one answer written past NIO's encoder (see ``ConnectionEdgeHandler``).
enum HTTP1Bytes {
    /// The status line, `head`'s fields (its own framing and connection fields replaced), `Content-Length` and
    /// `Connection: close`, then `body`.
    static func response(_ head: HTTPResponse, body: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeString("HTTP/1.1 \(head.status.code) \(head.status.reasonPhrase)\r\n")
        let replaced: Set<HTTPField.Name> = [.contentLength, .transferEncoding, .connection]
        for field in head.headerFields where !replaced.contains(field.name) {
            out.writeString("\(field.name.canonicalName): \(field.value)\r\n")
        }
        out.writeString("Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n")
        out.writeImmutableBuffer(body)
        return out
    }
}
