import EVPrefork
import Foundation
import XCTest

/// The request guard on its own: each rule, inputs split anywhere, pipelining,
/// chunked bodies with extensions and trailers.
final class RequestGuardTests: XCTestCase {
    static let limits = RequestGuard.Limits(maxHeaderSize: 2048, maxBodySize: 1024)

    struct Outcome: Equatable {
        var status: Int?
        var requestStart: Int64?
        var completed: Int
    }

    /// Feeds `bytes` in pieces cut at `cuts`; returns what the guard decided.
    func run(_ bytes: [UInt8], cuts: [Int] = [], limits: RequestGuard.Limits = limits) -> (RequestGuard, RequestGuard.Rejection?) {
        var g = RequestGuard(limits: limits)
        var data = bytes
        var start = 0
        for end in (cuts.filter { $0 > 0 && $0 < data.count }.sorted()) + [data.count] where end > start {
            let r = data.withUnsafeMutableBytes { g.feed(UnsafeMutableRawBufferPointer(rebasing: $0[start..<end])) }
            if let r { return (g, r) }
            start = end
        }
        return (g, nil)
    }

    func outcome(_ bytes: [UInt8], cuts: [Int] = [], limits: RequestGuard.Limits = limits) -> Outcome {
        let (g, r) = run(bytes, cuts: cuts, limits: limits)
        return Outcome(status: r?.status, requestStart: r?.requestStart, completed: r?.completedRequests ?? g.completedRequests)
    }

    /// The outcome must not depend on how the bytes are split: whole, byte by
    /// byte, and at pseudo-random cuts.
    func assertSplitIndependent(_ bytes: [UInt8], limits: RequestGuard.Limits = limits,
                                file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let whole = outcome(bytes, limits: limits)
        XCTAssertEqual(outcome(bytes, cuts: Array(0..<bytes.count), limits: limits), whole, "byte by byte", file: file, line: line)
        var rng = SplitMix(seed: UInt64(bytes.count))
        for _ in 0..<8 {
            let cuts = (0..<Int(rng.next() % 6 + 1)).map { _ in Int(rng.next() % UInt64(max(1, bytes.count))) }
            XCTAssertEqual(outcome(bytes, cuts: cuts, limits: limits), whole, "cuts \(cuts)", file: file, line: line)
        }
        return whole
    }

    func status(_ text: String, limits: RequestGuard.Limits = limits, file: StaticString = #filePath, line: UInt = #line) -> Int? {
        assertSplitIndependent(Array(text.utf8), limits: limits, file: file, line: line).status
    }

    // MARK: good requests

