/// Field names as a proxy must tell them apart, compared as bytes: no String
/// is made for a field that is only copied through.

/// Whether `a` spells `lower` (lower case) in any case. Only letters fold:
/// an upstream's names are not checked the way the request guard checks a
/// client's, so no other byte may pass for one it is not.
func asciiLowerEqual(_ a: UnsafeRawBufferPointer, _ lower: UnsafeRawBufferPointer) -> Bool {
    guard a.count == lower.count else { return false }
    for k in 0..<a.count {
        let c = a[k]
        if (c &- 65 < 26 ? c | 0x20 : c) != lower[k] { return false }
    }
    return true
}

func asciiLowerEqual(_ a: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
    asciiLowerEqual(a, UnsafeRawBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount))
}

extension ArraySlice<UInt8> {
    func elementsEqualLowercased(_ lower: StaticString) -> Bool {
        withUnsafeBytes { asciiLowerEqual($0, lower) }
    }
}

enum FieldNames {
    /// Hop-by-hop (RFC 9110 §7.6.1): the fixed list, any Proxy-*, or a name
    /// a Connection field lists (`tokens`, lower case).
    static func isHopByHop(_ n: UnsafeRawBufferPointer, tokens: [[UInt8]]) -> Bool {
        switch n.count {
        case 2: if asciiLowerEqual(n, "te") { return true }
        case 7: if asciiLowerEqual(n, "trailer") || asciiLowerEqual(n, "upgrade") { return true }
        case 10: if asciiLowerEqual(n, "connection") || asciiLowerEqual(n, "keep-alive") { return true }
        case 17: if asciiLowerEqual(n, "transfer-encoding") { return true }
        default: break
        }
        if n.count >= 6 && asciiLowerEqual(UnsafeRawBufferPointer(rebasing: n[0..<6]), "proxy-") { return true }
        return tokens.contains { t in t.withUnsafeBytes { asciiLowerEqual(n, $0) } }
    }

    /// Fields the proxy writes itself, so the client's copies are dropped.
    static func isRewrittenForUpstream(_ n: UnsafeRawBufferPointer) -> Bool {
        switch n.count {
        case 4: asciiLowerEqual(n, "host")
        case 9: asciiLowerEqual(n, "x-real-ip")
        case 14: asciiLowerEqual(n, "content-length")
        case 15: asciiLowerEqual(n, "x-forwarded-for")
        case 16: asciiLowerEqual(n, "x-forwarded-host")
        case 17: asciiLowerEqual(n, "x-forwarded-proto")
        default: false
        }
    }

    /// The lower-cased, trimmed, non-empty elements of a comma-separated list (a Connection value).
    static func tokens(_ value: UnsafeRawBufferPointer) -> [[UInt8]] {
        value.split(separator: UInt8(ascii: ",")).compactMap { element in
            var s = element
            while let c = s.first, c == 32 || c == 9 { s = s.dropFirst() }
            while let c = s.last, c == 32 || c == 9 { s = s.dropLast() }
            return s.isEmpty ? nil : s.map { $0 &- 65 < 26 ? $0 | 0x20 : $0 }
        }
    }
}
