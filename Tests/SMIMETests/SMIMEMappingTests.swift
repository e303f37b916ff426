import DQTModel
import DQTTesting
import FeedMapping
import Foundation
import Testing

/// `email.authentication.smime.certificates` in a mapping: the certificates are read when the mapping loads, so a
/// missing, unreadable or non-certificate file is an error located at its line.
@Suite("S/MIME: pinned certificates in a mapping")
struct SMIMEMappingTests {
    /// The repository's prohibition-notices mapping with `authentication` replaced, written to `mappings/` under
    /// `folder`; its path.
    static func mapping(authentication: String, in folder: TemporaryFolder) throws -> String {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("mappings/prohibition-notices.yaml"), encoding: .utf8)
        let block = "  authentication:\n    dkim: {authservID: mx.tq.education.gov.example}\n"
        #expect(text.contains(block))
        try FileManager.default.createDirectory(atPath: folder.path("mappings"), withIntermediateDirectories: true)
        let path = folder.path("mappings/prohibition-notices.yaml")
        try text.replacingOccurrences(of: block, with: "  authentication:\n\(authentication)").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func load(_ path: String) throws -> FeedDefinition {
        try MappingLoader.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    /// The 1-based line of the mapping that contains `text`.
    static func line(of text: String, in path: String) throws -> Int? {
        try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n").firstIndex { $0.contains(text) }.map { $0 + 1 }
    }

    @Test("Certificates are read relative to the folder holding the mappings; two pins overlap a rotation; DKIM stays beside them")
    func certificatesAreRead() throws {
        let folder = try TemporaryFolder("smime-mapping")
        try FileManager.default.createDirectory(atPath: folder.path("certificates"), withIntermediateDirectories: true)
        let old = try SMIMETestPartner(email: "teacher.alerts@ewc.wales.example", name: "old", in: folder.path("certificates"))
        let new = try SMIMETestPartner(email: "teacher.alerts@ewc.wales.example", name: "new", in: folder.path("certificates"))
        let path = try Self.mapping(
            authentication: """
                    dkim: {authservID: mx.tq.education.gov.example}
                    smime:
                      certificates: [certificates/old-certificate.pem, \(new.certificate)]

                """, in: folder)
        let trust = try #require(try Self.load(path).email?.trust)
        #expect(trust.dkimAuthservID == "mx.tq.education.gov.example")
        #expect(trust.smimeCertificates.map(\.path) == ["certificates/old-certificate.pem", new.certificate])
        let digest = try ChildProcess.run("/usr/bin/openssl", ["x509", "-in", old.certificate, "-noout", "-fingerprint", "-sha256"]).stdout
        #expect(digest.uppercased().filter(\.isHexDigit).hasSuffix(trust.smimeCertificates[0].sha256.uppercased()))
    }

    @Test("A missing, non-certificate or doubled certificate file, an empty list and an unknown key are errors at their line")
    func badCertificatesAreLocated() throws {
        let folder = try TemporaryFolder("smime-mapping")
        let partner = try SMIMETestPartner(email: "teacher.alerts@ewc.wales.example", name: "ewc", in: folder.path)
        let doubled = folder.path("doubled.pem")
        try (try String(contentsOfFile: partner.certificate, encoding: .utf8) + (try String(contentsOfFile: partner.certificate, encoding: .utf8)))
            .write(toFile: doubled, atomically: true, encoding: .utf8)
        for (certificates, located, message) in [
            ("[\(folder.path("missing.pem"))]", "missing.pem", "cannot be read"),
            ("[\(partner.key)]", partner.key, "holds no PEM certificate"),
            ("[\(doubled)]", doubled, "more than one certificate"),
        ] {
            let path = try Self.mapping(authentication: "    smime:\n      certificates: \(certificates)\n", in: folder)
            do {
                _ = try Self.load(path)
                Issue.record("\(certificates) loaded")
            } catch let error as MappingError {
                #expect(try error.line == Self.line(of: located, in: path))
                #expect(error.description.contains(message), "\(error)")
            }
        }
        for (authentication, message) in [
            ("    smime: {certificates: []}\n", "one or more PEM certificate files"),
            ("    smime: {certs: [a.pem]}\n", "certs"),
            ("    smime: {}\n", "needs 'certificates'"),
            ("    {}\n", "needs dkim or smime"),
        ] {
            let path = try Self.mapping(authentication: authentication, in: folder)
            do {
                _ = try Self.load(path)
                Issue.record("\(authentication) loaded")
            } catch let error as MappingError {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }
}
