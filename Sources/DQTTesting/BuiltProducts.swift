public import Foundation

/// The repository's root, found from this source file (`Sources/DQTTesting/BuiltProducts.swift`), so tests read
/// `mappings/` and `fixtures/` as the tools do in daily use.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The path of an executable product built beside the test bundle (`swift build --build-tests` puts both in
/// `<scratch>/<config>/`), or the one the environment variable `override` names.
public func builtProduct(_ name: String, override: String) -> String? {
    if let path = ProcessInfo.processInfo.environment[override], FileManager.default.isExecutableFile(atPath: path) {
        return path
    }
    var folders: [URL] = []
    if let first = CommandLine.arguments.first {
        folders.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
    }
    folders.append(Bundle.main.bundleURL)
    folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for folder in folders {
        var candidate = folder
        // The bundle may be a directory (`X.xctest/Contents/MacOS/...`): walk up to the build folder.
        for _ in 0..<4 {
            let binary = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: binary) { return binary }
            candidate.deleteLastPathComponent()
        }
    }
    return nil
}

/// A product the tests need was not found beside them.
public struct ProductNotBuilt: Error, CustomStringConvertible {
    public let name: String
    public let override: String
    public init(name: String, override: String) {
        self.name = name
        self.override = override
    }
    public var description: String {
        "\(name) is not built beside the tests: run swift build --build-tests (or set \(override))"
    }
}

/// `dqt-bridge` built beside the tests, or the one `DQT_BRIDGE_BINARY` names.
public func bridgeBinary() throws -> String {
    try requiredProduct("dqt-bridge", override: "DQT_BRIDGE_BINARY")
}

/// `dqt-api` built beside the tests, or the one `DQT_API_BINARY` names.
public func apiBinary() throws -> String {
    try requiredProduct("dqt-api", override: "DQT_API_BINARY")
}

private func requiredProduct(_ name: String, override: String) throws -> String {
    guard let path = builtProduct(name, override: override) else { throw ProductNotBuilt(name: name, override: override) }
    return path
}

/// A folder under the system's temporary directory, removed when the value goes away.
public final class TemporaryFolder: @unchecked Sendable {
    public let url: URL

    public init(_ prefix: String = "dqt-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Adopts an existing folder (it is removed with the value all the same).
    public init(at url: URL) { self.url = url }

    public var path: String { url.path }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = self.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
