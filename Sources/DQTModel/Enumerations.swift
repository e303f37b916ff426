/// The API's enumerations (shared/reference/dqt-api.md), with the legacy codes and texts the exchanges use.

public enum Gender: String, Sendable, Hashable, Codable, CaseIterable {
    case male = "Male"
    case female = "Female"
    case other = "Other"

    /// Files carry 1 (male) and 2 (female); the API adds 3 (other).
    public init?(code: Int) {
        switch code {
        case 1: self = .male
        case 2: self = .female
        case 3: self = .other
        default: return nil
        }
    }

    public var code: Int {
        switch self {
        case .male: 1
        case .female: 2
        case .other: 3
        }
    }
}

public enum InductionStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case none = "None"
    case requiredToComplete = "RequiredToComplete"
    case exempt = "Exempt"
    case inProgress = "InProgress"
    case passed = "Passed"
    case failed = "Failed"
    case failedInWales = "FailedInWales"

    /// The text that CPD's v1 endpoint has always returned.
    public var legacyText: String? {
        switch self {
        case .none: nil
        case .requiredToComplete: "Required to Complete"
        case .exempt: "Exempt"
        case .inProgress: "In Progress"
        case .passed: "Pass"
        case .failed: "Fail"
        case .failedInWales: "Failed in Wales"
        }
    }
}

public enum RouteStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case inTraining = "InTraining"
    case holds = "Holds"
    case deferred = "Deferred"
    case deferredForSkillsTest = "DeferredForSkillsTest"
    case failed = "Failed"
    case withdrawn = "Withdrawn"
    case underAssessment = "UnderAssessment"
}

/// Workforce employment types in the TPS extract.
public enum EmploymentType: String, Sendable, Hashable, Codable, CaseIterable {
    case fullTime = "FT"
    case partTimeRegular = "PTR"
    case partTimeIrregular = "PTI"
    case partTime = "PT"
}

/// Alert types: T1-T5 the prohibition codes of the partners' notices, B1-B2 the barred lists of DBS's notices.
public enum AlertTypeCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Prohibition by the Secretary of State (misconduct).
    case t1 = "T1"
    /// Interim prohibition.
    case t2 = "T2"
    /// Deregistered by GTC Scotland.
    case t3 = "T3"
    /// Refer to EWC Wales.
    case t4 = "T4"
    /// Refer to GTC Northern Ireland.
    case t5 = "T5"
    /// Included in the DBS children's barred list.
    case b1 = "B1"
    /// Included in the DBS adults' barred list.
    case b2 = "B2"
}

public enum TrainingAgeSpecialismType: String, Sendable, Hashable, Codable, CaseIterable {
    case range = "Range"
    case foundationStage = "FoundationStage"
    case furtherEducation = "FurtherEducation"
    case keyStage1 = "KeyStage1"
    case keyStage2 = "KeyStage2"
    case keyStage3 = "KeyStage3"
    case keyStage4 = "KeyStage4"
}

/// Routes to professional status that the Welsh and cross-border exchanges award.
public enum RouteType {
    public static let welshRecognition = "877ba701-fe26-4951-9f15-171f3755d50d"
    public static let ecDirective = "f4da123b-5c37-4060-ab00-52de4bd3599e"
    /// Recognised by GTC Scotland (EWC code 68).
    public static let scotlandRecognition = "52835b1f-1f2e-4665-abc6-7fb1ef0a80bb"
    /// Recognised by GTC Northern Ireland (EWC code 69).
    public static let northernIrelandRecognition = "3604ef30-8f11-4494-8b52-a2f9c5371e03"
}
