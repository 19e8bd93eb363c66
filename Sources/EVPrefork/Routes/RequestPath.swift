/// The request path as routes see it: percent-decoded, slashes merged and
/// dot segments resolved, by nginx's rules. Proxies forward the raw target;
/// everything that maps a path onto something (routing, static files) uses
/// this.
public enum RequestPath: Equatable, Sendable {
    /// Starts with "/", has no empty, "." or ".." segments, and ends with "/"
    /// when the request's path did (or ended in a "." or ".." segment). Bytes,
    /// not a String: a decoded path need not be UTF-8, and file names are bytes.
    case path([UInt8])
    /// A "%" not followed by two hex digits (nginx: 400).
    case badEncoding
    /// "%00": no file can have that name.
    case nulByte
    /// More ".." segments than directories before them: the path climbs above "/".
    case escapesRoot
    /// Not an origin-form path (does not start with "/").
    case notAbsolute

    /// Decodes and normalises `raw`, the path part of a request target (no
    /// query). A decoded "/" separates segments like a literal one, so
    /// "%2e%2e%2f" is a ".." segment, as nginx reads it.
    public static func normalize<Bytes: Collection>(_ raw: Bytes) -> RequestPath where Bytes.Element == UInt8 {
        var i = raw.startIndex
        guard i != raw.endIndex, raw[i] == slash else { return .notAbsolute }
        i = raw.index(after: i)
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        out.append(slash)
        var segment = 1  // where the segment being read starts in `out`
        while true {
            let atEnd = i == raw.endIndex
            var c: UInt8 = 0
            if !atEnd {
                c = raw[i]
                i = raw.index(after: i)
                if c == percent {
                    guard i != raw.endIndex, let high = hexDigitValue(raw[i]) else { return .badEncoding }
                    i = raw.index(after: i)
                    guard i != raw.endIndex, let low = hexDigitValue(raw[i]) else { return .badEncoding }
                    i = raw.index(after: i)
                    c = high << 4 | low
                    if c == 0 { return .nulByte }
                }
            }
            if atEnd || c == slash {
                let length = out.count - segment
                if length == 1 && out[segment] == dot {
                    out.removeLast()
                } else if length == 2 && out[segment] == dot && out[segment + 1] == dot {
                    out.removeLast(2)
                    if segment == 1 { return .escapesRoot }
                    out.removeLast()  // the "/" that ended the previous segment
                    while out.last != slash { out.removeLast() }
                    segment = out.count
                } else if length > 0 && !atEnd {
                    out.append(slash)
                    segment = out.count
                }
                if atEnd { break }
            } else {
                out.append(c)
            }
        }
        return .path(out)
    }

    /// True when normalising `raw` would give it back unchanged: it starts
    /// with "/", has no "%" and no empty, "." or ".." segment. Most requests
    /// are like this; the router then matches the raw bytes without copying.
    public static func isNormal(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        guard raw.first == slash else { return false }
        var segmentStart = 1
        for i in 1...raw.count {
            if i == raw.count || raw[i] == slash {
                let length = i - segmentStart
                if length == 0 && i != raw.count { return false }  // "//"
                if length == 1 && raw[segmentStart] == dot { return false }
                if length == 2 && raw[segmentStart] == dot && raw[segmentStart + 1] == dot { return false }
                segmentStart = i + 1
            } else if raw[i] == percent {
                return false
            }
        }
        return true
    }

    /// The path's bytes when it is one.
    public var bytes: [UInt8]? {
        if case .path(let p) = self { return p }
        return nil
    }
}

private let slash = UInt8(ascii: "/")
private let dot = UInt8(ascii: ".")
private let percent = UInt8(ascii: "%")

