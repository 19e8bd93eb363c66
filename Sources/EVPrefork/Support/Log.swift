import Glibc

/// The error log: level-filtered lines to stderr, stdout or a file that USR1
/// reopens (for logrotate). One per process; writes are single write(2)
/// calls on an O_APPEND fd, so lines from the manager and workers never mix.
public final class Log: @unchecked Sendable {
    nonisolated(unsafe) public static var shared = Log(level: .info, target: .stderr)

    public let level: LogLevel
    /// stderr when the configured file cannot be opened.
    private let file: LogFile

    public init(level: LogLevel, target: LogTarget) {
        self.level = level
        file = LogFile(target) ?? LogFile(.stderr)!
    }

    public func reopen() { file.reopen() }

    public func debug(_ message: @autoclosure () -> String) { emit(.debug, message) }
    public func info(_ message: @autoclosure () -> String) { emit(.info, message) }
    public func warn(_ message: @autoclosure () -> String) { emit(.warn, message) }
    public func error(_ message: @autoclosure () -> String) { emit(.error, message) }

    private func emit(_ at: LogLevel, _ message: () -> String) {
        guard at >= level else { return }
        file.write("\(Log.timestamp()) [\(at.rawValue)] evprefork[\(getpid())]: \(message())\n")
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
