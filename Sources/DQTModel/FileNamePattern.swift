#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Shell-style globs over a file's name (not its folder), as mappings write them for files and attachments.
public enum FileNamePattern {
    /// Case-insensitive: `IND*.csv` matches `ind_2026.CSV`.
    public static func matches(_ pattern: String, name: String) -> Bool {
        fnmatch(pattern, name, caseFold) == 0
    }

    /// glibc's FNM_CASEFOLD, a GNU extension that Swift does not import.
    private static let caseFold: Int32 = 1 << 4
}
