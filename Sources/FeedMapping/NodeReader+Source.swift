import DQTModel
import FlatFile
import Foundation
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

    /// `authentication: {dkim: {authservID: mx.example}}`: how the senders are proved.
    func senderTrust(_ node: Node) throws(MappingError) -> SenderTrust {
        let values = try entries(node, allowed: ["dkim"], what: "email.authentication")
        let dkim = try entries(
            required(values, "dkim", in: "email.authentication", at: node), allowed: ["authservID"], what: "email.authentication.dkim")
        let id = try string(required(dkim, "authservID", in: "email.authentication.dkim", at: node), "email.authentication.dkim.authservID")
        guard !id.isEmpty, !id.contains(where: { $0 == " " || $0 == ";" }) else {
            throw fail(node, "email.authentication.dkim.authservID must be our receiving MTA's authserv-id (one word)")
        }
        return SenderTrust(dkimAuthservID: id)
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
