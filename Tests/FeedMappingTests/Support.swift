import DQTModel
import Foundation

@testable import FeedMapping

let testDay = LocalDate(year: 2026, month: 11, day: 21)!
let testContext = CheckContext(today: testDay)

/// The outcome of one conversion, in a form tests can compare.
enum Converted: Equatable, CustomStringConvertible {
    case value(FieldValue, genderDigit: UInt8?)
    case failure(code: String)
    case unmapped(String)

    var description: String {
        switch self {
        case .value(let value, let digit): "value(\(value)\(digit.map { ", gender \($0)" } ?? ""))"
        case .failure(let code): "failure(\(code))"
        case .unmapped(let code): "unmapped(\(code))"
        }
    }
}

extension FieldType {
    func convert(_ text: String, context: CheckContext = testContext) -> Converted {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            switch convert(buffer, context: context) {
            case .value(let value, let digit): .value(value, genderDigit: digit)
            case .failure(let code, _): .failure(code: code)
            case .unmapped(let code): .unmapped(code)
            }
        }
    }

    /// The converted value, or nil for a failure.
    func value(_ text: String, context: CheckContext = testContext) -> FieldValue? {
        if case .value(let value, _) = convert(text, context: context) { return value }
        return nil
    }
}

func date(_ iso: String) -> FieldValue { .date(LocalDate(iso: iso)!) }

/// A mapping's text, loaded as if from `/mappings/<id>.yaml`.
func loadMapping(_ text: String, id: String = "test-feed") throws(MappingError) -> FeedDefinition {
    try MappingLoader.parse(text, file: "/mappings/\(id).yaml")
}

/// The located error a mapping text gives, or nil when it loads.
func mappingError(_ text: String, id: String = "test-feed") -> MappingError? {
    do {
        _ = try loadMapping(text, id: id)
        return nil
    } catch {
        return error
    }
}

/// The 1-based line of the first line of `text` containing `needle`.
func line(of needle: String, in text: String) -> Int {
    (text.components(separatedBy: "\n").firstIndex { $0.contains(needle) } ?? -2) + 1
}

/// A sink that keeps everything, for end-to-end checks of a mapping over a small file.
struct CollectingSink: CheckSink {
    var wantsCalls: Bool { true }
    var wantsRejectedValues: Bool { true }
    var unmasked: Bool { false }
    var calls: [PlannedCall] = []
    var rejected: [RejectedRow] = []
    mutating func accepted(_ call: PlannedCall) throws { calls.append(call) }
    mutating func rejected(_ row: RejectedRow) throws { rejected.append(row) }
}

/// Checks `content` (written to a temp file named `name`) against the mapping text.
func check(mapping: String, id: String = "test-feed", content: [UInt8], name: String = "file.csv") throws -> (CheckResult, CollectingSink) {
    let feed = try loadMapping(mapping, id: id)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("feedmapping-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent(name).path
    try Data(content).write(to: URL(fileURLWithPath: path))
    var sink = CollectingSink()
    let result = FeedChecker(feed: feed, context: testContext)
        .check(.file(path: path), name: name, sha256: String(repeating: "0", count: 64), sink: &sink)
    return (result, sink)
}
