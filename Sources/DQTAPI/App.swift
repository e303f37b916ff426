import DQTModel
public import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import LibPQ
public import Logging
public import NIOCore
import NIOSSL
public import OpenAPIRuntime
import Prometheus
import Yams

/// Settings of one dqt-api process.
public struct APIConfiguration: Sendable {
    public var databaseURL: String
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    public var maxBatchOperations: Int = 1000
    /// Request bodies over this are 413 (10123). A full batch of 1000 workforce operations is about 700 KB.
    public var maxBodyBytes: Int = 4 * 1024 * 1024
    public var poolSize: Int = 8
    /// How long an API key lookup is remembered (revocation takes effect within this).
    public var keyCacheSeconds: Double = 5
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Timeouts, head size and open connections per client (see ``ConnectionLimits`` for the defaults).
    public var connections = ConnectionLimits()

    public init(databaseURL: String) { self.databaseURL = databaseURL }
}

/// The contract document, as shipped in the module's resources.
public enum OpenAPIDocument {
    public static func yaml() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The document as JSON (for /openapi.json and /docs).
    public static func json() throws -> Data {
        let loaded = try Yams.load(yaml: try yaml()) ?? [:]
        return try JSONSerialization.data(withJSONObject: sanitize(loaded), options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private static func sanitize(_ value: Any) -> Any {
        switch value {
        case let dictionary as [String: Any]: return dictionary.mapValues(sanitize)
        case let dictionary as [AnyHashable: Any]:
            return Dictionary(uniqueKeysWithValues: dictionary.map { ("\($0.key)", sanitize($0.value)) })
        case let array as [Any]: return array.map(sanitize)
        case let date as Date: return ISO8601DateFormatter().string(from: date).prefix(10).description
        case is NSNull: return NSNull()
        case let string as String: return string
        case let bool as Bool: return bool
        case let int as Int: return int
        case let double as Double: return double
        default: return "\(value)"
        }
    }
}

/// Builds the Hummingbird application: middlewares, the generated OpenAPI routes, metrics, the contract and docs.
public enum DQTAPIServer {
    public static func makeRouter(
        configuration: APIConfiguration, pool: PGPool, metrics: APIMetrics, logger: Logger
    ) throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics))
        router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes))
        router.add(
            middleware: AuthMiddleware(
                authenticator: KeyAuthenticator(pool: pool, cacheSeconds: configuration.keyCacheSeconds), limiter: RateLimiter()))
        let engine = WriteEngine(pool: pool, logger: logger)
        let handler = APIHandler(pool: pool, engine: engine, logger: logger)
        let batch = BatchFastPath(engine: engine, configuration: configuration, metrics: metrics)
        let routes = RouteTable(router: router)
        routes.serveDirectly(.get, "/v3/persons/{trn}") { request, context in
            try await DirectOperations.getPerson(request, context, reads: handler)
        }
        routes.serveDirectly(.get, "/v3/changes") { request, _ in try await ListChanges.respond(request, reads: handler) }
        routes.serveDirectly(.post, "/v3/batches") { request, _ in
            try await DirectOperations.runBatch(request, batch: batch, maxBodyBytes: configuration.maxBodyBytes)
        }
        try handler.registerHandlers(
            on: routes, configuration: .init(dateTranscoder: FlexibleDateTranscoder(), jsonEncodingOptions: [.withoutEscapingSlashes]),
            middlewares: [ProblemMiddleware(logger: logger)])

        let json = try OpenAPIDocument.json()
        let yaml = try OpenAPIDocument.yaml()
        let docs = DocsPage.html(specJSON: String(decoding: json, as: UTF8.self))
        routes.add(.get, "/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        routes.add(.get, "/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: yaml)))
        }
        routes.add(.get, "/docs") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: docs)))
        }
        routes.add(.get, "/metrics") { _, _ in
            var buffer: [UInt8] = []
            metrics.registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        try routes.finish()
        return router
    }

    /// The application (a swift-service-lifecycle Service: `runService()` stops gracefully on SIGTERM/SIGINT).
    public static func makeApplication(
        configuration: APIConfiguration, pool: PGPool, logger: Logger, metrics: APIMetrics = APIMetrics(),
        onServerRunning: (@Sendable (any Channel) async -> Void)? = nil
    ) throws -> some ApplicationProtocol {
        let router = try makeRouter(configuration: configuration, pool: pool, metrics: metrics, logger: logger)
        let http: HTTPServerBuilder = .guardedHTTP1(limits: configuration.connections, logger: logger)
        let server: HTTPServerBuilder
        if let certificatePath = configuration.tlsCertificatePath, let keyPath = configuration.tlsKeyPath {
            let certificates = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: certificates, privateKey: .privateKey(key))
            server = try .tls(http, tlsConfiguration: tls)
        } else {
            server = http
        }
        return Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                availableConnectionsDelegate: ConnectionCap(maximum: configuration.connections.maxConnections, logger: logger)),
            onServerRunning: onServerRunning ?? { _ in }, logger: logger)
    }
}

/// The server's date-times: RFC 3339 as ``RFC3339DateTime`` reads and writes them, every field checked to be in its
/// range (a request's minute 99 or February 30 is refused, not rolled over).
public struct FlexibleDateTranscoder: DateTranscoder {
    public init() {}
    public func encode(_ date: Date) throws -> String { RFC3339DateTime.format(date) }
    public func decode(_ text: String) throws -> Date { try RFC3339DateTime.parse(text, strict: true) }
}
