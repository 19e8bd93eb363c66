/// Strict UTF-8 validation (the well-formed byte sequences of Unicode table 3-7:
/// no overlong forms, no surrogates, nothing above U+10FFFF).
enum UTF8Validator {
    /// The index of the first byte of the first ill-formed sequence, or nil.
    static func firstInvalidSequence(in bytes: [UInt8], from start: Int) -> Int? {
        bytes.withUnsafeBufferPointer { p -> Int? in
            let n = p.count
            var i = start
            while i < n {
                let b0 = p[i]
                if b0 < 0x80 { i += 1; continue }
                let length: Int
                var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
                switch b0 {
                case 0xC2...0xDF: length = 2
                case 0xE0: length = 3; lo = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: length = 3
                case 0xED: length = 3; hi = 0x9F
                case 0xF0: length = 4; lo = 0x90
                case 0xF1...0xF3: length = 4
                case 0xF4: length = 4; hi = 0x8F
                default: return i
                }
                if i + length > n { return i }
                let b1 = p[i + 1]
                if b1 < lo || b1 > hi { return i }
                var k = 2
                while k < length {
                    if p[i + k] & 0xC0 != 0x80 { return i }
                    k += 1
                }
                i += length
            }
            return nil
        }
    }
}

/// "0xFF"
func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return "0x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])
}

/// "U+0007", "U+1F600"
func codePointName(_ v: UInt32) -> String {
    var hex = String(v, radix: 16, uppercase: true)
    while hex.count < 4 { hex = "0" + hex }
    return "U+" + hex
}
