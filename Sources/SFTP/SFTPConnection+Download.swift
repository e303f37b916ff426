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

extension SFTPConnection {
    /// Streams `remotePath` into `localPath`, hashing with SHA-256 as the bytes arrive; never holds the file in
    /// memory (a few buffers of ``SFTPConfiguration/readBufferSize``).
    ///
    /// A file of at least ``SFTPConfiguration/parallelDownloadThreshold`` bytes is downloaded by up to
    /// ``SFTPConfiguration/downloadStreams`` sessions at once: this connection starts at once, and the extra sessions,
    /// opened with the same configuration on their own threads meanwhile, join in (see `ParallelDownload`). An extra
    /// session that cannot be opened is logged and the download goes on with fewer; a failure of any stream fails
    /// the download. Extra sessions are closed before this returns; a transport failure on one of them leaves this
    /// connection open.
    ///
    /// The bytes go to a temporary file beside `localPath` (`.<name>.part-<random>`), which is flushed to disk and
    /// renamed onto `localPath` only once the whole file has arrived, so a partial download is never visible under
    /// the final name; on any failure the temporary file is removed. An existing `localPath` is replaced.
    ///
    /// - Parameter progress: called on the calling thread after every read of this connection, with the bytes
    ///   written by all streams, and once more at the end with the total.
    /// - Returns: the byte count and the lowercase hex SHA-256 of what was written, and how many sessions read it.
    /// - Throws: ``SFTPError``, ``SFTPError/fileShrank(path:expectedBytes:endedAt:)`` when the file ends before the
    ///   size the server reported when it was opened.
    public func download(
        remotePath: String,
        to localPath: String,
        progress: ((SFTPTransferProgress) -> Void)? = nil
    ) throws -> SFTPDownload {
        let bufferSize = min(max(configuration.readBufferSize, 32 * 1024), 4 * 1024 * 1024)
        return try withSession("download", path: remotePath) { session, timeout in
            let handle = try session.open(
                remotePath, flags: UInt(LIBSSH2_FXF_READ), mode: 0, type: Int32(LIBSSH2_SFTP_OPENFILE),
                timeout: timeout)
            defer { session.closeHandle(handle) }

            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let rc = libssh2_sftp_fstat_ex(handle, &attributes, 0)
            if rc < 0 { throw session.failure("download", path: remotePath, code: Int(rc), timeout: timeout) }
            let info = SessionResources.fileInfo(path: remotePath, attributes: attributes)
            guard info.kind == .file else { throw SFTPError.notAFile(path: remotePath) }
            let expected = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) != 0 ? Int64(attributes.filesize) : nil

            let local = try LocalPartFile(finalPath: localPath)
            var completed = false
            defer { if !completed { local.discard() } }

            let received: (bytes: Int64, digest: SHA256Digest, streams: Int)
            if configuration.downloadStreams > 1, let expected, expected >= configuration.parallelDownloadThreshold {
                received = try downloadInParallel(
                    remotePath, handle: handle, session: session, timeout: timeout, into: local,
                    expectedBytes: expected, bufferSize: bufferSize
                ) { total in
                    progress?(SFTPTransferProgress(bytesTransferred: total, expectedBytes: expected))
                }
            } else {
                received = try downloadSequentially(
                    remotePath, handle: handle, session: session, timeout: timeout, into: local,
                    expectedBytes: expected, bufferSize: bufferSize
                ) { total in
                    progress?(SFTPTransferProgress(bytesTransferred: total, expectedBytes: expected))
                }
            }
            let digest = Hex.lowercase(received.digest)
            try local.commit()
            completed = true
            logger.debug(
                "SFTP download complete",
                metadata: [
                    "sftp.path": "\(remotePath)", "sftp.bytes": "\(received.bytes)", "sftp.sha256": "\(digest)",
                    "sftp.streams": "\(received.streams)",
                ])
            return SFTPDownload(
                remotePath: remotePath, localPath: localPath, bytes: received.bytes, sha256: digest,
                streams: received.streams)
        }
    }

    /// One stream: this thread receives (and libssh2 decrypts) the next buffer while a second thread hashes and
    /// writes the previous one. Reads to the end of the file, so a file that grew is fetched whole.
    private func downloadSequentially(
        _ remotePath: String, handle: OpaquePointer, session: SessionResources, timeout: Duration,
        into local: LocalPartFile, expectedBytes: Int64?, bufferSize: Int, afterRead: (Int64) -> Void
    ) throws -> (bytes: Int64, digest: SHA256Digest, streams: Int) {
        let sink = HashingFileSink(file: local, bufferSize: bufferSize, depth: 4)
        defer { sink.cancel() }
        var total: Int64 = 0
        while true {
            let buffer = try sink.nextFreeBuffer()
            let count = libssh2_sftp_read(handle, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), bufferSize)
            if count <= 0 {
                sink.giveBack(buffer)
                if count == 0 { break }
                throw session.failure("download", path: remotePath, code: count, timeout: timeout)
            }
            sink.submit(buffer, count: count)
            total += Int64(count)
            afterRead(total)
        }
        if let expectedBytes, total < expectedBytes {
            throw SFTPError.fileShrank(path: remotePath, expectedBytes: expectedBytes, endedAt: total)
        }
        return (total, try sink.finish(), 1)
    }

    /// Several streams: this connection's `handle` on the calling thread, and one thread per extra session.
    private func downloadInParallel(
        _ remotePath: String, handle: OpaquePointer, session: SessionResources, timeout: Duration,
        into local: LocalPartFile, expectedBytes: Int64, bufferSize: Int, afterRead: @escaping (Int64) -> Void
    ) throws -> (bytes: Int64, digest: SHA256Digest, streams: Int) {
        let transfer = ParallelDownload(
            remotePath: remotePath, file: local, expectedBytes: expectedBytes,
            chunkSize: configuration.downloadChunkSize, bufferSize: bufferSize)
        let extraStreams = (1..<configuration.downloadStreams).map { _ in startExtraStream(for: transfer) }
        var reported: Int64 = 0
        do {
            try transfer.readChunks(session: session, handle: handle, timeout: timeout) { total in
                reported = total
                afterRead(total)
            }
        } catch {
            transfer.fail(error)
        }
        // Never leave a stream writing into a file that is about to be closed.
        for stream in extraStreams { stream.wait() }
        let received = try transfer.finish()
        if received.bytes != reported { afterRead(received.bytes) }
        return received
    }

    /// Opens one more session on its own thread and lets it read chunks of `transfer`; the returned semaphore is
    /// signalled once the thread is done with the session and the file. A session that cannot be opened only costs
    /// the download its help.
    private func startExtraStream(for transfer: ParallelDownload) -> DispatchSemaphore {
        let ended = DispatchSemaphore(value: 0)
        let configuration = configuration
        let logger = logger
        let thread = Thread {
            defer { ended.signal() }
            guard transfer.hasUnclaimedChunks else { return }
            let extra: SFTPConnection
            do {
                extra = try SFTPConnection(configuration: configuration, logger: logger)
            } catch {
                logger.warning(
                    "SFTP download goes on with fewer streams: an extra session could not be opened",
                    metadata: ["sftp.path": "\(transfer.remotePath)", "sftp.error": "\(error)"])
                return
            }
            defer { extra.close() }
            do {
                try extra.withSession("download", path: transfer.remotePath) { session, timeout in
                    let handle = try session.open(
                        transfer.remotePath, flags: UInt(LIBSSH2_FXF_READ), mode: 0,
                        type: Int32(LIBSSH2_SFTP_OPENFILE), timeout: timeout)
                    defer { session.closeHandle(handle) }
                    try transfer.readChunks(session: session, handle: handle, timeout: timeout, afterRead: nil)
                }
            } catch {
                transfer.fail(error)
            }
        }
        thread.name = "dqt.sftp.download-stream"
        thread.start()
        return ended
    }
}
