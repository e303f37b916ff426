public import DQTModel
public import MIMEMail

extension SenderEvidence {
    /// Parses the From, Sender and Authentication-Results fields of `message` (their raw values).
    public init(message: MailMessage) {
        var mailboxes: [String] = []
        var hasGroup = false
        var problem: String?
        for field in message.fromFields {
            do {
                let addresses = try AddressList.parse(field)
                hasGroup = hasGroup || addresses.contains { if case .group = $0 { true } else { false } }
                mailboxes += AddressList.mailboxes(of: addresses).map(\.address)
            } catch {
                problem = problem ?? error.description
            }
        }
        let senders = message.senderFields.map { field -> String? in
            guard let addresses = try? AddressList.parse(field), addresses.count == 1, case .mailbox(let mailbox) = addresses[0] else { return nil }
            return mailbox.address
        }
        let results = message.authenticationResultsFields.map { field -> AuthenticationRecord? in
            guard let parsed = AuthenticationResults.parse(field) else { return nil }
            let dkim = parsed.results.filter { $0.method == "dkim" }.map {
                DKIMResult(
                    result: $0.result, domain: $0.properties["header.d"]?.lowercased(), identity: $0.properties["header.i"]?.lowercased(),
                    algorithm: $0.properties["header.a"]?.lowercased())
            }
            return AuthenticationRecord(authservID: parsed.authservID, dkim: dkim)
        }
        self.init(
            fromFields: message.fromFields.count, fromMailboxes: mailboxes, fromHasGroup: hasGroup, fromProblem: problem, senders: senders,
            authenticationResults: results)
    }
}
