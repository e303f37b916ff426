import CLibCrypto
public import DQTModel
public import Foundation

/// Verifies S/MIME signed emails (detached `multipart/signed`, or opaque `application/pkcs7-mime` signed-data)
/// with OpenSSL's CMS, trusting only pinned certificates.
///
/// The pinned certificates are the whole trust: they are the only certificates a signer is looked for among
/// (`CMS_NOINTERN`, so a certificate carried in the message is never used on its own) and the only ones in the
/// verification store (no system CA store; a pinned certificate is a trust anchor by itself, self-signed or not). The
/// signer certificate's validity window is checked against the time given, so tests can set the clock.
///
/// Verification holds the signed content in memory: the email is bounded by the intake's maximum size, so the
/// content is too.
public struct SMIMEVerifier: Sendable {
    public let pinned: [PinnedCertificate]

    public init(pinned: [PinnedCertificate]) {
        self.pinned = pinned
    }

    /// What a verification yields: the evidence, and whether the signed content was written.
    public struct Verification: Sendable {
        public let evidence: SMIMEEvidence
        /// True when the signed content (a MIME entity) is at the content path, whether or not the signature held.
        public let wroteContent: Bool
    }

    /// Whether a top-level Content-Type field's value names an S/MIME signed or opaque message (a `multipart/signed`
    /// of another protocol, such as OpenPGP's, is not one).
    public static func isSMIME(contentType: String?) -> Bool {
        guard let contentType = contentType?.lowercased() else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        if mediaType == "multipart/signed" { return contentType.contains("pkcs7-signature") }
        return mediaType == "application/pkcs7-mime" || mediaType == "application/x-pkcs7-mime"
    }

    /// Verifies the S/MIME email at `messagePath` at the time `now`, writing its signed content to `contentPath`.
    public func verify(messagePath: String, contentPath: String, now: Date) -> Verification {
        ERR_clear_error()
        var wrote = false
        do {
            let evidence = try verified(messagePath: messagePath, contentPath: contentPath, now: now, wrote: &wrote)
            return Verification(evidence: evidence, wroteContent: wrote)
        } catch {
            return Verification(evidence: SMIMEEvidence(signerSHA256: nil, signerEmails: [], refusal: error), wroteContent: wrote)
        }
    }

    private func verified(messagePath: String, contentPath: String, now: Date, wrote: inout Bool) throws(SenderRefusal) -> SMIMEEvidence {
        guard let input = BIO_new_file(messagePath, "rb") else { throw Self.invalid("the email cannot be opened") }
        defer { BIO_free(input) }
        var detached: OpaquePointer?
        guard let cms = SMIME_read_CMS(input, &detached) else { throw Self.invalid("the S/MIME structure cannot be read") }
        defer {
            CMS_ContentInfo_free(cms)
            if let detached { BIO_free(detached) }
        }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed else { throw Self.invalid("the S/MIME part is not signed-data") }
        let content = try Self.content(of: cms, detached: detached)
        wrote = FileManager.default.createFile(atPath: contentPath, contents: Data(content))

        let certificates = pinned.compactMap { try? X509Certificate(der: $0.der) }
        let signers = (0..<dqt_cms_signer_count(cms)).compactMap { dqt_cms_signer_at(cms, $0) }
        guard !signers.isEmpty else { throw Self.invalid("the signed-data has no signer") }
        guard let signer = certificates.first(where: { certificate in signers.contains { CMS_SignerInfo_cert_cmp($0, certificate.pointer) == 0 } })
        else {
            throw SenderRefusal(code: "certificate-unknown", message: "no pinned certificate signed the content")
        }
        try Self.check(cms, content: detached == nil ? nil : content, against: certificates)
        let sha256 = signer.sha256
        if let reason = signer.outsideValidity(at: now) {
            return SMIMEEvidence(
                signerSHA256: sha256, signerEmails: signer.emails, refusal: SenderRefusal(code: "certificate-expired", message: reason))
        }
        return SMIMEEvidence(signerSHA256: sha256, signerEmails: signer.emails, refusal: nil)
    }

    /// `CMS_verify` with the pinned certificates as the only signers and the only trust anchors. Time is not checked
    /// here: the signer's window is checked against the injected clock instead.
    private static func check(_ cms: OpaquePointer, content: [UInt8]?, against certificates: [X509Certificate]) throws(SenderRefusal) {
        guard let store = X509_STORE_new(), let stack = dqt_x509_stack_new() else { throw invalid("OpenSSL cannot allocate a store") }
        defer {
            dqt_x509_stack_free(stack)
            X509_STORE_free(store)
        }
        for certificate in certificates {
            _ = X509_STORE_add_cert(store, certificate.pointer)
            _ = dqt_x509_stack_push(stack, certificate.pointer)
        }
        _ = X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN) | UInt(X509_V_FLAG_NO_CHECK_TIME))
        let verified = withExtendedLifetime(certificates) {
            guard let content else { return CMS_verify(cms, stack, store, nil, nil, UInt32(CMS_NOINTERN)) }
            return content.withUnsafeBytes { bytes in
                guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return Int32(0) }
                defer { BIO_free(bio) }
                return CMS_verify(cms, stack, store, bio, nil, UInt32(CMS_NOINTERN))
            }
        }
        guard verified == 1 else { throw invalid("the signature does not verify") }
    }

    /// The signed content: the detached part's bytes, or the octets encapsulated in the signed-data.
    private static func content(of cms: OpaquePointer, detached: OpaquePointer?) throws(SenderRefusal) -> [UInt8] {
        if let detached {
            var content: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = BIO_read(detached, &buffer, Int32(buffer.count))
                if count <= 0 { break }
                content += buffer.prefix(Int(count))
            }
            return content
        }
        var data: UnsafePointer<UInt8>?
        let count = dqt_cms_embedded_content(cms, &data)
        guard count >= 0, let data else { throw invalid("the signed-data carries no content") }
        return Array(UnsafeBufferPointer(start: data, count: Int(count)))
    }

    /// A `signature-invalid` refusal, with OpenSSL's reasons.
    private static func invalid(_ what: String) -> SenderRefusal {
        SenderRefusal(code: "signature-invalid", message: "\(what) (\(OpenSSLErrors.drain()))")
    }
}
