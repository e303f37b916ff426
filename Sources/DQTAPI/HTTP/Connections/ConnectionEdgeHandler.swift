import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Guards one connection between the HTTP decoder and Hummingbird: times the reading of each request
/// (``RequestReadDeadlines``), answers what never reaches a route (a request too slow, a head too large, bytes that
/// are not HTTP) with a problem, and closes the connection after an answer that leaves the request unread.
///
/// Invariants: after a 408, 413, 414 or 431, a malformed request, an answer to CONNECT, or any answer saying
/// `Connection: close`, the connection stops sending, discards what it still reads, and is closed within
/// `closeLinger` (at once when the client closes first). The handler writes an answer of its own only when no answer
/// has begun on the connection, so it never interleaves with Hummingbird's.
///
/// CONNECT is routed like any method (a path of the service answers 405 with `Allow`), but NIO's encoder sends every
/// answer to CONNECT without its body, as if it opened a tunnel; so that answer is written here as HTTP/1.1 bytes,
/// problem body included, through ``InboundBytesProbe``, and the connection is closed after it.
final class ConnectionEdgeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Answers after which the rest of the request is not read, so the connection cannot carry another one.
    static let closingStatuses: Set<Int> = [408, 413, 414, 431]

    private let limits: ConnectionLimits
    private let logger: Logger
    private var deadlines: RequestReadDeadlines
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var answerInProgress = false
    /// Whether the answer to the request being read has begun (it can come before the body, e.g. a 401).
    private var answerBegunForRequest = false
    private var closeAfterAnswer = false
    /// True once the connection has stopped sending: whatever still arrives is discarded.
    private(set) var isClosing = false
    /// This handler's place in the pipeline, while it is in it (the probe's calls come from another place).
    private var context: ChannelHandlerContext?
    /// Writes bytes ahead of the HTTP encoder; set once the pipeline is built.
    weak var rawOutput: InboundBytesProbe?
    /// The answer to a CONNECT request, collected to be written as bytes.
    private var connectAnswer: (head: HTTPResponse, body: ByteBuffer)?
    private var answeringConnect = false

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
        deadlines = RequestReadDeadlines(
            headerTimeout: TimeAmount(limits.headerTimeout), bodyTimeout: TimeAmount(limits.bodyTimeout))
    }

    /// Called by ``InboundBytesProbe`` with each read, before the HTTP decoder.
    func bytesArrived(_ bytes: ByteBufferView) {
        deadlines.bytesArrived(bytes, now: .now())
        if let context { reschedule(context) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        switch unwrapInboundIn(data) {
        case .head(let request):
            deadlines.headReceived(now: .now())
            answerBegunForRequest = false
            if request.method == .connect {
                answeringConnect = true
                closeAfterAnswer = true
            }
        case .body:
            break
        case .end:
            deadlines.requestEnded()
        }
        reschedule(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        if answeringConnect {
            collectConnectAnswer(part, context: context)
            promise?.succeed()
            return
        }
        switch part {
        case .head(var response):
            answerInProgress = true
            answerBegunForRequest = true
            if Self.closingStatuses.contains(response.status.code) || response.headerFields[.connection]?.lowercased() == "close" {
                closeAfterAnswer = true
                response.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(response)), promise: promise)
                return
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            answerInProgress = false
            if closeAfterAnswer {
                context.writeAndFlush(data, promise: promise)
                lingeringClose(context)
            } else {
                context.write(data, promise: promise)
            }
        }
    }

    /// A head the decoder refused: too large (414 or 431) or not HTTP (400), answered here with a problem. Other
    /// errors, and a refusal while an answer is under way, go on to Hummingbird, which closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !isClosing, !answerInProgress else {
            context.fireErrorCaught(error)
            return
        }
        let problem: Problem
        if parserError == .headerOverflow {
            problem =
                deadlines.requestLineLength > limits.maxHeaderBytes
                ? .uriTooLong(limits.maxHeaderBytes) : .headersTooLarge(limits.maxHeaderBytes)
        } else {
            problem = .malformedRequest()
        }
        logger.info("request refused at the connection", metadata: ["status": "\(problem.status)", "reason": "\(parserError)"])
        answer(problem, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isClosing, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func collectConnectAnswer(_ part: HTTPResponsePart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            answerInProgress = true
            connectAnswer = (head, ByteBuffer())
        case .body(var body):
            connectAnswer?.body.writeBuffer(&body)
        case .end:
            if let (head, body) = connectAnswer, let rawOutput {
                rawOutput.send(HTTP1Bytes.response(head, body: body))
                lingeringClose(context)
            } else {
                context.close(promise: nil)
            }
        }
    }

    // MARK: Deadlines and closing

    private func reschedule(_ context: ChannelHandlerContext) {
        guard deadlines.deadline != timerDeadline else { return }
        timer?.cancel()
        timer = nil
        timerDeadline = deadlines.deadline
        guard let deadline = deadlines.deadline, !isClosing else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            deadlineReached(context)
        }
    }

    private func deadlineReached(_ context: ChannelHandlerContext) {
        guard !isClosing, let phase = deadlines.expired(now: .now()) else {
            reschedule(context)
            return
        }
        let (part, limit) = phase == .head ? ("head", limits.headerTimeout) : ("body", limits.bodyTimeout)
        let problem = Problem.requestTimeout(part, limit: limit)
        logger.info(
            "closing a connection: the request's \(part) did not arrive in time",
            metadata: ["timeout": "\(limit)", "remote": "\(context.remoteAddress?.description ?? "-")"])
        // A request answered already (or being answered) gets no second answer.
        if answerInProgress || (phase == .body && answerBegunForRequest) {
            context.close(promise: nil)
        } else {
            answer(problem, context: context)
        }
    }

    /// Writes `problem` as the connection's last answer, then closes it.
    private func answer(_ problem: Problem, context: ChannelHandlerContext) {
        var head = HTTPResponse(status: .init(code: problem.status))
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.connection] = "close"
        let body = ByteBuffer(bytes: problem.jsonData)
        head.headerFields[.contentLength] = String(body.readableBytes)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        lingeringClose(context)
    }

    /// Stops sending (the answer is flushed first), discards what still arrives, and closes after `closeLinger` or
    /// as soon as the client closes. A transport that cannot half-close is closed at once.
    private func lingeringClose(_ context: ChannelHandlerContext) {
        guard !isClosing else { return }
        isClosing = true
        timer?.cancel()
        timerDeadline = nil
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.closeLinger)) {
            context.close(promise: nil)
        }
    }
}
