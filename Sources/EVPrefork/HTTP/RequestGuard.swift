/// An incremental HTTP/1.1 request framing checker (RFC 9112), run on every
/// byte a client sends before evhttp parses it.
///
/// evhttp 2.1 is lenient where leniency is dangerous (LIBEVENT.md): it keeps
/// `Transfer-Encoding : chunked` as a different header, takes `0x5` as a chunk
/// size, answers bad input with its own pages. The guard follows each
/// request of a connection — request line, header section, then the body by
/// Content-Length or chunked framing, trailers included — so it always knows
/// where the next (pipelined) request starts, and it stops the connection at
/// the first byte that makes a request invalid, oversized or ambiguous, with
/// the status that applies.
///
/// It accepts only what evhttp frames the same way, so evhttp's own error
/// answers are never reached: where evhttp would misread valid input (a chunk
/// extension right after the size) the guard rewrites one byte in place to a
/// form evhttp reads correctly; where it cannot, it answers itself.
///
/// Bytes may arrive split anywhere. The normal case costs a table lookup per
/// byte and no allocation: state lives in this struct, header names are
/// recognized from packed words, and only a few framing headers are parsed.
public struct RequestGuard {
    public struct Limits: Sendable {
        /// Request line plus header section (and trailers), line ends included.
        public var maxHeadSize: Int
        /// Longest request-target.
        public var maxTargetLength: Int
        /// Largest body, by Content-Length or the sum of chunk sizes; 0 = no limit.
        public var maxBodySize: Int64

        /// Targets longer than this get 414 whatever the head limit is (nginx's default too).
        public static let targetCap = 8192

        public init(maxHeaderSize: Int64, maxBodySize: Int64) {
            maxHeadSize = Int(clamping: max(1, maxHeaderSize))
            maxTargetLength = min(Self.targetCap, maxHeadSize)
            self.maxBodySize = max(0, maxBodySize)
        }
    }

    public struct Rejection: Equatable, Sendable, CustomStringConvertible {
        /// 400, 405, 413, 414, 417, 431, 501 or 505.
        public var status: Int
        /// What was wrong, for the error log and tests.
        public var reason: String
        /// Stream offset of the first byte of the rejected request: the bytes
        /// before it are whole good requests.
        public var requestStart: Int64
        /// Requests on this connection that were complete before the rejected one.
        public var completedRequests: Int
        /// The rejected request's request line, when it was read whole and valid.
        public var requestLine: String?
        /// The rejected request is a HEAD request: its answer has no body.
        public var isHead = false

        public var description: String { "\(status) (\(reason))" }
    }

    public let limits: Limits
    /// Bytes checked so far (the stream offset of the next byte fed).
    public private(set) var bytesFed: Int64 = 0
    public private(set) var completedRequests = 0
    /// Set after the first invalid request; the guard then ignores its input.
    public private(set) var rejection: Rejection?
    /// After a request with an `Upgrade` header the guard stops until
    /// `resume()`: what follows may be another protocol.
    public var isPaused: Bool { state == S.paused }

    // MARK: per-request state

    private var state = S.start
    private var headBudget: Int
    private var requestStart: Int64 = 0
    private var lineDone = false
    /// The request line as received (its first 512 bytes), for the access log.
    private let line = LineBuffer()

    private var methodLen = 0
    private var methodWord: UInt64 = 0
    private var method = Method.unknown
    private var targetLen = 0
    private var targetForm = TargetForm.origin
    /// The authority part of an origin-form target starting with `//`, which
    /// evhttp parses as an authority (and rejects when malformed). Rare path.
    private var authority: [UInt8]?
    private var versionIndex = 0
    private var major: UInt8 = 0
    private var minor: UInt8 = 0

    private var nameLen = 0
    private var nameWords: (UInt64, UInt64, UInt64) = (0, 0, 0)
    private var field = Field.other
    private var sub: UInt8 = 0
    private var matchIndex = 0
    private var matchOK = true
    private var number: Int64 = 0
    private var digits = 0
    private var elementParams = false

    private var contentLength: Int64 = -1
    private var hostCount = 0
    private var transferEncoding = false
    private var codings = 0
    private var chunkedCodings = 0
    private var lastCodingChunked = false
    private var expectOther = false
    private var upgrade = false
    private var inTrailers = false

