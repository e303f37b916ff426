import Testing

@testable import MIMEMail

@Suite("RFC 5322 address lists")
struct AddressListTests {
    func addresses(_ value: String) throws -> [String] {
        AddressList.mailboxes(of: try AddressList.parse(value)).map(\.address)
    }

    func refusal(_ value: String) -> String? {
        do {
            _ = try AddressList.parse(value)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("addr-spec, name-addr, quoted display names, nested comments and CFWS around the parts")
    func mailboxForms() throws {
        #expect(try addresses("a.b@Example.ORG") == ["a.b@example.org"])
        #expect(try addresses("\"EWC Alerts\" <teacher.alerts@ewc.wales.example>") == ["teacher.alerts@ewc.wales.example"])
        #expect(try addresses("GTCS Fitness to Teach <fitness@gtcs.example>") == ["fitness@gtcs.example"])
        #expect(try addresses("(who (nested) \\) ) Pat <pat@x.example> (trailing)") == ["pat@x.example"])
        #expect(try addresses(" pat (c) @ (c) x.example ") == ["pat@x.example"])
        #expect(try addresses("\"odd local\"@x.example") == ["\"odd local\"@x.example"])
        #expect(try addresses("\"plain\"@x.example") == ["plain@x.example"])
        #expect(try addresses("pat@[192.0.2.1]") == ["pat@[192.0.2.1]"])
        let named = try AddressList.parse("\"teacher.alerts@ewc.wales.example\" <attacker@mail.example>")
        #expect(
            named == [.mailbox(Mailbox(displayName: "teacher.alerts@ewc.wales.example", address: "attacker@mail.example", domain: "mail.example"))])
    }

    @Test("Encoded words in a display name are decoded, whitespace between two of them dropped; never an address")
    func encodedWords() throws {
        let parsed = try AddressList.parse("=?utf-8?q?Gw=C3=AAn?= =?utf-8?b?IEpvbmVz?= <gwen@x.example>")
        #expect(parsed == [.mailbox(Mailbox(displayName: "Gwên Jones", address: "gwen@x.example", domain: "x.example"))])
        #expect(try addresses("=?utf-8?q?teacher=2Ealerts=40ewc=2Ewales=2Eexample?= <attacker@mail.example>") == ["attacker@mail.example"])
        #expect(refusal("=?utf-8?q?x?= <attacker@mail.example> teacher.alerts@ewc.wales.example") == "text after an address")
    }

    @Test("Lists and groups give every mailbox; an empty group gives none")
    func listsAndGroups() throws {
        #expect(try addresses("a@x.example, \"B\" <b@y.example>") == ["a@x.example", "b@y.example"])
        #expect(try addresses("Team: a@x.example, B <b@y.example>;, c@z.example") == ["a@x.example", "b@y.example", "c@z.example"])
        #expect(try AddressList.parse("undisclosed-recipients:;") == [.group(name: "undisclosed-recipients", members: [])])
    }

    @Test("Two @, obsolete forms, unterminated parts and comment bombs are refused with the reason")
    func refusals() {
        #expect(refusal("attacker@mail.example@ewc.wales.example") == "text after an address")
        #expect(refusal("<attacker@mail.example@ewc.wales.example>") == "an angle address without its closing >")
        #expect(refusal("<@relay.example:pat@x.example>") == "a source route in an address (obsolete syntax)")
        #expect(refusal("a@x.example,,b@x.example") == "an empty element in an address list (obsolete syntax)")
        #expect(refusal("a@x.example,") == "an empty element in an address list (obsolete syntax)")
        #expect(refusal("John Q. Public <jqp@x.example>") == "a dot in an unquoted display name (obsolete syntax)")
        #expect(refusal("pat . smith@x.example") == "a local part with spaces or comments (obsolete syntax)")
        #expect(refusal("pat..smith@x.example") == "a local part with misplaced dots")
        #expect(refusal("\"open@x.example") == "an unterminated quoted string")
        #expect(refusal("(open pat@x.example") == "an unterminated comment")
        #expect(refusal(String(repeating: "(", count: 40) + String(repeating: ")", count: 40) + " a@x.example") == "comments nested deeper than 32")
        #expect(refusal("Pat") == "a name without an address")
        #expect(refusal("") == "an empty address header")
        #expect(refusal("G: a@x.example") == "a group without its closing ;")
        #expect(refusal("pat@x.example\u{1}") == "a control character in an address header")
    }
}

@Suite("RFC 8601 Authentication-Results")
struct AuthenticationResultsTests {
    @Test("authserv-id, version, methods with properties, comments and quoted values")
    func parses() throws {
        let parsed = try #require(
            AuthenticationResults.parse(
                "MX.Example.ORG 1; dkim=pass (2048-bit key) header.d=ewc.wales header.i=\"@ewc.wales\" header.s=s1;\r\n\tspf = fail smtp.mailfrom=x.example; dmarc=pass"
            ))
        #expect(parsed.authservID == "mx.example.org")
        #expect(parsed.results.map(\.method) == ["dkim", "spf", "dmarc"])
        #expect(parsed.results[0].result == "pass" && parsed.results[0].properties["header.d"] == "ewc.wales")
        #expect(parsed.results[0].properties["header.i"] == "@ewc.wales")
        #expect(parsed.results[1].result == "fail")
        #expect(AuthenticationResults.parse("mx.example.org; none")?.results == [])
    }

    @Test("Malformed values are refused, not half-read")
    func refuses() {
        #expect(AuthenticationResults.parse("") == nil)
        #expect(AuthenticationResults.parse("mx.example.org; dkim") == nil)
        #expect(AuthenticationResults.parse("mx.example.org; dkim=pass header.d") == nil)
        #expect(AuthenticationResults.parse("mx.example.org extra words; dkim=pass") == nil)
        #expect(AuthenticationResults.parse("mx.example.org; dkim=pass (open comment") == nil)
    }
}
