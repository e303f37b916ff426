import FileSources
import Foundation

/// The reports class of retention: regular files below the reports folder (run and mapping reports, shadow exports)
/// and the work folder's `shadow-exports/`, aged by their modification time. Walks the folders lazily (no listing
/// held whole), never follows links, and never removes a file an unfinished export still names (it is delivered
/// there next run).
struct ReportsSweep {
    let roots: [String]
    /// File names of exports not yet delivered.
    let protected: Set<String>

    struct Result {
        var removed = 0
        var bytes: Int64 = 0
        var failed = 0
        var oldestRemoved: Date?
        var oldestKept: Date?
        /// Why files could not be removed (at most a few, for the log and the summary).
        var failures: [String] = []
    }

    /// Removes (or, for a dry run, counts) the files modified before `cutoff`.
    func sweep(before cutoff: Date, dryRun: Bool) -> Result {
        var result = Result()
        let keys: [URLResourceKey] = [.isRegularFileKey, .contentModificationDateKey, .fileSizeKey]
        for root in roots where FileManager.default.fileExists(atPath: root) {
            guard
                let walker = FileManager.default.enumerator(
                    at: URL(fileURLWithPath: root), includingPropertiesForKeys: keys, options: [], errorHandler: { _, _ in true })
            else { continue }
            for case let url as URL in walker {
                guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true,
                    let modified = values.contentModificationDate
                else { continue }
                guard modified < cutoff, !protected.contains(url.lastPathComponent) else {
                    result.oldestKept = min(result.oldestKept ?? modified, modified)
                    continue
                }
                if !dryRun {
                    do {
                        try FileManager.default.removeItem(at: url)
                    } catch {
                        result.failed += 1
                        if result.failures.count < 5 { result.failures.append("\(url.path): \(error.localizedDescription)") }
                        result.oldestKept = min(result.oldestKept ?? modified, modified)
                        continue
                    }
                }
                result.removed += 1
                result.bytes += Int64(values.fileSize ?? 0)
                result.oldestRemoved = min(result.oldestRemoved ?? modified, modified)
            }
        }
        return result
    }
}

extension RunContext {
    /// What the reports class of retention sweeps: the reports folder, and where shadow exports go without one.
    var reportFolders: [String] {
        [configuration.reportsFolder, joinPath(workFolder, "shadow-exports")].compactMap { $0 }
    }
}