    func testPlainRequestsPass() {
        let good = [
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /index.html?q=1&r=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: x/1\r\nAccept: */*\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
            "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "DELETE /x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
            "GET / HTTP/1.1\r\nHost:\r\n\r\n",
            "GET / HTTP/1.1\r\nhOsT: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-8bit: caf\u{e9}\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\n\n",
            "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
            "GET //double/slash HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET //host:80/x HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length:  007 \r\n\r\nabcdefg",
            "PUT /p HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
            "PATCH /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
            "GET /ws HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n",
        ]
        for text in good {
            let o = assertSplitIndependent(Array(text.utf8))
            XCTAssertNil(o.status, text)
            XCTAssertEqual(o.completed, 1, text)
        }
    }

    func testPipelinedRequestsAreCountedAndTheBadOneLocated() {
        let one = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
        let two = "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
        let three = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        let ok = assertSplitIndependent(Array((one + two + three + one).utf8))
        XCTAssertEqual(ok, Outcome(status: nil, requestStart: nil, completed: 4))

        let bad = "GET /d HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n"
        let o = assertSplitIndependent(Array((one + two + three + bad + one).utf8))
        XCTAssertEqual(o, Outcome(status: 400, requestStart: Int64((one + two + three).utf8.count), completed: 3))
    }

    func testChunkedBodyWithExtensionsAndTrailers() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "6 ; a=\"q s\" ;b\r\n world\r\n"
            + "A\t;x\r\n0123456789\r\n"
            + "0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n"
            + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(assertSplitIndependent(Array(text.utf8)), Outcome(status: nil, requestStart: nil, completed: 2))
        // The byte after each chunk size is made a space, which evhttp's parser needs.
        var bytes = Array(text.utf8)
        var g = RequestGuard(limits: Self.limits)
        XCTAssertNil(bytes.withUnsafeMutableBytes { g.feed($0) })
        let rewritten = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(rewritten.contains("\r\n5 name=value\r\nhello"), rewritten)
        XCTAssertTrue(rewritten.contains("\r\n6 ; a=\"q s\" ;b\r\n"), rewritten)
        XCTAssertTrue(rewritten.contains("\r\nA ;x\r\n"), rewritten)
        XCTAssertTrue(rewritten.contains("\r\n0 last\r\n"), rewritten)
        XCTAssertEqual(rewritten.utf8.count, text.utf8.count)
    }

    func testBareLFIsAcceptedEverywhereLikeNginx() {
        let text = "POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\nT: 1\n\nGET / HTTP/1.1\nHost: a\n\n"
        XCTAssertEqual(assertSplitIndependent(Array(text.utf8)), Outcome(status: nil, requestStart: nil, completed: 2))
    }

    // MARK: request line

    func testRequestLineRejections() {
        let cases: [(String, Int)] = [
            ("G@T / HTTP/1.1\r\n", 400),
            ("GET\t/ HTTP/1.1\r\n", 400),
            (" GET / HTTP/1.1\r\n", 400),
            ("\r\nGET / HTTP/1.1\r\n", 400),
            ("GET  / HTTP/1.1\r\n", 400),
            ("GET / HTTP/1.1 \r\n", 400),
            ("GET /\r\n", 400),
            ("GET / \r\n", 400),
            ("GET /a b HTTP/1.1\r\n", 400),
            ("GET /a\u{7f}b HTTP/1.1\r\n", 400),
            ("GET /a\u{01}b HTTP/1.1\r\n", 400),
            ("GET /a\0b HTTP/1.1\r\n", 400),
            ("GET http://example.com/ HTTP/1.1\r\n", 400),
            ("GET example.com HTTP/1.1\r\n", 400),
            ("GET * HTTP/1.1\r\n", 400),
            ("OPTIONS *x HTTP/1.1\r\n", 400),
            ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
            ("GET / http/1.1\r\n", 400),
            ("GET / HTTP/1\r\n", 400),
            ("GET / HTTP/1.\r\n", 400),
            ("GET / HTTP/1.10\r\n", 400),
            ("GET / HTTP/11.1\r\n", 400),
            ("GET / HTTP/1.1\rX", 400),
            ("GET / HTTP/2.0\r\n", 505),
            ("GET / HTTP/3.0\r\n", 505),
            ("GET / HTTP/0.9\r\n", 505),
            ("FOO / HTTP/1.1\r\n", 501),
            ("get / HTTP/1.1\r\n", 501),
            ("CONNECT example.com:443 HTTP/1.1\r\n", 405),
            ("GET //bad%zz/ HTTP/1.1\r\n", 400),
            ("GET //a:99999/ HTTP/1.1\r\n", 400),
            ("GET //[::1/ HTTP/1.1\r\n", 400),
            ("GET //user@host/ HTTP/1.1\r\nHost: a\r\n\r\n", -1),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(status(text), expected == -1 ? nil : expected, text.debugDescription)
        }
    }

    func testLongTargetIs414AndLongHeadIs431() {
        let big = RequestGuard.Limits(maxHeaderSize: 64 << 10, maxBodySize: 0)
        XCTAssertEqual(big.maxTargetLength, 8192)
        let target = "/" + String(repeating: "a", count: 8191)
        XCTAssertNil(status("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n", limits: big))
        XCTAssertEqual(status("GET \(target)a HTTP/1.1\r\nHost: a\r\n\r\n", limits: big), 414)
        // Smaller head limit: the target limit follows it; a request line over it is 414 too.
        XCTAssertEqual(Self.limits.maxTargetLength, 2048)
        XCTAssertEqual(status("GET /" + String(repeating: "b", count: 2100) + " HTTP/1.1\r\n"), 414)
        XCTAssertEqual(status("GET /" + String(repeating: "b", count: 2040) + " HTTP/1.1\r\n"), 414)
        // Headers past the limit: 431, whether one big field or many.
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "c", count: 2100) + "\r\n\r\n"), 431)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-Many: 0123456789\r\n", count: 120) + "\r\n"), 431)
        // Exactly at the limit passes; one byte more does not.
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX: "
        let fill = 2048 - head.utf8.count - 4
        XCTAssertNil(status(head + String(repeating: "d", count: fill) + "\r\n\r\n"))
        XCTAssertEqual(status(head + String(repeating: "d", count: fill + 1) + "\r\n\r\n"), 431)
        // Each request of a connection has its own budget.
        let near = head + String(repeating: "d", count: fill) + "\r\n\r\n"
        XCTAssertEqual(assertSplitIndependent(Array((near + near + near).utf8)).completed, 3)
    }

    // MARK: header fields

    func testHeaderRejections() {
        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX\u{e9}: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tfolded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{01}c\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{7f}\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),
            ("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400),
            ("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: \"a\"\r\n\r\n", 400),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(status(text), expected, text.debugDescription)
        }
    }

    func testFramingHeaderRejections() {
        let h = "POST / HTTP/1.1\r\nHost: a\r\n"
        let cases: [(String, Int?)] = [
            (h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
            (h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
            (h + "Content-Length: 5, 5\r\n\r\nhello", 400),
            (h + "Content-Length: +5\r\n\r\nhello", 400),
            (h + "Content-Length: -1\r\n\r\n", 400),
            (h + "Content-Length: 0x5\r\n\r\nhello", 400),
            (h + "Content-Length: 5 5\r\n\r\nhello", 400),
            (h + "Content-Length:\r\n\r\n", 400),
            (h + "Content-Length: 99999999999999999999\r\n\r\n", 400),
            (h + "Content-Length: 1025\r\n\r\n", 413),
            (h + "Content-Length: 1024\r\n\r\n" + String(repeating: "z", count: 1024), nil),
            (h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            (h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400),
            (h + "Transfer-Encoding: gzip\r\n\r\n", 400),
            (h + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
            (h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (h + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
            (h + "Transfer-Encoding: chunked;x=1\r\n\r\n", 400),
            (h + "Transfer-Encoding:\r\n\r\n", 400),
            (h + "Transfer-Encoding: xchunked\r\n\r\n", 400),
            (h + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400),
            (h + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
            (h + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 400),
            ("TRACE / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            (h + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417),
            ("POST / HTTP/1.0\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", nil),
            (h + "Transfer-Encoding: CHUNKED \r\n\r\n0\r\n\r\n", nil),
            (h + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", nil),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(status(text), expected, text.debugDescription)
        }
    }

    // MARK: chunked framing

    func testChunkSizeRejections() {
        let h = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let cases: [(String, Int)] = [
            ("0x5\r\nhello\r\n0\r\n\r\n", 400),
            ("+5\r\nhello\r\n0\r\n\r\n", 400),
            (" 5\r\nhello\r\n0\r\n\r\n", 400),
            ("-1\r\n", 400),
            ("\r\n5\r\nhello\r\n0\r\n\r\n", 400),
            ("g\r\n", 400),
            ("5 \r\nhello\r\n0\r\n\r\n", 400),
            ("5 x\r\nhello\r\n0\r\n\r\n", 400),
            ("5;a\u{01}\r\nhello\r\n0\r\n\r\n", 400),
            ("5\rX", 400),
            ("5\r\nhelloX\r\n0\r\n\r\n", 400),
            ("5\r\nhello\rX", 400),
            ("5\r\nhello\r\n\r\n0\r\n\r\n", 400),
            ("FFFFFFFFFFFFFFFFFF\r\n", 400),
            ("8000000000000000\r\n", 400),
            ("401\r\n", 413),
            ("200\r\n" + String(repeating: "y", count: 512) + "\r\n201\r\n", 413),
            ("0\r\nBad Trailer: x\r\n\r\n", 400),
            ("0\r\n folded\r\n\r\n", 400),
            ("0\r\nX: " + String(repeating: "t", count: 2048) + "\r\n\r\n", 431),
            ("5;" + String(repeating: "e", count: 5000) + "\r\n", 400),
        ]
        for (body, expected) in cases {
            XCTAssertEqual(status(h + body), expected, body.debugDescription)
        }
        XCTAssertNil(status(h + "0000000000000000000000005\r\nhello\r\n3fB\r\n" + String(repeating: "w", count: 1019) + "\r\n0\r\n\r\n"))
        XCTAssertEqual(status(h + "400\r\n" + String(repeating: "w", count: 1024) + "\r\n1\r\n"), 413)
    }

    func testUnlimitedBodyStillRefusesAbsurdChunkSizes() {
        let free = RequestGuard.Limits(maxHeaderSize: 4096, maxBodySize: 0)
        let h = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        XCTAssertNil(status(h + "7FFFFFFFFFFFFFF\r\n", limits: free))
        XCTAssertEqual(status(h + "7FFFFFFFFFFFFFFFF\r\n", limits: free), 400)
        XCTAssertNil(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n", limits: free))
    }

    // MARK: reporting, pausing

    func testRejectionCarriesTheRequestLineWhenItWasValid() {
        let (_, r1) = run(Array("POST /upload?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n".utf8))
        XCTAssertEqual(r1?.status, 413)
        XCTAssertEqual(r1?.requestLine, "POST /upload?x=1 HTTP/1.1")
        let (_, r2) = run(Array("GET /a HTTP/1.1\nHost: a\nHost: b\n\n".utf8), cuts: [3, 7, 12])
        XCTAssertEqual(r2?.requestLine, "GET /a HTTP/1.1")
        let (_, r3) = run(Array("GET /a b HTTP/1.1\r\n".utf8))
        XCTAssertEqual(r3?.status, 400)
        XCTAssertNil(r3?.requestLine)
    }

    func testAfterARejectionInputIsIgnored() {
        let (first, r) = run(Array("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n".utf8))
        var g = first
        XCTAssertEqual(r?.status, 400)
        XCTAssertEqual(g.rejection, r)
        var more = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        XCTAssertNil(more.withUnsafeMutableBytes { g.feed($0) })
        XCTAssertEqual(g.completedRequests, 0)
    }

    func testUpgradeRequestPausesUntilResumed() {
        let upgrade = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        var bytes = Array((upgrade + "\u{81}\u{85}frame bytes").utf8)
        var g = RequestGuard(limits: Self.limits)
        XCTAssertNil(bytes.withUnsafeMutableBytes { g.feed($0) })
        XCTAssertTrue(g.isPaused)
        XCTAssertEqual(g.completedRequests, 1)
        XCTAssertEqual(g.bytesFed, Int64(upgrade.utf8.count))
        // Answered without an upgrade: HTTP goes on and is checked again.
        g.resume()
        var next = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/9.9\r\n".utf8)
        let r = next.withUnsafeMutableBytes { g.feed($0) }
        XCTAssertEqual(r?.status, 505)
        XCTAssertEqual(r?.completedRequests, 2)
        XCTAssertEqual(r?.requestStart, Int64(upgrade.utf8.count + 27))
    }

    func testSplitIndependenceOverAMixedStream() {
        let stream = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"
            + "PUT /c HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n1;x\nA\n2\r\nBC\r\n0\r\nT: v\r\n\r\n"
            + "OPTIONS * HTTP/1.0\r\n\r\n"
            + "GET /d HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
        let bytes = Array(stream.utf8)
        let whole = assertSplitIndependent(bytes)
        XCTAssertEqual(whole.status, 400)
        XCTAssertEqual(whole.completed, 4)
        for cut in 1..<bytes.count {
            XCTAssertEqual(outcome(bytes, cuts: [cut]), whole, "cut at \(cut)")
        }
    }

    func testScanningIsCheap() {
        // A keep-alive GET with a few headers, a million times: a tight scan.
        let request = Array("GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n".utf8)
        var stream: [UInt8] = []
        for _ in 0..<1000 { stream += request }
        var g = RequestGuard(limits: RequestGuard.Limits(maxHeaderSize: 16 << 10, maxBodySize: 1 << 20))
        let start = Date()
        for _ in 0..<200 {
            XCTAssertNil(stream.withUnsafeMutableBytes { g.feed($0) })
        }
        let perRequest = Date().timeIntervalSince(start) / 200_000
        XCTAssertEqual(g.completedRequests, 200_000)
        print("RequestGuard: \(Int(perRequest * 1e9)) ns per request of \(request.count) bytes")
    }
}

/// A small deterministic generator for split points.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
