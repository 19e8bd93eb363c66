import XCTest
import TOML

/// Parses `text`, failing the test on an error.
func parseOK(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> TOMLTable {
    do {
        return try TOML.parse(string: text)
    } catch {
        XCTFail("unexpected error: \(error)", file: file, line: line)
        return TOMLTable()
    }
}

/// Parses `text` expecting an error at `line`:`column` whose message contains every one of `gist`.
func assertError(_ text: String, at errorLine: Int, _ errorColumn: Int, _ gist: String...,
                 file: StaticString = #filePath, line: UInt = #line) {
    assertError(bytes: Array(text.utf8), at: errorLine, errorColumn, gist, file: file, line: line)
}

func assertError(bytes: [UInt8], at errorLine: Int, _ errorColumn: Int, _ gist: [String],
                 file: StaticString = #filePath, line: UInt = #line) {
    do {
        let table = try TOML.parse(bytes)
        XCTFail("expected an error, got \(render(.table(table)))", file: file, line: line)
    } catch {
        XCTAssertEqual(error.position, TOMLPosition(line: errorLine, column: errorColumn),
                       "position of: \(error)", file: file, line: line)
        for g in gist {
            XCTAssertTrue(error.message.contains(g), "message \"\(error.message)\" lacks \"\(g)\"", file: file, line: line)
        }
    }
}

/// The value at a key path (array elements by decimal index).
func value(_ table: TOMLTable, _ path: String..., file: StaticString = #filePath, line: UInt = #line) -> TOMLValue? {
    node(table, path, file: file, line: line)?.value
}

func node(_ table: TOMLTable, _ path: [String], file: StaticString = #filePath, line: UInt = #line) -> TOMLNode? {
    var current = TOMLNode(.table(table), at: table.position)
    for key in path {
        switch current.value {
        case .table(let t):
            guard let e = t[key] else { XCTFail("no key \(key)", file: file, line: line); return nil }
            current = e.node
        case .array(let items):
            guard let n = Int(key), n < items.count else { XCTFail("no index \(key)", file: file, line: line); return nil }
            current = items[n]
        default:
            XCTFail("\(key): not a container", file: file, line: line)
            return nil
        }
    }
    return current
}

func entry(_ table: TOMLTable, _ path: String..., file: StaticString = #filePath, line: UInt = #line) -> TOMLEntry? {
    guard let last = path.last else { return nil }
    guard case .table(let parent)? = node(table, Array(path.dropLast()), file: file, line: line)?.value else {
        XCTFail("no table at \(path.dropLast())", file: file, line: line)
        return nil
    }
    return parent[last]
}

func pos(_ line: Int, _ column: Int) -> TOMLPosition { TOMLPosition(line: line, column: column) }

/// A compact, order-preserving rendering for structural assertions:
/// tables `{k=v,...}`, arrays `[v,...]`, strings quoted, dates ISO.
func render(_ v: TOMLValue) -> String {
    switch v {
    case .string(let s): return "\"" + s + "\""
    case .integer(let i): return String(i)
    case .float(let d): return d.isNaN ? "nan" : String(d)
    case .boolean(let b): return String(b)
    case .offsetDateTime(let d, let t, let o): return "\(render(d))T\(render(t))@\(o)"
    case .localDateTime(let d, let t): return "\(render(d))T\(render(t))"
    case .localDate(let d): return render(d)
    case .localTime(let t): return render(t)
    case .array(let items): return "[" + items.map { render($0.value) }.joined(separator: ",") + "]"
    case .table(let t): return "{" + t.entries.map { "\($0.key)=\(render($0.node.value))" }.joined(separator: ",") + "}"
    }
}

func render(_ d: TOMLLocalDate) -> String { "\(d.year)-\(d.month)-\(d.day)" }
func render(_ t: TOMLLocalTime) -> String {
    "\(t.hour):\(t.minute):\(t.second)" + (t.fraction.isEmpty ? "" : ".\(t.fraction)")
}

/// The whole document rendered.
func rendered(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    render(.table(parseOK(text, file: file, line: line)))
}

extension TOMLValue {
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
    var float: Double? { if case .float(let d) = self { d } else { nil } }
    var boolean: Bool? { if case .boolean(let b) = self { b } else { nil } }
}
