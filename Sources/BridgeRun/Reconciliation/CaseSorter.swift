import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sorts a reconciliation file's cases by reference in bounded memory: up to ``runLimit`` cases are held, sorted and
/// written to a run file in a private temporary folder when full; the sorted order is then a k-way merge of the runs.
/// A file that fits in one run is never written to disk. The folder goes with ``removeFiles()``.
struct CaseSorter {
    struct SpillError: Error, CustomStringConvertible {
        let description: String
    }

    let runLimit: Int
    private var buffer: [PartnerCase] = []
    private var runs: [String] = []
    private var folder: String?

    init(runLimit: Int = 50_000) {
        precondition(runLimit > 0)
        self.runLimit = runLimit
    }

    mutating func add(_ item: PartnerCase) throws {
        buffer.append(item)
        if buffer.count >= runLimit { try spill() }
    }

    /// The cases in reference order, once.
    mutating func sorted() throws -> SortedCases {
        if runs.isEmpty {
            let cases = buffer.sorted { PartnerCase.precedes($0.reference, $1.reference) }
            buffer = []
            return SortedCases(memory: cases)
        }
        if !buffer.isEmpty { try spill() }
        return try SortedCases(runs: runs.map { try RunReader(path: $0) })
    }

    /// Removes the run files and their folder.
    mutating func removeFiles() {
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
        folder = nil
        runs = []
    }

    private mutating func spill() throws {
        buffer.sort { PartnerCase.precedes($0.reference, $1.reference) }
        let folder = try self.folder ?? makeFolder()
        let path = "\(folder)/run-\(runs.count).tsv"
        guard let file = fopen(path, "w") else { throw SpillError(description: "cannot write a sort run in \(folder): errno \(errno)") }
        defer { fclose(file) }
        for item in buffer where fputs(item.spillLine, file) < 0 {
            throw SpillError(description: "cannot write a sort run in \(folder): errno \(errno)")
        }
        guard fflush(file) == 0 else { throw SpillError(description: "cannot write a sort run in \(folder): errno \(errno)") }
        runs.append(path)
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func makeFolder() throws -> String {
        let path = NSTemporaryDirectory() + "dqt-reconcile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        folder = path
        return path
    }
}

/// The sorted cases: from memory, or merged from the run files (the smallest head of the runs next).
struct SortedCases {
    private var memory: IndexingIterator<[PartnerCase]>?
    private var readers: [RunReader] = []
    private var heads: [PartnerCase?] = []

    init(memory cases: [PartnerCase]) { memory = cases.makeIterator() }

    init(runs: [RunReader]) throws {
        readers = runs
        for index in readers.indices { heads.append(try readers[index].next()) }
    }

    mutating func next() throws -> PartnerCase? {
        if memory != nil { return memory!.next() }
        var best: Int?
        for index in heads.indices {
            guard let head = heads[index] else { continue }
            if let current = best, let bestHead = heads[current], !PartnerCase.precedes(head.reference, bestHead.reference) { continue }
            best = index
        }
        guard let best, let item = heads[best] else { return nil }
        heads[best] = try readers[best].next()
        return item
    }
}

/// One run file, read a line at a time.
final class RunReader {
    private let file: UnsafeMutablePointer<FILE>
    private let path: String
    private var line: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    init(path: String) throws {
        guard let file = fopen(path, "r") else { throw CaseSorter.SpillError(description: "cannot read the sort run \(path): errno \(errno)") }
        self.file = file
        self.path = path
    }

    deinit {
        free(line)
        fclose(file)
    }

    func next() throws -> PartnerCase? {
        let count = getline(&line, &capacity, file)
        guard count > 0, let line else { return nil }
        let text = String(cString: line).dropLast()
        guard let item = PartnerCase(spillLine: text) else { throw CaseSorter.SpillError(description: "the sort run \(path) is damaged") }
        return item
    }
}
