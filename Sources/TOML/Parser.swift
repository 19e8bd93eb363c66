/// The parser state: the document bytes, a cursor, and the tables being built.
/// The grammar lives in extensions (Document, Keys, Values, Strings, Numbers,
/// DateTimes); this file has the cursor primitives shared by all of them.
struct Parser {
    let bytes: [UInt8]
    let end: Int
    /// The cursor: index of the next unread byte.
    var i: Int
    let positions: PositionMap
    var builder: DocumentBuilder
    /// Nesting of arrays and inline tables, bounded so a hostile document
    /// cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 500
    /// How deep the value being parsed sits in the document (the root table
    /// is 0), bounded together with the depth of tables made by dotted keys
    /// and headers, so that nothing downstream recurses without limit either.
    var nesting = 0
    static let maxTableDepth = 1000
    /// Scratch space for strings with escapes, reused between strings.
    var scratch: [UInt8] = []

    init(bytes: [UInt8], start: Int, positions: PositionMap) {
        self.bytes = bytes
        self.end = bytes.count
        self.i = start
        self.positions = positions
        self.builder = DocumentBuilder(root: TableNode(kind: .root, position: TOMLPosition(line: 1, column: 1), depth: 0))
    }

    /// The byte at `j`, or 0 past the end (a real NUL is never valid where
    /// the grammar compares against a byte, so callers check `j < end` only
    /// where the distinction matters).
    @inline(__always) func byte(_ j: Int) -> UInt8 { j < end ? bytes[j] : 0 }

    func position(_ j: Int) -> TOMLPosition { positions.position(at: j) }

    func error(_ message: String, at j: Int) -> TOMLError {
        TOMLError(message, at: positions.position(at: j))
    }

    /// Skips spaces and tabs.
    @inline(__always) mutating func skipWhitespace() {
        while i < end {
            let b = bytes[i]
            if b != 0x20 && b != 0x09 { return }
            i += 1
        }
    }

    /// 1 for LF, 2 for CRLF, 0 otherwise.
    @inline(__always) func newlineLength(at j: Int) -> Int {
        let b = byte(j)
        if b == 0x0A { return 1 }
        if b == 0x0D && byte(j + 1) == 0x0A { return 2 }
        return 0
    }

    /// At "#": skips the comment up to (not including) the line end.
    mutating func skipComment() throws(TOMLError) {
        i += 1
        while i < end {
            let b = bytes[i]
            if b >= 0x20 && b != 0x7F || b == 0x09 {
                i += 1
            } else if newlineLength(at: i) > 0 {
                return
            } else {
                throw error("\(describe(at: i)) in comment", at: i)
            }
        }
    }

    /// Whitespace, newlines and comments, as allowed between array elements.
    mutating func skipArrayFiller() throws(TOMLError) {
        while i < end {
            let b = bytes[i]
            if b == 0x20 || b == 0x09 || b == 0x0A {
                i += 1
            } else if b == 0x0D && byte(i + 1) == 0x0A {
                i += 2
            } else if b == UInt8(ascii: "#") {
                try skipComment()
            } else {
                return
            }
        }
    }

    /// After a statement (and its trailing whitespace and comment): a line end or the end of file.
    mutating func expectLineEnd(after what: String) throws(TOMLError) {
        if i >= end { return }
        let n = newlineLength(at: i)
        if n > 0 { i += n; return }
        throw error("expected a newline or end of file after \(what), found \(describe(at: i))", at: i)
    }

    /// Does the text at `j` start with `word` (ASCII)?
    func matches(_ word: StaticString, at j: Int) -> Bool {
        let n = word.utf8CodeUnitCount
        if j + n > end { return false }
        let w = word.utf8Start
        for k in 0..<n where bytes[j + k] != w[k] { return false }
        return true
    }
}
