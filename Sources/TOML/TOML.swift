/// The public entry point: TOML 1.0 text in, an ordered table with positions out.
public enum TOML {
    /// Parses a whole document given as UTF-8 bytes (LF or CRLF line endings;
    /// a leading byte-order mark is skipped).
    public static func parse(_ bytes: [UInt8]) throws(TOMLError) -> TOMLTable {
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        let positions = PositionMap(bytes, start: start)
        if let bad = UTF8Validator.firstInvalidSequence(in: bytes, from: start) {
            throw TOMLError("invalid UTF-8 byte \(hexByte(bytes[bad]))", at: positions.position(at: bad))
        }
        var parser = Parser(bytes: bytes, start: start, positions: positions)
        try parser.parseDocument()
        return parser.builder.root.toTOMLTable()
    }

    /// Parses a whole document given as a string.
    public static func parse(string: String) throws(TOMLError) -> TOMLTable {
        try parse(Array(string.utf8))
    }
}