    private var remaining: Int64 = 0
    private var bodyTotal: Int64 = 0
    private var chunkLineLength = 0

    /// The byte-class table, held here so that the scan never goes through
    /// the lazy global's initialization check.
    private let classes: UnsafePointer<UInt8>

    public init(limits: Limits) {
        self.limits = limits
        headBudget = limits.maxHeadSize
        classes = UnsafePointer(guardClasses)
        assert(Packed.verified)
    }

    /// Lets the guard go on after a paused (upgrade) request was answered the
    /// ordinary way. Feed it next whatever the client sent behind that request.
    public mutating func resume() {
        if state == S.paused { state = S.start }
    }

    /// Checks the next bytes of the stream. Returns the rejection the first
    /// time a request turns out bad; nil otherwise (also once paused or
    /// rejected, when bytes are ignored and not counted).
    ///
    /// The buffer is mutable for one reason: a chunk-size line such as
    /// `5;name=value` has the byte after the size rewritten to a space, which
    /// evhttp needs to read the size (its parser stops only at a space).
    public mutating func feed(_ bytes: UnsafeMutableRawBufferPointer) -> Rejection? {
        guard state < S.paused, let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        let origin = bytesFed
        var i = 0
        while i < n {
            switch state {
            case S.bodyLength, S.chunkData:
                let available = Int64(n - i)
                if remaining > available {
                    remaining -= available
                    i = n
                } else {
                    i += Int(remaining)
                    remaining = 0
                    if state == S.chunkData {
                        state = S.chunkDataEnd
                    } else {
                        finishRequest(at: origin + Int64(i))
                        if state == S.paused { bytesFed = origin + Int64(i); return nil }
                    }
                }
            case S.chunkSizeStart...S.chunkDataLF:
                if let why = chunkByte(p, i) { return reject(why, origin: origin, n: n) }
                i += 1
            default:
                if let why = scanHead(p, &i, n, origin) { return reject(why, origin: origin, n: n) }
                if state == S.paused { bytesFed = origin + Int64(i); return nil }
            }
        }
        bytesFed = origin + Int64(n)
        return nil
    }

    // MARK: - head

