import Foundation

/// The Dovecot IMAP server `scripts/services.sh` runs, driven by the `curl` program: the tests put messages in and look
/// at mailboxes with a client that is not the bridge's own, and clean up what they made. The password goes to curl in
/// a config file of mode 0600, never on a command line.
public struct TestMailServer: Sendable {
    /// `imaps://127.0.0.1:<port>` (implicit TLS) and `imap://127.0.0.1:<port>` (STARTTLS).
    public let url: String
    public let startTLSURL: String
    public let user: String
    public let passwordFile: String
    /// The test CA's certificate, which signed the server's.
    public let caFile: String

    public init() throws {
        url = try TestServices.require(TestServices.imapURL)
        startTLSURL = try TestServices.require(TestServices.imapStartTLSURL)
        user = try TestServices.require(TestServices.imapUser)
        passwordFile = try TestServices.require(TestServices.imapPasswordFile)
        caFile = try TestServices.require(TestServices.mailCA)
    }

    /// A mailbox name no other test uses.
    public static func uniqueMailbox(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Appends the message file (CRLF line ends) to `mailbox`.
    public func append(_ path: String, to mailbox: String) throws {
        _ = try curl(["-T", path, "\(url)/\(mailbox)"])
    }

    public func createMailbox(_ mailbox: String) throws {
        _ = try curl(["-X", "CREATE \"\(mailbox)\"", "\(url)/"])
    }

    /// Deletes the mailbox and what it holds; a mailbox that does not exist is not an error.
    public func deleteMailbox(_ mailbox: String) throws {
        _ = try? curl(["-X", "DELETE \"\(mailbox)\"", "\(url)/"])
    }

    /// The UIDs the mailbox holds.
    public func uids(in mailbox: String) throws -> [UInt32] {
        let out = try curl(["-X", "UID SEARCH ALL", "\(url)/\(mailbox)"])
        return out.split(separator: "\n").filter { $0.hasPrefix("* SEARCH") }.flatMap { line in
            line.dropFirst("* SEARCH".count).split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) }
        }
    }

    public func uidValidity(of mailbox: String) throws -> UInt32 {
        let out = try curl(["-X", "STATUS \"\(mailbox)\" (UIDVALIDITY)", "\(url)/"])
        guard let range = out.range(of: "UIDVALIDITY "),
            let value = UInt32(out[range.upperBound...].prefix { $0.isNumber })
        else { throw ChildProcessFailure(program: "curl", reason: "no UIDVALIDITY for \(mailbox) in \(out)") }
        return value
    }

    /// The whole message with `uid` in `mailbox`, as the server sends it.
    public func message(uid: UInt32, in mailbox: String) throws -> [UInt8] {
        Array(try curl(["\(url)/\(mailbox)/;UID=\(uid)"]).utf8)
    }

    /// Runs curl with TLS required, the test CA and the account; its standard output, or an error with both outputs.
    @discardableResult
    public func curl(_ arguments: [String]) throws -> String {
        let scratch = try TemporaryFolder("test-mail-server")
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let config = scratch.path("curl.config")
        _ = FileManager.default.createFile(atPath: config, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data("user = \"\(user):\(password)\"\n".utf8).write(to: URL(fileURLWithPath: config))
        let result = try ChildProcess.run(
            "/usr/bin/curl", ["-sS", "--ssl-reqd", "--cacert", caFile, "--max-time", "30", "-K", config] + arguments)
        return try result.checkedOutput()
    }
}
