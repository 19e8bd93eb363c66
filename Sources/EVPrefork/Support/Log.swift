import Glibc

/// The error log: level-filtered lines to stderr, stdout or a file that USR1
/// reopens (for logrotate). One per process; writes are single write(2)
/// calls on an O_APPEND fd, so lines from the manager and workers never mix.
public final class Log: @unchecked Sendable {
    nonisolated(unsafe) public static var shared = Log(level: .info, target: .stderr)

    public let level: LogLevel
    let target: LogTarget
    private(set) var fd: Int32

    public init(level: LogLevel, target: LogTarget) {
        self.level = level
        self.target = target
        fd = Log.open(target) ?? 2
    }

    /// Opens a target; nil (and stderr is used) when a file cannot be opened.
    static func open(_ target: LogTarget) -> Int32? {
        switch target {
        case .off: return nil
        case .stdout: return 1
        case .stderr: return 2
        case .file(let path):
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            return fd >= 0 ? fd : nil
        }
    }

    /// Reopens a file target under the same fd number, so nothing holding the
    /// old number (a forked worker) writes to the rotated file afterwards.
    public func reopen() {
        guard case .file = target, let fresh = Log.open(target) else { return }
        if fd > 2 {
            dup2(fresh, fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            close(fresh)
        } else {
            fd = fresh
        }
    }

    public func debug(_ message: @autoclosure () -> String) { emit(.debug, message) }
    public func info(_ message: @autoclosure () -> String) { emit(.info, message) }
    public func warn(_ message: @autoclosure () -> String) { emit(.warn, message) }
    public func error(_ message: @autoclosure () -> String) { emit(.error, message) }

    private func emit(_ at: LogLevel, _ message: () -> String) {
        guard at >= level else { return }
        Console.write(fd, "\(Log.timestamp()) [\(at.rawValue)] evprefork[\(getpid())]: \(message())\n")
    }

    /// ISO 8601 UTC with milliseconds.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = Int(ts.tv_nsec / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)Z"
    }
}

/// Shorthand used across the package.
var log: Log { Log.shared }