    /// Scans request line, header lines or trailer lines from `i` until the
    /// head ends (state leaves the head states), the input ends, or the head
    /// budget runs out.
    private mutating func scanHead(_ p: UnsafeMutablePointer<UInt8>, _ i: inout Int, _ n: Int, _ origin: Int64) -> Why? {
        let cls = classes
        var begin = i
        let stop = n - i > headBudget ? i + headBudget : n
        var capture = state <= S.requestLineCR ? i : -1
        var ended = false
        defer {
            headBudget -= i - begin
            if capture >= 0 && i > capture { captureLine(p + capture, i - capture) }
        }
        scan: while i < stop {
            let b = p[i]
            switch state {
            case S.start:
                if b == C.cr || b == C.lf { return Why(400, "empty line before the request line") }
                guard cls[Int(b)] & C.token != 0 else { return Why(400, "invalid method") }
                capture = i
                methodLen = 1
                methodWord = UInt64(b)
                state = S.method
                i += 1

            case S.method:
                var j = i
                while j < stop {
                    let c = p[j]
                    if cls[Int(c)] & C.token == 0 { break }
                    if methodLen < 8 { methodWord = methodWord << 8 | UInt64(c) }
                    methodLen += 1
                    j += 1
                }
                i = j
                if i == stop { break scan }
                guard p[i] == C.sp else { return Why(400, "invalid method") }
                method = methodLen <= 8 ? Method(word: methodWord, length: methodLen) : .unknown
                state = S.targetStart
                i += 1

            case S.targetStart:
                switch b {
                case C.slash:
                    targetForm = .origin
                    if i + 1 < stop && p[i + 1] == C.slash {
                        authority = []
                        targetLen = 2
                        state = S.target
                        i += 2
                        continue scan
                    }
                    if i + 1 == n { sub = 1 }  // whether "//" follows is decided on the next byte
                case C.star:
                    guard method == .options else { return Why(400, "asterisk-form target without OPTIONS") }
                    targetForm = .asterisk
                default:
                    if method == .connect && cls[Int(b)] & C.target != 0 {
                        targetForm = .authority
                    } else if b == C.sp || b == C.cr || b == C.lf {
                        return Why(400, "missing request-target")
                    } else if cls[Int(b)] & C.target != 0 {
                        return Why(400, "absolute-form or invalid request-target")
                    } else {
                        return Why(400, "control byte in the request-target")
                    }
                }
                targetLen = 1
                state = S.target
                i += 1

            case S.target:
                if sub == 1 {  // the byte after a leading "/" arrived in this feed
                    sub = 0
                    if b == C.slash { authority = [] ; targetLen += 1; i += 1; continue scan }
                }
                var j = i
                if authority != nil {
                    // Rare: "//authority..." — keep the authority for evhttp's check.
                    while j < stop {
                        let c = p[j]
                        if cls[Int(c)] & C.target == 0 { break }
                        if c == C.slash || c == C.question || c == C.hash {
                            if let why = checkAuthority() { return why }
                        } else if authority != nil {
                            if authority!.count >= 1024 { return Why(400, "authority too long") }
                            authority!.append(c)
                        }
                        j += 1
                    }
                } else {
                    while j < stop && cls[Int(p[j])] & C.target != 0 { j += 1 }
                }
                targetLen += j - i
                i = j
                if targetLen > limits.maxTargetLength { return Why(414, "request-target too long") }
                if i == stop { break scan }
                let c = p[i]
                if targetForm == .asterisk && targetLen > 1 { return Why(400, "asterisk-form target followed by more") }
                if c == C.sp {
                    if let why = checkAuthority() { return why }
                    versionIndex = 0
                    state = S.version
                    i += 1
                } else if c == C.cr || c == C.lf {
                    return Why(400, "request line without HTTP version (HTTP/0.9)")
                } else {
                    return Why(400, "space or control byte in the request-target")
                }

            case S.version:
                if versionIndex == 0 && stop - i >= 9 {
                    // The usual "HTTP/1.1" + CRLF or LF in one step.
                    let word = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                    let end = p[i + 8]
                    if (word == Packed.http11 || word == Packed.http10) && (end == C.cr || end == C.lf) {
                        major = 1
                        minor = word == Packed.http11 ? 1 : 0
                        versionIndex = 8
                        i += 8
                        continue scan
                    }
                }
                switch versionIndex {
                case 0...4:
                    guard b == httpSlash[versionIndex] else { return Why(400, "invalid HTTP version") }
                case 5:
                    guard b &- C.digit0 < 10 else { return Why(400, "invalid HTTP version") }
                    major = b &- C.digit0
                case 6:
                    guard b == C.dot else { return Why(400, "invalid HTTP version") }
                case 7:
                    guard b &- C.digit0 < 10 else { return Why(400, "invalid HTTP version") }
                    minor = b &- C.digit0
                default:
                    if b == C.cr {
                        state = S.requestLineCR
                    } else if b == C.lf {
                        i += 1
                        if let why = endRequestLine(p, i, &capture) { return why }
                        continue scan
                    } else {
                        return Why(400, "invalid HTTP version")
                    }
                }
                versionIndex += 1
                i += 1

            case S.requestLineCR:
                guard b == C.lf else { return Why(400, "bare CR in the request line") }
                i += 1
                if let why = endRequestLine(p, i, &capture) { return why }

            case S.lineStart:
                if cls[Int(b)] & C.token != 0 {
                    nameLen = 1
                    nameWords = (UInt64(asciiLower(b)), 0, 0)
                    state = S.name
                    i += 1
                } else if b == C.cr {
                    state = S.headEndCR
                    i += 1
                } else if b == C.lf {
                    i += 1
                    headBudget -= i - begin
                    begin = i
                    ended = true
                    if let why = endHead(origin + Int64(i)) { return why }
                    break scan
                } else if b == C.sp || b == C.htab {
                    return Why(400, "obsolete line folding or whitespace before a field name")
                } else if b == C.colon {
                    return Why(400, "empty field name")
                } else {
                    return Why(400, "invalid byte in a field name")
                }

            case S.name:
                var j = i
                while j < stop {
                    let c = p[j]
                    if cls[Int(c)] & C.token == 0 { break }
                    if nameLen < 24 {
                        let l = UInt64(asciiLower(c))
                        switch nameLen >> 3 {
                        case 0: nameWords.0 = nameWords.0 << 8 | l
                        case 1: nameWords.1 = nameWords.1 << 8 | l
                        default: nameWords.2 = nameWords.2 << 8 | l
                        }
                    }
                    nameLen += 1
                    j += 1
                }
                i = j
                if i == stop { break scan }
                let c = p[i]
                if c == C.colon {
                    if let why = endName() { return why }
                    state = S.value
                    i += 1
                } else if c == C.sp || c == C.htab {
                    return Why(400, "whitespace between field name and colon")
                } else if c == C.cr || c == C.lf {
                    return Why(400, "header line without a colon")
                } else {
                    return Why(400, "invalid byte in a field name")
                }

            case S.value:
                if field == .other {
                    var j = i
                    while j < stop && cls[Int(p[j])] & C.value != 0 { j += 1 }
                    i = j
                    if i == stop { break scan }
                } else {
                    while i < stop {
                        if field == .host && sub == 1 {  // the bulk of a Host value
                            while i < stop && cls[Int(p[i])] & C.regName != 0 { i += 1 }
                            if i == stop { break }
                        }
                        let c = p[i]
                        if cls[Int(c)] & C.value == 0 { break }
                        if let why = valueByte(c) { return why }
                        i += 1
                    }
                    if i == stop { break scan }
                }
                let c = p[i]
                if c == C.cr {
                    if i + 1 < stop && p[i + 1] == C.lf {
                        if let why = endValue() { return why }
                        state = S.lineStart
                        i += 2
                    } else {
                        state = S.valueCR
                        i += 1
                    }
                } else if c == C.lf {
                    if let why = endValue() { return why }
                    state = S.lineStart
                    i += 1
                } else {
                    return Why(400, c == 0 ? "NUL byte in a field value" : "control byte in a field value")
                }

            case S.valueCR:
                guard b == C.lf else { return Why(400, "bare CR in a header line") }
                if let why = endValue() { return why }
                state = S.lineStart
                i += 1

            case S.headEndCR:
                guard b == C.lf else { return Why(400, "bare CR at the end of the header section") }
                i += 1
                headBudget -= i - begin
                begin = i
                ended = true
                if let why = endHead(origin + Int64(i)) { return why }
                break scan

            default:
                break scan
            }
        }
        if !ended && i == stop && stop < n && state <= S.headEndCR {
            return state <= S.requestLineCR ? Why(414, "request line too long")
                : Why(431, inTrailers ? "trailer section too large" : "header section too large")
        }
        return nil
    }

