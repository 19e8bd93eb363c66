/// A WebSocket frame header (RFC 6455 §5.2).
struct FrameHeader {
    var fin: Bool
    var rsv: UInt8
    var opcode: UInt8
    var masked: Bool
    var length: Int
    var mask: UInt32
    /// A 64-bit length with the most significant bit set: forbidden.
    var lengthOverflow: Bool
    /// A length in a longer encoding than needed: RFC 6455 §5.2 says MUST NOT.
    var nonMinimal = false

    var isControl: Bool { opcode & 0x8 != 0 }

    /// The header and its size in bytes, or nil until all of it is there.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (FrameHeader, Int)? {
        let s = 0
        guard b.count >= 2 else { return nil }
        let masked = b[s + 1] & 0x80 != 0
        var length = Int(b[s + 1] & 0x7F)
        var size = 2
        var overflow = false
        if length == 126 {
            guard b.count >= 4 else { return nil }
            length = Int(b[s + 2]) << 8 | Int(b[s + 3])
            size = 4
        } else if length == 127 {
            guard b.count >= 10 else { return nil }
            var v: UInt64 = 0
            for i in 2..<10 { v = v << 8 | UInt64(b[s + i]) }
            overflow = v >> 63 != 0
            length = overflow ? 0 : Int(clamping: v)
            size = 10
        }
        var mask: UInt32 = 0
        if masked {
            guard b.count >= size + 4 else { return nil }
            mask = UInt32(b[s + size]) << 24 | UInt32(b[s + size + 1]) << 16 | UInt32(b[s + size + 2]) << 8 | UInt32(b[s + size + 3])
            size += 4
        }
        var header = FrameHeader(fin: b[s] & 0x80 != 0, rsv: (b[s] >> 4) & 0x7, opcode: b[s] & 0x0F, masked: masked,
                                 length: length, mask: mask, lengthOverflow: overflow)
        header.nonMinimal = (b[s + 1] & 0x7F == 126 && length < 126) || (b[s + 1] & 0x7F == 127 && !overflow && length <= 0xFFFF)
        return (header, size)
    }
}

