/// Incremental UTF-8 validation (RFC 3629): fed bytes in pieces, it fails at
/// the first byte that can no longer be valid, so a bad text message is
/// refused while it is still arriving.
struct UTF8Stream {
    /// Continuation bytes still expected in the current sequence.
    private var need = 0
    /// Allowed range of the next byte (tighter after E0, ED, F0, F4).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF

    /// False as soon as the bytes so far cannot start valid UTF-8.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var i = 0
        let n = bytes.count
        while i < n {
            if need == 0 {
                // ASCII, the bulk of most text, eight bytes at a time.
                while i + 8 <= n && base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                }
                if i == n { break }
            }
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            i += 1
            if need == 0 {
                switch b {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: need = 1; low = 0x80; high = 0xBF
                case 0xE0: need = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: need = 2; low = 0x80; high = 0xBF
                case 0xED: need = 2; low = 0x80; high = 0x9F  // no surrogates
                case 0xF0: need = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: need = 3; low = 0x80; high = 0xBF
                case 0xF4: need = 3; low = 0x80; high = 0x8F  // nothing past U+10FFFF
                default: return false
                }
            } else {
                guard b >= low && b <= high else { return false }
                need -= 1
                low = 0x80; high = 0xBF
            }
        }
        return true
    }

    /// At the end of a message: no sequence left half-done.
    var complete: Bool { need == 0 }

    mutating func reset() { self = UTF8Stream() }

    static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isValid($0) }
    }

    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var s = UTF8Stream()
        return s.feed(bytes) && s.complete
    }
}
