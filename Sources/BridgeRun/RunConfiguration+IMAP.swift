public import CurlMail
public import Foundation

extension RunConfiguration {
    /// The `imap:` section: the mailbox server whose folders are mail drops (`source: imap`). The password comes from
    /// a file or an environment variable, never from this file.
    public struct IMAPSettings: Sendable, Codable {
        /// `imaps://host:port` (implicit TLS) or `imap://host:port` (STARTTLS, required).
        public var url: String
        public var user: String
        public var passwordFile: String?
        public var passwordEnv: String?
        /// CA certificates that verify the server (PEM); the system's when omitted.
        public var caFile: String?
        /// Where handled messages are moved (default `processed`), and refused ones (default `quarantine`).
        public var processedFolder: String?
        public var quarantineFolder: String?
        public var connectTimeoutSeconds: Double?
        public var operationTimeoutSeconds: Double?

        public init(url: String, user: String, passwordFile: String? = nil, passwordEnv: String? = nil, caFile: String? = nil) {
            self.url = url
            self.user = user
            self.passwordFile = passwordFile
            self.passwordEnv = passwordEnv
            self.caFile = caFile
        }

        /// What the source needs, with the password read.
        public struct Resolved: Sendable {
            public let endpoint: MailEndpoint
            public let processed: IMAPMailbox
            public let quarantine: IMAPMailbox
        }

        /// The settings' mistakes that need no password: URL, folder names, one way to the password.
        func check(path: String) throws {
            do {
                _ = try MailEndpoint.serverURL(url, schemes: Self.schemes)
                _ = try IMAPMailbox(processedFolder ?? "processed")
                _ = try IMAPMailbox(quarantineFolder ?? "quarantine")
            } catch {
                throw ConfigurationError(message: "\(path): imap: \(error)")
            }
            if (passwordFile == nil) == (passwordEnv == nil) {
                throw ConfigurationError(message: "\(path): imap: give exactly one of passwordFile and passwordEnv")
            }
        }

        func resolve(environment: [String: String]) throws -> Resolved {
            let password: MailSecret
            if let passwordFile {
                password = try MailSecret(contentsOfFile: passwordFile)
            } else {
                password = try MailSecret(environmentVariable: passwordEnv ?? "", environment: environment)
            }
            return Resolved(
                endpoint: try MailEndpoint(
                    url: url, schemes: Self.schemes, user: user, password: password, caFile: caFile,
                    connectTimeout: connectTimeoutSeconds ?? 10, operationTimeout: operationTimeoutSeconds ?? 60),
                processed: try IMAPMailbox(processedFolder ?? "processed"),
                quarantine: try IMAPMailbox(quarantineFolder ?? "quarantine"))
        }

        static let schemes: Set<String> = ["imap", "imaps"]
    }

    /// The IMAP source's settings with its password, or nil without an `imap:` section.
    public func imapSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> IMAPSettings.Resolved? {
        guard let imap else { return nil }
        do {
            return try imap.resolve(environment: environment)
        } catch {
            throw ConfigurationError(message: "\(path): imap: \(error)")
        }
    }
}
