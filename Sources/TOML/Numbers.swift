/// Integers (decimal, 0x, 0o, 0b; Int64) and floats (fraction, exponent, inf, nan).

private let underscore = UInt8(ascii: "_")

extension Parser {
    /// A number at the cursor (which is at a sign, a digit, "inf" or "nan").
    mutating func parseNumber() throws(TOMLError) -> TOMLValue {
        let start = i
        var j = i
        let sign = byte(j)
        let hasSign = sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-")
        let negative = sign == UInt8(ascii: "-")
        if hasSign { j += 1 }

        if matches("inf", at: j) || matches("nan", at: j) {
            let isInf = bytes[j] == UInt8(ascii: "i")
            i = j + 3
            try checkNumberEnd(start: start)
            let magnitude = isInf ? Double.infinity : Double.nan
            return .float(negative ? -magnitude : magnitude)
        }
        let first = byte(j)
        guard isDigit(first) else {
            throw error("unexpected \(describe(at: j)) after \"\(String(UnicodeScalar(sign)))\", expected a number", at: j)
        }
        if first == UInt8(ascii: "0") {
            let p = byte(j + 1)
            if p == UInt8(ascii: "x") || p == UInt8(ascii: "o") || p == UInt8(ascii: "b") {
                if hasSign {
                    throw error("a sign is not allowed before \(radixName(p)) integer \"\(text(start, wordEnd(from: start)))\"", at: start)
                }
                return try parseRadixInteger(prefix: p)
            }
            if p == UInt8(ascii: "X") || p == UInt8(ascii: "O") || p == UInt8(ascii: "B") {
                throw error("unexpected \(describe(at: j + 1)) in number, expected a lowercase prefix (0x, 0o or 0b)", at: j + 1)
            }
            if isDigit(p) || p == underscore {
                let word = text(start, wordEnd(from: start))
                let kind = word.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? "float" : "integer"
                throw error("leading zero in \(kind) \"\(word)\"", at: j)
            }
        }

        var k = try scanDigits(from: j, isDigit)
        var isFloat = false
        if byte(k) == UInt8(ascii: ".") {
            isFloat = true
            k += 1
            guard isDigit(byte(k)) else {
                throw error("unexpected \(describe(at: k)) after \".\" in number, expected a digit", at: k)
            }
            k = try scanDigits(from: k, isDigit)
        }
        let e = byte(k)
        if e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isFloat = true
            k += 1
            if byte(k) == UInt8(ascii: "+") || byte(k) == UInt8(ascii: "-") { k += 1 }
            guard isDigit(byte(k)) else {
                throw error("unexpected \(describe(at: k)) in exponent, expected a digit", at: k)
            }
            k = try scanDigits(from: k, isDigit)
        }
        i = k
        try checkNumberEnd(start: start)

        if isFloat {
            var digits = ""
            digits.reserveCapacity(k - start)
            for b in bytes[start..<k] where b != underscore { digits.unicodeScalars.append(UnicodeScalar(b)) }
            return .float(Double(digits) ?? .nan)
        }
        // Accumulate the magnitude; the limit allows Int64.min.
        let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        for b in bytes[j..<k] where b != underscore {
            let d = UInt64(b - UInt8(ascii: "0"))
            if magnitude > (limit - d) / 10 {
                throw error("integer \(text(start, k)) does not fit in 64 bits", at: start)
            }
            magnitude = magnitude * 10 + d
        }
        if negative {
            return .integer(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        return .integer(Int64(magnitude))
    }

    /// `0x...`, `0o...`, `0b...` (no sign), which must fit in Int64.
    private mutating func parseRadixInteger(prefix: UInt8) throws(TOMLError) -> TOMLValue {
        let start = i
        let radix: UInt64
        let valid: (UInt8) -> Bool
        switch prefix {
        case UInt8(ascii: "x"):
            radix = 16
            valid = { isDigit($0) || ($0 | 0x20) &- UInt8(ascii: "a") < 6 }
        case UInt8(ascii: "o"):
            radix = 8
            valid = { $0 &- UInt8(ascii: "0") < 8 }
        default:
            radix = 2
            valid = { $0 &- UInt8(ascii: "0") < 2 }
        }
        let first = start + 2
        guard valid(byte(first)) else {
            throw error("unexpected \(describe(at: first)) after \"0\(String(UnicodeScalar(prefix)))\", expected \(prefix == UInt8(ascii: "o") ? "an" : "a") \(radixName(prefix)) digit", at: first)
        }
        let k = try scanDigits(from: first, valid)
        if isDigit(byte(k)) || isBareKeyByte(byte(k)) && byte(k) != underscore && byte(k) != UInt8(ascii: "-") {
            throw error("invalid \(radixName(prefix)) digit \(describe(at: k))", at: k)
        }
        i = k
        try checkNumberEnd(start: start)
        var value: UInt64 = 0
        for b in bytes[first..<k] where b != underscore {
            let d: UInt64 = isDigit(b) ? UInt64(b - UInt8(ascii: "0")) : UInt64((b | 0x20) - UInt8(ascii: "a") + 10)
            if value > (UInt64(Int64.max) - d) / radix {
                throw error("integer \(text(start, k)) does not fit in 64 bits", at: start)
            }
            value = value * radix + d
        }
        return .integer(Int64(value))
    }

    /// Digits with single underscores between them, from `j` (a digit).
    /// Returns the index after the last digit.
    private func scanDigits(from j: Int, _ valid: (UInt8) -> Bool) throws(TOMLError) -> Int {
        var k = j + 1
        while true {
            let b = byte(k)
            if valid(b) {
                k += 1
            } else if b == underscore {
                guard valid(byte(k + 1)) else {
                    throw error("unexpected \"_\" in number, an underscore must be between two digits", at: k)
                }
                k += 2
            } else {
                return k
            }
        }
    }

    /// A number must not run into letters, digits, dots, colons...
    private func checkNumberEnd(start: Int) throws(TOMLError) {
        let b = byte(i)
        if isBareKeyByte(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "+") || b == UInt8(ascii: ":") {
            throw error("unexpected \(describe(at: i)) in number \"\(text(start, wordEnd(from: start)))\"", at: i)
        }
    }

    /// The end of the run of number-like characters starting at `j`, for quoting.
    private func wordEnd(from j: Int) -> Int {
        var k = j
        while k < end && k - j < 64 {
            let b = bytes[k]
            guard isBareKeyByte(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "+") || b == UInt8(ascii: ":") else { break }
            k += 1
        }
        return k
    }

    private func radixName(_ prefix: UInt8) -> String {
        switch prefix {
        case UInt8(ascii: "x"): "hexadecimal"
        case UInt8(ascii: "o"): "octal"
        default: "binary"
        }
    }
}
