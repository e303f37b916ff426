public import Foundation

/// A mail account's password, read from a file or an environment variable; never printed (its description is a
/// placeholder) and never passed on a command line.
public struct MailSecret: Sendable, CustomStringConvertible {
    let value: String

    public var description: String { "<secret>" }

    /// For an endpoint with no account (an empty user): nothing is sent.
    public static let noLogin = MailSecret(value: "")

    private init(value: String) { self.value = value }

    /// The file's first line (a trailing newline is not part of the password).
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw MailTransportError(.fatal, "cannot read the password file \(path)")
        }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw MailTransportError(.fatal, "the password file \(path) is empty") }
        value = line
    }

    public init(environmentVariable name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let value = environment[name], !value.isEmpty else {
            throw MailTransportError(.fatal, "the environment variable \(name) (a mail password) is not set")
        }
        self.value = value
    }
}
