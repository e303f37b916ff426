public import DQTModel
import Foundation

extension PinnedCertificate {
    /// Reads the one PEM certificate in the file at `path`; `named` is how the mapping names it, kept for messages.
    /// An unreadable file, or one that is not exactly one certificate, is an error saying which.
    public static func load(path: String, named: String) throws(SMIMEError) -> PinnedCertificate {
        guard let data = FileManager.default.contents(atPath: path) else { throw SMIMEError("cannot be read") }
        let certificate = try X509Certificate(pem: Array(data))
        return PinnedCertificate(path: named, der: certificate.der, sha256: certificate.sha256)
    }
}
