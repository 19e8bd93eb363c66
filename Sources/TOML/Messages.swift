/// How messages name what was found in the source, TOML types and keys.

extension Parser {
    /// A noun phrase for the character at `j`, for "unexpected X" / "found X":
    /// `"="`, `end of line`, `end of file`, `control character U+0007`.
    func describe(at j: Int) -> String {
        if j >= end { return "end of file" }
        let b = bytes[j]
        if b == 0x0A { return "end of line" }
        if b == 0x0D {
            return byte(j + 1) == 0x0A ? "end of line" : "a carriage return (U+000D) not followed by a line feed"
        }
        if b == 0x22 { return "'\"'" }
        if b < 0x20 || b == 0x7F { return "control character \(codePointName(UInt32(b)))" }
        if b < 0x80 { return "\"" + String(UnicodeScalar(b)) + "\"" }
        let scalar = decodeScalar(at: j)
        if let s = Unicode.Scalar(scalar) {
            switch s.properties.generalCategory {
            case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator,
                 .unassigned, .privateUse, .surrogate, .nonspacingMark, .enclosingMark:
                return codePointName(scalar)
            default:
                return "\"" + String(s) + "\" (\(codePointName(scalar)))"
            }
        }
        return codePointName(scalar)
    }

    /// Decodes the (already validated) UTF-8 scalar starting at `j`.
    func decodeScalar(at j: Int) -> UInt32 {
        let b0 = UInt32(bytes[j])
        if b0 < 0x80 { return b0 }
        if b0 < 0xE0 { return (b0 & 0x1F) << 6 | UInt32(byte(j + 1) & 0x3F) }
        if b0 < 0xF0 {
            return (b0 & 0x0F) << 12 | UInt32(byte(j + 1) & 0x3F) << 6 | UInt32(byte(j + 2) & 0x3F)
        }
        return (b0 & 0x07) << 18 | UInt32(byte(j + 1) & 0x3F) << 12 | UInt32(byte(j + 2) & 0x3F) << 6
            | UInt32(byte(j + 3) & 0x3F)
    }

    /// The source text from `a` to `b`, for quoting in messages.
    func text(_ a: Int, _ b: Int) -> String {
        String(decoding: bytes[a..<min(b, end)], as: UTF8.self)
    }
}

/// "an integer", "a table", ...
func withArticle(_ value: TOMLValue) -> String {
    switch value {
    case .integer, .offsetDateTime, .array: "an \(value.typeName)"
    case .table: "an inline table"
    default: "a \(value.typeName)"
    }
}

@inline(__always) func isBareKeyByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
        true
    default:
        false
    }
}

/// A key as TOML would write it: bare parts as is, others quoted.
func displayKey<S: Sequence>(_ parts: S) -> String where S.Element == String {
    parts.map { part in
        if !part.isEmpty && part.utf8.allSatisfy(isBareKeyByte) { return part }
        var out = "\""
        for s in part.unicodeScalars {
            switch s {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if s.value < 0x20 || s.value == 0x7F {
                    out += "\\u" + String(codePointName(s.value).dropFirst(2))
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out + "\""
    }.joined(separator: ".")
}

/// A key for a message: `"port"`, `"server.port"`, or `a."b c"` when the key
/// itself contains quotes.
func quotedKey<S: Sequence>(_ parts: S) -> String where S.Element == String {
    let shown = displayKey(parts)
    return shown.contains("\"") ? shown : "\"" + shown + "\""
}
