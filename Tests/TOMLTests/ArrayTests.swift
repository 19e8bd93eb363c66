import XCTest
import TOML

final class ArrayTests: XCTestCase {
    func testArrays() {
        XCTAssertEqual(rendered("a = [1, 2, 3]\nb = []\nc = [ \"x\" , 'y' ]"), #"{a=[1,2,3],b=[],c=["x","y"]}"#)
    }

    func testMixedTypesAndNesting() {
        XCTAssertEqual(rendered("a = [1, 2.5, \"s\", true, [1, [2]], {x = 1}, 1979-05-27]"),
                       #"{a=[1,2.5,"s",true,[1,[2]],{x=1},1979-5-27]}"#)
    }

    func testTrailingCommaNewlinesAndComments() {
        let text = "a = [\n  1, # one\n  2,\r\n  # nothing\n  3,\n]\nb = [ # c\n]"
        XCTAssertEqual(rendered(text), "{a=[1,2,3],b=[]}")
    }

    func testElementPositions() {
        let t = parseOK("a = [\n  10,\n    \"x\"]")
        XCTAssertEqual(t["a"]?.node.position, pos(1, 5))
        XCTAssertEqual(node(t, ["a", "0"])?.position, pos(2, 3))
        XCTAssertEqual(node(t, ["a", "1"])?.position, pos(3, 5))
    }

    func testArraySyntaxErrors() {
        assertError("a = [1 2]", at: 1, 8, #"unexpected "2", expected "," or "]" in array"#)
        assertError("a = [,]", at: 1, 6, #"unexpected ",", expected a value"#)
        assertError("a = [1,,2]", at: 1, 8, "expected a value")
        assertError("a = [1,\n2", at: 2, 2, "end of file", "array opened at 1:5")
    }

    func testControlCharacterInCommentInsideArray() {
        assertError("a = [1, # \u{1}\n]", at: 1, 11, "control character U+0001 in comment")
    }

    func testNestingLimit() {
        XCTAssertNoThrow(try TOML.parse(string: "a = " + String(repeating: "[", count: 400) + String(repeating: "]", count: 400)))
        assertError("a = " + String(repeating: "[", count: 600), at: 1, 505, "nested more than 500 deep")
    }
}

final class InlineTableTests: XCTestCase {
    func testInlineTables() {
        XCTAssertEqual(rendered("name = { first = \"Tom\", last = \"Preston-Werner\" }\npoint = {x=1,y=2}\nempty = {}"),
                       #"{name={first="Tom",last="Preston-Werner"},point={x=1,y=2},empty={}}"#)
    }

    func testDottedKeysInsideInlineTable() {
        XCTAssertEqual(rendered("animal = { type.name = \"pug\", type.size = 1 }"), #"{animal={type={name="pug",size=1}}}"#)
    }

    func testInlineTablePositions() {
        let t = parseOK("p = { x = 1, y.z = 2 }")
        guard case .table(let p)? = t["p"]?.node.value else { return XCTFail("p") }
        XCTAssertEqual(p.position, pos(1, 5))
        XCTAssertEqual(p["x"]?.keyPosition, pos(1, 7))
        XCTAssertEqual(p["x"]?.node.position, pos(1, 11))
        XCTAssertEqual(entry(t, "p", "y", "z")?.keyPosition, pos(1, 16))
    }

    func testNoTrailingCommaNoNewline() {
        assertError("a = {x = 1,}", at: 1, 12, "expected a key", "trailing comma")
        assertError("a = {x = 1\n}", at: 1, 11, "single line")
        assertError("a = {\nx = 1}", at: 1, 6, "single line")
        assertError("a = {x = 1 y = 2}", at: 1, 12, #"expected "," or "}""#)
    }

    func testDuplicateKeysInInlineTable() {
        assertError("a = {x = 1, x = 2}", at: 1, 13, #"duplicate key "x" (first defined at 1:6)"#)
        assertError("a = {x.y = 1, x = 2}", at: 1, 15, "duplicate key")
    }

    func testNestedInlineTableIsImmutable() {
        assertError("a = {x = {y = 1}, x.z = 2}", at: 1, 19, "inline table", "cannot be extended")
        assertError("a = {x = 1, x.y = 2}", at: 1, 13, "integer")
    }
}
