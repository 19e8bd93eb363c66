/// Whether a client takes a gzip-encoded answer, judged as nginx's
/// `gzip_static on` judges it: HTTP/1.1 or later (`gzip_http_version 1.1`),
/// no `Via` header (a proxy's request: `gzip_proxied off`), and an
/// Accept-Encoding that names `gzip` with a non-zero q-value.
enum GzipAcceptance {
    static func accepts(acceptEncoding: String?, via: Bool, httpMinor: Int, httpMajor: Int) -> Bool {
        guard httpMajor > 1 || (httpMajor == 1 && httpMinor >= 1), !via, let value = acceptEncoding else { return false }
        return namesGzip(Array(value.utf8))
    }

    /// "gzip" as a coding of its own (at the start or after "," or " ",
    /// case-insensitive), followed by the end, ",", or parameters whose q is
    /// not zero.
    static func namesGzip(_ v: [UInt8]) -> Bool {
        var from = 0
        var at: Int?
        while from + 4 <= v.count {
            guard let hit = find(v, from: from) else { return false }
            if hit == 0 || v[hit - 1] == UInt8(ascii: ",") || v[hit - 1] == UInt8(ascii: " ") {
                at = hit
                break
            }
            from = hit + 4
        }
        guard var i = at.map({ $0 + 4 }) else { return false }
        // After the name: spaces, then "," or end (accepted), or ";" and a q-value.
        while i < v.count {
            switch v[i] {
            case UInt8(ascii: ","): return true
            case UInt8(ascii: " "): i += 1; continue
            case UInt8(ascii: ";"): return qualityIsNonZero(v, after: i + 1)
            default: return false
            }
        }
        return true
    }

    private static func find(_ v: [UInt8], from: Int) -> Int? {
        var i = from
        while i + 4 <= v.count {
            if v[i] | 0x20 == UInt8(ascii: "g") && v[i + 1] | 0x20 == UInt8(ascii: "z")
                && v[i + 2] | 0x20 == UInt8(ascii: "i") && v[i + 3] | 0x20 == UInt8(ascii: "p") {
                return i
            }
            i += 1
        }
        return nil
    }

    /// `q=0`, `q=0.0`, `q=0.000` and malformed values refuse; anything else
    /// up to `q=1` accepts. A parameter other than q refuses, as nginx does.
    private static func qualityIsNonZero(_ v: [UInt8], after start: Int) -> Bool {
        var i = start
        while i < v.count && v[i] == UInt8(ascii: " ") { i += 1 }
        guard i < v.count else { return true }
        guard v[i] | 0x20 == UInt8(ascii: "q") else { return false }
        i += 1
        guard i + 1 < v.count, v[i] == UInt8(ascii: "=") else { return false }
        i += 1
        let whole = v[i]
        guard whole == UInt8(ascii: "0") || whole == UInt8(ascii: "1") else { return false }
        i += 1
        var nonZero = whole == UInt8(ascii: "1")
        var exceeds = false
        if i < v.count && v[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < v.count && v[i] != UInt8(ascii: ",") && v[i] != UInt8(ascii: " ") {
                guard v[i] >= UInt8(ascii: "0") && v[i] <= UInt8(ascii: "9") else { return false }
                if v[i] != UInt8(ascii: "0") { nonZero = true; if whole == UInt8(ascii: "1") { exceeds = true } }
                digits += 1
                i += 1
            }
            if digits > 3 { return false }
        } else if i < v.count && v[i] != UInt8(ascii: ",") && v[i] != UInt8(ascii: " ") {
            return false
        }
        return nonZero && !exceeds
    }
}
