import Glibc

/// Where a log's lines go: stdout, stderr or a file opened O_APPEND, so a
/// line is one write(2) and lines from different processes never mix.
/// `reopen()` (USR1, after logrotate renamed the file) opens the path again
/// under the same fd number: nothing still holding the old number writes to
/// the rotated file afterwards, and no line is lost in between.
final class LogFile: @unchecked Sendable {
    let target: LogTarget
    private(set) var fd: Int32

    /// nil for `.off`, or a file that cannot be opened.
    init?(_ target: LogTarget) {
        guard let fd = LogFile.open(target) else { return nil }
        self.target = target
        self.fd = fd
    }

    private static func open(_ target: LogTarget) -> Int32? {
        switch target {
        case .off: return nil
        case .stdout: return 1
        case .stderr: return 2
        case .file(let path):
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            return fd >= 0 ? fd : nil
        }
    }

    func reopen() {
        guard case .file = target, let fresh = LogFile.open(target) else { return }
        if fd > 2 {
            dup2(fresh, fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            close(fresh)
        } else {
            fd = fresh
        }
    }

    func write(_ line: String) { Console.write(fd, line) }
}
