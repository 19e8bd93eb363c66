import Glibc

/// A GET or HEAD request without a body, read from the front of a
/// connection's input buffer so that it can be answered without evhttp
/// (HTTPServer+Direct.swift).
///
/// evhttp's reply path costs more than the rest of a small answer together
/// (a printf per header line, a header list allocated per request, a write
/// one loop turn later); nginx answers the same request with a third of the
/// instructions. The request guard has already checked every byte of the
/// head against RFC 9112, so this parser only has to find the parts: it is
/// not a second validator. It declines whatever it does not serve itself
/// (other methods, bodies, upgrades, expectations, bare-LF line ends) and
/// evhttp takes those as before.
struct DirectRequest {
    /// Request line and header section, through the empty line. Valid only
    /// while the request is being answered: it points into the input buffer.
    let head: UnsafeRawBufferPointer
    let isHead: Bool
    /// The request-target, as sent.
    let target: Range<Int>
    /// 0 or 1 (a higher HTTP/1.x is taken as 1.1).
    let minor: Int
    /// The header lines: from after the request line to before the empty line.
    let fields: Range<Int>
    /// `Connection: close`, or HTTP/1.0 without `Connection: keep-alive`.
    let wantsClose: Bool
    /// HTTP/1.0 with `Connection: keep-alive`: the answer must say so.
    let keepAlive10: Bool
    /// One bit per header present, by `presenceBit`: most lookups are for
    /// headers a request does not carry (If-None-Match, Range, ...), and
    /// those are answered without a scan.
    let present: UInt64

    enum Parse {
        case request(DirectRequest)
        /// The head is not complete in these bytes.
        case incomplete
        /// Not one this path answers: evhttp takes it.
        case declined
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parse {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .incomplete }
        let n = bytes.count
        let isHead: Bool
        var i: Int
        if n >= 4 && base[0] == C.G && base[1] == C.E && base[2] == C.T && base[3] == C.sp {
            isHead = false
            i = 4
        } else if n >= 5 && base[0] == C.H && base[1] == C.E && base[2] == C.A && base[3] == C.D && base[4] == C.sp {
            isHead = true
            i = 5
        } else {
            return n < 5 && Self.couldStartMethod(base, n) ? .incomplete : .declined
        }
        // Origin form only; "//..." is read by evhttp as an authority.
        guard i < n else { return .incomplete }
        guard base[i] == C.slash else { return .declined }
        if i + 1 < n && base[i + 1] == C.slash { return .declined }
        let targetStart = i
        while i < n && base[i] != C.sp {
            if base[i] == C.cr || base[i] == C.lf { return .declined }
            i += 1
        }
        let targetEnd = i
        // " HTTP/1.x\r\n"
        guard n - i >= 11 else { return .incomplete }
        guard base[i + 1] == C.H, base[i + 6] == C.one, base[i + 7] == C.dot,
              base[i + 9] == C.cr, base[i + 10] == C.lf else { return .declined }
        let minor = base[i + 8] == C.zero ? 0 : 1
        i += 11
        let fieldsStart = i

        var close = false
        var keepAlive = false
        var present: UInt64 = 0
        while true {
            guard let lf = memchr(base + i, Int32(C.lf), n - i) else { return .incomplete }
            let end = UnsafeRawPointer(lf).assumingMemoryBound(to: UInt8.self) - base
            guard end > i, base[end - 1] == C.cr else { return .declined }
            let lineEnd = end - 1
            if lineEnd == i {
                let request = DirectRequest(
                    head: UnsafeRawBufferPointer(start: base, count: end + 1), isHead: isHead,
                    target: targetStart..<targetEnd, minor: minor, fields: fieldsStart..<i,
                    wantsClose: close || (minor == 0 && !keepAlive), keepAlive10: minor == 0 && keepAlive && !close,
                    present: present)
                return .request(request)
            }
            guard let colon = memchr(base + i, Int32(C.colon), lineEnd - i) else { return .declined }
            let nameEnd = UnsafeRawPointer(colon).assumingMemoryBound(to: UInt8.self) - base
            guard nameEnd > i else { return .declined }
            present |= Self.presenceBit(base + i, nameEnd - i)
            switch Self.field(base + i, nameEnd - i) {
            case .framing: return .declined
            case .connection:
                Self.connectionTokens(base, from: nameEnd + 1, to: lineEnd, close: &close, keepAlive: &keepAlive)
            case .other: break
            }
            i = end + 1
        }
    }

