/// Conditional requests (RFC 9110 §13) for a file with a strong ETag and a
/// modification time, decided as nginx's not-modified filter decides them:
/// If-Modified-Since must equal the file's time exactly (`if_modified_since
/// exact`), and when both If-None-Match and If-Modified-Since are sent, both
/// must say "not modified".
enum Preconditions {
    enum Outcome: Equatable {
        case proceed
        case notModified
        case failed
    }

    struct Request {
        var ifMatch: String?
        var ifUnmodifiedSince: String?
        var ifNoneMatch: String?
        var ifModifiedSince: String?

        var isEmpty: Bool { ifMatch == nil && ifUnmodifiedSince == nil && ifNoneMatch == nil && ifModifiedSince == nil }
    }

    static func evaluate(_ r: Request, etag: String, mtime: Int) -> Outcome {
        if let since = r.ifUnmodifiedSince, let date = HTTPDate.parse(since.utf8), date < mtime {
            // An unparsable date is ignored (RFC 9110 §13.1.4); nginx answers 412 to it.
            return .failed
        }
        if let list = r.ifMatch, !listMatches(list, etag: etag, weak: false) {
            return .failed
        }
        guard r.ifNoneMatch != nil || r.ifModifiedSince != nil else { return .proceed }
        if let since = r.ifModifiedSince, HTTPDate.parse(since.utf8) != mtime { return .proceed }
        if let list = r.ifNoneMatch, !listMatches(list, etag: etag, weak: true) { return .proceed }
        return .notModified
    }

    /// Whether `etag` is in an entity-tag list (`*`, or `"a", W/"b"`).
    /// `weak`: compare weakly, so `W/"x"` matches `"x"` (If-None-Match);
    /// otherwise a weak tag never matches (If-Match).
    static func listMatches(_ list: String, etag: String, weak: Bool) -> Bool {
        let v = Array(list.utf8)
        if v.count == 1 && v[0] == UInt8(ascii: "*") { return true }
        let tag = Array(etag.utf8)
        var i = 0
        while i < v.count {
            while i < v.count && isListSpace(v[i]) { i += 1 }
            guard i < v.count else { break }
            if weak && i + 2 < v.count && v[i] == UInt8(ascii: "W") && v[i + 1] == UInt8(ascii: "/") { i += 2 }
            if i + tag.count <= v.count && v[i..<(i + tag.count)].elementsEqual(tag) {
                var j = i + tag.count
                while j < v.count && (v[j] == UInt8(ascii: " ") || v[j] == UInt8(ascii: "\t")) { j += 1 }
                if j == v.count || v[j] == UInt8(ascii: ",") { return true }
            }
            while i < v.count && v[i] != UInt8(ascii: ",") { i += 1 }
        }
        return false
    }

    /// Whether If-Range lets a Range through: an entity tag must equal ours
    /// exactly (a weak one never does), a date must equal the file's time.
    static func ifRangeHolds(_ value: String, etag: String, mtime: Int) -> Bool {
        if value.utf8.count >= 2 && value.utf8.last == UInt8(ascii: "\"") { return value.utf8.elementsEqual(etag.utf8) }
        return HTTPDate.parse(value.utf8) == mtime
    }

    @inline(__always)
    private static func isListSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: ",")
    }
}

/// nginx's entity tag for a file: `"<mtime hex>-<size hex>"`.
func fileETag(mtime: Int, size: Int64) -> String {
    withHeaderValue(capacity: 40, { w in
        w.append("\"")
        w.appendHex(UInt64(bitPattern: Int64(mtime)))
        w.append("-")
        w.appendHex(UInt64(bitPattern: size))
        w.append("\"")
    }) { String(cString: $0) }
}
