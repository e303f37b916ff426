#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the file system refuses a path, asked of the file system itself, so a message names the path and the
/// reason ("no such file or directory", "not a directory", "is a directory", "permission denied") instead of
/// a wrapped Foundation error with no reason in it.
public enum FileProblem {
    /// Why `path` cannot be opened and read as a file; nil when it can.
    public static func reading(file path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return reason(errno) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return "is a directory" }
        var byte: UInt8 = 0
        if read(fd, &byte, 1) < 0 && errno != EAGAIN { return reason(errno) }
        return nil
    }

    /// Why `path` cannot be listed as a folder; nil when it can.
    public static func listing(folder path: String) -> String? {
        guard let handle = opendir(path) else { return reason(errno) }
        closedir(handle)
        return nil
    }

    /// Why files cannot be written in folder `path` (created with its parents when missing); nil when they can.
    /// A part of the path that is a file is named: `/srv/work (a file) is not a directory`.
    public static func writing(folder path: String) -> String? {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { return "not a directory" }
            return access(path, W_OK | X_OK) == 0 ? nil : reason(errno)
        }
        guard errno == ENOENT || errno == ENOTDIR else { return reason(errno) }
        // Missing: the nearest existing ancestor decides whether it can be created.
        var parent = path
        while let slash = parent.lastIndex(of: "/") {
            parent = slash == parent.startIndex ? "/" : String(parent[..<slash])
            if stat(parent, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(parent) is a file, not a directory" }
                return access(parent, W_OK | X_OK) == 0 ? nil : "cannot create it in \(parent): \(reason(errno))"
            }
            if parent == "/" { break }
        }
        return nil
    }

    /// The C library's text for `code`, in lower case (`No such file or directory` -> `no such file or directory`).
    public static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
