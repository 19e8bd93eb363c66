/// The statement level: one key/value pair, table header or comment per line.

extension Parser {
    mutating func parseDocument() throws(TOMLError) {
        while true {
            skipWhitespace()
            guard i < end else { return }
            let b = bytes[i]
            if b == 0x0A { i += 1; continue }
            if b == 0x0D && byte(i + 1) == 0x0A { i += 2; continue }
            if b == UInt8(ascii: "#") {
                try skipComment()
                try expectLineEnd(after: "comment")
            } else if b == UInt8(ascii: "[") {
                try parseHeader()
                try finishLine(after: "table header")
            } else if isBareKeyByte(b) || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                try parseKeyValueStatement()
                try finishLine(after: "value")
            } else {
                throw error("unexpected \(describe(at: i)), expected a key, a [table] header or a comment", at: i)
            }
        }
    }

    /// Trailing whitespace, an optional comment, then the line end.
    private mutating func finishLine(after what: String) throws(TOMLError) {
        skipWhitespace()
        if i < end && bytes[i] == UInt8(ascii: "#") { try skipComment() }
        try expectLineEnd(after: what)
    }

    /// `key = value` at the top level or in a [table] section.
    private mutating func parseKeyValueStatement() throws(TOMLError) {
        let parts = try parseKey()
        try expectEquals(after: parts)
        nesting = builder.current.depth + parts.count
        let node = try parseValue()
        try builder.assign(parts, node)
    }

    /// The "=" of a key/value pair, and the whitespace after it.
    mutating func expectEquals(after parts: [KeyPart]) throws(TOMLError) {
        guard i < end && bytes[i] == UInt8(ascii: "=") else {
            throw error("unexpected \(describe(at: i)), expected \"=\" after key \(quotedKey(parts.map(\.name)))", at: i)
        }
        i += 1
        skipWhitespace()
    }

    /// `[a.b]` or `[[a.b]]`.
    private mutating func parseHeader() throws(TOMLError) {
        let open = i
        let bracket = position(open)
        let isArray = byte(i + 1) == UInt8(ascii: "[")
        i += isArray ? 2 : 1
        skipWhitespace()
        let parts = try parseKey()
        let close = UInt8(ascii: "]")
        if isArray {
            guard byte(i) == close else {
                throw error("unexpected \(describe(at: i)), expected \"]]\" to close the array of tables header", at: i)
            }
            guard byte(i + 1) == close else {
                throw error("unexpected \(describe(at: i + 1)), expected \"]]\" to close the array of tables header", at: i + 1)
            }
            i += 2
        } else {
            guard byte(i) == close else {
                throw error("unexpected \(describe(at: i)), expected \"]\" to close the table header", at: i)
            }
            i += 1
        }
        builder.finishSection()
        if isArray {
            try builder.openArrayTable(parts, at: bracket)
        } else {
            try builder.openTable(parts, at: bracket)
        }
    }
}
