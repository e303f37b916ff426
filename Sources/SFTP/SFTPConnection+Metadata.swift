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
    /// The attributes of `path`, following symbolic links.
    ///
    /// - Throws: ``SFTPError/operationFailed(operation:path:status:)`` with `NO_SUCH_FILE` when it does not exist.
    public func stat(_ path: String) throws -> SFTPFileInfo {
        try withSession("stat", path: path) { session, _ in
            try session.attributes(of: path, followLinks: true, timeout: configuration.operationTimeout)
        }
    }

    /// Whether anything (file, folder or link, even a dangling one) exists at `path`.
    public func exists(_ path: String) throws -> Bool {
        try withSession("stat", path: path) { session, _ in
            do {
                _ = try session.attributes(of: path, followLinks: false, timeout: configuration.operationTimeout)
                return true
            } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                return false
            }
        }
    }

    /// The regular files in `directory`, sorted by name: not folders, not special files, and symbolic links only
    /// when they point at a regular file (then with the target's size and time). Not recursive.
    ///
    /// Names are decoded as UTF-8 (invalid bytes become U+FFFD).
    public func list(directory: String) throws -> [SFTPFileInfo] {
        try withSession("list", path: directory) { session, timeout in
            let handle = try session.open(directory, flags: 0, mode: 0, type: Int32(LIBSSH2_SFTP_OPENDIR), timeout: timeout)
            defer { session.closeHandle(handle) }
            let base = directory.hasSuffix("/") ? directory : directory + "/"
            var files: [SFTPFileInfo] = []
            var nameBuffer = [CChar](repeating: 0, count: 4096)
            while true {
                var attributes = LIBSSH2_SFTP_ATTRIBUTES()
                let length = nameBuffer.withUnsafeMutableBufferPointer { buffer in
                    libssh2_sftp_readdir_ex(handle, buffer.baseAddress, buffer.count, nil, 0, &attributes)
                }
                if length == 0 { break }
                if length < 0 {
                    throw session.failure("list", path: directory, code: Int(length), timeout: timeout)
                }
                let name = nameBuffer.withUnsafeBufferPointer { buffer in
                    String(decoding: UnsafeRawBufferPointer(buffer).prefix(Int(length)), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = base + name
                var info = SessionResources.fileInfo(path: path, attributes: attributes)
                let hasType = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0
                if info.kind == .symbolicLink || !hasType {
                    // Follow the link (or ask again when the listing carried no type); skip dangling links.
                    do {
                        let target = try session.attributes(of: path, followLinks: true, timeout: timeout)
                        info = SFTPFileInfo(
                            path: path, name: name, kind: target.kind, size: target.size,
                            modificationTime: target.modificationTime, permissions: target.permissions)
                    } catch SFTPError.operationFailed(_, _, let status) where status.isNotFound {
                        continue
                    }
                }
                if info.kind == .file { files.append(info) }
            }
            return files.sorted { $0.name < $1.name }
        }
    }
}
