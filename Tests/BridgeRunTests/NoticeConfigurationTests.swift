import CurlMail
import DQTTesting
import Foundation
import Testing

@testable import BridgeRun

/// The `smtp:` section: strict keys down to `retry` and `sentCopy.imap`, one way to each password, a sent copy that
/// has an IMAP account, and the policy the notice stage gets from it.
struct NoticeConfigurationTests {
    static let base = """
        api: {baseURL: "http://127.0.0.1:8080", keyEnv: API_KEY}
        folder: {root: /tmp}

        """

    func load(_ text: String, environment: [String: String] = [:]) throws -> (path: String, result: Result<RunConfiguration, any Error>) {
        let folder = try TemporaryFolder("notice-config")
        let path = folder.path("bridge.yaml")
        try (Self.base + text).write(toFile: path, atomically: true, encoding: .utf8)
        return (path, Result { try RunConfiguration.load(path: path, environment: environment) })
    }

    func error(_ text: String) throws -> String {
        let (_, result) = try load(text)
        if case .failure(let error) = result { return "\(error)" }
        return ""
    }

    @Test func unknownKeysInsideTheSectionAreNamedWithTheirLine() throws {
        let (path, result) = try load(
            """
            smtp:
              url: smtp://127.0.0.1:10587
              from: dqt-bridge@dqt.test
              retry: {attempt: 3}
              sentCopy: {address: tq@dqt.test, imap: {url: imaps://127.0.0.1:10993, user: u, passwordFile: /p, processedFolder: x}}
            """)
        guard case .failure(let error) = result else {
            Issue.record("loaded")
            return
        }
        #expect("\(error)".contains("\(path):6: unknown key 'attempt' in smtp.retry (did you mean 'attempts'?)"))
        #expect("\(error)".contains("unknown key 'processedFolder' in smtp.sentCopy.imap"))
    }

    @Test func mistakesAreRefusedBeforeARun() throws {
        #expect(try error("smtp: {url: http://127.0.0.1:25, from: a@b.test}").contains("is not a mail server URL"))
        #expect(try error("smtp: {url: smtp://127.0.0.1:25, from: a@@b.test}").contains("from 'a@@b.test' is not an address"))
        #expect(try error("smtp: {url: smtp://127.0.0.1:25, from: a@b.test, user: u}").contains("exactly one of passwordFile and passwordEnv"))
        #expect(try error("smtp: {url: smtp://127.0.0.1:25, from: a@b.test, passwordEnv: P}").contains("a password without a user"))
        #expect(
            try error("smtp: {url: smtp://127.0.0.1:25, from: a@b.test, sentCopy: {address: c@b.test}}").contains("sentCopy needs an IMAP account"))
        #expect(try error("smtp: {url: smtp://127.0.0.1:25, from: a@b.test, retry: {attempts: 0}}").contains("retry.attempts must be 1...100"))
    }

    @Test func policyComesFromTheSectionWithItsDefaults() throws {
        let (_, result) = try load(
            """
            imap: {url: imaps://127.0.0.1:10993, user: tq, passwordEnv: IMAP_PASSWORD}
            smtp:
              url: smtps://127.0.0.1:10465
              from: dqt-bridge@bridge.dqt.test
              retry: {attempts: 9, backoffSeconds: 1}
              ambiguousGraceSeconds: 120
              sentCopy: {address: tq@dqt.test, folder: Sent}
            """)
        let configuration = try result.get()
        let resolved = try #require(try configuration.smtpSettings(environment: ["IMAP_PASSWORD": "secret"]))
        #expect(resolved.policy.from == "dqt-bridge@bridge.dqt.test")
        #expect(resolved.policy.messageIDDomain == "bridge.dqt.test")
        #expect(resolved.policy.attempts == 9 && resolved.policy.attemptsPerRun == 3 && resolved.policy.backoffSeconds == 1)
        #expect(resolved.policy.graceSeconds == 120 && resolved.policy.sentCopyAddress == "tq@dqt.test")
        #expect(resolved.endpoint.user == "" && "\(resolved.endpoint.password)" == "<secret>")
        #expect(resolved.sentCopy?.folder.name == "Sent" && resolved.sentCopy?.endpoint.user == "tq")
        #expect(resolved.policy.backoff(afterRetry: 1) == 1 && resolved.policy.backoff(afterRetry: 3) == 4)
    }
}