    private func captureLine(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) {
        line.append(p, count)
    }

    private mutating func endRequestLine(_ p: UnsafeMutablePointer<UInt8>, _ i: Int, _ capture: inout Int) -> Why? {
        if capture >= 0 { captureLine(p + capture, i - capture); capture = -1 }
        line.dropLineEnd()
        state = S.lineStart
        lineDone = true
        if major != 1 {
            return major == 0 ? Why(505, "HTTP/0.x is not supported") : Why(505, "HTTP/\(major).x is not supported")
        }
        switch method {
        case .unknown: return Why(501, "method not implemented")
        case .connect: return Why(405, "CONNECT is not allowed")
        default: return nil
        }
    }

    /// evhttp parses a target that starts with `//` as an authority and fails
    /// the request when that authority is malformed; such a target is refused here.
    private mutating func checkAuthority() -> Why? {
        guard let a = authority else { return nil }
        authority = nil
        return evhttpAcceptsAuthority(a) ? nil : Why(400, "request-target starts with // and an invalid authority")
    }

    private mutating func endName() -> Why? {
        field = .other
        guard !inTrailers else { return nil }
        switch nameLen {
        case 4 where nameWords.0 == Packed.host:
            hostCount += 1
            if hostCount > 1 { return Why(400, "more than one Host header") }
            field = .host
        case 6 where nameWords.0 == Packed.expect:
            field = .expect
        case 7 where nameWords.0 == Packed.upgrade:
            upgrade = true
        case 14 where nameWords.0 == Packed.contentLength.0 && nameWords.1 == Packed.contentLength.1:
            if contentLength >= 0 { return Why(400, "more than one Content-Length") }
            field = .contentLength
        case 17 where nameWords.0 == Packed.transferEncoding.0 && nameWords.1 == Packed.transferEncoding.1
                    && nameWords.2 == Packed.transferEncoding.2:
            transferEncoding = true
            field = .transferEncoding
        default:
            return nil
        }
        sub = 0
        matchIndex = 0
        matchOK = true
        number = 0
        digits = 0
        elementParams = false
        return nil
    }

