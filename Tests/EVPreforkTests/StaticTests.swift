import EVPrefork
import XCTest

/// The pure parts of static routes: request-path normalisation, Range
/// parsing, HTTP dates.
final class StaticTests: XCTestCase {
    private func normalized(_ raw: String) -> RequestPath { RequestPath.normalize(Array(raw.utf8)) }
    private func path(_ text: String) -> RequestPath { .path(Array(text.utf8)) }

    func testPlainPathsStayAsTheyAre() {
        for p in ["/", "/a", "/a/", "/a/b.txt", "/a.b/c", "/...", "/a/.../b", "/.hidden", "/a/..b", "/a/b..", "/~x/+y"] {
            XCTAssertEqual(normalized(p), path(p), p)
        }
    }

    func testSlashesMergeAndDotSegmentsResolve() {
        let cases: [(String, String)] = [
            ("//", "/"), ("//a//b///c", "/a/b/c"), ("/a//", "/a/"),
            ("/.", "/"), ("/./", "/"), ("/a/.", "/a/"), ("/a/./b", "/a/b"), ("/./a/./", "/a/"),
            ("/a/..", "/"), ("/a/../", "/"), ("/a/b/..", "/a/"), ("/a/b/../c", "/a/c"),
            ("/a/b/c/../../d", "/a/d"), ("/a//../b", "/b"), ("/a/./../b/./c/..", "/b/"),
        ]
        for (raw, want) in cases { XCTAssertEqual(normalized(raw), path(want), raw) }
    }

    func testPercentDecoding() {
        XCTAssertEqual(normalized("/a%20b"), path("/a b"))
        XCTAssertEqual(normalized("/%41%62%63"), path("/Abc"))
        XCTAssertEqual(normalized("/caf%C3%A9"), path("/café"))
        XCTAssertEqual(normalized("/caf%c3%a9"), path("/café"))
        XCTAssertEqual(normalized("/100%25"), path("/100%"))
        XCTAssertEqual(normalized("/%2541"), path("/%41"))  // decoded once only
        XCTAssertEqual(normalized("/q%3Fx%23y"), path("/q?x#y"))
        XCTAssertEqual(normalized("/a+b"), path("/a+b"))
        XCTAssertEqual(normalized("/%FF"), .path([0x2F, 0xFF]))  // bytes, not necessarily UTF-8
        XCTAssertEqual(normalized("/%0a"), .path([0x2F, 0x0A]))
    }

    func testEncodedSlashesAndDotsAreSegments() {
        XCTAssertEqual(normalized("/a%2fb"), path("/a/b"))
        XCTAssertEqual(normalized("/a%2Fb%2f%2f"), path("/a/b/"))
        XCTAssertEqual(normalized("/a/%2e/b"), path("/a/b"))
        XCTAssertEqual(normalized("/a/%2e%2e/b"), path("/b"))
        XCTAssertEqual(normalized("/a/..%2fb"), path("/b"))
        XCTAssertEqual(normalized("/a/%2E%2e%2Fb"), path("/b"))
        XCTAssertEqual(normalized("/a/.%2e"), path("/"))
    }

    func testClimbingAboveTheRootIsAnEscape() {
        for p in ["/..", "/../", "/../etc/passwd", "/a/../..", "/a/b/../../../c", "/%2e%2e", "/%2E%2E/x",
                  "/..%2f", "/a%2f..%2f..%2fetc", "/./..", "//..//x", "/a/./../../"] {
            XCTAssertEqual(normalized(p), .escapesRoot, p)
        }
    }

    func testBadEncodingNulAndRelativeForms() {
        for p in ["/%", "/%2", "/a%zz", "/%g0", "/%0g", "/a%", "/%%41"] {
            XCTAssertEqual(normalized(p), .badEncoding, p)
        }
        XCTAssertEqual(normalized("/a%00"), .nulByte)
        XCTAssertEqual(normalized("/%00/x"), .nulByte)
        for p in ["", "a/b", "*", "http://example.com/", "%2fa"] {
            XCTAssertEqual(normalized(p), .notAbsolute, p)
        }
        XCTAssertNil(normalized("/..").bytes)
        XCTAssertEqual(normalized("/a/../b").bytes, Array("/b".utf8))
    }

    // MARK: - Range

    private func ranges(_ header: String, size: Int64) -> ByteRanges { ByteRanges.parse(Array(header.utf8), size: size) }
    private func spans(_ list: [(Int64, Int64)]) -> ByteRanges {
        .ranges(list.map { ByteRanges.ClosedOpen(start: $0.0, end: $0.1) })
    }

    func testSingleRanges() {
        XCTAssertEqual(ranges("bytes=0-99", size: 1000), spans([(0, 100)]))
        XCTAssertEqual(ranges("bytes=0-0", size: 1000), spans([(0, 1)]))
        XCTAssertEqual(ranges("bytes=500-", size: 1000), spans([(500, 1000)]))
        XCTAssertEqual(ranges("bytes=-100", size: 1000), spans([(900, 1000)]))
        XCTAssertEqual(ranges("bytes=-5000", size: 1000), spans([(0, 1000)]))
        XCTAssertEqual(ranges("bytes=900-5000", size: 1000), spans([(900, 1000)]))
        XCTAssertEqual(ranges("bytes=999-999", size: 1000), spans([(999, 1000)]))
        XCTAssertEqual(ranges("BYTES=1-2", size: 10), spans([(1, 3)]))
        XCTAssertEqual(ranges("Bytes= 1 - 2 ", size: 10), spans([(1, 3)]))
    }

