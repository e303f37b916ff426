/// The roles an API key can carry. Each operation needs one (listed in openapi.yaml).
public enum Role: String, Sendable, CaseIterable, Codable {
    case getPerson = "GetPerson"
    case updatePerson = "UpdatePerson"
    case createTrn = "CreateTrn"
    case assignQtls = "AssignQtls"
    case setCpdInduction = "SetCpdInduction"
    case setWelshInduction = "SetWelshInduction"
    case setProfessionalStatus = "SetProfessionalStatus"
    case updateRole = "UpdateRole"
    case capitaImport = "CapitaImport"
    case setWorkforceData = "SetWorkforceData"
    case readChanges = "ReadChanges"
    case updateEstablishments = "UpdateEstablishments"
}

/// The authenticated caller.
public struct Principal: Sendable, Equatable {
    public var keyID: Int64
    public var keyName: String
    public var roles: Set<Role>
    /// Calls per minute.
    public var rateLimit: Int

    public init(keyID: Int64, keyName: String, roles: Set<Role>, rateLimit: Int) {
        self.keyID = keyID
        self.keyName = keyName
        self.roles = roles
        self.rateLimit = rateLimit
    }

    public func require(_ role: Role) throws(Problem) {
        guard roles.contains(role) else { throw Problem.forbidden(role) }
    }

    public func requireAny(_ wanted: Role...) throws(Problem) {
        guard wanted.contains(where: roles.contains) else { throw Problem.forbidden(wanted[0]) }
    }
}

/// Per-request values that the Hummingbird middleware sets and the OpenAPI handlers read (the generated handlers do
/// not see Hummingbird's request context, so they travel as task-locals).
public enum RequestScope {
    @TaskLocal public static var principal: Principal?
    @TaskLocal public static var correlationID: String = "-"

    static func requirePrincipal() throws(Problem) -> Principal {
        guard let principal else { throw Problem.unauthorized("No API key.") }
        return principal
    }
}
