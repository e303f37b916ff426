import CurlMail
import Foundation

extension RunConfiguration {
    /// The `smtp:` section: how the mail outbox's notices are sent (``NoticeStage``). Without it the outbox's entries
    /// wait for another mail system. The password comes from a file or an environment variable, never from this file;
    /// the server's certificate is always verified (there is no setting to skip it).
    public struct SMTPSettings: Sendable, Codable {
        /// `smtps://host:port` (implicit TLS) or `smtp://host:port` (STARTTLS, required).
        public var url: String
        /// The submission account; omit for a relay that trusts this host (no login).
        public var user: String?
        public var passwordFile: String?
        public var passwordEnv: String?
        /// CA certificates that verify the server (PEM); the system's when omitted.
        public var caFile: String?
        /// The envelope sender and `From:` of every notice.
        public var from: String
        /// The domain of every Message-ID (default: the `from` address's).
        public var messageIDDomain: String?
        public var connectTimeoutSeconds: Double?
        public var operationTimeoutSeconds: Double?
        public var retry: Retry?
        /// How long after an attempt whose outcome is unknown its absence from the sent copy proves it was not queued
        /// (default 900).
        public var ambiguousGraceSeconds: Double?
        /// The TQ unit's own mailbox, which receives every notice as an envelope recipient (a Bcc).
        public var sentCopy: SentCopy?

        public init(url: String, from: String) {
            self.url = url
            self.from = from
        }

        public struct Retry: Sendable, Codable {
            /// Attempts per notice in all (default 6), of which at most `attemptsPerRun` in one run (default 3).
            public var attempts: Int?
            public var attemptsPerRun: Int?
            /// The wait before the first retry within a run (default 5), doubled each time up to `maxBackoffSeconds` (300).
            public var backoffSeconds: Double?
            public var maxBackoffSeconds: Double?

            public init(attempts: Int? = nil, attemptsPerRun: Int? = nil, backoffSeconds: Double? = nil, maxBackoffSeconds: Double? = nil) {
                self.attempts = attempts
                self.attemptsPerRun = attemptsPerRun
                self.backoffSeconds = backoffSeconds
                self.maxBackoffSeconds = maxBackoffSeconds
            }
        }

        public struct SentCopy: Sendable, Codable {
            /// The address added to every submission's envelope.
            public var address: String
            /// The IMAP folder that address delivers into (default INBOX).
            public var folder: String?
            /// Its own IMAP account; the `imap:` section's when omitted.
            public var imap: IMAPSettings?

            public init(address: String, folder: String? = nil, imap: IMAPSettings? = nil) {
                self.address = address
                self.folder = folder
                self.imap = imap
            }
        }

        /// The keys of `smtp.sentCopy.imap`: an IMAP account, without the mail drops' folders.
        static let sentCopyIMAPKeys = ["url", "user", "passwordFile", "passwordEnv", "caFile", "connectTimeoutSeconds", "operationTimeoutSeconds"]

        /// The settings' mistakes that need no password.
        func check(path: String, imap: IMAPSettings?) throws {
            func fail(_ message: String) -> ConfigurationError { ConfigurationError(message: "\(path): smtp: \(message)") }
            do {
                _ = try MailEndpoint.serverURL(url, schemes: Self.schemes)
            } catch {
                throw fail("\(error)")
            }
            if Self.domain(of: from) == nil { throw fail("from '\(from)' is not an address") }
            if let domain = messageIDDomain, domain.isEmpty || !domain.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) })
            {
                throw fail("messageIDDomain '\(domain)' is not a domain")
            }
            let logsIn = !(user ?? "").isEmpty
            if logsIn && (passwordFile == nil) == (passwordEnv == nil) { throw fail("give exactly one of passwordFile and passwordEnv for user") }
            if !logsIn && (passwordFile != nil || passwordEnv != nil) { throw fail("a password without a user") }
            if let attempts = retry?.attempts, !(1...100).contains(attempts) { throw fail("retry.attempts must be 1...100") }
            if let perRun = retry?.attemptsPerRun, !(1...20).contains(perRun) { throw fail("retry.attemptsPerRun must be 1...20") }
            if let backoff = retry?.backoffSeconds, !(0...3600).contains(backoff) { throw fail("retry.backoffSeconds must be 0...3600") }
            if let grace = ambiguousGraceSeconds, grace < 0 { throw fail("ambiguousGraceSeconds must not be negative") }
            if let sentCopy {
                if Self.domain(of: sentCopy.address) == nil { throw fail("sentCopy.address '\(sentCopy.address)' is not an address") }
                do {
                    _ = try IMAPMailbox(sentCopy.folder ?? "INBOX")
                } catch {
                    throw fail("sentCopy.folder: \(error)")
                }
                guard let account = sentCopy.imap ?? imap else { throw fail("sentCopy needs an IMAP account: its own imap, or the imap section") }
                try account.check(path: path)
            }
        }

        /// What the notice stage needs, with the passwords read.
        struct Resolved: Sendable {
            let endpoint: MailEndpoint
            let policy: NoticePolicy
            let sentCopy: (endpoint: MailEndpoint, folder: IMAPMailbox)?
        }

        func resolve(imap: IMAPSettings?, environment: [String: String]) throws -> Resolved {
            let password: MailSecret
            if let passwordFile {
                password = try MailSecret(contentsOfFile: passwordFile)
            } else if let passwordEnv {
                password = try MailSecret(environmentVariable: passwordEnv, environment: environment)
            } else {
                password = .noLogin
            }
            let endpoint = try MailEndpoint(
                url: url, schemes: Self.schemes, user: user ?? "", password: password, caFile: caFile,
                connectTimeout: connectTimeoutSeconds ?? 10, operationTimeout: operationTimeoutSeconds ?? 60)
            var policy = NoticePolicy(from: from, messageIDDomain: messageIDDomain ?? Self.domain(of: from) ?? "localhost")
            policy.sentCopyAddress = sentCopy?.address
            if let value = retry?.attempts { policy.attempts = value }
            if let value = retry?.attemptsPerRun { policy.attemptsPerRun = value }
            if let value = retry?.backoffSeconds { policy.backoffSeconds = value }
            if let value = retry?.maxBackoffSeconds { policy.maxBackoffSeconds = value }
            if let value = ambiguousGraceSeconds { policy.graceSeconds = value }
            var copy: (endpoint: MailEndpoint, folder: IMAPMailbox)?
            if let sentCopy, let account = sentCopy.imap ?? imap {
                copy = (try account.resolve(environment: environment).endpoint, try IMAPMailbox(sentCopy.folder ?? "INBOX"))
            }
            return Resolved(endpoint: endpoint, policy: policy, sentCopy: copy)
        }

        static let schemes: Set<String> = ["smtp", "smtps"]

        /// The domain of `local@domain`, nil when the text is not one envelope address.
        static func domain(of address: String) -> String? {
            let parts = address.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                address.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
            else { return nil }
            return String(parts[1])
        }
    }

    /// The notice stage's settings with their passwords, or nil without an `smtp:` section.
    func smtpSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SMTPSettings.Resolved? {
        guard let smtp else { return nil }
        do {
            return try smtp.resolve(imap: imap, environment: environment)
        } catch {
            throw ConfigurationError(message: "\(path): smtp: \(error)")
        }
    }
}
