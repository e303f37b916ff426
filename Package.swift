// swift-tools-version:6.2
// The DQT Exchange Bridge: `dqt-bridge` moves the legacy DQT file and email exchanges onto the DQT API,
// and `dqt-api` is that API. Modules follow the data's path: source -> ledger -> reader -> mapping -> publisher -> report.
import PackageDescription

// An import is internal unless a file says `public import`, and a member is usable only where its module is imported,
// so a module's public interface names its dependencies and a missing import fails the build.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "dqt-exchange-bridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dqt-bridge", targets: ["DQTBridgeCLI"]),
        .executable(name: "dqt-api", targets: ["DQTAPICLI"]),
        .library(name: "DQTAPIClient", targets: ["DQTAPIClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        // dqt-api: Hummingbird server, contract-first OpenAPI (server stubs and the bridge's client), metrics, lifecycle.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
    ],
    targets: [
        // C libraries from Debian (libssh2-1-dev, libpq-dev, libcurl4-openssl-dev).
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLibCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Mail servers over TLS through libcurl: IMAP (the mailbox source).
        .target(name: "CurlMail", dependencies: ["CLibCurl"], swiftSettings: swiftSettings),
        // OpenSSL's libcrypto from Debian (libssl-dev): CMS for S/MIME.
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // S/MIME signatures verified against a feed's pinned certificates (OpenSSL CMS).
        .target(name: "SMIME", dependencies: ["CLibCrypto", "DQTModel"], swiftSettings: swiftSettings),

        // Value types shared by the bridge and the API: TRN, NI number, legacy dates, enumerations.
        .target(name: "DQTModel", swiftSettings: swiftSettings),

        // Reader stage: streaming delimited and fixed-width files, encodings, control totals.
        .target(name: "FlatFile", swiftSettings: swiftSettings),
        // Emailed exchanges: streaming MIME parsing of .eml files, their attachments extracted and hashed.
        .target(name: "MIMEMail", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),

        // Mapping stage: one YAML per feed -> typed records -> validated API operations.
        .target(
            name: "FeedMapping",
            dependencies: [
                "DQTModel", "FlatFile", "SMIME",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The API's contract (a symlink to DQTAPI's), carried in the binary: mappings' bodies are typed against it.
            resources: [.embedInCode("Contract/openapi.yaml")],
            swiftSettings: swiftSettings
        ),

        // Source stage: SFTP over libssh2 with mandatory host-key verification.
        .target(
            name: "SFTP",
            dependencies: [
                "CLibSSH2", "DQTModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // PostgreSQL through libpq, shared by the bridge's ledger and the API's store.
        .target(name: "LibPQ", dependencies: ["CLibPQ"], exclude: ["README.md"], swiftSettings: swiftSettings),

        // Test support: the real services scripts/services.sh starts, the built binaries, child processes,
        // throwaway databases and folders, log lines, loopback ports, mutation, the suite table. No API server, so a
        // reader's tests do not compile one.
        .target(
            name: "DQTTesting",
            dependencies: [
                "LibPQ", .product(name: "Logging", package: "swift-log"),
                // A local HTTPS server with a CA made for the test.
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "JSONLogging",
            dependencies: ["DQTModel", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Test support: a fault-injecting TCP/HTTP proxy on loopback (5xx, 429, resets, delays, hangs, lost responses).
        .target(name: "FaultProxy", swiftSettings: swiftSettings),

        // Reports for analysts and operators (mapping report, run report).
        .target(name: "BridgeReport", dependencies: ["FeedMapping", "DQTModel"], swiftSettings: swiftSettings),

        // The unattended run: the ledger (runs, files, records behind protocols; PostgreSQL in production), the file
        // sources (SFTP, folder, the mail intake), the publisher (batches through the DQT API) and the run's stages.
        .target(name: "Ledger", dependencies: ["LibPQ"], swiftSettings: swiftSettings),
        .target(
            name: "FileSources",
            dependencies: [
                "SFTP", "MIMEMail", "DQTModel", "CurlMail", "SMIME",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // The HTTPS source (GIAS's daily download).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outbound files to partners, exactly once: temporary name, read-back check, final name never overwritten
        // (SFTP, a local folder, the mail outbox).
        .target(
            name: "Delivery",
            dependencies: [
                "SFTP", "Ledger", "DQTModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Publisher",
            dependencies: [
                "Ledger", "DQTModel",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BridgeRun",
            dependencies: [
                "Ledger", "FileSources", "Publisher", "FeedMapping", "BridgeReport", "SFTP", "DQTModel",
                "DQTAPIClient", "ChangeFeed", "Delivery", "FlatFile", "CurlMail",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "DQTBridgeCLI",
            dependencies: [
                "FeedMapping", "BridgeReport", "DQTModel", "FileSources",
                "BridgeRun", "Ledger", "JSONLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // dqt-api: the DQT API server (Hummingbird + OpenAPI server stubs generated from openapi.yaml,
        // PostgreSQL through LibPQ), the bridge's client generated from the same document (a symlink), the command.
        .target(
            name: "DQTAPI",
            dependencies: [
                "LibPQ", "DQTModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("openapi.yaml")],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "DQTAPIClient",
            dependencies: [
                "DQTModel",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The bridge's reading of dqt-api's change feed (GET /v3/changes): over the generated client, or in memory.
        .target(
            name: "ChangeFeed",
            dependencies: [
                "DQTModel", "DQTAPIClient",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "DQTAPICLI",
            dependencies: [
                "DQTAPI", "LibPQ", "JSONLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support: dqt-api served in the test's own process.
        .target(
            name: "DQTAPITesting",
            dependencies: [
                "DQTAPI", "DQTTesting", "LibPQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LibPQTests", dependencies: ["LibPQ", "DQTModel", "DQTTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "DQTTestingTests", dependencies: ["DQTTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DQTAPITests",
            dependencies: [
                "DQTAPI", "DQTAPIClient", "DQTTesting", "DQTAPITesting", "LibPQ",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "ChangeFeedTests",
            dependencies: [
                "ChangeFeed", "DQTModel", "DQTAPI", "DQTAPIClient", "DQTAPITesting", "DQTTesting", "FaultProxy", "LibPQ",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BridgeRunTests",
            dependencies: [
                "BridgeRun", "Ledger", "FileSources", "Publisher", "FeedMapping", "DQTModel", "DQTAPI", "DQTTesting", "DQTAPITesting",
                "LibPQ", "SFTP", "FaultProxy", "JSONLogging", "Delivery", "ChangeFeed", "CurlMail", "MIMEMail",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The ledger's stores against each other (memory and PostgreSQL), and the publisher on either.
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "LibPQ", "DQTModel", "DQTTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PublisherTests",
            dependencies: ["Publisher", "Ledger", "DQTTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "DQTModelTests", dependencies: ["DQTModel"], swiftSettings: swiftSettings),
        .testTarget(name: "FeedMappingTests", dependencies: ["FeedMapping", "DQTModel", "FlatFile", "DQTTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "BridgeReportTests", dependencies: ["BridgeReport", "FeedMapping", "DQTModel"], swiftSettings: swiftSettings),
        // Runs the built dqt-bridge (check, feeds, mappings) against the fixtures and their golden files.
        .testTarget(name: "BridgeCLITests", dependencies: ["DQTTesting", "LibPQ"], swiftSettings: swiftSettings),
        .testTarget(name: "FlatFileTests", dependencies: ["FlatFile", "DQTTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MIMEMailTests",
            dependencies: ["MIMEMail", "DQTTesting", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FileSourcesTests",
            dependencies: [
                "FileSources", "DQTModel", "DQTTesting", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: [
                "Delivery", "SFTP", "Ledger", "DQTTesting", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CurlMailTests",
            dependencies: ["CurlMail", "FileSources", "DQTTesting", "MIMEMail", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMIMETests",
            dependencies: ["SMIME", "FileSources", "FeedMapping", "DQTModel", "DQTTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SFTPTests", dependencies: ["SFTP", "DQTTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Proof under faults and hostile input.
        .testTarget(
            name: "FaultProxyTests",
            dependencies: [
                "FaultProxy", "DQTTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SecuritySuiteTests",
            dependencies: [
                "DQTAPI", "DQTTesting", "DQTAPITesting", "LibPQ", "FaultProxy", "SFTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HostileFilesTests",
            dependencies: ["FeedMapping", "BridgeReport", "MIMEMail", "FileSources", "DQTModel", "DQTTesting"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "SFTPBench", dependencies: ["SFTP"], path: "Benchmarks/SFTPBench", swiftSettings: swiftSettings),
    ]
)
