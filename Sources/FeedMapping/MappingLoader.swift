import DQTModel
import FlatFile
import Foundation
import Yams

/// A mistake in a mapping file, located by file and line.
public struct MappingError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String
    /// For a declared body's mistakes: `body-type-error`, `body-missing-property`, `body-unknown-property`,
    /// `body-null-error`, `body-enum-error`, `body-unknown-field`, `unknown-operation`...; the message starts with
    /// the property's path.
    public var code: String? = nil
    public var description: String { "\(file):\(line): \(code.map { "\($0): " } ?? "")\(message)" }

    /// The YAML document in `text` (`what` names it when it is empty); malformed YAML is an error at its line.
    static func composeYAML(_ text: String, file: String, what: String) throws(MappingError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else { throw MappingError(file: file, line: 1, message: "\(what) is empty") }
            return node
        } catch let error as MappingError {
            throw error
        } catch let error as YamlError {
            throw MappingError(file: file, line: error.line(in: text) ?? 0, message: "not valid YAML: \(error)")
        } catch {
            throw MappingError(file: file, line: 0, message: "not valid YAML: \(error)")
        }
    }
}

/// Reads and checks mapping files. Everything a mapping names (fields, types, lookups, rules, path placeholders)
/// is checked against the feed's record type when the file is loaded, so a mistake fails at once, located.
public enum MappingLoader {
    /// Parses mapping text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(MappingError) -> FeedDefinition {
        let root = try MappingError.composeYAML(text, file: file, what: "the mapping")
        var reader = NodeReader(file: file)
        return try reader.definition(root)
    }
}
