import NIOCore

/// First in a connection's pipeline (after TLS): tells ``ConnectionEdgeHandler`` when bytes arrive, which the HTTP
/// decoder alone would not (a request's head is only seen once complete), and discards input once the connection
/// is closing, so a request that was refused is never decoded further. It also writes the bytes the edge handler
/// must send past the HTTP encoder (``send(_:)``).
final class InboundBytesProbe: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let edge: ConnectionEdgeHandler
    private var context: ChannelHandlerContext?

    init(edge: ConnectionEdgeHandler) {
        self.edge = edge
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        edge.rawOutput = self
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes `bytes` to the connection as they are.
    func send(_ bytes: ByteBuffer) {
        context?.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !edge.isClosing else { return }
        edge.bytesArrived(unwrapInboundIn(data).readableBytesView)
        context.fireChannelRead(data)
    }
}
