public import AsyncHTTPClient
import DQTAPIClient
public import Foundation
import OpenAPIRuntime

/// A running dqt-api's alerts of a source (`GET /v3/alerts?source=&after=&limit=`, role GetPerson), through the
/// client generated from the contract. A page read is idempotent, so a failed connection is tried again.
public struct HTTPSourceAlerts: SourceAlerts {
    public struct Refused: Error, CustomStringConvertible {
        public let status: Int
        public var description: String { "dqt-api answered \(status) to the read of a source's alerts" }
    }

    let client: Client
    static let readAttempts = 3

    public init(baseURL: URL, apiKey: String, httpClient: HTTPClient = .shared) {
        client = .dqtAPI(baseURL: baseURL, apiKey: apiKey, httpClient: httpClient)
    }

    public func page(source: String, after: String?, limit: Int) async throws -> SourceAlertPage {
        var attempt = 1
        while true {
            do {
                return try await read(source: source, after: after, limit: limit)
            } catch {
                if error is Refused || attempt >= Self.readAttempts || Task.isCancelled { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(250 * attempt))
            }
        }
    }

    private func read(source: String, after: String?, limit: Int) async throws -> SourceAlertPage {
        let output = try await client.listAlertsBySource(query: .init(source: source, after: after, limit: limit))
        guard case .ok(let ok) = output else { throw Refused(status: output.statusCode) }
        let page = try ok.body.json
        return SourceAlertPage(
            alerts: page.alerts.map {
                SourceAlert(
                    alertId: $0.alertId, trn: $0.trn, reference: $0.reference, alertTypeCode: $0.alertTypeCode, startDate: $0.startDate,
                    endDate: $0.endDate)
            },
            nextAfter: page.nextAfter, hasMore: page.hasMore)
    }
}

extension Operations.ListAlertsBySource.Output {
    var statusCode: Int {
        switch self {
        case .ok: 200
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .tooManyRequests: 429
        case .serviceUnavailable: 503
        case .undocumented(let status, _): status
        }
    }
}
