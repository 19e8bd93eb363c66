import XCTest
import TOML

final class TableTests: XCTestCase {
    func testTablesAndSubtables() {
        XCTAssertEqual(rendered("top = 0\n[a]\nx = 1\n[a.b]\ny = 2\n[ c . \"d e\" ]\nz = 3"),
                       #"{top=0,a={x=1,b={y=2}},c={d e={z=3}}}"#)
    }

    func testEmptyTable() {
        XCTAssertEqual(rendered("[empty]\n[other]"), "{empty={},other={}}")
    }

    func testSuperTableAfterSubTableOnce() {
        XCTAssertEqual(rendered("[x.y.z]\nw = 1\n[x]\nv = 2"), "{x={y={z={w=1}},v=2}}")
        assertError("[x.y]\n[x]\n[x]", at: 3, 2, "table [x] is already defined (at 2:1)")
    }

    func testTableDefinedTwice() {
        assertError("[server]\nport = 1\n\n[server]", at: 4, 2, "table [server] is already defined (at 1:1)")
        assertError("[a.b]\n[a . b]", at: 2, 6, "table [a.b] is already defined (at 1:1)")
    }

    func testHeaderAfterDottedKeysDefinedTheTable() {
        assertError("[fruit]\napple.color = 'red'\n[fruit.apple]", at: 3, 8, "[fruit.apple] is already defined by dotted keys (at 2:1)")
        assertError("a.b.c = 1\n[a.b]", at: 2, 4, "already defined by dotted keys")
    }

    func testSubtableOfDottedKeyTableIsAllowed() {
        XCTAssertEqual(rendered("[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true"),
                       #"{fruit={apple={color="red",taste={sweet=true},texture={smooth=true}}}}"#)
    }

    func testDottedKeysCannotExtendAHeaderTableFromElsewhere() {
        assertError("[a.b]\nc = 1\n[a]\nb.d = 2", at: 4, 1, "cannot add \"b.d\"", "defined by its own header (at 1:1)")
    }

    func testDottedKeysMayEnterTableCreatedImplicitlyByHeader() {
        XCTAssertEqual(rendered("[a.b.c]\n[a]\nb.d = 1"), "{a={b={c={},d=1}}}")
        assertError("[a.b.c]\n[a]\nb.d = 1\n[a.b]", at: 4, 4, "already defined by dotted keys")
    }

    func testValueUsedAsTable() {
        assertError("a = 1\n[a.b]", at: 2, 2, "cannot define [a.b]", "\"a\" is an integer (defined at 1:1), not a table")
        assertError("a = 1\n[a]", at: 2, 2, "cannot define table [a]", "integer")
        assertError("a = 'x'\na.b = 1", at: 2, 1, "\"a\" is a string (defined at 1:1)")
    }

    func testArrayOfTables() {
        let text = "[[products]]\nname = \"Hammer\"\n\n[[products]]\n\n[[products]]\nname = \"Nail\""
        XCTAssertEqual(rendered(text), #"{products=[{name="Hammer"},{},{name="Nail"}]}"#)
    }

    func testNestedArrayOfTables() {
        let text = """
        [[fruits]]
        name = "apple"
        [fruits.physical]
        color = "red"
        [[fruits.varieties]]
        name = "red delicious"
        [[fruits.varieties]]
        name = "granny smith"
        [[fruits]]
        name = "banana"
        [[fruits.varieties]]
        name = "plantain"
        """
        XCTAssertEqual(rendered(text),
                       #"{fruits=[{name="apple",physical={color="red"},varieties=[{name="red delicious"},{name="granny smith"}]},{name="banana",varieties=[{name="plantain"}]}]}"#)
    }

    func testSubtableRepeatsPerArrayElement() {
        XCTAssertEqual(rendered("[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2"), "{a=[{b={x=1}},{b={x=2}}]}")
    }

    func testAppendToStaticArray() {
        assertError("x = []\n[[x]]", at: 2, 3, #"cannot append to static array "x" defined at 1:1 with [[x]]"#)
        assertError("x = [{a = 1}]\n[x.b]", at: 2, 2, "static array")
    }

    func testTableVersusArrayOfTables() {
        assertError("[[a]]\n[a]", at: 2, 2, "table [a] is already defined as an array of tables (at 1:1)")
        assertError("[a]\n[[a]]", at: 2, 3, "cannot define array of tables [[a]]", "already a table (defined at 1:1)")
        assertError("[[a.b]]\n[a]\nb.c = 1", at: 3, 1, "array of tables")
    }

    func testInlineTableCannotBeExtended() {
        assertError("a = {x = 1}\n[a]", at: 2, 2, "inline table", "cannot be extended")
        assertError("a = {x = 1}\n[a.b]", at: 2, 2, "inline table")
        assertError("a = {x = 1}\na.y = 2", at: 2, 1, "inline table (defined at 1:1)")
        assertError("[p]\nq = {r = {s = 1}}\n[p.q.r.t]", at: 3, 4, "inline table")
    }

    func testHeaderSyntaxErrors() {
        assertError("[]", at: 1, 2, "expected a key")
        assertError("[a", at: 1, 3, "expected \"]\"")
        assertError("[[a]", at: 1, 5, "expected \"]]\"")
        assertError("[[a] ]", at: 1, 5, "expected \"]]\"")
        assertError("[a]x", at: 1, 4, "after table header", "\"x\"")
        assertError("[a]\n[a.]", at: 2, 4, "expected a key after \".\"")
    }

    func testHeaderPositions() {
        let t = parseOK("\n  [server . http]\nport = 1\n[[route]]\n[[route]]\n")
        guard let server = t["server"], let http = entry(t, "server", "http") else { return XCTFail("missing") }
        // The implicit parent sits at its key part; the header table at its "[".
        XCTAssertEqual(server.keyPosition, pos(2, 4))
        XCTAssertEqual(server.node.position, pos(2, 4))
        XCTAssertEqual(http.keyPosition, pos(2, 13))
        XCTAssertEqual(http.node.position, pos(2, 3))
        guard case .table(let httpTable) = http.node.value else { return XCTFail("http") }
        XCTAssertEqual(httpTable.position, pos(2, 3))
        guard let route = t["route"], case .array(let routes) = route.node.value else { return XCTFail("route") }
        XCTAssertEqual(route.keyPosition, pos(4, 3))
        XCTAssertEqual(routes.map(\.position), [pos(4, 1), pos(5, 1)])
    }

    func testImplicitTableTakesHeaderPositionWhenDefined() {
        let t = parseOK("[a.b]\n[a]\nx = 1")
        XCTAssertEqual(t["a"]?.keyPosition, pos(2, 2))
        XCTAssertEqual(t["a"]?.node.position, pos(2, 1))
        XCTAssertEqual(t.entries.map(\.key), ["a"])
        XCTAssertEqual(render(t["a"]!.node.value), "{b={},x=1}")
    }

    func testKeysKeepSourceOrder() {
        XCTAssertEqual(parseOK("z = 1\na = 2\nm = 3").entries.map(\.key), ["z", "a", "m"])
    }
}
