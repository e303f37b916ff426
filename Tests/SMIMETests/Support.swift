import DQTModel
import DQTTesting
import FileSources
import Foundation
import SMIME

/// The EWC partner (its certificate names the address it sends from), a stranger, and the notices they sign, in a
/// fresh folder: keys, certificates and signatures are made by `openssl` for each test.
struct SignedNotices {
    static let address = "teacher.alerts@ewc.wales.example"
    let folder: TemporaryFolder
    let partner: SMIMETestPartner
    let stranger: SMIMETestPartner
    let pinned: PinnedCertificate
    let strangerPinned: PinnedCertificate

    init() throws {
        folder = try TemporaryFolder("smime")
        partner = try SMIMETestPartner(email: Self.address, name: "ewc", in: folder.path)
        stranger = try SMIMETestPartner(email: Self.address, name: "stranger", in: folder.path)
        pinned = try PinnedCertificate.load(path: partner.certificate, named: "ewc.pem")
        strangerPinned = try PinnedCertificate.load(path: stranger.certificate, named: "stranger.pem")
    }

    /// A feed taking the notices from EWC, proved by S/MIME (and DKIM under our MTA's id when `dkim`).
    func rules(dkim: Bool = false, pins: [PinnedCertificate]? = nil) -> EmailSettings {
        EmailSettings(
            senders: ["@ewc.wales.example"], attachments: ["*.csv"],
            trust: SenderTrust(dkimAuthservID: dkim ? "mx.tq.education.gov.example" : nil, smimeCertificates: pins ?? [pinned]))
    }

    /// The good EWC notice signed by `signer` (the partner unless said), written to `name`; its path.
    func notice(
        _ name: String, signer: SMIMETestPartner? = nil, from: String = address, detached: Bool = true, headers: [String] = [],
        innerHeaders: [String] = []
    ) throws -> String {
        let content = folder.path("\(name).content")
        try SMIMETestPartner.noticeContent(headers: innerHeaders, to: content)
        let path = folder.path("\(name).eml")
        try (signer ?? partner).sign(content: content, from: from, detached: detached, headers: headers, output: path)
        return path
    }

    /// Reads an email as the intake does, verifying against `pinned` (the partner's certificate unless said); its
    /// attachments go to a new folder in the test's folder.
    func read(_ path: String, pinned pins: [PinnedCertificate]? = nil, now: Date = Date()) throws -> ReceivedEmail {
        try MailIntake.read(emlPath: path, into: folder.path("parts-\(UUID().uuidString)"), pinned: pins ?? [pinned], now: now)
    }

    /// The SHA-256 of the unsigned good notice's CSV, as the intake extracts it.
    func unsignedCSVDigest() throws -> String {
        let email = try MailIntake.read(
            emlPath: repositoryRoot.appendingPathComponent("fixtures/prohibition-notices/good/ewc-notices-20261120-base64.eml").path,
            into: folder.path("unsigned.parts"))
        guard let digest = email.attachments.first?.sha256 else { throw CocoaError(.fileReadCorruptFile) }
        return digest
    }
}
