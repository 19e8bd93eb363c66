/// Field names as a proxy must tell them apart, compared as bytes: no String
/// is made for a field that is only copied through.

/// Whether `a` spells `lower` (lower case) in any case. Only letters fold:
/// an upstream's names are not checked the way the request guard checks a
/// client's, so no other byte may pass for one it is not.
func asciiLowerEqual(_ a: UnsafeRawBufferPointer, _ lower: UnsafeRawBufferPointer) -> Bool {
    guard a.count == lower.count else { return false }
    for k in 0..<a.count {
        let c = a[k]
        if FieldNames.folded(c) != lower[k] { return false }
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
    /// the message's Connection fields list (`connection`, their values
    /// joined by commas).
    static func isHopByHop(_ n: UnsafeRawBufferPointer, connection: UnsafeRawBufferPointer) -> Bool {
        switch n.count {
        case 2: if asciiLowerEqual(n, "te") { return true }
        case 7: if asciiLowerEqual(n, "trailer") || asciiLowerEqual(n, "upgrade") { return true }
        case 10: if asciiLowerEqual(n, "connection") || asciiLowerEqual(n, "keep-alive") { return true }
        case 17: if asciiLowerEqual(n, "transfer-encoding") { return true }
        default: break
        }
        if n.count >= 6 && asciiLowerEqual(UnsafeRawBufferPointer(rebasing: n[0..<6]), "proxy-") { return true }
        return list(connection, contains: n)
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

    /// Adds a field's value to a comma-separated list: repeated Connection
    /// fields mean what one field with their values joined by commas means.
    static func join(_ value: UnsafeRawBufferPointer, onto list: inout [UInt8]) {
        if !list.isEmpty { list.append(44) }
        list += value
    }

    /// Calls `body` with each element of a comma-separated list, trimmed,
    /// empty ones skipped (RFC 9110 §5.6.1), until it returns false.
    static func eachElement(_ list: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var i = 0
        let n = list.count
        while i < n {
            var end = i
            while end < n && list[end] != 44 { end += 1 }
            var a = i
            var b = end
            while a < b && (list[a] == 32 || list[a] == 9) { a += 1 }
            while b > a && (list[b - 1] == 32 || list[b - 1] == 9) { b -= 1 }
            if b > a && !body(UnsafeRawBufferPointer(rebasing: list[a..<b])) { return }
            i = end + 1
        }
    }

    /// Whether `list` has an element equal to `token`, both in any case.
    static func list(_ list: UnsafeRawBufferPointer, contains token: UnsafeRawBufferPointer) -> Bool {
        var found = false
        eachElement(list) { element in
            found = element.count == token.count && zip(element, token).allSatisfy { folded($0) == folded($1) }
            return !found
        }
        return found
    }

    static func list(_ list: UnsafeRawBufferPointer, contains token: StaticString) -> Bool {
        self.list(list, contains: UnsafeRawBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount))
    }

    /// The last element of a comma-separated list.
    static func lastElement(_ list: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var last: UnsafeRawBufferPointer?
        eachElement(list) { last = $0; return true }
        return last
    }

    static func folded(_ c: UInt8) -> UInt8 { c &- 65 < 26 ? c | 0x20 : c }
}
