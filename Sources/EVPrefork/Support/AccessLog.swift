import Glibc

/// The access log in nginx's "combined" format plus the request time:
/// `127.0.0.1 - - [23/Nov/2026:06:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/7.88" 0.001`
/// One write(2) per line on an O_APPEND fd, so workers never interleave;
/// USR1 reopens it under the same fd number, so no line is lost on rotation.
final class AccessLog: @unchecked Sendable {
    nonisolated(unsafe) static var shared: AccessLog?

    private let file: LogFile

    init?(_ target: LogTarget) {
        guard let file = LogFile(target) else { return nil }
        self.file = file
    }

    func reopen() { file.reopen() }

    struct Entry {
        var remote: String
        /// `GET /path HTTP/1.1`, or "-" when the request line never parsed.
        var requestLine: String
        var status: Int
        var bodyBytes: Int
        var referer: String?
        var userAgent: String?
        /// Seconds from the first byte of the request to the response.
        var duration: Double
    }

    func record(_ e: Entry) {
        var line = e.remote
        line += " - - ["
        line += AccessLog.timestamp()
        line += "] \""
        line += AccessLog.escape(e.requestLine)
        line += "\" "
        line += String(e.status)
        line += " "
        line += String(e.bodyBytes)
        line += " \""
        line += AccessLog.escape(e.referer ?? "-")
        line += "\" \""
        line += AccessLog.escape(e.userAgent ?? "-")
        line += "\" "
        let ms = Int((e.duration * 1000).rounded())
        line += "\(ms / 1000).\(String(ms % 1000).leftPadded(3))\n"
        file.write(line)
    }

    /// nginx escapes `"`, `\` and bytes outside printable ASCII as \xHH.
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if b == 0x22 || b == 0x5C || b < 0x20 || b >= 0x7F {
                out += "\\x" + String(b, radix: 16, uppercase: true).leftPadded(2)
            } else {
                out.unicodeScalars.append(UnicodeScalar(b))
            }
        }
        return out
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `23/Nov/2026:06:00:00 +0000`, cached per second.
    nonisolated(unsafe) private static var cachedSecond = 0
    nonisolated(unsafe) private static var cachedText = ""

    static func timestamp() -> String {
        var now = time(nil)
        if now == cachedSecond { return cachedText }
        var t = tm()
        gmtime_r(&now, &t)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        cachedText = "\(two(t.tm_mday))/\(months[Int(t.tm_mon)])/\(t.tm_year + 1900):\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) +0000"
        cachedSecond = now
        return cachedText
    }
}