    /// One byte of a framing header's value (already known to be a field-vchar, C.sp or C.htab).
    private mutating func valueByte(_ c: UInt8) -> Why? {
        let ows = c == C.sp || c == C.htab
        switch field {
        case .contentLength:
            switch sub {
            case 0, 1:
                if c &- C.digit0 < 10 {
                    sub = 1
                    digits += 1
                    if digits > 18 { return Why(400, "Content-Length out of range") }
                    number = number * 10 + Int64(c &- C.digit0)
                } else if ows {
                    if sub == 1 { sub = 2 }
                } else {
                    return Why(400, "Content-Length is not a number")
                }
            default:
                if !ows { return Why(400, "Content-Length is not a number") }
            }
        case .transferEncoding:
            switch sub {
            case 0:  // before an element
                if ows || c == C.comma { break }
                guard classes[Int(c)] & C.token != 0 else { return Why(400, "invalid Transfer-Encoding") }
                sub = 1
                matchIndex = 0
                matchOK = true
                elementParams = false
                matchChunked(c)
            case 1:  // in a coding name
                if classes[Int(c)] & C.token != 0 { matchChunked(c) }
                else if ows { sub = 2 }
                else if c == C.semicolon { elementParams = true; sub = 3 }
                else if c == C.comma { endCoding() }
                else { return Why(400, "invalid Transfer-Encoding") }
            case 2:  // after a coding name
                if ows { break }
                if c == C.semicolon { elementParams = true; sub = 3 }
                else if c == C.comma { endCoding() }
                else { return Why(400, "invalid Transfer-Encoding") }
            default:  // transfer-parameters
                if c == C.comma { endCoding() }
            }
        case .host:
            // uri-host [ ":" port ]: reg-name or IP-literal (RFC 3986).
            switch sub {
            case 0:  // leading OWS
                if ows { break }
                if c == C.lbracket { sub = 2 }
                else if c == C.colon { sub = 4 }
                else if isRegNameByte(c) { sub = 1 }
                else { return Why(400, "invalid Host") }
            case 1:  // reg-name
                if c == C.colon { sub = 4 }
                else if ows { sub = 5 }
                else if !isRegNameByte(c) { return Why(400, "invalid Host") }
            case 2:  // IP-literal
                if c == C.rbracket { sub = 3 }
                else if !(isRegNameByte(c) || c == C.colon) || c == C.percent { return Why(400, "invalid Host") }
            case 3:  // after "]"
                if c == C.colon { sub = 4 }
                else if ows { sub = 5 }
                else { return Why(400, "invalid Host") }
            case 4:  // port
                if ows { sub = 5 }
                else if c &- C.digit0 >= 10 { return Why(400, "invalid Host port") }
            default:  // trailing OWS
                if !ows { return Why(400, "invalid Host") }
            }
        case .expect:
            switch sub {
            case 0:
                if ows { break }
                sub = 1
                expectChar(c)
            case 1:
                if ows { sub = 2 } else { expectChar(c) }
            default:
                if !ows { matchOK = false }
            }
        case .other:
            break
        }
        return nil
    }

    private mutating func matchChunked(_ c: UInt8) {
        if matchOK && matchIndex < 7 && asciiLower(c) == chunkedName[matchIndex] { matchIndex += 1 } else { matchOK = false }
    }

    private mutating func expectChar(_ c: UInt8) {
        if matchOK && matchIndex < 12 && asciiLower(c) == continueName[matchIndex] { matchIndex += 1 } else { matchOK = false }
    }

    private mutating func endCoding() {
        let chunked = matchOK && matchIndex == 7 && !elementParams
        codings += 1
        if chunked { chunkedCodings += 1 }
        lastCodingChunked = chunked
        sub = 0
    }

    private mutating func endValue() -> Why? {
        switch field {
        case .contentLength:
            guard digits > 0 else { return Why(400, "Content-Length is not a number") }
            contentLength = number
        case .transferEncoding:
            if sub != 0 { endCoding() }
        case .host:
            if sub == 2 { return Why(400, "invalid Host") }
        case .expect:
            if !(matchOK && matchIndex == 12) { expectOther = true }
        case .other:
            break
        }
        field = .other
        return nil
    }

