import Glibc

/// Whether evhttp 2.1 accepts `a` as the authority of a request-target that
/// starts with `//` (it parses `//x/y` as authority `x` and path `/y`, and
/// fails the whole request with its own 400 page when `x` is malformed).
/// Mirrors `parse_authority` in libevent's http.c, rule for rule, so that the
/// guard refuses exactly these targets and evhttp's error path stays unused.
/// Only targets starting with `//` come here.
func evhttpAcceptsAuthority(_ a: [UInt8]) -> Bool {
    if a.isEmpty { return true }
    var cp = 0
    var eos = a.count
    // Optional "userinfo@".
    if let at = a.firstIndex(of: 0x40) {
        var s = 0
        while s < at {
            let c = a[s]
            if unreserved(c) || subDelim(c) || c == 0x3A {
                s += 1
            } else if c == 0x25 && s + 2 < at && hex(a[s + 1]) && hex(a[s + 2]) {
                s += 3
            } else {
                return false
            }
        }
        cp = at + 1
    }
    // Optional ":port" (an empty port is allowed).
    var port = eos - 1
    while port >= cp && a[port] &- 0x30 < 10 { port -= 1 }
    if port >= cp && a[port] == 0x3A {
        var number = 0
        for k in (port + 1)..<eos {
            number = number * 10 + Int(a[k] &- 0x30)
            if number > 65535 { return false }
        }
        eos = port
    }
    if cp < eos && a[cp] == 0x5B && eos >= cp + 2 && a[eos - 1] == 0x5D {
        return bracketAddress(a[cp..<eos])
    }
    var s = cp
    while s < eos {
        let c = a[s]
        if unreserved(c) || subDelim(c) {
            s += 1
        } else if c == 0x25 && s + 2 < eos && hex(a[s + 1]) && hex(a[s + 2]) {
            s += 3
        } else {
            return false
        }
    }
    return true
}

/// "[" IPv6address "]" or "[v" 1*HEXDIG "." 1*(unreserved / sub-delims / ":") "]" as evhttp checks them.
private func bracketAddress(_ b: ArraySlice<UInt8>) -> Bool {
    let a = Array(b)
    guard a.count >= 3 else { return false }
    if a[1] == 0x76 {  // "v"
        var s = 2
        let eos = a.count - 1
        guard s < eos, hex(a[s]) else { return false }
        while s < eos && a[s] != 0x2E {
            guard hex(a[s]) else { return false }
            s += 1
        }
        guard s < eos, a[s] == 0x2E else { return false }
        s += 1
        while s < eos {
            let c = a[s]
            guard unreserved(c) || subDelim(c) || c == 0x3A else { return false }
            s += 1
        }
        return true
    }
    let inner = a[1..<(a.count - 1)]
    guard inner.count < 64 else { return false }
    var text = Array(inner)
    text.append(0)
    var address = in6_addr()
    return text.withUnsafeBufferPointer { buf in
        buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { inet_pton(AF_INET6, $0, &address) == 1 }
    }
}

private func unreserved(_ c: UInt8) -> Bool {
    c &- 0x30 < 10 || (c | 0x20) &- 0x61 < 26 || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
}

private func subDelim(_ c: UInt8) -> Bool {
    switch c {
    case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: true
    default: false
    }
}

private func hex(_ c: UInt8) -> Bool { hexDigitValue(c) != nil }
