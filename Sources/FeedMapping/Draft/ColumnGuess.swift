import DQTModel
import Foundation

/// What a sample's column seems to hold, judged from its name and its values.
struct ColumnGuess {
    enum Kind: Equatable {
        case trn, nino, boolean, integer, text
        case date(format: String)
        case timestamp(format: String)
        /// Few distinct values: an enumeration, its values in the order first seen.
        case enumeration([String])
    }

    let column: String
    /// A field name: the column's words in lower camel case.
    var field: String
    let kind: Kind
    /// No empty cell in the sample.
    let alwaysFilled: Bool
    /// The longest value, in code points.
    let maxLength: Int
    let pii: Bool

    static let dateFormats = ["yyyy-MM-dd", "dd/MM/yyyy", "d/M/yyyy", "yyyyMMdd", "dd-MM-yyyy", "dd.MM.yyyy", "ddMMyyyy"]
    static let timestampFormats = [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ssZ", "dd/MM/yyyy HH:mm:ss", "dd/MM/yyyy HH:mm", "yyyyMMddHHmmss",
    ]
    /// Words in a column's name that mark personal data.
    static let personalWords = [
        "name", "surname", "forename", "dob", "birth", "nino", "ni", "insurance", "postcode", "email", "address", "phone", "mobile",
    ]
    /// At most this many distinct values (seen at least twice each on average) make an enumeration.
    static let enumerationLimit = 12

    init(column: String, values: [String]) {
        self.column = column
        field = Self.fieldName(column)
        let filled = values.filter { !$0.isEmpty }
        alwaysFilled = filled.count == values.count && !values.isEmpty
        maxLength = filled.map(\.unicodeScalars.count).max() ?? 0
        let words = Self.words(column).map { $0.lowercased() }
        let named = words.contains { word in Self.personalWords.contains(word) }
        // Personal data is never listed in the draft: no enumeration of its values.
        let kind = Self.kind(of: filled, enumerable: !named)
        self.kind = kind
        pii = named || kind == .nino || (!filled.isEmpty && filled.allSatisfy { $0.contains("@") && $0.contains(".") })
    }

    private static func kind(of values: [String], enumerable: Bool) -> Kind {
        guard !values.isEmpty else { return .text }
        if values.allSatisfy({ $0.utf8.count == 7 && $0.utf8.allSatisfy(ASCII.isDigit) }) { return .trn }
        if values.allSatisfy({ NationalInsuranceNumber($0) != nil }) { return .nino }
        if let format = dateFormats.first(where: { format in parses(values, format) }) { return .date(format: format) }
        if let format = timestampFormats.first(where: { format in parses(values, format) }) { return .timestamp(format: format) }
        let upper = Set(values.map { $0.uppercased() })
        if upper.isSubset(of: ["Y", "N", "YES", "NO", "TRUE", "FALSE"]) { return .boolean }
        if values.allSatisfy({ Int($0) != nil }) { return .integer }
        guard enumerable, !values.contains(where: { $0.contains("@") }) else { return .text }
        var distinct: [String] = []
        for value in values where !distinct.contains(value) {
            distinct.append(value)
            if distinct.count > enumerationLimit { return .text }
        }
        return values.count >= 2 * distinct.count ? .enumeration(distinct) : .text
    }

    private static func parses(_ values: [String], _ format: String) -> Bool {
        guard let pattern = DatePattern(validating: format) else { return false }
        return values.allSatisfy { value in Array(value.utf8).withUnsafeBufferPointer { pattern.parseWithTime($0, pivot: nil) != nil } }
    }

    /// `Date of Birth` -> `dateOfBirth`, `REFERENCE_NO` -> `referenceNo`; a name that starts with a digit gets `column`.
    static func fieldName(_ column: String) -> String {
        let parts = words(column)
        guard !parts.isEmpty else { return "column" }
        var name = parts[0].lowercased()
        for part in parts.dropFirst() { name += part.prefix(1).uppercased() + part.dropFirst().lowercased() }
        if let first = name.first, !first.isLetter { name = "column" + name }
        return name
    }

    /// The ASCII letter-and-digit runs of a name; a run in lower case after upper (camelCase) splits there.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in text.unicodeScalars {
            guard scalar.isASCII, CharacterSet.alphanumerics.contains(scalar) else {
                if !current.isEmpty { words.append(current) }
                current = ""
                continue
            }
            let character = Character(scalar)
            if character.isUppercase, let last = current.last, last.isLowercase {
                words.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
