/// Keys: bare, quoted and dotted (whitespace allowed around the dots).

/// One part of a (possibly dotted) key and where it was written.
struct KeyPart {
    var name: String
    var position: TOMLPosition
}

extension Parser {
    /// Parses a key at the cursor and the whitespace after it.
    mutating func parseKey() throws(TOMLError) -> [KeyPart] {
        var parts = [try parseKeyPart(afterDot: false)]
        skipWhitespace()
        while i < end && bytes[i] == UInt8(ascii: ".") {
            i += 1
            skipWhitespace()
            parts.append(try parseKeyPart(afterDot: true))
            skipWhitespace()
        }
        return parts
    }

    private mutating func parseKeyPart(afterDot: Bool) throws(TOMLError) -> KeyPart {
        let start = i
        let b = byte(i)
        if isBareKeyByte(b) {
            let position = position(start)
            i += 1
            while i < end && isBareKeyByte(bytes[i]) { i += 1 }
            return KeyPart(name: String(decoding: bytes[start..<i], as: UTF8.self), position: position)
        }
        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            if byte(i + 1) == b && byte(i + 2) == b {
                throw error("a multi-line string cannot be used as a key", at: start)
            }
            let position = position(start)
            let name = b == UInt8(ascii: "'") ? try parseLiteralString() : try parseBasicString()
            return KeyPart(name: name, position: position)
        }
        throw error("unexpected \(describe(at: i)), expected a key\(afterDot ? " after \".\"" : "")", at: i)
    }
}
