/// The record types a mapping's `record:` can name: feeds whose logic needs code (the others declare their body in
/// the mapping). A new one is a type in `Records/` and a case here.
public enum RecordTypeName: String, Sendable, CaseIterable {
    case capitaImport = "CapitaImportRecord"
    case capitaRegister = "CapitaRegisterChange"
    case welshInduction = "WelshInductionOutcome"
    case welshQTS = "WelshQTSAward"
    case workforce = "WorkforceEmployment"
    case claimExtract = "ClaimExtractRow"
    case giasEstablishment = "GiasEstablishment"
    case tpsEstablishment = "TpsEstablishment"
    case dbsReconciliation = "DBSReconciliationCase"

    public var schema: RecordSchema {
        switch self {
        case .capitaImport: RecordSchema(CapitaImportRecord.self, name: rawValue)
        case .capitaRegister: RecordSchema(CapitaRegisterChange.self, name: rawValue)
        case .welshInduction: RecordSchema(WelshInductionOutcome.self, name: rawValue)
        case .welshQTS: RecordSchema(WelshQTSAward.self, name: rawValue)
        case .workforce: RecordSchema(WorkforceEmployment.self, name: rawValue)
        case .claimExtract: RecordSchema(ClaimExtractRow.self, name: rawValue)
        case .giasEstablishment: RecordSchema(GiasEstablishment.self, name: rawValue)
        case .tpsEstablishment: RecordSchema(TpsEstablishment.self, name: rawValue)
        case .dbsReconciliation: RecordSchema(DBSReconciliationCase.self, name: rawValue)
        }
    }

    /// Hands the Swift type this name stands for to `visitor`, so the pipeline runs specialised for it.
    func accept<Visitor: RecordTypeVisitor>(_ visitor: inout Visitor) -> Visitor.Output {
        switch self {
        case .capitaImport: visitor.visit(CapitaImportRecord.self)
        case .capitaRegister: visitor.visit(CapitaRegisterChange.self)
        case .welshInduction: visitor.visit(WelshInductionOutcome.self)
        case .welshQTS: visitor.visit(WelshQTSAward.self)
        case .workforce: visitor.visit(WorkforceEmployment.self)
        case .claimExtract: visitor.visit(ClaimExtractRow.self)
        case .giasEstablishment: visitor.visit(GiasEstablishment.self)
        case .tpsEstablishment: visitor.visit(TpsEstablishment.self)
        case .dbsReconciliation: visitor.visit(DBSReconciliationCase.self)
        }
    }
}

/// Something to do with a record type, generic over it.
protocol RecordTypeVisitor {
    associatedtype Output
    mutating func visit<Record: FeedRecord>(_ type: Record.Type) -> Output
}