    /// The empty line that ends the header section (or the trailer section).
    private mutating func endHead(_ end: Int64) -> Why? {
        if inTrailers {
            finishRequest(at: end)
            return nil
        }
        if hostCount == 0 && minor >= 1 { return Why(400, "HTTP/1.1 request without Host") }
        var chunked = false
        if transferEncoding {
            if contentLength >= 0 { return Why(400, "both Content-Length and Transfer-Encoding") }
            if minor == 0 { return Why(400, "Transfer-Encoding in an HTTP/1.0 request") }
            if chunkedCodings == 1 && lastCodingChunked {
                if codings > 1 { return Why(501, "transfer coding not implemented") }
                chunked = true
            } else {
                return Why(400, "Transfer-Encoding without chunked as the final coding")
            }
        }
        let hasBody = chunked || contentLength > 0
        if hasBody && (method == .head || method == .trace) {
            // evhttp never reads a body of these: it would take it for the next request.
            return Why(400, "HEAD or TRACE request with a body")
        }
        if hasBody && expectOther && minor >= 1 { return Why(417, "unsupported expectation") }
        if contentLength > 0 && limits.maxBodySize > 0 && contentLength > limits.maxBodySize {
            return Why(413, "Content-Length exceeds max_body_size")
        }
        if chunked {
            state = S.chunkSizeStart
            chunkLineLength = 0
        } else if contentLength > 0 {
            remaining = contentLength
            state = S.bodyLength
        } else {
            finishRequest(at: end)
        }
        return nil
    }

    private mutating func finishRequest(at end: Int64) {
        completedRequests += 1
        requestStart = end
        let paused = upgrade
        state = paused ? S.paused : S.start
        headBudget = limits.maxHeadSize
        lineDone = false
        line.count = 0
        method = .unknown
        targetLen = 0
        authority = nil
        sub = 0
        field = .other
        contentLength = -1
        hostCount = 0
        transferEncoding = false
        codings = 0
        chunkedCodings = 0
        lastCodingChunked = false
        expectOther = false
        upgrade = false
        inTrailers = false
        bodyTotal = 0
        remaining = 0
    }

    // MARK: - chunked body

    private mutating func chunkByte(_ p: UnsafeMutablePointer<UInt8>, _ i: Int) -> Why? {
        let b = p[i]
        chunkLineLength += 1
        if chunkLineLength > Self.maxChunkLine { return Why(400, "chunk size line too long") }
        switch state {
        case S.chunkSizeStart:
            guard let v = hexDigitValue(b) else {
                return Why(400, b == C.cr || b == C.lf ? "empty chunk size" : "chunk size is not hexadecimal")
            }
            remaining = Int64(v)
            state = S.chunkSize
        case S.chunkSize:
            if let v = hexDigitValue(b) {
                if remaining > Int64.max >> 4 { return Why(400, "chunk size out of range") }
                remaining = remaining << 4 | Int64(v)
            } else if b == C.semicolon {
                p[i] = C.sp  // evhttp stops the size at a space only
                state = S.chunkExt
            } else if b == C.sp || b == C.htab {
                if b == C.htab { p[i] = C.sp }
                state = S.chunkBWS
            } else if b == C.cr {
                state = S.chunkSizeCR
            } else if b == C.lf {
                return endChunkSize()
            } else {
                return Why(400, "chunk size is not hexadecimal")
            }
        case S.chunkBWS:
            if b == C.semicolon { state = S.chunkExt }
            else if b != C.sp && b != C.htab { return Why(400, "invalid chunk extension") }
        case S.chunkExt:
            if b == C.cr { state = S.chunkSizeCR }
            else if b == C.lf { return endChunkSize() }
            else if classes[Int(b)] & C.value == 0 { return Why(400, "control byte in a chunk extension") }
        case S.chunkSizeCR:
            guard b == C.lf else { return Why(400, "bare CR in a chunk size line") }
            return endChunkSize()
        case S.chunkDataEnd:
            if b == C.cr { state = S.chunkDataLF }
            else if b == C.lf { state = S.chunkSizeStart; chunkLineLength = 0 }
            else { return Why(400, "chunk data longer than its size") }
        case S.chunkDataLF:
            guard b == C.lf else { return Why(400, "bare CR after chunk data") }
            state = S.chunkSizeStart
            chunkLineLength = 0
        default:
            break
        }
        return nil
    }