    /// The value of the first header named `name` (any case), without surrounding whitespace.
    func field(_ name: String) -> UnsafeRawBufferPointer? {
        var name = name
        return name.withUTF8 { want -> UnsafeRawBufferPointer? in
            guard let w = want.baseAddress, !want.isEmpty, present & Self.presenceBit(w, want.count) != 0 else { return nil }
            var found: UnsafeRawBufferPointer?
            eachField { n, value in
                guard n.count == want.count else { return true }
                for k in 0..<want.count where n[k] | 0x20 != want[k] | 0x20 { return true }
                found = value
                return false
            }
            return found
        }
    }

    /// Calls `body` with each header's name and trimmed value, in order, until it returns false.
    func eachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        guard let base = head.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var i = fields.lowerBound
        while i < fields.upperBound {
            guard let lf = memchr(base + i, Int32(C.lf), fields.upperBound - i) else { return }
            let end = UnsafeRawPointer(lf).assumingMemoryBound(to: UInt8.self) - base
            var valueEnd = end - 1
            guard let colon = memchr(base + i, Int32(C.colon), valueEnd - i) else { return }
            let nameEnd = UnsafeRawPointer(colon).assumingMemoryBound(to: UInt8.self) - base
            var valueStart = nameEnd + 1
            while valueStart < valueEnd && (base[valueStart] == C.sp || base[valueStart] == C.htab) { valueStart += 1 }
            while valueEnd > valueStart && (base[valueEnd - 1] == C.sp || base[valueEnd - 1] == C.htab) { valueEnd -= 1 }
            let keepGoing = body(UnsafeRawBufferPointer(start: base + i, count: nameEnd - i),
                                 UnsafeRawBufferPointer(start: base + valueStart, count: valueEnd - valueStart))
            if !keepGoing { return }
            i = end + 1
        }
    }

    var targetBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: head[target]) }

    // MARK: -

    /// A bit from a name's length and its first and last letters, any case.
    private static func presenceBit(_ p: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let mix = length &* 7 &+ Int(p[0] | 0x20) &* 3 &+ Int(p[length - 1] | 0x20)
        return 1 << UInt64(mix & 63)
    }

    private enum Field { case framing, connection, other }

    /// Headers that give the request a body or another protocol send it to
    /// evhttp; `Connection` decides keep-alive.
    private static func field(_ p: UnsafePointer<UInt8>, _ length: Int) -> Field {
        func named(_ word: StaticString) -> Bool {
            let w = word.utf8Start
            for k in 0..<length where p[k] | 0x20 != w[k] { return false }
            return true
        }
        switch length {
        case 6 where named("expect"): return .framing
        case 7 where named("upgrade"): return .framing
        case 10 where named("connection"): return .connection
        case 14 where named("content-length"): return .framing
        case 17 where named("transfer-encoding"): return .framing
        default: return .other
        }
    }

    private static func connectionTokens(_ base: UnsafePointer<UInt8>, from: Int, to: Int,
                                         close: inout Bool, keepAlive: inout Bool) {
        var i = from
        while i < to {
            while i < to && (base[i] == C.sp || base[i] == C.htab || base[i] == C.comma) { i += 1 }
            let start = i
            while i < to && base[i] != C.comma && base[i] != C.sp && base[i] != C.htab { i += 1 }
            let token = UnsafeRawBufferPointer(start: base + start, count: i - start)
            if asciiCaseEqual(token, "close") { close = true }
            else if asciiCaseEqual(token, "keep-alive") { keepAlive = true }
        }
    }

    private static func couldStartMethod(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let get: StaticString = "GET ", head: StaticString = "HEAD "
        func prefix(of word: StaticString) -> Bool {
            n <= word.utf8CodeUnitCount && (0..<n).allSatisfy { p[$0] == word.utf8Start[$0] }
        }
        return prefix(of: get) || prefix(of: head)
    }

    private enum C {
        static let G = UInt8(ascii: "G"), E = UInt8(ascii: "E"), T = UInt8(ascii: "T"), H = UInt8(ascii: "H")
        static let A = UInt8(ascii: "A"), D = UInt8(ascii: "D")
        static let sp = UInt8(ascii: " "), htab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        static let slash = UInt8(ascii: "/"), colon = UInt8(ascii: ":"), comma = UInt8(ascii: ",")
        static let dot = UInt8(ascii: "."), zero = UInt8(ascii: "0"), one = UInt8(ascii: "1")
    }
}

/// ASCII case-insensitive equality of bytes and a lower-case literal.
func asciiCaseEqual(_ a: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
    guard a.count == lower.utf8CodeUnitCount else { return false }
    let w = lower.utf8Start
    for k in 0..<a.count where a[k] | 0x20 != w[k] { return false }
    return true
}