    func testMultipleRanges() {
        XCTAssertEqual(ranges("bytes=0-9,20-29", size: 100), spans([(0, 10), (20, 30)]))
        XCTAssertEqual(ranges("bytes=0-9, 5-14,-10", size: 100), spans([(0, 10), (5, 15), (90, 100)]))
        // Unsatisfiable parts are dropped when another part is satisfiable.
        XCTAssertEqual(ranges("bytes=500-600,0-4", size: 100), spans([(0, 5)]))
        XCTAssertEqual(ranges("bytes=5-3,0-4", size: 100), spans([(0, 5)]))
    }

    func testRangesThatMeanTheWholeFile() {
        XCTAssertEqual(ranges("items=0-4", size: 100), .whole)
        XCTAssertEqual(ranges("bytes=", size: 100), .whole)
        XCTAssertEqual(ranges("byte=0-4", size: 100), .whole)
        XCTAssertEqual(ranges("bytes 0-4", size: 100), .whole)
        XCTAssertEqual(ranges("bytes=0-", size: 0), .whole)        // nothing to select in an empty file
        XCTAssertEqual(ranges("bytes=0-0", size: 0), .whole)
        XCTAssertEqual(ranges("bytes=-5", size: 0), .whole)
        XCTAssertEqual(ranges("bytes=0-,0-", size: 100), .whole)   // more than the file: send it once
        XCTAssertEqual(ranges("bytes=0-60,40-99", size: 100), .whole)
    }

    func testUnsatisfiableAndMalformedRanges() {
        for h in ["bytes=100-", "bytes=100-200", "bytes=5-3", "bytes=-0", "bytes=abc", "bytes=1-2-3",
                  "bytes=0-4,", "bytes=,0-4", "bytes=- 5", "bytes=0x1-2", "bytes=+1-2", "bytes=1-2;x",
                  "bytes=99999999999999999999-", "bytes=0-99999999999999999999", "bytes=200-300,400-"] {
            XCTAssertEqual(ranges(h, size: 100), .unsatisfiable, h)
        }
    }

    // MARK: - HTTP dates

    func testFormatsIMFFixdate() {
        XCTAssertEqual(HTTPDate.format(0), "Thu, 01 Jan 1970 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertEqual(HTTPDate.format(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT")
        XCTAssertEqual(HTTPDate.format(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT")
        XCTAssertEqual(HTTPDate.format(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT")
        XCTAssertEqual(HTTPDate.format(-1), "Wed, 31 Dec 1969 23:59:59 GMT")
    }

    func testParsesTheThreeForms() {
        let t = 784_111_777
        XCTAssertEqual(HTTPDate.parse(Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)), t)
        XCTAssertEqual(HTTPDate.parse(Array("Sunday, 06-Nov-94 08:49:37 GMT".utf8)), t)
        XCTAssertEqual(HTTPDate.parse(Array("Sun Nov  6 08:49:37 1994".utf8)), t)
        XCTAssertEqual(HTTPDate.parse(Array("Sun Nov 06 08:49:37 1994".utf8)), t)
        XCTAssertEqual(HTTPDate.parse(Array("Thursday, 01-Jan-70 00:00:00 GMT".utf8)), 0)
        XCTAssertEqual(HTTPDate.parse(Array("Saturday, 01-Jan-00 00:00:00 GMT".utf8)), 946_684_800)
        XCTAssertEqual(HTTPDate.parse(Array("Tue, 29 Feb 2000 00:00:00 GMT".utf8)), 951_782_400)
    }

    func testFormatAndParseRoundTrip() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let t = Int.random(in: 0...7_258_118_400, using: &g)  // 1970 … 2200
            XCTAssertEqual(HTTPDate.parse(Array(HTTPDate.format(t).utf8)), t, "\(t)")
        }
    }

    func testRejectsWhatIsNotADate() {
        for s in ["", "yesterday", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
                  "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                  "Tue, 29 Feb 1900 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:37 GMT",
                  "Sun, 06 Nov 1994 08:49:60 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
                  "Sun Nov  6 08:49:37", "1994-11-06T08:49:37Z", "Sun, 06-Nov-1994 08:49:37 GMT"] {
            XCTAssertNil(HTTPDate.parse(Array(s.utf8)), s)
        }
    }
}

final class RequestPathFastPathTests: XCTestCase {
    /// The router's shortcut must agree with the full normalisation: a path
    /// it calls normal normalises to itself, and every other one does not.
    func testIsNormalAgreesWithNormalize() {
        let samples = ["/", "/a", "/a/", "/a/b.c", "/.well-known/x", "/a..b/", "/..a", "/a.", "/~x/y-z_1",
                       "//", "/a//b", "/./", "/a/.", "/a/..", "/a/../b", "/%41", "/a%2fb", "/a/./b", "a", "", "/..", "/."]
        for sample in samples {
            let bytes = Array(sample.utf8)
            let fast = bytes.withUnsafeBufferPointer { RequestPath.isNormal($0) }
            let full = RequestPath.normalize(bytes)
            if fast {
                XCTAssertEqual(full, .path(bytes), sample)
            } else {
                XCTAssertNotEqual(full, .path(bytes), "\(sample) is normal but the shortcut refused it")
            }
        }
    }
}
