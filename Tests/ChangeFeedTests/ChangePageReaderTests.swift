import DQTAPIClient
import DQTModel
import Foundation
import NIOCore
import Testing

@testable import ChangeFeed

/// The fast reading of a page gives what the generated types give, and leaves to them what it does not vouch for.
struct ChangePageReaderTests {
    static func body(_ documentJSON: String, kind: String = "person.updated") -> String {
        """
        {"changes":[{"cursor" : "7.12", "kind" : "\(kind)", "trn" : "1000001", "keyName" : "k\\u00e9y", "operation" : "patchPerson",
        "at" : "2026-01-02T03:04:05.678Z", "before" : null, "after" : \(documentJSON)},
        {"cursor":"7.13","kind":"alert.created","trn":null,"keyName":"x","operation":"createAlert","at":"2026-01-02T03:04:05.678Z",
        "before":{},"after":{"alertId":"a"}}],"nextCursor":"7.13","endCursor":"9.1","hasMore":true}
        """
    }

    static func generated(_ text: String) throws -> ChangePage {
        let page = try JSONDecoder().decode(Components.Schemas.ChangePage.self, from: Data(text.utf8))
        return ChangePage(
            changes: page.changes.map(HTTPChangeFeed.change), nextCursor: page.nextCursor, endCursor: page.endCursor, hasMore: page.hasMore)
    }

    static func fast(_ text: String) throws(JSONReader.Unsure) -> ChangePage {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { buffer throws(JSONReader.Unsure) in
            try ChangePageReader.page(UnsafeBufferPointer(buffer))
        }
    }

    @Test func readsAsTheGeneratedTypesRead() throws {
        let document = #"""
            {"lastName": "O'Brien \"Jr\"\n\\ \u00e9\ud83d\ude00", "middleName": null, "withdrawn": false, "count": -42,
             "nested": {"a": [1, {"b": null}]}, "list": [], "flag": true, "firstName": "Zoë"}
            """#
        let text = Self.body(document)
        let fast = try Self.fast(text)
        #expect(fast == (try Self.generated(text)))
        #expect(fast.changes[0].after?["lastName"] == "O'Brien \"Jr\"\n\\ é😀" && fast.changes[0].after?["count"] == "-42")
        #expect(fast.changes[0].after?["nested"] == nil && fast.changes[0].after?["middleName"] == nil && fast.changes[0].keyName == "kéy")
        #expect(fast.changes[1].before == [:] && fast.changes[1].trn == nil && fast.endCursor == "9.1" && fast.hasMore)
        #expect(try HTTPChangeFeed.page(ByteBuffer(string: text)) == fast)
    }

    /// A fraction, a repeated key, an unknown kind or member: the generated path decides, with the same result.
    @Test func leavesWhatItDoesNotVouchForToTheGeneratedTypes() throws {
        for text in [
            Self.body(#"{"score": 1.50}"#), Self.body(#"{"a": "1", "a": "2"}"#), Self.body("{}", kind: "person.deleted"),
            Self.body("{}").replacingOccurrences(of: #""hasMore":true"#, with: #""hasMore":true,"extra":1"#),
        ] {
            #expect(throws: JSONReader.Unsure.self) { try Self.fast(text) }
        }
        let fraction = Self.body(#"{"score": 1.50}"#)
        #expect(try HTTPChangeFeed.page(ByteBuffer(string: fraction)) == (try Self.generated(fraction)))
        #expect(throws: (any Error).self) { try HTTPChangeFeed.page(ByteBuffer(string: Self.body("{}", kind: "person.deleted"))) }
    }
}
