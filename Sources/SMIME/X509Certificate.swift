import CLibCrypto
import DQTModel
import Foundation

/// One X.509 certificate owned by OpenSSL, freed with this object.
final class X509Certificate {
    let pointer: OpaquePointer

    /// Parses a DER-encoded certificate.
    init(der: [UInt8]) throws(SMIMEError) {
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw SMIMEError("not a DER certificate (\(OpenSSLErrors.drain()))") }
        pointer = parsed
    }

    /// Parses the one PEM certificate in `pem`; anything else (no certificate, a key, several certificates) is an error.
    init(pem: [UInt8]) throws(SMIMEError) {
        ERR_clear_error()
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw SMIMEError("cannot read the file (\(OpenSSLErrors.drain()))") }
        defer { BIO_free(bio) }
        guard let first = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw SMIMEError("holds no PEM certificate (\(OpenSSLErrors.drain()))")
        }
        if let second = PEM_read_bio_X509(bio, nil, nil, nil) {
            X509_free(second)
            X509_free(first)
            throw SMIMEError("holds more than one certificate: pin each in its own file")
        }
        ERR_clear_error()
        pointer = first
    }

    deinit { X509_free(pointer) }

    var der: [UInt8] {
        let length = i2d_X509(pointer, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(pointer, &cursor)
        }
        return bytes
    }

    /// Lowercase hex SHA-256 of the DER encoding.
    var sha256: String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(pointer, EVP_sha256(), &digest, &length) == 1 else { return "" }
        return Hex.lowercase(Array(digest.prefix(Int(length))))
    }

    /// The subjectAltName rfc822Name entries and the subject's emailAddress attributes, lowercased.
    var emails: [String] {
        guard let bio = BIO_new(BIO_s_mem()) else { return [] }
        defer { BIO_free(bio) }
        _ = dqt_x509_write_email_names(pointer, bio)
        _ = dqt_x509_write_subject_emails(pointer, bio)
        var data: UnsafeMutablePointer<CChar>?
        let count = dqt_bio_mem_data(bio, &data)
        guard let data, count > 0 else { return [] }
        let text = String(decoding: UnsafeRawBufferPointer(start: data, count: count), as: UTF8.self)
        return text.split(separator: "\n").map { $0.lowercased() }
    }

    /// Why the certificate is not valid at `date` (expired, or not yet valid); nil inside its validity window.
    func outsideValidity(at date: Date) -> String? {
        var time = time_t(date.timeIntervalSince1970)
        guard let notBefore = X509_get0_notBefore(pointer), let notAfter = X509_get0_notAfter(pointer) else {
            return "the signer's certificate has no validity window"
        }
        if X509_cmp_time(notBefore, &time) != -1 { return "the signer's certificate is not yet valid" }
        if X509_cmp_time(notAfter, &time) != 1 { return "the signer's certificate has expired" }
        return nil
    }
}

/// A certificate or signature that OpenSSL refused, with its reason (no personal data).
public struct SMIMEError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
