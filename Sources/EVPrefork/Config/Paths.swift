import Glibc

/// Path helpers for the schema: relative paths in a config mean "beside the
/// config file", as in nginx's prefix-relative paths.
enum Paths {
    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "/" }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// The folder a file is in, absolute.
    static func directory(of file: String) -> String {
        let absolute = resolve(file, against: currentDirectory())
        guard let slash = absolute.lastIndex(of: "/") else { return "/" }
        let dir = String(absolute[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// `path` made absolute against `base`, with `.` and `..` folded lexically.
    static func resolve(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    enum Kind { case missing, directory, other }

    static func kind(of path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .other
    }
}
