public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 channel with this service's ``ConnectionLimits``: Hummingbird's own idle timeout and
/// decoder limits, and around its decoder an ``InboundBytesProbe`` (first) and a ``ConnectionEdgeHandler`` (right
/// after the HTTP/1 to HTTP types codec). Requests are handled by Hummingbird's ``HTTP1Channel`` unchanged.
public struct GuardedHTTP1Channel: ServerChildChannel {
    public typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let limits: ConnectionLimits
    let logger: Logger

    public init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits, logger: Logger) {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes)
        base = HTTP1Channel(
            responder: responder,
            configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout), httpDecoderConfiguration: decoder))
        self.limits = limits
        self.logger = logger
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let edge = ConnectionEdgeHandler(limits: limits, logger: self.logger)
        do {
            try channel.pipeline.syncOperations.addHandler(InboundBytesProbe(edge: edge))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
            try operations.addHandler(edge, position: .after(codec))
            return value
        }.nonisolated()
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with this service's connection limits.
    public static func guardedHTTP1(limits: ConnectionLimits, logger: Logger) -> HTTPServerBuilder {
        .init { responder in GuardedHTTP1Channel(responder: responder, limits: limits, logger: logger) }
    }
}