    /// A chunk-size line, extensions included, may not be longer than this.
    static let maxChunkLine = 4096

    private mutating func endChunkSize() -> Why? {
        chunkLineLength = 0
        if remaining == 0 {
            inTrailers = true
            state = S.lineStart
            return nil
        }
        if remaining > Int64.max - bodyTotal { return Why(413, "chunked body too large") }
        bodyTotal += remaining
        if limits.maxBodySize > 0 && bodyTotal > limits.maxBodySize {
            return Why(413, "chunked body exceeds max_body_size")
        }
        state = S.chunkData
        return nil
    }

    // MARK: - rejection

    private mutating func reject(_ why: Why, origin: Int64, n: Int) -> Rejection {
        var requestLine: String?
        if lineDone { requestLine = line.text }
        let r = Rejection(status: why.status, reason: why.reason, requestStart: requestStart,
                          completedRequests: completedRequests, requestLine: requestLine,
                          isHead: method == .head)
        rejection = r
        state = S.rejected
        bytesFed = origin + Int64(n)
        line.count = 0
        authority = nil
        return r
    }
}

// MARK: - tables and constants

/// A fixed 512-byte buffer, one per guard (connection), reused by every
/// request: copying the request line costs a memcpy, never an allocation.
private final class LineBuffer {
    static let capacity = 512
    let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    var count = 0

    deinit { bytes.deallocate() }

    func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        let take = min(n, Self.capacity - count)
        guard take > 0 else { return }
        (bytes + count).update(from: p, count: take)
        count += take
    }

    func dropLineEnd() {
        while count > 0 && (bytes[count - 1] == C.lf || bytes[count - 1] == C.cr) { count -= 1 }
    }

    var text: String { String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self) }
}

private struct Why {
    let status: Int
    let reason: String
    init(_ status: Int, _ reason: String) { self.status = status; self.reason = reason }
}

/// States, ordered: head states first, then body states, then the stopped ones.
private enum S {
    static let start: UInt8 = 0
    static let method: UInt8 = 1
    static let targetStart: UInt8 = 2
    static let target: UInt8 = 3
    static let version: UInt8 = 4
    static let requestLineCR: UInt8 = 5
    static let lineStart: UInt8 = 6
    static let name: UInt8 = 7
    static let value: UInt8 = 8
    static let valueCR: UInt8 = 9
    static let headEndCR: UInt8 = 10
    static let bodyLength: UInt8 = 11
    static let chunkSizeStart: UInt8 = 12
    static let chunkSize: UInt8 = 13
    static let chunkBWS: UInt8 = 14
    static let chunkExt: UInt8 = 15
    static let chunkSizeCR: UInt8 = 16
    static let chunkData: UInt8 = 17
    static let chunkDataEnd: UInt8 = 18
    static let chunkDataLF: UInt8 = 19
    static let paused: UInt8 = 20
    static let rejected: UInt8 = 21
}

private enum Method {
    case get, head, post, put, delete, options, trace, patch, connect, unknown

    /// The methods evhttp knows (case-sensitive, as RFC 9110 says).
    init(word: UInt64, length: Int) {
        switch (length, word) {
        case (3, Packed.get): self = .get
        case (4, Packed.head): self = .head
        case (4, Packed.post): self = .post
        case (3, Packed.put): self = .put
        case (6, Packed.delete): self = .delete
        case (7, Packed.options): self = .options
        case (5, Packed.trace): self = .trace
        case (5, Packed.patch): self = .patch
        case (7, Packed.connect): self = .connect
        default: self = .unknown
        }
    }
}

private enum TargetForm { case origin, asterisk, authority }
private enum Field { case other, contentLength, transferEncoding, host, expect }

