@testable import EVPrefork
import XCTest

/// An upstream's head as the proxy reads it: fields kept as bytes, framing
/// decided per RFC 9112 §6.3, hop-by-hop fields known without Strings.
final class ResponseHeadTests: XCTestCase {
    private func head(_ text: String) -> ResponseHead? {
        ResponseHead.parse(Array(text.utf8))
    }

    func testStatusFieldsAndValuesWithoutSurroundingWhitespace() throws {
        let h = try XCTUnwrap(head("HTTP/1.0 404 Not Found\r\nContent-Type:  text/plain \r\nX-A:\r\nx-b: 1\n\r\n"))
        XCTAssertEqual(h.status, 404)
        XCTAssertEqual(h.minor, 0)
        XCTAssertEqual(h.fields.count, 3)
        XCTAssertEqual(h.value("content-type"), "text/plain")
        XCTAssertEqual(h.value("x-a"), "")
        XCTAssertEqual(h.value("x-b"), "1")
        XCTAssertNil(h.value("content-length"))
    }

    func testMalformedHeadsAreRefused() {
        XCTAssertNil(head("HTTP/2 200 OK\r\n\r\n"))
        XCTAssertNil(head("HTTP/1.1 20 OK\r\n\r\n"))
        XCTAssertNil(head("HTTP/1.1 099 Odd\r\n\r\n"))
        XCTAssertNil(head("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"))
        XCTAssertNil(head("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n"))
        XCTAssertNil(head("HTTP/1.1 200 OK\r\nX Y: space in the name\r\n\r\n"))
        XCTAssertNil(head("HTTP/1.1 200 OK\r\nX-Y : space before the colon\r\n\r\n"))
    }

    func testFraming() throws {
        func framing(_ fields: String, head isHead: Bool = false, status: Int = 200) throws -> BodyFraming? {
            try XCTUnwrap(head("HTTP/1.1 \(status) X\r\n\(fields)\r\n")).framing(requestWasHead: isHead)
        }
        XCTAssertEqual(try framing("Content-Length: 12\r\n"), .length(12))
        XCTAssertEqual(try framing("Content-Length: 12\r\ncontent-length: 12\r\n"), .length(12))
        XCTAssertNil(try framing("Content-Length: 12\r\nContent-Length: 13\r\n"), "conflicting lengths")
        XCTAssertNil(try framing("Content-Length: 1x\r\n"))
        XCTAssertNil(try framing("Content-Length: 99999999999999999999\r\n"), "out of range")
        XCTAssertEqual(try framing("Transfer-Encoding: gzip, Chunked\r\n"), .chunked)
        XCTAssertEqual(try framing("Transfer-Encoding: chunked, \r\n"), .chunked, "empty list elements do not count")
        XCTAssertNil(try framing("Transfer-Encoding: chunked, gzip\r\n"), "chunked must come last")
        XCTAssertEqual(try framing("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), .chunked)
        XCTAssertEqual(try framing(""), .untilClose)
        XCTAssertEqual(try framing("Content-Length: 12\r\n", head: true), .empty)
        XCTAssertEqual(try framing("", status: 204), .empty)
        XCTAssertEqual(try framing("", status: 304), .empty)
    }

    func testConnectionListsAndHopByHopFields() throws {
        let h = try XCTUnwrap(head("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, X-Secret\r\nconnection: close\r\n\r\n"))
        XCTAssertTrue(h.connectionLists("keep-alive"))
        XCTAssertTrue(h.connectionLists("x-secret"))
        XCTAssertTrue(h.connectionLists("close"))
        XCTAssertFalse(h.connectionLists("upgrade"))
        func hop(_ name: String) -> Bool {
            Array(name.utf8).withUnsafeBytes { n in
                h.connection.withUnsafeBytes { FieldNames.isHopByHop(n, connection: $0) }
            }
        }
        for name in ["TE", "Trailer", "Upgrade", "Connection", "keep-alive", "Transfer-Encoding",
                     "Proxy-Authenticate", "proxy-anything", "X-SECRET"] {
            XCTAssertTrue(hop(name), name)
        }
        for name in ["X-Secrets", "Content-Type", "Proxy", "Tea"] {
            XCTAssertFalse(hop(name), name)
        }
    }

    func testListElementsAreTrimmedAndEmptyOnesSkipped() {
        var seen: [String] = []
        Array(" a ,, \tb\t,c,".utf8).withUnsafeBytes { list in
            FieldNames.eachElement(list) { seen.append(String(decoding: $0, as: UTF8.self)); return true }
        }
        XCTAssertEqual(seen, ["a", "b", "c"])
    }
}
