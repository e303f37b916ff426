import DQTModel
import FlatFile
import Foundation
import Yams

extension YamlError {
    /// The line the error is about; for a duplicated key, the line where it is written the second time.
    func line(in text: String) -> Int? {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        case .duplicatedKeysInMapping(let duplicates, let context):
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for key in duplicates {
                let written = lines.enumerated().filter { index, line in
                    guard index + 1 >= context.mark.line else { return false }
                    let trimmed = line.drop { $0 == " " || $0 == "-" }
                    return [key + ":", "\"\(key)\":", "'\(key)':"].contains { trimmed.hasPrefix($0) }
                }
                if written.count >= 2 { return written[1].offset + 1 }
            }
            return context.mark.line
        default:
            return nil
        }
    }
}
