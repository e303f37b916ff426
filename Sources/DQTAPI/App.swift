import DQTModel
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LibPQ
import Logging
import NIOCore
import NIOSSL
import OpenAPIRuntime
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
        let server: HTTPServerBuilder
        if let certificatePath = configuration.tlsCertificatePath, let keyPath = configuration.tlsKeyPath {
            let certificates = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: certificates, privateKey: .privateKey(key))
            server = try .tls(.http1(), tlsConfiguration: tls)
        } else {
            server = .http1()
        }
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: onServerRunning ?? { _ in }, logger: logger)
    }
}

/// RFC 3339 date-times with or without fractional seconds (the runtime's default refuses fractions); written with
/// milliseconds. A field out of its range (minute 99, February 30) is refused: Foundation's parser rolls it over.
public struct FlexibleDateTranscoder: DateTranscoder {
    struct NotADateTime: Error {}

    public init() {}
    public func encode(_ date: Date) throws -> String { date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
    public func decode(_ text: String) throws -> Date {
        guard Self.fieldsInRange(Array(text.utf8)) else { throw NotADateTime() }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try Date.ISO8601FormatStyle().parse(text)
    }

    /// `yyyy-MM-ddTHH:mm:ss[.fraction](Z|±HH:mm)` with every field in range.
    static func fieldsInRange(_ bytes: [UInt8]) -> Bool {
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int, _ allowed: String) -> Bool { index < bytes.count && allowed.utf8.contains(bytes[index]) }
        guard let year = number(0, 4), byte(4, "-"), let month = number(5, 2), byte(7, "-"), let day = number(8, 2),
            LocalDate(year: year, month: month, day: day) != nil, byte(10, "T"), let hour = number(11, 2), hour < 24,
            byte(13, ":"), let minute = number(14, 2), minute < 60, byte(16, ":"), let second = number(17, 2), second < 61
        else { return false }
        var index = 19
        if byte(index, ".") {
            index += 1
            let digits = index
            while number(index, 1) != nil { index += 1 }
            guard index > digits else { return false }
        }
        if byte(index, "Z") { return index + 1 == bytes.count }
        guard byte(index, "+-"), let offsetHours = number(index + 1, 2), offsetHours < 24, byte(index + 3, ":"),
            let offsetMinutes = number(index + 4, 2), offsetMinutes < 60
        else { return false }
        return index + 6 == bytes.count
    }
}
