import CLibSSH2
import Crypto
import DQTModel
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Hashes (SHA-256) and writes downloaded chunks on its own thread, in order, while the downloading thread fills the
/// next buffer. A fixed ring of `depth` buffers bounds memory and applies back-pressure.
final class HashingFileSink: @unchecked Sendable {
    // @unchecked: `free`, `filled`, `finished` and `failure` are guarded by `condition`; `hasher`, `written` and `file`
    // are used only by the worker thread until `done` is signalled, then only by the caller.
    private let condition = NSCondition()
    private let done = DispatchSemaphore(value: 0)
    private let file: LocalPartFile
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var free: [UnsafeMutableRawBufferPointer]
    private var filled: [(buffer: UnsafeMutableRawBufferPointer, count: Int)] = []
    private var finished = false
    private var joined = false
    private var failure: (any Error)?
    private var hasher = SHA256()
    private var written: Int64 = 0

    init(file: LocalPartFile, bufferSize: Int, depth: Int) {
        self.file = file
        self.buffers = (0..<max(2, depth)).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        }
        self.free = buffers
        let thread = Thread { [self] in self.run() }
        thread.name = "dqt.sftp.download-writer"
        thread.start()
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }

    /// Blocks until a buffer is free; throws the writer's error if writing has failed.
    func nextFreeBuffer() throws -> UnsafeMutableRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && failure == nil { condition.wait() }
        if let failure { throw failure }
        return free.removeLast()
    }

    /// Returns a buffer that was not filled.
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
        condition.lock()
        free.append(buffer)
        condition.unlock()
    }

    /// Queues the first `count` bytes of `buffer` for hashing and writing.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
        condition.lock()
        filled.append((buffer, count))
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until everything queued is written and returns the digest of all of it.
    func finish() throws -> SHA256Digest {
        join()
        if let failure { throw failure }
        return hasher.finalize()
    }

    /// Stops the worker (after the chunks already queued) and waits for it. Idempotent.
    func cancel() {
        join()
    }

    private func join() {
        condition.lock()
        let alreadyJoined = joined
        joined = true
        finished = true
        condition.broadcast()
        condition.unlock()
        if !alreadyJoined { done.wait() }
    }

    private func run() {
        while true {
            condition.lock()
            while filled.isEmpty && !finished { condition.wait() }
            if filled.isEmpty {
                condition.unlock()
                break
            }
            let (buffer, count) = filled.removeFirst()
            let failed = failure != nil
            condition.unlock()

            var error: (any Error)?
            if !failed {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                hasher.update(bufferPointer: chunk)
                do {
                    try file.write(chunk, at: written)
                    written += Int64(count)
                } catch let writeError {
                    error = writeError
                }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }
        done.signal()
    }
}
