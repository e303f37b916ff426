import AsyncHTTPClient
import Crypto
import DQTModel
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

extension HTTPSDownloader {
    /// One attempt: a conditional GET (redirects followed, https only, at most 5), the body streamed to a hidden
    /// `.part` file and renamed once complete, then the validators recorded.
    func fetch(_ url: URL, client: HTTPClient, previous: HTTPValidators?, store: HTTPValidatorStore) async throws -> HTTPSDownloadOutcome {
        var current = url
        for _ in 0...5 {
            var request = HTTPClientRequest(url: current.absoluteString)
            request.method = .GET
            if let etag = previous?.etag { request.headers.add(name: "If-None-Match", value: etag) }
            if let modified = previous?.lastModified { request.headers.add(name: "If-Modified-Since", value: modified) }
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: .seconds(settings.timeoutSeconds))
            } catch let error as NIOSSLError {
                throw FileSourceError.fatal("\(url.absoluteString): TLS failed (\(error)); the server's certificate is not trusted")
            } catch let error as BoringSSLError {
                throw FileSourceError.fatal("\(url.absoluteString): TLS failed (\(error)); the server's certificate is not trusted")
            } catch {
                // Refused or reset connections, timeouts: the server may be back on the next attempt.
                throw RetryableDownloadFailure(reason: "the connection failed (\(error))", retryAfter: nil)
            }
            let status = Int(response.status.code)
            switch status {
            case 200:
                return try await save(response, from: url, store: store)
            case 304:
                return .notModified
            case 301, 302, 303, 307, 308:
                guard let location = response.headers.first(name: "Location"), let next = URL(string: location, relativeTo: current)?.absoluteURL,
                    next.scheme?.lowercased() == "https"
                else { throw FileSourceError.failed("\(url.absoluteString): HTTP \(status) redirects to a URL that is not https") }
                current = next
            case 429, 500...599:
                let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
                throw RetryableDownloadFailure(reason: "HTTP \(status)", retryAfter: retryAfter)
            default:
                throw FileSourceError.failed("\(url.absoluteString): HTTP \(status)")
            }
        }
        throw FileSourceError.failed("\(url.absoluteString): more than 5 redirects")
    }

    /// Streams the body into `.<name>.part`, hashing it and counting it against `maxBytes`, then gives it its final
    /// name (a new one if that name is taken) and records the validators.
    func save(_ response: HTTPClientResponse, from url: URL, store: HTTPValidatorStore) async throws -> HTTPSDownloadOutcome {
        let name = url.lastPathComponent
        if let problem = FileNameSafety.problem(name) { throw FileSourceError.fatal("\(url.absoluteString): the file name is refused: \(problem)") }
        if let announced = response.headers.first(name: "Content-Length").flatMap(Int64.init), announced > settings.maxBytes {
            throw FileSourceError.failed(
                "\(url.absoluteString): the file is \(announced) bytes, more than maxBytes (\(settings.maxBytes)); nothing was downloaded")
        }
        let part = joinPath(folder, ".\(name).part")
        guard FileManager.default.createFile(atPath: part, contents: nil), let handle = FileHandle(forWritingAtPath: part) else {
            throw FileSourceError.failed("\(part) cannot be written")
        }
        var hasher = SHA256()
        var bytes: Int64 = 0
        do {
            defer { try? handle.close() }
            do {
                for try await chunk in response.body {
                    bytes += Int64(chunk.readableBytes)
                    guard bytes <= settings.maxBytes else {
                        throw FileSourceError.failed(
                            "\(url.absoluteString): the file is larger than maxBytes (\(settings.maxBytes)); refused at byte \(bytes)")
                    }
                    try chunk.withUnsafeReadableBytes { buffer in
                        hasher.update(bufferPointer: buffer)
                        try handle.write(contentsOf: buffer)
                    }
                }
            } catch let error as HTTPClientError {
                throw RetryableDownloadFailure(reason: "the download broke off at byte \(bytes) (\(error))", retryAfter: nil)
            }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: part)
            throw error
        }
        let sha256 = Hex.lowercase(hasher.finalize())
        let final = Self.freeName(for: name, sha256: sha256, in: folder)
        try FileManager.default.moveItem(atPath: part, toPath: final)
        try store.save(
            HTTPValidators(
                url: url.absoluteString, etag: response.headers.first(name: "ETag"),
                lastModified: response.headers.first(name: "Last-Modified"), sha256: sha256))
        logger.info("downloaded a file", metadata: ["url": "\(url.absoluteString)", "bytes": "\(bytes)", "sha256": "\(sha256)"])
        return .downloaded(localPath: final, bytes: bytes, sha256: sha256)
    }

    /// `name` in `folder`, or when a file already has it (an earlier download not yet taken), `name` with the
    /// content's hash before its extension: a final name is never overwritten.
    static func freeName(for name: String, sha256: String, in folder: String) -> String {
        let plain = joinPath(folder, name)
        guard FileManager.default.fileExists(atPath: plain) else { return plain }
        let stem = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        return joinPath(folder, "\(stem).\(sha256.prefix(12))" + (ext.isEmpty ? "" : ".\(ext)"))
    }
}

/// What the server said about the last file downloaded from a URL: sent back as `If-None-Match` and
/// `If-Modified-Since` so that an unchanged file is not downloaded (or processed) again.
struct HTTPValidators: Codable, Equatable {
    var url: String
    var etag: String?
    var lastModified: String?
    var sha256: String
}

/// The validators of a pickup folder's last download, in a hidden file of that folder (hidden names are never taken
/// as files), replaced atomically.
struct HTTPValidatorStore {
    let folder: String
    var path: String { joinPath(folder, ".https-download.json") }

    func load() -> HTTPValidators? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(HTTPValidators.self, from: data)
    }

    func save(_ validators: HTTPValidators) throws {
        let temporary = path + ".tmp"
        try JSONEncoder().encode(validators).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw FileSourceError.failed("\(path) cannot be written") }
    }
}
