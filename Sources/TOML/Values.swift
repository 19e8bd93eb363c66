/// Values: dispatch on the first character, booleans, arrays and inline tables.

extension Parser {
    /// Parses the value at the cursor.
    mutating func parseValue() throws(TOMLError) -> TOMLNode {
        let start = i
        let position = position(start)
        let b = byte(i)
        let value: TOMLValue
        switch b {
        case UInt8(ascii: "\""):
            value = .string(byte(i + 1) == b && byte(i + 2) == b
                ? try parseMultilineBasicString() : try parseBasicString())
        case UInt8(ascii: "'"):
            value = .string(byte(i + 1) == b && byte(i + 2) == b
                ? try parseMultilineLiteralString() : try parseLiteralString())
        case UInt8(ascii: "t"):
            guard matches("true", at: i) else { throw invalidValue(at: start) }
            i += 4
            value = .boolean(true)
        case UInt8(ascii: "f"):
            guard matches("false", at: i) else { throw invalidValue(at: start) }
            i += 5
            value = .boolean(false)
        case UInt8(ascii: "["):
            value = try parseArray()
        case UInt8(ascii: "{"):
            value = try parseInlineTable()
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if isDigit(byte(i + 1)) && isDigit(byte(i + 2)) && isDigit(byte(i + 3)) && byte(i + 4) == UInt8(ascii: "-") {
                value = try parseDateOrDateTime()
            } else if isDigit(byte(i + 1)) && byte(i + 2) == UInt8(ascii: ":") {
                value = .localTime(try parseTimeOfDay())
            } else {
                value = try parseNumber()
            }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            value = try parseNumber()
        case UInt8(ascii: "i"), UInt8(ascii: "n"):
            guard matches("inf", at: i) || matches("nan", at: i) else { throw invalidValue(at: start) }
            value = try parseNumber()
        default:
            throw invalidValue(at: start)
        }
        return TOMLNode(value, at: position)
    }

    /// The error for something that starts no value; a bare word is quoted whole.
    private func invalidValue(at j: Int) -> TOMLError {
        var k = j
        while k < end && k - j < 40 && isBareKeyByte(bytes[k]) { k += 1 }
        if k > j {
            let word = text(j, k)
            let hint = bytes[j] >= UInt8(ascii: "A") ? " (strings must be quoted)" : ""
            return error("unexpected \"\(word)\", expected a value\(hint)", at: j)
        }
        return error("unexpected \(describe(at: j)), expected a value", at: j)
    }

    private mutating func enterNested(at j: Int) throws(TOMLError) {
        depth += 1
        if depth > Parser.maxDepth {
            throw error("arrays and inline tables are nested more than \(Parser.maxDepth) deep", at: j)
        }
        if nesting > Parser.maxTableDepth {
            throw error("tables and arrays are nested more than \(Parser.maxTableDepth) deep", at: j)
        }
    }

    /// `[ v, v, ... ]`, newlines and comments allowed, trailing comma allowed.
    private mutating func parseArray() throws(TOMLError) -> TOMLValue {
        let open = i
        try enterNested(at: open)
        defer { depth -= 1 }
        let outerNesting = nesting
        defer { nesting = outerNesting }
        nesting += 1
        i += 1
        var items: [TOMLNode] = []
        try skipArrayFiller()
        if byte(i) == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            items.append(try parseValue())
            try skipArrayFiller()
            let b = byte(i)
            if b == UInt8(ascii: "]") { i += 1; return .array(items) }
            guard b == UInt8(ascii: ",") else {
                let opened = i >= end ? " (array opened at \(position(open)))" : ""
                throw error("unexpected \(describe(at: i)), expected \",\" or \"]\" in array\(opened)", at: i)
            }
            i += 1
            try skipArrayFiller()
            if byte(i) == UInt8(ascii: "]") { i += 1; return .array(items) }
        }
    }

    /// `{ k = v, ... }` on one line, no trailing comma; immutable once closed.
    private mutating func parseInlineTable() throws(TOMLError) -> TOMLValue {
        let open = i
        try enterNested(at: open)
        defer { depth -= 1 }
        let table = TableNode(kind: .inline, position: position(open), depth: nesting)
        let outerNesting = nesting
        defer { nesting = outerNesting }
        i += 1
        skipWhitespace()
        if byte(i) == UInt8(ascii: "}") { i += 1; return .table(table.toTOMLTable()) }
        while true {
            let b = byte(i)
            guard isBareKeyByte(b) || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") else {
                let hint: String
                if b == UInt8(ascii: "}") {
                    hint = " (inline tables cannot have a trailing comma)"
                } else if i >= end {
                    hint = " (inline table opened at \(position(open)))"
                } else if newlineLength(at: i) > 0 {
                    hint = " (an inline table must be on a single line)"
                } else {
                    hint = ""
                }
                throw error("unexpected \(describe(at: i)), expected a key\(hint)", at: i)
            }
            let parts = try parseKey()
            try expectEquals(after: parts)
            nesting = table.depth + parts.count
            let node = try parseValue()
            var noPending: [TableNode] = []
            try DocumentBuilder.insert(parts, node, into: table, inSection: false, pending: &noPending)
            skipWhitespace()
            let c = byte(i)
            if c == UInt8(ascii: "}") { i += 1; return .table(table.toTOMLTable()) }
            guard c == UInt8(ascii: ",") else {
                let hint = i >= end ? " (inline table opened at \(position(open)))"
                    : newlineLength(at: i) > 0 ? " (an inline table must be on a single line)" : ""
                throw error("unexpected \(describe(at: i)), expected \",\" or \"}\" in inline table\(hint)", at: i)
            }
            i += 1
            skipWhitespace()
        }
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
