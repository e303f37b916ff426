import DQTTesting
import Foundation
import Hummingbird
import NIOHTTP1
import Testing

@testable import DQTAPI

/// Every path answers the methods it does not take with 405, `Allow` and a problem; unknown paths are 404.
@Suite struct RoutingTests {
    @Test(.enabled(if: TestServices.shouldRun(TestServices.databaseURL)))
    func undeclaredMethodsAre405WithAllow() async throws {
        try await Harness.with { h in
            let cases: [(HTTPMethod, String, String)] = [
                (.DELETE, "/v3/persons/1000001", "GET, PATCH, PUT"),
                (.OPTIONS, "/v3/persons/1000001", "GET, PATCH, PUT"),
                (.RAW(value: "QUERY"), "/v3/persons/1000001", "GET, PATCH, PUT"),
                (.GET, "/v3/batches", "POST"),
                (.GET, "/v3/persons/find", "POST"),
                (.DELETE, "/v3/trn-requests", "GET, POST"),
                (.POST, "/health/live", "GET"),
                (.PUT, "/openapi.json", "GET"),
                (.TRACE, "/v3/persons/1000001/employments/1000001.201.4001.20240901", "PUT"),
            ]
            for (method, path, allowed) in cases {
                let reply = try await h.call(method, path, key: h.allKey)
                #expect(reply.status == 405, "\(method) \(path)")
                #expect(reply.headers.first(name: "Allow") == allowed, "\(method) \(path)")
                #expect(reply.contentType == "application/problem+json")
                #expect(
                    reply.text
                        == #"{"detail":"This path takes \#(allowed), not \#(method.rawValue).","errorCode":10100,"status":405,"title":"Method not allowed.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.6"}"#
                )
            }
            let head = try await h.call(.HEAD, "/v3/persons/1000001", key: h.allKey)
            #expect(head.status == 405 && head.headers.first(name: "Allow") == "GET, PATCH, PUT" && head.body.isEmpty)
            // The key is checked first: without one, any method on a protected path is 401.
            #expect(try await h.call(.DELETE, "/v3/persons/1000001").status == 401)
            let unknown = try await h.call(.GET, "/v3/nothing/here", key: h.allKey)
            #expect(unknown.status == 404)
            #expect(
                unknown.text
                    == #"{"detail":"No such endpoint.","errorCode":10001,"status":404,"title":"Not found.","type":"https://tools.ietf.org/html/rfc9110#section-15.5.5"}"#
            )
        }
    }

    /// A direct handler must take the place of an operation of the contract: one for a path openapi.yaml does not
    /// declare would never be served, and the table refuses to start with it.
    @Test func aDirectHandlerForAnUndeclaredOperationIsRefused() throws {
        let routes = RouteTable(router: Router())
        routes.serveDirectly(.get, "/v3/persons/{personId}") { _, _ in Response(status: .ok) }
        #expect(throws: RouteTable.UndeclaredDirectRoute.self) { try routes.finish() }
    }

    @Test func dateTimesMustBeInRange() throws {
        let transcoder = FlexibleDateTranscoder()
        for valid in ["2024-01-01T12:30:00Z", "2024-02-29T23:59:59.123Z", "2024-01-01T12:30:00+01:00"] {
            #expect((try? transcoder.decode(valid)) != nil, "\(valid)")
        }
        for invalid in [
            "2024-01-01T12:99:00Z", "2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
            "2024-01-01T12:00:00+25:00", "2024-01-01T12:00:00.Z", "2024-01-01T12:00:00", "2024-01-01 12:00:00Z", "2024-01-01t00:00:00z",
        ] {
            #expect((try? transcoder.decode(invalid)) == nil, "\(invalid)")
        }
        #expect(try transcoder.decode("2024-01-01T12:30:00.5Z") == Date(timeIntervalSince1970: 1_704_112_200.5))
    }
}
