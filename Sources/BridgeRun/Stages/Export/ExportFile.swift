import FeedMapping
import FlatFile
import Foundation
import Ledger

/// Writes an export's file into the work folder: the range's items through the feed's ``OutboundFileWriter`` (one line
/// in memory at a time), synced to disk. The bytes depend only on the mapping and the range, so writing the same range
/// again gives the same SHA-256.
enum ExportFile {
    /// Writes `range` of `input` to `path` (replacing what a killed run left there).
    static func write(_ input: ExportInput, range: ExportRange, to path: String) async throws -> (size: Int64, sha256: String, records: Int) {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        var writer = try OutboundFileWriter(definition: input.feed, sink: FailPointSink(base: try FileByteSink(path: path)))
        try await input.forEachItem(in: range) { item in try writer.write(item) }
        let written = try writer.finish()
        ExportFailPoint.fileWritten.hit()
        return written
    }
}

/// Passes bytes on to `base` and hits ``ExportFailPoint/chunkWritten`` each time another 64 KiB has gone through, so the
/// crash suite can kill a run in the middle of writing a file.
struct FailPointSink<Base: ByteSink>: ByteSink {
    var base: Base
    var sinceLastPoint = 0
    static var chunk: Int { 1 << 16 }

    init(base: Base) { self.base = base }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try base.write(bytes)
        sinceLastPoint += bytes.count
        while sinceLastPoint >= Self.chunk {
            sinceLastPoint -= Self.chunk
            ExportFailPoint.chunkWritten.hit()
        }
    }

    mutating func finish() throws {
        try base.finish()
        if sinceLastPoint > 0 { ExportFailPoint.chunkWritten.hit() }
    }
}
