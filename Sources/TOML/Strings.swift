/// Basic, literal and multi-line strings.

private let quote = UInt8(ascii: "\"")
private let apostrophe = UInt8(ascii: "'")
private let backslash = UInt8(ascii: "\\")

extension Parser {
    /// Is `b` allowed as is inside a string (everything but control characters; tab is fine)?
    @inline(__always) private func isPlainStringByte(_ b: UInt8) -> Bool {
        b >= 0x20 && b != 0x7F || b == 0x09
    }

    private func controlCharacterError(at j: Int) -> TOMLError {
        error("\(describe(at: j)) in string", at: j)
    }

    /// `"..."` with escapes, on one line.
    mutating func parseBasicString() throws(TOMLError) -> String {
        i += 1
        var chunk = i
        scratch.removeAll(keepingCapacity: true)
        while true {
            let b = byte(i)
            if b == quote && i < end {
                let result = finishScratch(appending: chunk, i)
                i += 1
                return result
            }
            if b == backslash {
                scratch.append(contentsOf: bytes[chunk..<i])
                try parseEscape(multiline: false)
                chunk = i
            } else if isPlainStringByte(b) {
                i += 1
            } else if i >= end {
                throw error("unterminated string, expected '\"' before end of file", at: i)
            } else if newlineLength(at: i) > 0 {
                throw error("unterminated string, expected '\"' before end of line (use \"\"\" for multi-line strings)", at: i)
            } else {
                throw controlCharacterError(at: i)
            }
        }
    }

    /// `'...'`, no escapes, on one line.
    mutating func parseLiteralString() throws(TOMLError) -> String {
        i += 1
        let start = i
        while true {
            let b = byte(i)
            if b == apostrophe && i < end {
                i += 1
                return text(start, i - 1)
            }
            if isPlainStringByte(b) {
                i += 1
            } else if i >= end {
                throw error("unterminated string, expected \"'\" before end of file", at: i)
            } else if newlineLength(at: i) > 0 {
                throw error("unterminated string, expected \"'\" before end of line (use ''' for multi-line strings)", at: i)
            } else {
                throw controlCharacterError(at: i)
            }
        }
    }

    /// `"""..."""`: escapes, newlines (CRLF read as LF), a newline right after
    /// the opening delimiter trimmed, line-ending backslashes, and up to two
    /// quotes right before the closing delimiter kept as content.
    mutating func parseMultilineBasicString() throws(TOMLError) -> String {
        try parseMultilineString(delimiter: quote, escapes: true)
    }

    /// `'''...'''`: the same without escapes.
    mutating func parseMultilineLiteralString() throws(TOMLError) -> String {
        try parseMultilineString(delimiter: apostrophe, escapes: false)
    }

    private mutating func parseMultilineString(delimiter: UInt8, escapes: Bool) throws(TOMLError) -> String {
        i += 3
        i += newlineLength(at: i)
        var chunk = i
        scratch.removeAll(keepingCapacity: true)
        while true {
            let b = byte(i)
            if b == delimiter {
                if byte(i + 1) == delimiter && byte(i + 2) == delimiter {
                    var contentEnd = i
                    while contentEnd - i < 2 && byte(contentEnd + 3) == delimiter { contentEnd += 1 }
                    let result = finishScratch(appending: chunk, contentEnd)
                    i = contentEnd + 3
                    return result
                }
                i += 1
            } else if escapes && b == backslash {
                scratch.append(contentsOf: bytes[chunk..<i])
                try parseEscape(multiline: true)
                chunk = i
            } else if isPlainStringByte(b) || b == 0x0A {
                i += 1
            } else if b == 0x0D && byte(i + 1) == 0x0A {
                scratch.append(contentsOf: bytes[chunk..<i])
                i += 1
                chunk = i
                i += 1
            } else if i >= end {
                let closing = delimiter == quote ? "'\"\"\"'" : "\"'''\""
                throw error("unterminated string, expected \(closing) before end of file", at: i)
            } else {
                throw controlCharacterError(at: i)
            }
        }
    }

