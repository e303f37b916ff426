import Foundation

/// One write endpoint, whole: its contract as openapi.yaml states it (operationId, method, route, role, body type)
/// and how a request of it is prepared. ``WriteRegistry`` lists every one; the direct handler, the batch router and
/// the engine take an endpoint's rules from here and nowhere else.
protocol WriteOperation: Sendable {
    /// The request body's generated type.
    associatedtype Body: Codable & Sendable

    /// The operationId in openapi.yaml, also the audit's `operation`.
    static var operationID: String { get }
    static var method: String { get }
    static var route: WriteRoute { get }
    static var role: Role { get }

    /// Authorises, validates and hashes one request; nothing is read or written yet. `parameters` are the route's,
    /// in the order the route names them.
    static func prepare(
        _ body: Body, parameters: [String], envelope: WriteEnvelope, principal: Principal
    ) throws(Problem) -> WriteRequest

    /// The same for a batch operation, whose body is read here as `Body`.
    static func prepare(
        batchBody: BatchBody, parameters: [String], envelope: WriteEnvelope, principal: Principal
    ) throws(Problem) -> WriteRequest
}

extension WriteOperation {
    static func prepare(
        batchBody: BatchBody, parameters: [String], envelope: WriteEnvelope, principal: Principal
    ) throws(Problem) -> WriteRequest {
        try prepare(try batchBody.decode(Body.self), parameters: parameters, envelope: envelope, principal: principal)
    }
}

/// A write applied on its own, under its own savepoint: every write but the workforce rows, which are applied many
/// at a time. A value is one request: its route parameters and its body.
protocol SingleWrite: WriteOperation {
    init(parameters: [String], body: Body)

    var body: Body { get }

    /// The checks of the path's parameters, before the body's.
    func validateParameters(_ v: inout Validator)

    /// The checks of the request alone, before the database is read. Messages name fields, never values.
    func validate(_ v: inout Validator)

    /// Applies the request inside the write transaction: the rules that need the stored records, the SQL, the audit.
    /// A thrown ``Problem`` undoes this request only.
    func apply(_ request: WriteRequest, in transaction: WriteTransaction) throws -> WriteResult
}

extension SingleWrite {
    func validateParameters(_ v: inout Validator) {}

    /// The role, then the Idempotency-Key, then the fields; the request hash covers the body's canonical JSON.
    static func prepare(
        _ body: Body, parameters: [String], envelope: WriteEnvelope, principal: Principal
    ) throws(Problem) -> WriteRequest {
        try principal.require(role)
        let key = try WriteRequest.validIdempotencyKey(envelope.idempotencyKey)
        let write = Self(parameters: parameters, body: body)
        var v = Validator()
        write.validateParameters(&v)
        write.validate(&v)
        try v.check()
        let canonical: String
        do { canonical = try JSONText.encode(body) } catch { throw Problem.invalid(field: "body", "The body could not be read.") }
        if canonical.contains("\\u0000") {
            throw Problem.invalid(field: "body", "Text fields cannot contain NUL characters.")
        }
        return WriteRequest(
            command: .single(write), method: method, path: envelope.path, idempotencyKey: key,
            requestHash: WriteRequest.hash(method: method, path: envelope.path, canonicalBody: canonical), source: envelope.source)
    }
}

/// A path template as openapi.yaml writes it: `/v3/persons/{trn}/qtls` is the literal segments `v3`, `persons` and
/// `qtls` around the parameter `trn`.
struct WriteRoute: Sendable, Equatable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]

    init(_ template: String) {
        precondition(template.hasPrefix("/"), "a route starts with /")
        segments = template.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    var description: String {
        segments.map { segment in
            switch segment {
            case .literal(let text): "/" + text
            case .parameter(let name): "/{" + name + "}"
            }
        }.joined()
    }

    /// The route's parameters when `parts` (a path's segments after its leading `/`, percent-decoded) match it; a
    /// parameter matches any segment, the empty one too (the endpoint's validation refuses what it cannot take).
    func match(_ parts: ArraySlice<String>) -> [String]? {
        guard parts.count == segments.count else { return nil }
        var parameters: [String] = []
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text): if part != text { return nil }
            case .parameter: parameters.append(part)
            }
        }
        return parameters
    }

    /// The path with `parameters` in place, as they are: how a direct call's path is stored and audited.
    func path(_ parameters: [String]) -> String {
        var remaining = parameters[...]
        return segments.map { segment in
            switch segment {
            case .literal(let text): "/" + text
            case .parameter: "/" + (remaining.popFirst() ?? "")
            }
        }.joined()
    }

    /// Where this route and `other` both match a path, this one wins: the first segment where their kinds differ is
    /// a literal here (as the HTTP router prefers `/v3/persons/deceased/{trn}` to `/v3/persons/{trn}/qtls`).
    func takesPrecedence(over other: WriteRoute) -> Bool {
        let kinds = segments.map(\.isParameter)
        return kinds.lexicographicallyPrecedes(other.segments.map(\.isParameter)) { !$0 && $1 }
    }
}

extension WriteRoute.Segment {
    var isParameter: Bool {
        if case .parameter = self { true } else { false }
    }
}

/// A write on the one person its path names (`.../persons/{trn}...` with no other parameter): the path's only
/// parameter is the TRN, checked before the body.
protocol PersonWrite: SingleWrite {
    init(trn: String, body: Body)
    var trn: String { get }
}

extension PersonWrite {
    init(parameters: [String], body: Body) {
        self.init(trn: parameters[0], body: body)
    }

    func validateParameters(_ v: inout Validator) {
        _ = v.trn("trn", trn)
    }
}
