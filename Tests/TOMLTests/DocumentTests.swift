import XCTest
import TOML

final class DocumentTests: XCTestCase {
    func testEmptyDocuments() {
        XCTAssertEqual(rendered(""), "{}")
        XCTAssertEqual(rendered("\n\n  \n\t\n"), "{}")
        XCTAssertEqual(rendered("# only a comment"), "{}")
    }

    func testCommentsEverywhere() {
        XCTAssertEqual(rendered("# top\na = 1 # after value\n[t] # after header\n# end\n#"), "{a=1,t={}}")
    }

    func testCommentMayHoldTabsAndUnicode() {
        XCTAssertEqual(rendered("a = 1 #\tcafé ☕"), "{a=1}")
    }

    func testControlCharacterInComment() {
        assertError("a = 1 # bell \u{7}", at: 1, 14, "control character U+0007 in comment")
        assertError("# \u{7F}", at: 1, 3, "U+007F")
    }

    func testCRLFLineEndings() {
        XCTAssertEqual(rendered("a = 1\r\n[t]\r\nb = 'x' # c\r\n"), #"{a=1,t={b="x"}}"#)
        let t = parseOK("a = 1\r\nb = 2")
        XCTAssertEqual(t["b"]?.keyPosition, pos(2, 1))
    }

    func testBareCarriageReturnIsAnError() {
        assertError("a = 1\rb = 2", at: 1, 6, "carriage return")
        assertError("# c\rb", at: 1, 4, "carriage return")
        assertError("\r", at: 1, 1, "carriage return")
    }

    func testValueMustEndTheLine() {
        assertError("a = 1 b = 2", at: 1, 7, #"expected a newline or end of file after value, found "b""#)
        assertError("a = \"x\" \"y\"", at: 1, 9, "after value")
    }

    func testInvalidStatement() {
        assertError("a = 1\n  ! = 2", at: 2, 3, #"unexpected "!""#, "expected a key")
        assertError("a = 1\n\u{C}", at: 2, 1, "control character U+000C")
    }

    func testUnquotedStringValue() {
        assertError("name = hello", at: 1, 8, #"unexpected "hello", expected a value"#, "quoted")
    }

    func testInvalidUTF8() {
        assertError(bytes: Array("a = \"".utf8) + [0xFF] + Array("\"".utf8), at: 1, 6, ["invalid UTF-8 byte 0xFF"])
        assertError(bytes: Array("é = 1\n# ü ".utf8) + [0xC3], at: 2, 5, ["invalid UTF-8 byte 0xC3"])
        assertError(bytes: Array("a = '".utf8) + [0xED, 0xA0, 0x80, 0x27], at: 1, 6, ["invalid UTF-8"])
        assertError(bytes: [0x23, 0xC0, 0x80], at: 1, 2, ["0xC0"])
    }

    func testByteOrderMarkIsSkipped() {
        let t = try? TOML.parse([0xEF, 0xBB, 0xBF] + Array("a = 1".utf8))
        XCTAssertEqual(t?["a"]?.keyPosition, pos(1, 1))
        XCTAssertEqual(t?["a"]?.node.value.integer, 1)
    }

    func testColumnsCountUnicodeScalars() {
        let t = parseOK("t = { s = \"日本語\", x = 1 }")
        XCTAssertEqual(entry(t, "t", "x")?.keyPosition, pos(1, 18))
        XCTAssertEqual(entry(t, "t", "x")?.node.position, pos(1, 22))
    }

    func testColumnsCountScalarsInErrors() {
        assertError("s = \"日本語😀\" x", at: 1, 12, "after value")
    }

    func testErrorFormatting() {
        do {
            _ = try TOML.parse(string: "a = 1\na = 2")
            XCTFail("no error")
        } catch {
            XCTAssertEqual(error.description, #"2:1: error: duplicate key "a" (first defined at 1:1)"#)
            XCTAssertEqual(error.formatted(file: "server.conf"), #"server.conf:2:1: error: duplicate key "a" (first defined at 1:1)"#)
        }
    }

    func testParseBytesAndStringAgree() throws {
        let text = "[t]\nk = [1, 'two', {three = 3.0}]"
        XCTAssertEqual(render(.table(try TOML.parse(Array(text.utf8)))), render(.table(try TOML.parse(string: text))))
    }

    func testFullExampleDocument() {
        let text = """
        # This is a TOML document

        title = "TOML Example"

        [owner]
        name = "Tom Preston-Werner"
        dob = 1979-05-27T07:32:00-08:00

        [database]
        enabled = true
        ports = [ 8000, 8001, 8002 ]
        data = [ ["delta", "phi"], [3.14] ]
        temp_targets = { cpu = 79.5, case = 72.0 }

        [servers]

        [servers.alpha]
        ip = "10.0.0.1"
        role = "frontend"

        [servers.beta]
        ip = "10.0.0.2"
        role = "backend"
        """
        let expected = #"{title="TOML Example",owner={name="Tom Preston-Werner",dob=1979-5-27T7:32:0@-480},"#
            + #"database={enabled=true,ports=[8000,8001,8002],data=[["delta","phi"],[3.14]],temp_targets={cpu=79.5,case=72.0}},"#
            + #"servers={alpha={ip="10.0.0.1",role="frontend"},beta={ip="10.0.0.2",role="backend"}}}"#
        XCTAssertEqual(rendered(text), expected)
    }

    func testLargeDocumentParsesQuickly() throws {
        var text = ""
        var n = 0
        while text.utf8.count < 1_000_000 {
            n += 1
            text += "[s\(n)]\nname = \"server \(n) \\u00e9\"\nport = \(n)\nratio = 0.\(n)\nwhen = 1979-05-27T07:32:00Z\nlist = [1, \"two\", {x = 1, y.z = 2}]\n"
        }
        let bytes = Array(text.utf8)
        let start = ContinuousClock.now
        let t = try TOML.parse(bytes)
        let elapsed = ContinuousClock.now - start
        XCTAssertEqual(t.entries.count, n)
        // Generous: the debug build is much slower than release.
        XCTAssertLessThan(elapsed, .seconds(10))
    }
}