    /// The scratch buffer plus `bytes[a..<b]`, as a string.
    private func finishScratch(appending a: Int, _ b: Int) -> String {
        if scratch.isEmpty { return text(a, b) }
        var out = scratch
        out.append(contentsOf: bytes[a..<b])
        return String(decoding: out, as: UTF8.self)
    }

    /// At a backslash: appends the escaped character to `scratch` (or, for a
    /// line-ending backslash, skips the line end and following whitespace).
    private mutating func parseEscape(multiline: Bool) throws(TOMLError) {
        let start = i
        let e = byte(i + 1)
        let replacement: UInt8
        switch e {
        case UInt8(ascii: "b"): replacement = 0x08
        case UInt8(ascii: "t"): replacement = 0x09
        case UInt8(ascii: "n"): replacement = 0x0A
        case UInt8(ascii: "f"): replacement = 0x0C
        case UInt8(ascii: "r"): replacement = 0x0D
        case quote: replacement = quote
        case backslash: replacement = backslash
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            try parseUnicodeEscape(digits: e == UInt8(ascii: "u") ? 4 : 8)
            return
        default:
            if multiline, try skipLineEndingBackslash() { return }
            if start + 1 >= end {
                throw error("unterminated string, expected '\(multiline ? "\"\"\"" : "\"")' before end of file", at: start + 1)
            }
            let shown = e >= 0x21 && e < 0x7F ? "\"\\" + String(UnicodeScalar(e)) + "\""
                : "\"\\\" followed by \(describe(at: start + 1))"
            throw error("invalid escape \(shown) in string, expected one of \\b \\t \\n \\f \\r \\\" \\\\ \\u \\U", at: start)
        }
        scratch.append(replacement)
        i += 2
    }

    /// `\` + optional spaces/tabs + line end: skips all whitespace and line
    /// ends after it. Returns false (cursor unmoved) when the backslash is not
    /// directly followed by whitespace.
    private mutating func skipLineEndingBackslash() throws(TOMLError) -> Bool {
        let start = i
        var j = i + 1
        while byte(j) == 0x20 || byte(j) == 0x09 { j += 1 }
        let n = newlineLength(at: j)
        if n == 0 {
            if j == start + 1 { return false }
            if j >= end {
                throw error("unterminated string, expected '\"\"\"' before end of file", at: j)
            }
            throw error("invalid escape \"\\ \" in string: a backslash followed by whitespace must end the line, found \(describe(at: j))", at: start)
        }
        j += n
        while true {
            let b = byte(j)
            if b == 0x20 || b == 0x09 || b == 0x0A {
                j += 1
            } else if b == 0x0D && byte(j + 1) == 0x0A {
                j += 2
            } else {
                break
            }
        }
        i = j
        return true
    }

    /// `\uXXXX` or `\UXXXXXXXX`: must name a Unicode scalar value.
    private mutating func parseUnicodeEscape(digits: Int) throws(TOMLError) {
        let start = i
        var value: UInt32 = 0
        for k in 0..<digits {
            let b = byte(start + 2 + k)
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default:
                let letter = digits == 4 ? "u" : "U"
                throw error("invalid escape \"\\\(letter)\(text(start + 2, start + 2 + k))\", expected \(digits) hexadecimal digits after \\\(letter), found \(describe(at: start + 2 + k))", at: start)
            }
            value = value << 4 | UInt32(d)
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("invalid escape \"\(text(start, start + 2 + digits))\": \(codePointName(value)) is not a Unicode scalar value", at: start)
        }
        appendScalar(scalar)
        i = start + 2 + digits
    }

    private mutating func appendScalar(_ scalar: Unicode.Scalar) {
        let v = scalar.value
        if v < 0x80 {
            scratch.append(UInt8(v))
        } else if v < 0x800 {
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        } else if v < 0x10000 {
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }
}
