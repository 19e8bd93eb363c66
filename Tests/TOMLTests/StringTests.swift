import XCTest
import TOML

final class StringTests: XCTestCase {
    func testBasicStringWithAllEscapes() {
        let t = parseOK(#"s = "a\b\t\n\f\r\"\\z""#)
        XCTAssertEqual(value(t, "s")?.string, "a\u{8}\t\n\u{C}\r\"\\z")
    }

    func testUnicodeEscapes() {
        let t = parseOK(#"s = "\u00E9\U0001F600\u0041""#)
        XCTAssertEqual(value(t, "s")?.string, "é😀A")
    }

    func testNonASCIIAndTabKeptAsIs() {
        XCTAssertEqual(value(parseOK("s = \"ü\tß 日本\""), "s")?.string, "ü\tß 日本")
    }

    func testLiteralStringHasNoEscapes() {
        XCTAssertEqual(value(parseOK(#"s = 'C:\Users\n'"#), "s")?.string, #"C:\Users\n"#)
    }

    func testEmptyStrings() {
        XCTAssertEqual(rendered(#"a = ""\#nb = ''\#nc = """"""\#nd = ''''''"#), #"{a="",b="",c="",d=""}"#)
    }

    func testMultilineBasicTrimsFirstNewline() {
        XCTAssertEqual(value(parseOK("s = \"\"\"\nline1\nline2\"\"\""), "s")?.string, "line1\nline2")
    }

    func testMultilineBasicLineEndingBackslash() {
        let text = "s = \"\"\"\\\n   The quick \\   \n\n   brown \\\n   fox.\\\n   \"\"\""
        XCTAssertEqual(value(parseOK(text), "s")?.string, "The quick brown fox.")
    }

    func testMultilineQuotesBeforeClosingDelimiter() {
        XCTAssertEqual(value(parseOK(##"s = """a"""""##), "s")?.string, "a\"")
        XCTAssertEqual(value(parseOK(##"s = """a""""""##), "s")?.string, "a\"\"")
        XCTAssertEqual(value(parseOK(##"s = """"a"""""##), "s")?.string, "\"a\"")
        XCTAssertEqual(value(parseOK(##"s = '''a'''''"##), "s")?.string, "a''")
        XCTAssertEqual(value(parseOK(##"s = """a""b"""""##), "s")?.string, "a\"\"b\"")
    }

    func testMultilineCRLFBecomesLF() {
        XCTAssertEqual(value(parseOK("s = \"\"\"\r\na\r\nb\"\"\"\r\nt = '''\r\nc\r\n'''"), "s")?.string, "a\nb")
        XCTAssertEqual(value(parseOK("t = '''\r\nc\r\nd'''"), "t")?.string, "c\nd")
    }

    func testMultilineLiteralKeepsBackslashes() {
        XCTAssertEqual(value(parseOK("s = '''\nfirst \\\n  second'''"), "s")?.string, "first \\\n  second")
    }

    func testInvalidEscape() {
        assertError(#"s = "ab\qc""#, at: 1, 8, #"invalid escape "\q""#, #"expected one of \b \t \n \f \r \" \\ \u \U"#)
    }

    func testShortUnicodeEscape() {
        assertError(#"s = "\u12G4""#, at: 1, 6, "invalid escape", "4 hexadecimal digits")
    }

    func testSurrogateEscapeIsNotAScalar() {
        assertError(#"s = "\uD800""#, at: 1, 6, "U+D800 is not a Unicode scalar value")
        assertError(#"s = "\U00110000""#, at: 1, 6, "U+110000")
    }

    func testBackslashWhitespaceMustEndTheLine() {
        assertError("s = \"\"\"a\\  b\"\"\"", at: 1, 9, "invalid escape", "must end the line")
        assertError(#"s = "a\ b""#, at: 1, 7, "invalid escape")
    }

    func testControlCharacterInString() {
        assertError("s = \"a\u{7}b\"", at: 1, 7, "control character U+0007 in string")
        assertError("s = 'a\u{7F}'", at: 1, 7, "control character U+007F in string")
        assertError("s = \"\"\"a\u{0}\"\"\"", at: 1, 9, "control character U+0000 in string")
    }

    func testBareCarriageReturnInMultilineString() {
        assertError("s = \"\"\"a\rb\"\"\"", at: 1, 9, "carriage return")
    }

    func testUnterminatedStrings() {
        assertError("s = \"abc\nt = 1", at: 1, 9, "unterminated string", "end of line")
        assertError("s = 'abc", at: 1, 9, "unterminated string", "end of file")
        assertError("s = \"\"\"abc\n\n", at: 3, 1, "unterminated string", #"""""#)
        assertError("s = '''abc''", at: 1, 13, "unterminated string", "'''")
    }

    func testTooManyQuotesAfterMultiline() {
        assertError(##"s = """a"""""""##, at: 1, 14, "expected a newline or end of file after value")
    }
}
