#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DelimitedCore {
    mutating func skipPreamble() throws(FileRefusal) {
        switch layout.preamble {
        case .none:
            return
        case .lines(let n):
            var k = 0
            while k < n {
                if input.available == 0, !(try input.fill()) { return }
                try skipLine()
                k += 1
            }
        case .matching(let text):
            let needle = Array(text.utf8)
            guard !needle.isEmpty else { return }
            while true {
                guard let len = try peekLineLength() else { return }
                if !contains(input.pointer + input.start, len, needle) { return }
                try skipLine()
            }
        }
    }

    /// Length of the physical line at `start` (without its line end), or nil at the end of input or when the line
    /// is longer than the record limit.
    mutating func peekLineLength() throws(FileRefusal) -> Int? {
        var searched = 0
        while true {
            if let i = findLineEnd(input.pointer + input.start + searched, input.available - searched) {
                return searched + i
            }
            searched = input.available
            if searched > maxRecordBytes { return nil }
            if !(try input.fill()) { return input.available == 0 ? nil : input.available }
        }
    }

    /// Consumes the rest of the physical line at `start`, including its line end, without buffering it.
    mutating func skipLine() throws(FileRefusal) {
        if try input.skipLine() { line += 1 }
    }
}
