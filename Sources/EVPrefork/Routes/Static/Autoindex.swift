import Glibc

/// The `autoindex` listing of a directory, the page nginx's autoindex module
/// makes (HTML, exact sizes, UTC times, no charset): directories first, then
/// files, each group by name byte for byte; names starting with "." are not
/// shown; names longer than 50 bytes are cut to 47 and end in "..>".
enum Autoindex {
    struct Entry {
        var name: [UInt8]
        var isDirectory: Bool
        var mtime: Int
        var size: Int64
    }

    enum ReadError: Error { case failed(errno: Int32) }

    /// Reads the directory open as `fd` (which this takes and closes).
    /// Symlinks are described by what they point to; a symlink whose target
    /// lies outside `root` is left out (it would not be served either).
    static func read(directory fd: Int32, root: StaticRoot) -> Result<[Entry], ReadError> {
        guard let dir = fdopendir(fd) else {
            let e = errno
            close(fd)
            return .failure(.failed(errno: e))
        }
        defer { closedir(dir) }
        let dirFD = dirfd(dir)
        var entries: [Entry] = []
        while true {
            errno = 0
            guard let ent = readdir(dir) else {
                if errno != 0 { return .failure(.failed(errno: errno)) }
                break
            }
            let type = ent.pointee.d_type
            let name: [UInt8] = withUnsafeBytes(of: &ent.pointee.d_name) { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                return Array(bytes[..<(bytes.firstIndex(of: 0) ?? bytes.count)])
            }
            guard let first = name.first, first != UInt8(ascii: ".") else { continue }
            var cName = name.map { CChar(bitPattern: $0) }
            cName.append(0)
            var info = stat()
            var followed = true
            if fstatat(dirFD, cName, &info, 0) != 0 {
                // A dangling link (or a loop) is shown as the link itself, as nginx does.
                guard errno == ENOENT || errno == ELOOP, fstatat(dirFD, cName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                    return .failure(.failed(errno: errno))
                }
                followed = false
            }
            if followed && (type == UInt8(DT_LNK) || type == UInt8(DT_UNKNOWN)) && !staysInside(dirFD, cName, root) {
                continue
            }
            entries.append(Entry(name: name, isDirectory: info.st_mode & S_IFMT == S_IFDIR,
                                 mtime: Int(info.st_mtim.tv_sec), size: Int64(info.st_size)))
        }
        return .success(entries)
    }

    /// Whether the entry, followed through any symlinks, is inside `root`.
    private static func staysInside(_ dirFD: Int32, _ name: [CChar], _ root: StaticRoot) -> Bool {
        var link = stat()
        guard fstatat(dirFD, name, &link, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        guard link.st_mode & S_IFMT == S_IFLNK else { return true }
        let fd = openat(dirFD, name, openPathOnly | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return root.containsEntry(fd: fd) ?? true
    }

    static func sorted(_ entries: [Entry]) -> [Entry] {
        entries.sorted { a, b in
            if a.isDirectory != b.isDirectory { return a.isDirectory }
            return a.name.lexicographicallyPrecedes(b.name)
        }
    }

    static let nameWidth = 50

    /// The page for the directory at `uri` (the decoded request path, ending in "/").
    static func render(uri: [UInt8], entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(200 + entries.count * 120)
        out.append(contentsOf: "<html>\r\n<head><title>Index of ".utf8)
        Escaping.appendHTML(uri, to: &out)
        out.append(contentsOf: "</title></head>\r\n<body>\r\n<h1>Index of ".utf8)
        Escaping.appendHTML(uri, to: &out)
        out.append(contentsOf: "</h1><hr><pre><a href=\"../\">../</a>\r\n".utf8)
        for e in sorted(entries) {
            out.append(contentsOf: "<a href=\"".utf8)
            Escaping.appendComponent(e.name, to: &out)
            if e.isDirectory { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: "\">".utf8)
            // Widths count bytes: the page carries no charset, so a name is bytes.
            var width = e.name.count
            if width > nameWidth {
                Escaping.appendHTML(e.name[..<(nameWidth - 3)], to: &out)
                out.append(contentsOf: "..&gt;</a>".utf8)
            } else {
                Escaping.appendHTML(e.name, to: &out)
                if e.isDirectory && width < nameWidth {
                    out.append(UInt8(ascii: "/"))
                    width += 1
                }
                out.append(contentsOf: "</a>".utf8)
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: nameWidth - width))
            }
            out.append(UInt8(ascii: " "))
            appendTime(e.mtime, to: &out)
            let size = e.isDirectory ? "-" : String(e.size)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: max(0, 19 - size.utf8.count)))
            out.append(contentsOf: size.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "</pre><hr></body>\r\n</html>\r\n".utf8)
        return out
    }

    /// `23-Nov-2026 06:21 ` (UTC).
    private static func appendTime(_ seconds: Int, to out: inout [UInt8]) {
        let t = CivilTime(seconds)
        func two(_ n: Int) { out.append(UInt8(ascii: "0") + UInt8(n / 10)); out.append(UInt8(ascii: "0") + UInt8(n % 10)) }
        two(t.day)
        out.append(UInt8(ascii: "-"))
        let month = HTTPDate.monthNames[t.month - 1]
        out.append(contentsOf: UnsafeBufferPointer(start: month.utf8Start, count: month.utf8CodeUnitCount))
        out.append(UInt8(ascii: "-"))
        out.append(contentsOf: String(t.year).utf8)
        out.append(UInt8(ascii: " "))
        two(t.hour)
        out.append(UInt8(ascii: ":"))
        two(t.minute)
        out.append(UInt8(ascii: " "))
    }
}

/// Linux's O_PATH (a descriptor that names a file without opening it for
/// I/O), which Glibc's Swift module does not export without _GNU_SOURCE.
private let openPathOnly: Int32 = 0o10000000
