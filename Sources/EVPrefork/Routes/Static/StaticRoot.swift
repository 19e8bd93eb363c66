import CLibevent
import Glibc

/// A static route's `root`, and the guard that keeps every file it serves
/// inside it. A request path (already decoded and normalised, so without
/// ".." segments) is appended to the root and opened.
///
/// When the root's own path has no symlink, the open is made with
/// openat2(RESOLVE_NO_SYMLINKS): a file the kernel opens that way is exactly
/// at root + path, inside the root, and nothing more needs checking. A path
/// with a symlink on the way (or a kernel without openat2) takes the general
/// way: the path is opened, then the file actually opened is checked — its
/// real path, as the kernel reports it for the open descriptor
/// (/proc/self/fd), must lie under the real path of the root. Checking the
/// descriptor rather than the name leaves no window between check and use,
/// and catches every symlink on the way, whatever component it is. Symlinks
/// that stay inside the root are followed, as nginx does.
final class StaticRoot {
    /// The root as configured (absolute), without a trailing slash.
    let configured: [UInt8]
    /// realpath(root), refreshed when a file seems to lie outside it (the root
    /// may be a symlink that a deploy swapped).
    private var real: [UInt8]
    /// Scratch space for the C path of each open: one per worker, reused.
    private var scratch: [UInt8] = []
    /// Where the real path of an opened file is read to. Allocated once: a
    /// temporary allocation this large would make Swift probe the stack's
    /// bounds, which on the main thread means reading /proc/self/maps.
    private let realBuffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Int(PATH_MAX) + 1)

    init(_ root: String) {
        var bytes = Array(root.utf8)
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        configured = bytes
        real = bytes
        real = resolveRoot() ?? bytes
        scratch.reserveCapacity(1024)
    }

    deinit { realBuffer.deallocate() }

    /// Cleared for good when the kernel has no openat2 (or a filter forbids it).
    nonisolated(unsafe) private static var openat2Works = true

    /// Whether the root's own path goes through a symlink (then every file
    /// would: each takes the general way).
    private var rootHasSymlink: Bool { real != configured }

    enum Opened {
        /// A regular file, open for reading, with its metadata.
        case file(fd: Int32, info: stat)
        /// A directory, open (for listing), with its metadata.
        case directory(fd: Int32, info: stat)
        /// No such file (ENOENT, ENOTDIR, ENAMETOOLONG), or not a regular
        /// file or directory (nginx: 404).
        case notFound(errno: Int32)
        /// Permission denied, a symlink loop, or outside the root: 403.
        case forbidden
        /// Anything else (out of descriptors…): 500.
        case failed(errno: Int32)

        /// Closes the descriptor, if one is open.
        func close() {
            switch self {
            case .file(let fd, _), .directory(let fd, _): _ = Glibc.close(fd)
            default: break
            }
        }
    }

    /// Opens root + "/" + `relative` + `suffix`. `relative` has no leading
    /// slash and no dot segments. Never blocks on anything but the open and
    /// stat themselves (O_NONBLOCK: a FIFO cannot hang the worker).
    func open(_ relative: ArraySlice<UInt8>, suffix: some Sequence<UInt8> = EmptyCollection<UInt8>()) -> Opened {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: configured)
        if scratch.last != UInt8(ascii: "/") { scratch.append(UInt8(ascii: "/")) }
        scratch.append(contentsOf: relative)
        scratch.append(contentsOf: suffix)
        scratch.append(0)
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY
        if Self.openat2Works && !rootHasSymlink {
            let fd = scratch.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) {
                    evprefork_openat2(AT_FDCWD, $0.baseAddress!, UInt64(flags), UInt64(RESOLVE_NO_SYMLINKS))
                }
            }
            if fd >= 0 { return opened(fd, checked: true) }
            switch errno {
            case ENOSYS, EPERM: Self.openat2Works = false  // no openat2 here: the general way from now on
            case ELOOP, EAGAIN: break  // a symlink on the way: the general way follows and checks it
            case let e: return Self.classify(e)
            }
        }
        let fd = scratch.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { Glibc.open($0.baseAddress!, flags) }
        }
        guard fd >= 0 else { return Self.classify(errno) }
        return opened(fd, checked: false)
    }

    /// The metadata of the open `fd`, and, unless openat2 `checked` it, whether it lies under the root.
    private func opened(_ fd: Int32, checked: Bool) -> Opened {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let e = errno
            close(fd)
            return .failed(errno: e)
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFDIR else {
            close(fd)
            return .notFound(errno: 0)
        }
        guard checked || contains(fd: fd) else {
            close(fd)
            return .forbidden
        }
        return kind == S_IFREG ? .file(fd: fd, info: info) : .directory(fd: fd, info: info)
    }

    static func classify(_ e: Int32) -> Opened {
        switch e {
        case ENOENT, ENOTDIR, ENAMETOOLONG: .notFound(errno: e)
        case EACCES, EPERM, ELOOP, EMLINK: .forbidden
        default: .failed(errno: e)
        }
    }

    /// Whether the open file `fd` lies under the root. Without /proc, the
    /// name just opened (in `scratch`) is resolved instead.
    private func contains(fd: Int32) -> Bool {
        var n = Self.realPath(of: fd, into: realBuffer)
        if n == 0 { n = resolveScratch(into: realBuffer) }
        guard n > 0 else { return false }
        return isUnderRoot(UnsafeBufferPointer(rebasing: realBuffer[..<n]))
    }

    /// Whether an entry of a listed directory (opened with O_PATH) lies under
    /// the root; nil when /proc cannot say.
    func containsEntry(fd: Int32) -> Bool? {
        let n = Self.realPath(of: fd, into: realBuffer)
        guard n > 0 else { return nil }
        return isUnderRoot(UnsafeBufferPointer(rebasing: realBuffer[..<n]))
    }

    private func isUnderRoot(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        if Self.isUnder(path, root: real) { return true }
        // The root itself may have moved (a symlinked root swapped on deploy).
        guard let fresh = resolveRoot(), fresh != real else { return false }
        real = fresh
        return Self.isUnder(path, root: real)
    }

    static func isUnder(_ path: UnsafeBufferPointer<UInt8>, root: [UInt8]) -> Bool {
        if root == [UInt8(ascii: "/")] { return true }
        guard path.count >= root.count, path.starts(with: root) else { return false }
        return path.count == root.count || path[root.count] == UInt8(ascii: "/")
    }

    /// The real path of an open descriptor, from /proc/self/fd; its length,
    /// or 0 when /proc cannot say.
    private static func realPath(of fd: Int32, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { link in
            var w = ByteWriter(UnsafeMutableBufferPointer(rebasing: link[..<31]))
            w.append("/proc/self/fd/")
            w.appendDecimal(Int(fd))
            link[w.count] = 0
            let n = link.withMemoryRebound(to: CChar.self) { l in
                buffer.withMemoryRebound(to: CChar.self) { b in
                    readlink(l.baseAddress!, b.baseAddress!, b.count - 1)
                }
            }
            // A "(deleted)" suffix or a pseudo path ("pipe:[…]") cannot pass the prefix test.
            return n > 0 && buffer[0] == UInt8(ascii: "/") ? n : 0
        }
    }

    /// realpath(3) of the path in `scratch`: the fallback without /proc.
    private func resolveScratch(into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let resolved = scratch.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { realpath($0.baseAddress!, nil) }
        }
        guard let resolved else { return 0 }
        defer { free(resolved) }
        let n = strlen(resolved)
        guard n < buffer.count else { return 0 }
        resolved.withMemoryRebound(to: UInt8.self, capacity: n) { src in
            for i in 0..<n { buffer[i] = src[i] }
        }
        return n
    }

    private func resolveRoot() -> [UInt8]? {
        guard let resolved = realpath(String(decoding: configured, as: UTF8.self), nil) else { return nil }
        defer { free(resolved) }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(resolved).assumingMemoryBound(to: UInt8.self),
                                         count: strlen(resolved)))
    }
}
