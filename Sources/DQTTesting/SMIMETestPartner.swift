import Foundation

/// A partner's S/MIME key and certificate, made for one test with the `openssl` command (a self-signed certificate,
/// no CA), and the notices it signs with `openssl cms -sign`: real keys and real signatures, nothing recorded.
public struct SMIMETestPartner: Sendable {
    /// The certificate, PEM.
    public let certificate: String
    /// The private key, PEM.
    public let key: String

    /// A P-256 key and a certificate for `email` (subjectAltName rfc822Name), valid from now for `days`, in `folder`.
    public init(email: String, name: String, in folder: String, days: Int = 30) throws {
        certificate = folder + "/\(name)-certificate.pem"
        key = folder + "/\(name)-key.pem"
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", certificate,
            "-subj", "/CN=\(name) test partner", "-days", "\(days)", "-addext", "subjectAltName=email:\(email)",
            "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=emailProtection", "-addext", "basicConstraints=CA:FALSE",
        ])
    }

    /// Signs the MIME entity in `content` and writes the email to `output`: detached (`multipart/signed`) or opaque
    /// (`application/pkcs7-mime` signed-data), with `from` in its From field and `headers` above the ones openssl writes.
    public func sign(content: String, from: String, detached: Bool, headers: [String] = [], output: String) throws {
        let signed = output + ".openssl"
        defer { try? FileManager.default.removeItem(atPath: signed) }
        try Self.openssl(
            [
                "cms", "-sign", "-in", content, "-signer", certificate, "-inkey", key, "-out", signed, "-from", from, "-to",
                "tq-unit@education.gov.example",
                "-subject", "Prohibition notices",
            ] + (detached ? [] : ["-nodetach"]))
        let text = try String(contentsOfFile: signed, encoding: .utf8)
        try (headers.map { $0 + "\n" }.joined() + text).write(toFile: output, atomically: true, encoding: .utf8)
    }

    /// The good EWC notice's MIME entity (its Content-Type and body, with `headers` on top) written to `path`: the
    /// content a partner signs.
    public static func noticeContent(headers: [String] = [], to path: String) throws {
        let notice = try String(
            contentsOf: repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml"), encoding: .utf8)
        guard let split = notice.range(of: "\r\n\r\n") else { throw ChildProcessFailure(program: "openssl", reason: "the notice has no body") }
        let contentType = notice[..<split.lowerBound].components(separatedBy: "\r\n").filter { $0.hasPrefix("Content-Type:") }
        let entity = (headers + contentType).joined(separator: "\r\n") + "\r\n\r\n" + notice[split.upperBound...]
        try entity.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Replaces the first occurrence of `old` with `new` in the file at `path`: a detached signature's content
    /// changed in transit.
    public static func tamper(_ path: String, replacing old: String, with new: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let range = text.range(of: old) else { throw ChildProcessFailure(program: "tamper", reason: "\(old) is not in the email") }
        try text.replacingCharacters(in: range, with: new).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Changes one character of an opaque signed-data's encapsulated content (in the text part of the notice), the
    /// DER around it left well formed: the body is decoded, changed and encoded again.
    public static func tamperOpaque(_ path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let split = text.range(of: "\n\n") else { throw ChildProcessFailure(program: "tamper", reason: "the email has no body") }
        let body = text[split.upperBound...].split(whereSeparator: \.isNewline).joined()
        guard var der = Data(base64Encoded: String(body)), let index = der.firstRange(of: Data("Please find".utf8))?.lowerBound else {
            throw ChildProcessFailure(program: "tamper", reason: "the signed-data does not hold the notice's text")
        }
        der[index] = UInt8(ascii: "X")
        try (String(text[..<split.upperBound]) + der.base64EncodedString(options: .lineLength64Characters) + "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
    }

    static func openssl(_ arguments: [String]) throws {
        let result = try ChildProcess.run("/usr/bin/openssl", arguments)
        guard result.status == 0 else {
            throw ChildProcessFailure(program: "openssl", reason: "status \(result.status): \(result.stderr.suffix(600))")
        }
    }
}
