/// Writes text into a caller's fixed buffer (usually a stack allocation), so
/// header values such as ETag, Last-Modified and Content-Range are made
/// without a heap allocation. Writes past the end are dropped; callers size
/// the buffer for the longest value they write.
struct ByteWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    mutating func append(_ byte: UInt8) {
        guard count < buffer.count else { return }
        buffer[count] = byte
        count += 1
    }

    mutating func append(_ text: StaticString) {
        let p = text.utf8Start
        for i in 0..<text.utf8CodeUnitCount { append(p[i]) }
    }

    mutating func append<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for b in bytes { append(b) }
    }

    /// `value` in decimal, zero-padded to at least `width` digits.
    mutating func appendDecimal(_ value: Int, width: Int = 1) {
        appendDigits(UInt64(max(0, value)), radix: 10, width: width)
    }

    mutating func appendDecimal(_ value: Int64, width: Int = 1) {
        appendDigits(UInt64(max(0, value)), radix: 10, width: width)
    }

    /// Lower-case hex, as nginx prints ETags.
    mutating func appendHex(_ value: UInt64) {
        appendDigits(value, radix: 16, width: 1)
    }

    private mutating func appendDigits(_ value: UInt64, radix: UInt64, width: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 decimal digits
        let n = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var v = value, n = 0
            repeat {
                let d = UInt8(v % radix)
                raw[n] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10
                v /= radix
                n += 1
            } while v > 0
            return n
        }
        if width > n { for _ in 0..<(width - n) { append(UInt8(ascii: "0")) } }
        withUnsafeBytes(of: &digits) { raw in
            for i in stride(from: n - 1, through: 0, by: -1) { append(raw[i]) }
        }
    }
}

/// Runs `body` with a NUL-terminated header value written by `write` into a
/// stack buffer of `capacity` bytes.
func withHeaderValue<R>(capacity: Int, _ write: (inout ByteWriter) -> Void,
                        _ body: (UnsafePointer<CChar>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity + 1) { buffer in
        var w = ByteWriter(UnsafeMutableBufferPointer(rebasing: buffer[..<capacity]))
        write(&w)
        buffer[w.count] = 0
        return body(UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self))
    }
}
