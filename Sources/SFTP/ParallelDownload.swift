import CLibSSH2
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One download of a large file by several SFTP sessions at once (``SFTPConfiguration/downloadStreams``).
///
/// The file is cut into chunks of ``SFTPConfiguration/downloadChunkSize`` that the streams claim one at a time, so a
/// stream that joins late or runs slowly never leaves a long tail to the others. Each stream reads its chunk through
/// its own file handle and writes it with `pwrite` at the chunk's offset in the `.part` file. One hashing thread
/// follows the contiguous prefix of the file that has been written, reading it back from the page cache, so the
/// SHA-256 covers exactly the bytes written, in order, and is ready as soon as the last byte lands. Memory is one
/// buffer per stream plus one for the hasher, whatever the file's size.
///
/// The last chunk is read to the end of the file, so a file that grew since it was opened is downloaded whole (as
/// the single-stream path does); a file that ends early fails with ``SFTPError/fileShrank(path:expectedBytes:endedAt:)``.
///
/// ## Ownership
/// Shared by the streams and the hashing thread; every mutable property but `hasher` is guarded by `condition`.
/// Each stream uses only its own libssh2 session and handle, on the one thread that runs
/// ``readChunks(session:handle:timeout:afterRead:)`` for it. `hasher` belongs to the hashing thread until
/// ``finish()`` has waited for that thread to end. The streams write the `.part` file at disjoint ranges and the
/// hasher reads only below the written prefix; the caller may commit or discard the file only after every stream
/// has returned and ``finish()`` has returned or thrown.
///
/// ## Failure
/// The first error of any stream (or of the hasher) is kept by ``fail(_:)``; every stream stops before its next read
/// and ``finish()`` throws that error.
final class ParallelDownload: @unchecked Sendable {
    /// A range of the file that one stream reads.
    struct Chunk {
        let index: Int
        let start: Int64
        /// `nil` for the last chunk, which is read to the end of the file.
        let end: Int64?
    }

    let remotePath: String
    let expectedBytes: Int64
    private let chunkSize: Int64
    private let bufferSize: Int
    private let file: LocalPartFile
    private let chunkCount: Int

    private let condition = NSCondition()
    private var nextChunk = 0
    /// Bytes written so far into each chunk (each chunk is written in order from its start).
    private var writtenPerChunk: [Int64]
    private var chunkFinished: [Bool]
    /// The first chunk not yet finished: everything before it, plus what it holds, is the written prefix.
    private var firstUnfinishedChunk = 0
    private var totalWritten: Int64 = 0
    private var readingStreams = 0
    private var streamsReturned = false
    private var failure: (any Error)?

    private var hasher = SHA256()
    private let hashingEnded = DispatchSemaphore(value: 0)

    /// Starts the hashing thread; the streams then call ``readChunks(session:handle:timeout:afterRead:)``.
    init(remotePath: String, file: LocalPartFile, expectedBytes: Int64, chunkSize: Int, bufferSize: Int) {
        self.remotePath = remotePath
        self.file = file
        self.expectedBytes = expectedBytes
        self.chunkSize = Int64(max(chunkSize, bufferSize))
        self.bufferSize = bufferSize
        self.chunkCount = max(1, Int((expectedBytes + self.chunkSize - 1) / self.chunkSize))
        self.writtenPerChunk = Array(repeating: 0, count: chunkCount)
        self.chunkFinished = Array(repeating: false, count: chunkCount)
        let thread = Thread { [self] in self.hashWrittenPrefix() }
        thread.name = "dqt.sftp.download-hasher"
        thread.start()
    }

    /// Whether a stream that is still connecting would find anything left to read.
    var hasUnclaimedChunks: Bool {
        condition.withLock { failure == nil && nextChunk < chunkCount }
    }

