import DQTModel
import Foundation
import Yams

/// A mapping file loaded by its `direction`: `inbound` (the default) reads partners' files, `outbound` writes them.
public enum LoadedMapping: Sendable {
    case inbound(FeedDefinition)
    case outbound(OutboundFeedDefinition)

    /// Loads one mapping file with the loader its `direction` names.
    public static func load(path: String) throws(MappingError) -> LoadedMapping {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MappingError(file: path, line: 0, message: "cannot read the file: \(FileProblem.reading(file: path) ?? "not UTF-8 text")")
        }
        return try parse(text, file: path)
    }

    /// Parses mapping text; `file` names it in errors (and gives the id it must have).
    public static func parse(_ text: String, file path: String) throws(MappingError) -> LoadedMapping {
        // Only the top level's `direction` is looked at here; each loader reports its own YAML errors.
        let root = try? Yams.compose(yaml: text)
        let directionKey = root?.mapping?.first { $0.key.string == "direction" }
        switch directionKey?.value.scalar?.string {
        case nil, "inbound": return .inbound(try MappingLoader.parse(text, file: path))
        case "outbound": return .outbound(try OutboundMappingLoader.parse(root!, file: path))
        default:
            throw MappingError(file: path, line: directionKey?.value.mark?.line ?? 0, message: "direction: must be inbound or outbound")
        }
    }
}
