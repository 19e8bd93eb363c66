@testable import EVPrefork
import XCTest

/// DirectRequest finds the parts of a head the request guard has already
/// checked, and declines everything evhttp must carry.
final class DirectRequestTests: XCTestCase {
    private func parse(_ text: String) -> DirectRequest.Parse {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { DirectRequest.parse($0) }
    }

    private func request(_ text: String, file: StaticString = #filePath, line: UInt = #line,
                         _ check: (DirectRequest) -> Void) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in
            guard case .request(let r) = DirectRequest.parse(raw) else {
                return XCTFail("not a direct request: \(text.debugDescription)", file: file, line: line)
            }
            check(r)
        }
    }

    private func isDeclined(_ text: String) -> Bool {
        if case .declined = parse(text) { return true }
        return false
    }

    private func isIncomplete(_ text: String) -> Bool {
        if case .incomplete = parse(text) { return true }
        return false
    }

    func testAGetWithHeaders() {
        let head = "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nIf-None-Match:  \"e\" \r\nX-Empty:\r\n\r\n"
        request(head + "GET /next HTTP/1.1\r\n") { r in
            XCTAssertFalse(r.isHead)
            XCTAssertEqual(r.head.count, head.utf8.count)
            XCTAssertEqual(String(decoding: r.targetBytes, as: UTF8.self), "/a/b?x=1")
            XCTAssertEqual(r.minor, 1)
            XCTAssertFalse(r.wantsClose)
            XCTAssertEqual(r.field("if-none-match").map { String(decoding: $0, as: UTF8.self) }, "\"e\"")
            XCTAssertEqual(r.field("HOST").map { String(decoding: $0, as: UTF8.self) }, "h")
            XCTAssertEqual(r.field("x-empty").map { $0.count }, 0)
            XCTAssertNil(r.field("range"))
            XCTAssertNil(r.field("hos"))
        }
    }

    func testKeepAliveDecisions() {
        request("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n") { XCTAssertTrue($0.wantsClose) }
        request("GET / HTTP/1.0\r\n\r\n") { r in
            XCTAssertTrue(r.wantsClose)
            XCTAssertFalse(r.keepAlive10)
            XCTAssertEqual(r.minor, 0)
        }
        request("HEAD / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n") { r in
            XCTAssertTrue(r.isHead)
            XCTAssertFalse(r.wantsClose)
            XCTAssertTrue(r.keepAlive10)
        }
        request("GET / HTTP/1.1\r\nHost: h\r\nX-Connection: close\r\n\r\n") { XCTAssertFalse($0.wantsClose) }
        // A later HTTP/1.x minor is HTTP/1.1.
        request("GET / HTTP/1.7\r\nHost: h\r\n\r\n") { XCTAssertEqual($0.minor, 1) }
    }

    func testWhatEvhttpMustCarryIsDeclined() {
        XCTAssertTrue(isDeclined("POST / HTTP/1.1\r\nHost: h\r\n\r\n"))
        XCTAssertTrue(isDeclined("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))
        XCTAssertTrue(isDeclined("GET //a/b HTTP/1.1\r\nHost: h\r\n\r\n"))
        XCTAssertTrue(isDeclined("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"))
        XCTAssertTrue(isDeclined("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"))
        XCTAssertTrue(isDeclined("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"))
        XCTAssertTrue(isDeclined("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"))
        // Bare LF line ends: evhttp reads them.
        XCTAssertTrue(isDeclined("GET / HTTP/1.1\nHost: h\n\n"))
        XCTAssertTrue(isDeclined("GET / HTTP/1.1\r\nHost: h\n\r\n"))
    }

    func testPartsOfAHeadAreIncomplete() {
        let whole = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
        for n in 0..<whole.utf8.count {
            let part = String(decoding: Array(whole.utf8)[..<n], as: UTF8.self)
            XCTAssertTrue(isIncomplete(part), part.debugDescription)
        }
        XCTAssertTrue(isIncomplete("HEA"))
        XCTAssertTrue(isDeclined("HEX"))
    }
}
