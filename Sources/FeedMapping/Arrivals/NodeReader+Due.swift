import Foundation
import Yams

extension NodeReader {
    /// `due: {every: day | week | month, by: MOMENT, from: MOMENT}`: a day's moment is `HH:mm`, a week's
    /// `monday HH:mm`, a month's `day 5 HH:mm`.
    func due(_ node: Node?) throws(MappingError) -> DueSchedule? {
        guard let node else { return nil }
        let values = try entries(node, allowed: ["every", "by", "from"], what: "due")
        let everyNode = try required(values, "every", in: "due", at: node)
        guard let every = DueSchedule.Every(rawValue: try string(everyNode, "due.every")) else {
            throw fail(everyNode, "due.every must be one of \(DueSchedule.Every.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let by = try moment(required(values, "by", in: "due", at: node), every: every, key: "due.by")
        let from = try values["from"].map { node throws(MappingError) in try moment(node, every: every, key: "due.from") }
        if from == nil, by == DueSchedule.Moment(day: 1, hour: 0, minute: 0) {
            throw fail(values["by"], "due.by is the very start of its \(every.rawValue): say when its window opens with due.from")
        }
        if let from, from == by { throw fail(values["from"], "due.from must differ from due.by") }
        return DueSchedule(every: every, by: by, from: from)
    }

    private func moment(_ node: Node, every: DueSchedule.Every, key: String) throws(MappingError) -> DueSchedule.Moment {
        let text = try string(node, key).lowercased()
        let words = text.split(separator: " ").map(String.init)
        let expected: String
        switch every {
        case .day: expected = "HH:mm, e.g. \"04:30\""
        case .week: expected = "a weekday and HH:mm, e.g. \"monday 09:00\""
        case .month: expected = "day N and HH:mm, e.g. \"day 5 09:00\""
        }
        func time(_ word: String) -> (Int, Int)? {
            let parts = word.split(separator: ":")
            guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]),
                (0..<24).contains(hour), (0..<60).contains(minute)
            else { return nil }
            return (hour, minute)
        }
        switch (every, words.count) {
        case (.day, 1):
            if let (hour, minute) = time(words[0]) { return DueSchedule.Moment(hour: hour, minute: minute) }
        case (.week, 2):
            if let index = DueSchedule.weekdays.firstIndex(of: words[0]), let (hour, minute) = time(words[1]) {
                return DueSchedule.Moment(day: index + 1, hour: hour, minute: minute)
            }
        case (.month, 3):
            if words[0] == "day", let day = Int(words[1]), (1...31).contains(day), let (hour, minute) = time(words[2]) {
                return DueSchedule.Moment(day: day, hour: hour, minute: minute)
            }
        default: break
        }
        throw fail(node, "\(key) for every \(every.rawValue) must be \(expected)")
    }
}
