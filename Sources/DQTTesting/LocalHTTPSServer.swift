import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A certificate authority made for one test with `openssl`, and a server certificate it signed for 127.0.0.1.
public struct TestCA: Sendable {
    public let caFile: String
    public let certificateFile: String
    public let keyFile: String

    public static func make(in folder: String, commonName: String = "DQT test CA") throws -> TestCA {
        func openssl(_ arguments: [String]) throws {
            let result = try ChildProcess.run("/usr/bin/openssl", arguments, in: folder)
            guard result.status == 0 else { throw ChildProcessFailure(program: "openssl", reason: result.stderr) }
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509"] + curve + [
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=\(commonName)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try openssl(["req"] + curve + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        try Data(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8
        ).write(to: URL(fileURLWithPath: joinedPath(folder, "server.ext")))
        try openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
            "-days", "2", "-extfile", "server.ext",
        ])
        return TestCA(
            caFile: joinedPath(folder, "ca.pem"), certificateFile: joinedPath(folder, "server.pem"), keyFile: joinedPath(folder, "server.key"))
    }
}

private func joinedPath(_ folder: String, _ name: String) -> String { folder + "/" + name }

/// What the local server answers, changed by the test between downloads, and what it was asked.
public final class ServerScript: @unchecked Sendable {
    // @unchecked: every field is read and written under `lock`.
    private let lock = NSLock()
    private var _body: [UInt8] = []
    private var _etag = "\"1\""
    private var _failuresLeft = 0
    private var _announceLength = true
    private var _requests: [(path: String, ifNoneMatch: String?)] = []

    public init() {}

    public func serve(_ body: [UInt8], etag: String) { lock.withLock { (_body, _etag) = (body, etag) } }
    /// The next `count` requests are answered 503 with `Retry-After: 0`.
    public func fail(next count: Int) { lock.withLock { _failuresLeft = count } }
    /// Whether 200 answers carry `Content-Length` (else the body is chunked).
    public func announceLength(_ announce: Bool) { lock.withLock { _announceLength = announce } }
    public var requests: [(path: String, ifNoneMatch: String?)] { lock.withLock { _requests } }

    /// The answer to a request: status, headers and body.
    func answer(path: String, ifNoneMatch: String?) -> (HTTPResponseStatus, HTTPHeaders, [UInt8]) {
        lock.withLock {
            _requests.append((path, ifNoneMatch))
            if _failuresLeft > 0 {
                _failuresLeft -= 1
                return (.serviceUnavailable, ["Retry-After": "0", "Content-Length": "0"], [])
            }
            if ifNoneMatch == _etag { return (.notModified, ["ETag": _etag], []) }
            var headers: HTTPHeaders = ["ETag": _etag, "Last-Modified": "Sun, 06 Dec 2026 02:00:00 GMT"]
            if _announceLength {
                headers.add(name: "Content-Length", value: String(_body.count))
            } else {
                headers.add(name: "Transfer-Encoding", value: "chunked")
            }
            return (.ok, headers, _body)
        }
    }
}

/// An HTTPS server on loopback (NIO + NIOSSL) that answers every GET from a ``ServerScript``.
public struct LocalHTTPSServer: Sendable {
    let channel: any Channel
    public var port: Int { channel.localAddress?.port ?? 0 }

    public static func start(ca: TestCA, script: ServerScript) async throws -> LocalHTTPSServer {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(ca.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: ca.keyFile, format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptHandler(script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return LocalHTTPSServer(channel: channel)
    }

    public func stop() async { try? await channel.close() }
}

/// Answers each request once its end has arrived.
final class ScriptHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: used only on its channel's event loop.
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let script: ServerScript
    private var head: HTTPRequestHead?

    init(script: ServerScript) { self.script = script }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            let (status, headers, body) = script.answer(path: request.uri, ifNoneMatch: request.headers.first(name: "If-None-Match"))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
            if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
