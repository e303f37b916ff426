public import Foundation

/// Where a mail server is and how to log in: the URL (`imaps://host:port` for implicit TLS, `imap://host:port` for
/// STARTTLS, which is then required), the account, its password, the CA bundle that verifies the server (the system's
/// when nil) and the timeouts.
public struct MailEndpoint: Sendable {
    public var url: URL
    public var user: String
    public var password: MailSecret
    public var caFile: String?
    public var connectTimeout: Double
    /// A transfer that stalls this long (no byte moved) is abandoned.
    public var operationTimeout: Double

    /// - Throws: ``MailTransportError`` (fatal) for a URL that is not one of `schemes` or names a path.
    public init(
        url: String, schemes: Set<String>, user: String, password: MailSecret, caFile: String? = nil, connectTimeout: Double = 10,
        operationTimeout: Double = 60
    ) throws {
        self.url = try Self.serverURL(url, schemes: schemes)
        self.user = user
        self.password = password
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
    }

    /// The URL of a server: one of `schemes`, a host, an optional port, nothing else (the account and folders are
    /// separate settings, and a password never goes in a URL).
    public static func serverURL(_ url: String, schemes: Set<String>) throws -> URL {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), schemes.contains(scheme), parsed.host != nil else {
            throw MailTransportError(.fatal, "\(url) is not a mail server URL (\(schemes.sorted().joined(separator: ", ")))")
        }
        guard parsed.path.isEmpty || parsed.path == "/", parsed.user == nil, parsed.password == nil, parsed.query == nil else {
            throw MailTransportError(.fatal, "\(url): give only the scheme, host and port; the account and folders are separate settings")
        }
        return parsed
    }

    /// `scheme://user@host:port`, for messages.
    public var redactedURL: String {
        "\(url.scheme ?? "?")://\(user)@\(url.host ?? "?")\(url.port.map { ":\($0)" } ?? "")"
    }

    /// `scheme://host:port/` followed by `path` (already percent-encoded).
    func address(_ path: String) -> String {
        "\(url.scheme!)://\(url.host!)\(url.port.map { ":\($0)" } ?? "")/\(path)"
    }
}