    /// Claims chunks and downloads them through `handle` until none is left or the download has failed.
    /// `afterRead` is called on this thread after each read with the bytes written so far by all streams.
    ///
    /// - Throws: this stream's own error (libssh2, local file, or a file that ended early); the caller hands it to
    ///   ``fail(_:)``. Returns normally when another stream has failed.
    func readChunks(
        session: SessionResources, handle: OpaquePointer, timeout: Duration, afterRead: ((Int64) -> Void)?
    ) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        var countedAsReading = false
        while let chunk = claimChunk(countingStream: !countedAsReading) {
            countedAsReading = true
            libssh2_sftp_seek64(handle, UInt64(chunk.start))
            var offset = chunk.start
            while true {
                var length = bufferSize
                if let end = chunk.end {
                    // libssh2 keeps asking for up to 4 x `length` past the current offset: a quarter of what is left
                    // keeps every request inside this chunk, so nothing is fetched twice.
                    let remaining = end - offset
                    if remaining == 0 { break }
                    length = Int(min(Int64(bufferSize), max(1, remaining / 4)))
                }
                let count = libssh2_sftp_read(handle, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), length)
                if count < 0 { throw session.failure("download", path: remotePath, code: count, timeout: timeout) }
                if count == 0 {
                    guard offset >= expectedBytes else {
                        throw SFTPError.fileShrank(path: remotePath, expectedBytes: expectedBytes, endedAt: offset)
                    }
                    break
                }
                try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), at: offset)
                offset += Int64(count)
                guard let total = recordWritten(count, in: chunk) else { return }
                afterRead?(total)
            }
            finishChunk(chunk)
        }
    }

    /// Records the first error; the streams stop before their next read and ``finish()`` throws it.
    func fail(_ error: any Error) {
        condition.withLock {
            if failure == nil { failure = error }
            condition.broadcast()
        }
    }

    /// Once every stream has returned: waits for the hasher and returns the bytes written, the SHA-256 of all of
    /// them and how many streams read part of the file.
    ///
    /// - Throws: the first error any stream or the hasher met.
    func finish() throws -> (bytes: Int64, digest: SHA256Digest, streams: Int) {
        condition.withLock {
            streamsReturned = true
            condition.broadcast()
        }
        hashingEnded.wait()
        return try condition.withLock {
            if let failure { throw failure }
            return (totalWritten, hasher.finalize(), readingStreams)
        }
    }

    // MARK: - Under the lock

    private func claimChunk(countingStream: Bool) -> Chunk? {
        condition.withLock {
            guard failure == nil, nextChunk < chunkCount else { return nil }
            let index = nextChunk
            nextChunk += 1
            if countingStream { readingStreams += 1 }
            let start = Int64(index) * chunkSize
            return Chunk(index: index, start: start, end: index == chunkCount - 1 ? nil : start + chunkSize)
        }
    }

    /// Returns the bytes written by all streams, or `nil` once the download has failed.
    private func recordWritten(_ count: Int, in chunk: Chunk) -> Int64? {
        condition.withLock {
            writtenPerChunk[chunk.index] += Int64(count)
            totalWritten += Int64(count)
            if chunk.index == firstUnfinishedChunk { condition.broadcast() }
            return failure == nil ? totalWritten : nil
        }
    }

    private func finishChunk(_ chunk: Chunk) {
        condition.withLock {
            chunkFinished[chunk.index] = true
            while firstUnfinishedChunk < chunkCount && chunkFinished[firstUnfinishedChunk] {
                firstUnfinishedChunk += 1
            }
            condition.broadcast()
        }
    }

    /// The end of the contiguous written prefix of the file.
    private var writtenPrefixEnd: Int64 {
        let chunk = min(firstUnfinishedChunk, chunkCount - 1)
        return Int64(chunk) * chunkSize + writtenPerChunk[chunk]
    }

    // MARK: - The hashing thread

    /// Hashes the written prefix as it grows, until the whole file is hashed or the download has failed.
    private func hashWrittenPrefix() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer {
            buffer.deallocate()
            hashingEnded.signal()
        }
        var hashed: Int64 = 0
        while true {
            condition.lock()
            while writtenPrefixEnd == hashed && failure == nil && firstUnfinishedChunk < chunkCount && !streamsReturned {
                condition.wait()
            }
            let end = writtenPrefixEnd
            let stop = failure != nil || (end == hashed && (firstUnfinishedChunk == chunkCount || streamsReturned))
            condition.unlock()
            if stop { return }
            do {
                while hashed < end {
                    let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(bufferSize), end - hashed))])
                    try file.read(into: piece, at: hashed)
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(piece))
                    hashed += Int64(piece.count)
                }
            } catch {
                fail(error)
                return
            }
        }
    }
}
