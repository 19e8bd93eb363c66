import XCTest
import TOML

final class KeyTests: XCTestCase {
    func testBareKeys() {
        XCTAssertEqual(rendered("key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\n-_- = 5"), "{key=1,bare_key=2,bare-key=3,1234=4,-_-=5}")
    }

    func testQuotedKeys() {
        let t = parseOK(#""127.0.0.1" = 1"# + "\n" + #""ʎǝʞ" = 2"# + "\n'key2' = 3\n" + #""quoted \"value\"" = 4"# + "\n\"\" = 5")
        XCTAssertEqual(t.entries.map(\.key), ["127.0.0.1", "ʎǝʞ", "key2", "quoted \"value\"", ""])
    }

    func testDottedKeysWithWhitespace() {
        XCTAssertEqual(rendered("site . \"google.com\" . ok = true\nname.first = 'a'"), "{site={google.com={ok=true}},name={first=\"a\"}}")
    }

    func testDottedFloatLikeKey() {
        XCTAssertEqual(rendered("3.14159 = \"pi\""), #"{3={14159="pi"}}"#)
    }

    func testDuplicateKey() {
        assertError("port = 1\nname = 'x'\nport = 2", at: 3, 1, #"duplicate key "port" (first defined at 1:1)"#)
    }

    func testDuplicateDottedKeyPointsAtLastPart() {
        assertError("a.b = 1\na . b = 2", at: 2, 5, #"duplicate key "a.b" (first defined at 1:3)"#)
    }

    func testQuotedAndBareKeysAreTheSameKey() {
        assertError("spelling = 1\n\"spelling\" = 2", at: 2, 1, "duplicate key")
    }

    func testMissingKeyOrEquals() {
        assertError("= 1", at: 1, 1, #"unexpected "=""#, "expected a key")
        assertError("a 1", at: 1, 3, #"unexpected "1", expected "=" after key "a""#)
        assertError("a", at: 1, 2, "end of file", "expected \"=\"")
        assertError("a. = 1", at: 1, 4, "expected a key after \".\"")
        assertError("a = ", at: 1, 5, "expected a value")
    }

    func testMultilineStringIsNotAKey() {
        assertError(#""""k""" = 1"#, at: 1, 1, "multi-line string cannot be used as a key")
    }

    func testNonASCIIBareKeyRejected() {
        assertError("ключ = 1", at: 1, 1, "unexpected \"к\"", "expected a key")
    }

    func testKeyPositions() {
        let t = parseOK("  a = 1\n\"q k\" = 2\nx.y.z = 3")
        XCTAssertEqual(t["a"]?.keyPosition, pos(1, 3))
        XCTAssertEqual(t["q k"]?.keyPosition, pos(2, 1))
        XCTAssertEqual(t["x"]?.keyPosition, pos(3, 1))
        XCTAssertEqual(entry(t, "x", "y")?.keyPosition, pos(3, 3))
        XCTAssertEqual(entry(t, "x", "y", "z")?.keyPosition, pos(3, 5))
        XCTAssertEqual(entry(t, "x", "y", "z")?.node.position, pos(3, 9))
        // Implicit tables made by dotted keys sit at the key part that made them.
        XCTAssertEqual(t["x"]?.node.position, pos(3, 1))
        guard case .table(let y)? = entry(t, "x", "y")?.node.value else { return XCTFail("y") }
        XCTAssertEqual(y.position, pos(3, 3))
    }
}