/// Names packed the way the scanner packs them: eight bytes to a word,
/// big-endian (the scanner shifts each byte in). Literal, so that no lazy
/// initialization runs on the hot path; `verified` checks them in debug builds.
private enum Packed {
    static let get: UInt64 = 0x474554, head: UInt64 = 0x4845_4144, post: UInt64 = 0x504F_5354
    static let put: UInt64 = 0x505554, delete: UInt64 = 0x4445_4C45_5445, options: UInt64 = 0x4F_5054_494F_4E53
    static let trace: UInt64 = 0x54_5241_4345, patch: UInt64 = 0x50_4154_4348, connect: UInt64 = 0x43_4F4E_4E45_4354
    static let host: UInt64 = 0x686F_7374, expect: UInt64 = 0x6578_7065_6374, upgrade: UInt64 = 0x75_7067_7261_6465
    static let contentLength: (UInt64, UInt64) = (0x636F_6E74_656E_742D, 0x6C65_6E67_7468)
    static let transferEncoding: (UInt64, UInt64, UInt64) = (0x7472_616E_7366_6572, 0x2D65_6E63_6F64_696E, 0x67)
    /// "HTTP/1.1" and "HTTP/1.0" as one little-endian load.
    static let http11: UInt64 = 0x312E_312F_5054_5448, http10: UInt64 = 0x302E_312F_5054_5448

    static func word(_ s: String, from: Int = 0) -> UInt64 {
        s.utf8.dropFirst(from).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    static var verified: Bool {
        Self.get == word("GET") && head == word("HEAD") && post == word("POST") && put == word("PUT")
            && delete == word("DELETE") && options == word("OPTIONS") && trace == word("TRACE")
            && patch == word("PATCH") && connect == word("CONNECT") && host == word("host")
            && expect == word("expect") && upgrade == word("upgrade")
            && contentLength == (word("content-length"), word("content-length", from: 8))
            && transferEncoding == (word("transfer-encoding"), word("transfer-encoding", from: 8),
                                    word("transfer-encoding", from: 16))
            && http11 == Array("HTTP/1.1".utf8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
            && http10 == Array("HTTP/1.0".utf8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// The bytes and byte classes the guard knows by name.
private enum C {
    static let sp: UInt8 = 0x20, htab: UInt8 = 0x09, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A
    static let colon: UInt8 = 0x3A, semicolon: UInt8 = 0x3B, comma: UInt8 = 0x2C, dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F, star: UInt8 = 0x2A, question: UInt8 = 0x3F, hash: UInt8 = 0x23
    static let lbracket: UInt8 = 0x5B, rbracket: UInt8 = 0x5D, percent: UInt8 = 0x25, digit0: UInt8 = 0x30

    /// tchar (RFC 9110 §5.6.2)
    static let token: UInt8 = 1
    /// field-vchar (VCHAR, obs-text), SP and HTAB: what a field value may hold
    static let value: UInt8 = 2
    /// VCHAR and obs-text: what a request-target may hold
    static let target: UInt8 = 4
    /// unreserved, sub-delims and "%": what a reg-name may hold (RFC 3986)
    static let regName: UInt8 = 8
}

private let httpSlash: [UInt8] = Array("HTTP/".utf8)
private let chunkedName: [UInt8] = Array("chunked".utf8)
private let continueName: [UInt8] = Array("100-continue".utf8)

nonisolated(unsafe) private let guardClasses: UnsafeMutablePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    t.initialize(repeating: 0, count: 256)
    let symbols = Array("!#$%&'*+-.^_`|~".utf8)
    for b in 0..<256 {
        let c = UInt8(b)
        var bits: UInt8 = 0
        if (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || symbols.contains(c) { bits |= C.token }
        if c > 0x20 && c != 0x7F { bits |= C.value | C.target }
        if c == C.sp || c == C.htab { bits |= C.value }
        if isRegNameByte(c) { bits |= C.regName }
        t[b] = bits
    }
    return t
}()

@inline(__always) private func asciiLower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }

private func isURIUnreserved(_ c: UInt8) -> Bool {
    (c &- 0x30 < 10) || (c | 0x20) &- 0x61 < 26 || c == 0x2D || c == C.dot || c == 0x5F || c == 0x7E
}

private func isURISubDelim(_ c: UInt8) -> Bool {
    switch c {
    case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: true
    default: false
    }
}

/// reg-name bytes: unreserved, sub-delims and the "%" of pct-encoded.
private func isRegNameByte(_ c: UInt8) -> Bool { isURIUnreserved(c) || isURISubDelim(c) || c == C.percent }
