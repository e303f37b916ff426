public import Foundation

/// The test partner's DKIM signer that `scripts/services.sh` sets up: OpenDKIM itself, in its test mode
/// (`opendkim -x <configuration> -t <message>`), signs with the partner's private key as the partner's own MTA would
/// (rsa-sha256, relaxed/relaxed), and the signature field goes on top of the message. The verifier in front of the test
/// Postfix knows the matching public key, so a message signed here and submitted there arrives with `dkim=pass`.
public struct TestDKIMSigner: Sendable {
    /// The signing domain (`d=`): the address domain a signed message's From field must be in.
    public let domain: String
    /// The authserv-id under which the verifier records its results.
    public let authservID: String
    private let configuration: String

    public init() throws {
        domain = try TestServices.require(TestServices.dkimDomain)
        authservID = try TestServices.require(TestServices.dkimAuthservID)
        configuration = try TestServices.require(TestServices.dkimSignerConfig)
    }

    /// `message` (CRLF line ends, its From field in ``domain``) with a DKIM-Signature field added on top.
    /// `algorithm` is OpenDKIM's `SignatureAlgorithm` (rsa-sha256, or rsa-sha1 as an old MTA still signs).
    public func sign(_ message: Data, algorithm: String = "rsa-sha256") throws -> Data {
        let scratch = try TemporaryFolder("dkim-signer")
        let path = scratch.path("message.eml")
        try message.write(to: URL(fileURLWithPath: path))
        let settings = try String(contentsOfFile: configuration, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("SignatureAlgorithm ") ? "SignatureAlgorithm \(algorithm)" : String($0) }.joined(separator: "\n")
        let signer = try scratch.write("signer.conf", Array(settings.utf8))
        let output = try ChildProcess.run("/usr/sbin/opendkim", ["-x", signer, "-t", path]).checkedOutput()
        // Test mode prints "opendkim: <file>:" and then the field it would add, folded over lines ending in LF.
        guard let start = output.range(of: "DKIM-Signature:") else {
            throw ChildProcessFailure(program: "opendkim", reason: "no DKIM-Signature in its output: \(output.prefix(400))")
        }
        let lines = output[start.lowerBound...].split(separator: "\n", omittingEmptySubsequences: true)
        let field = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }.joined(separator: "\r\n") + "\r\n"
        return Data(field.utf8) + message
    }
}
