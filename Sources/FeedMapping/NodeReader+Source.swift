import DQTModel
import FlatFile
import Foundation
import SMIME
import Yams

extension NodeReader {
    func source(_ node: Node?) throws(MappingError) -> SourceSettings {
        var settings = SourceSettings()
        guard let node else { return settings }
        let values = try entries(node, allowed: ["folder", "stableSeconds", "minimumAgeSeconds", "doneMarker", "https"], what: "source")
        if let folder = values["folder"] { settings.folder = try string(folder, "source.folder") }
        if let stable = values["stableSeconds"] { settings.stableSeconds = try int(stable, "source.stableSeconds") }
        if let age = values["minimumAgeSeconds"] { settings.minimumAgeSeconds = try int(age, "source.minimumAgeSeconds") }
        if let marker = values["doneMarker"] { settings.doneMarkerSuffix = try string(marker, "source.doneMarker") }
        if let https = values["https"] { settings.https = try httpsSource(https) }
        return settings
    }

    /// `https: {url, maxBytes, caFile?}`: TLS verification cannot be turned off, so there is no key for it.
    func httpsSource(_ node: Node) throws(MappingError) -> HTTPSSourceSettings {
        let values = try entries(node, allowed: ["url", "maxBytes", "caFile"], what: "source.https")
        let url = try string(required(values, "url", in: "source.https", at: node), "source.https.url")
        guard url.lowercased().hasPrefix("https://") else { throw fail(node, "source.https.url must be an https URL") }
        let maxBytes = try int(required(values, "maxBytes", in: "source.https", at: node), "source.https.maxBytes")
        guard maxBytes > 0 else { throw fail(node, "source.https.maxBytes must be above 0") }
        return HTTPSSourceSettings(
            url: url, maxBytes: Int64(maxBytes),
            caFile: try values["caFile"].map { node throws(MappingError) in try string(node, "source.https.caFile") })
    }

    func email(_ node: Node?) throws(MappingError) -> EmailSettings? {
        guard let node else { return nil }
        let values = try entries(node, allowed: ["senders", "attachments", "authentication"], what: "email")
        let senders = try strings(required(values, "senders", in: "email", at: node), "email.senders")
        let attachments = try strings(required(values, "attachments", in: "email", at: node), "email.attachments")
        guard !senders.isEmpty, !attachments.isEmpty else { throw fail(node, "email needs senders and attachments") }
        let trust = try senderTrust(required(values, "authentication", in: "email", at: node))
        return EmailSettings(senders: senders, attachments: attachments, trust: trust)
    }

    /// `authentication: {dkim: {authservID: mx.example}, smime: {certificates: [path, ...]}}`: how the senders are
    /// proved. At least one mechanism; with both, either proof is enough.
    func senderTrust(_ node: Node) throws(MappingError) -> SenderTrust {
        let values = try entries(node, allowed: ["dkim", "smime"], what: "email.authentication")
        guard values["dkim"] != nil || values["smime"] != nil else {
            throw fail(node, "email.authentication needs dkim or smime (or both): an email feed never trusts the From field alone")
        }
        let id = try values["dkim"].map { node throws(MappingError) in try dkimAuthservID(node) }
        let certificates = try values["smime"].map { node throws(MappingError) in try smimeCertificates(node) } ?? []
        return SenderTrust(dkimAuthservID: id, smimeCertificates: certificates)
    }

    func dkimAuthservID(_ node: Node) throws(MappingError) -> String {
        let dkim = try entries(node, allowed: ["authservID"], what: "email.authentication.dkim")
        let id = try string(required(dkim, "authservID", in: "email.authentication.dkim", at: node), "email.authentication.dkim.authservID")
        guard !id.isEmpty, !id.contains(where: { $0 == " " || $0 == ";" }) else {
            throw fail(node, "email.authentication.dkim.authservID must be our receiving MTA's authserv-id (one word)")
        }
        return id
    }

    /// `smime: {certificates: [path, ...]}`: the partner's PEM certificates, read now so that a missing, unreadable
    /// or non-certificate file is an error at its line. A relative path is taken from the folder that holds the
    /// mappings folder (the repository or the configuration), as `mappings/../certificates/partner.pem`.
    func smimeCertificates(_ node: Node) throws(MappingError) -> [PinnedCertificate] {
        let smime = try entries(node, allowed: ["certificates"], what: "email.authentication.smime")
        let list = try required(smime, "certificates", in: "email.authentication.smime", at: node)
        guard let items = list.sequence, !items.isEmpty else {
            throw fail(list, "email.authentication.smime.certificates must list one or more PEM certificate files")
        }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        var pinned: [PinnedCertificate] = []
        for item in items {
            let named = try string(item, "email.authentication.smime.certificates")
            let path = named.hasPrefix("/") ? named : base.appendingPathComponent(named).path
            do throws(SMIMEError) {
                pinned.append(try PinnedCertificate.load(path: path, named: named))
            } catch {
                throw fail(item, "email.authentication.smime.certificates: \(named) \(error.description)")
            }
        }
        return pinned
    }

    func lookupTables(_ node: Node?) throws(MappingError) -> [String: (table: LookupTable, line: Int)] {
        guard let node else { return [:] }
        guard let mapping = node.mapping else { throw fail(node, "lookups must map names to tables") }
        var tables: [String: (LookupTable, Int)] = [:]
        for (key, value) in mapping {
            let name = try string(key, "a lookup's name")
            var caseInsensitive = false
            var entriesNode = value
            if let spec = value.mapping, spec["entries"] != nil {
                let options = try entries(value, allowed: ["entries", "caseInsensitive"], what: "lookup \(name)")
                caseInsensitive = try options["caseInsensitive"].map { node throws(MappingError) in try bool(node, "caseInsensitive") } ?? false
                entriesNode = options["entries"]!
            }
            guard let table = entriesNode.mapping else { throw fail(entriesNode, "lookup \(name) must map codes to values") }
            var values: [String: String] = [:]
            for (code, output) in table {
                values[try string(code, "a lookup code")] = try string(output, "a lookup value")
            }
            tables[name] = (LookupTable(name: name, entries: values, caseInsensitive: caseInsensitive), key.mark?.line ?? 0)
        }
        return tables
    }
}
