import Foundation

/// Where the real services that `scripts/services.sh` starts for the tests can be reached.
///
/// The script writes `.run/services.env`; `scripts/test.sh` exports it before `swift test`. A test that needs a
/// service asks for it here: outside CI a missing service disables the test, but with `CI=true` nothing may skip,
/// so the suite runs and ``require(_:)`` fails it with the variable's name.
public enum TestServices {
    /// PostgreSQL superuser connection (libpq URL) on loopback.
    public static let databaseURL = "DQT_TEST_DATABASE_URL"
    /// The OpenSSH SFTP server: host, port, user, private keys and the known_hosts file that holds its host key.
    public static let sftpHost = "DQT_TEST_SFTP_HOST"
    public static let sftpPort = "DQT_TEST_SFTP_PORT"
    public static let sftpUser = "DQT_TEST_SFTP_USER"
    public static let sftpEd25519Key = "DQT_TEST_SFTP_KEY"
    public static let sftpRSAKey = "DQT_TEST_SFTP_RSA_KEY"
    public static let sftpRSAKeyPassphraseFile = "DQT_TEST_SFTP_RSA_KEY_PASSPHRASE_FILE"
    public static let sftpKnownHosts = "DQT_TEST_SFTP_KNOWN_HOSTS"
    /// The SFTP user's home folder on the local file system, so tests can place and inspect files directly.
    public static let sftpRoot = "DQT_TEST_SFTP_ROOT"
    /// The Dovecot IMAP server: `imaps://` (implicit TLS) and `imap://` (STARTTLS) URLs, the account, its password's
    /// file, and the test CA that signed the server's certificate.
    public static let imapURL = "DQT_TEST_IMAP_URL"
    public static let imapStartTLSURL = "DQT_TEST_IMAP_STARTTLS_URL"
    public static let imapUser = "DQT_TEST_IMAP_USER"
    public static let imapPasswordFile = "DQT_TEST_IMAP_PASSWORD_FILE"
    public static let mailCA = "DQT_TEST_MAIL_CA"
    /// The Postfix MTA: submission URLs (`smtp://`, STARTTLS; `smtps://`, implicit TLS; the same test CA), the address
    /// it delivers into the Dovecot account's INBOX, and two it answers at RCPT with 550 and with 450.
    public static let smtpURL = "DQT_TEST_SMTP_URL"
    public static let smtpsURL = "DQT_TEST_SMTPS_URL"
    public static let smtpMailbox = "DQT_TEST_SMTP_MAILBOX"
    public static let smtpRefused = "DQT_TEST_SMTP_REFUSED"
    public static let smtpDeferred = "DQT_TEST_SMTP_DEFERRED"
    /// The DKIM verifier (OpenDKIM) in front of that Postfix: the authserv-id of the Authentication-Results field it
    /// adds to every message, a test partner's domain whose public key it knows, and an OpenDKIM configuration that
    /// signs for that domain with the partner's private key (``TestDKIMSigner``).
    public static let dkimAuthservID = "DQT_TEST_DKIM_AUTHSERV_ID"
    public static let dkimDomain = "DQT_TEST_DKIM_DOMAIN"
    public static let dkimSignerConfig = "DQT_TEST_DKIM_SIGNER_CONFIG"
    /// A submission port of the same Postfix whose verifier is unreachable (STARTTLS): it must hold mail back (4xx).
    public static let smtpNoVerifierURL = "DQT_TEST_SMTP_NO_VERIFIER_URL"

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// True when every named variable is set, or in CI (where the test must then run and fail if one is missing).
    public static func shouldRun(_ names: String...) -> Bool {
        isCI || names.allSatisfy { ProcessInfo.processInfo.environment[$0]?.isEmpty == false }
    }

    /// The variable's value, or an error naming it.
    public static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw MissingService(variable: name)
        }
        return value
    }

    public struct MissingService: Error, CustomStringConvertible {
        public let variable: String
        public var description: String {
            "\(variable) is not set: start the services with scripts/services.sh start and source .run/services.env"
        }
    }
}
