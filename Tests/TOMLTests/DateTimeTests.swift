import XCTest
import TOML

final class DateTimeTests: XCTestCase {
    func testOffsetDateTimes() {
        guard case .offsetDateTime(let d, let t, let off)? = value(parseOK("a = 1979-05-27T07:32:00-08:00"), "a") else {
            return XCTFail("not an offset date-time")
        }
        XCTAssertEqual(d, TOMLLocalDate(year: 1979, month: 5, day: 27))
        XCTAssertEqual(t, TOMLLocalTime(hour: 7, minute: 32, second: 0))
        XCTAssertEqual(off, -480)
    }

    func testZuluLowercaseAndSpaceSeparator() {
        XCTAssertEqual(rendered("a = 1979-05-27T07:32:00Z\nb = 1979-05-27t07:32:00z\nc = 1979-05-27 07:32:00+05:30"),
                       "{a=1979-5-27T7:32:0@0,b=1979-5-27T7:32:0@0,c=1979-5-27T7:32:0@330}")
    }

    func testFractionKeptAsWritten() {
        XCTAssertEqual(rendered("a = 1979-05-27T00:32:00.999999999-07:00\nb = 00:32:00.5\nc = 1979-05-27T00:32:00.000"),
                       "{a=1979-5-27T0:32:0.999999999@-420,b=0:32:0.5,c=1979-5-27T0:32:0.000}")
    }

    func testLocalKinds() {
        let t = parseOK("ldt = 1979-05-27T07:32:00\nld = 1979-05-27\nlt = 07:32:00")
        guard case .localDateTime? = value(t, "ldt") else { return XCTFail("ldt") }
        guard case .localDate(let d)? = value(t, "ld") else { return XCTFail("ld") }
        guard case .localTime(let tm)? = value(t, "lt") else { return XCTFail("lt") }
        XCTAssertEqual(d, TOMLLocalDate(year: 1979, month: 5, day: 27))
        XCTAssertEqual(tm, TOMLLocalTime(hour: 7, minute: 32, second: 0, fraction: ""))
    }

    func testDateFollowedByCommentOrInArray() {
        XCTAssertEqual(rendered("a = 1979-05-27 # birthday\nb = [1979-05-27 , 1979-05-28T01:02:03]"),
                       "{a=1979-5-27,b=[1979-5-27,1979-5-28T1:2:3]}")
    }

    func testLeapYears() {
        XCTAssertEqual(rendered("a = 2000-02-29\nb = 2024-02-29"), "{a=2000-2-29,b=2024-2-29}")
        assertError("a = 1900-02-29", at: 1, 13, "invalid date 1900-02-29")
        assertError("a = 2023-02-30", at: 1, 13, "invalid date 2023-02-30")
    }

    func testDateRanges() {
        assertError("a = 2023-13-01", at: 1, 10, "invalid date 2023-13-01", "month")
        assertError("a = 2023-00-10", at: 1, 10, "month")
        assertError("a = 2023-04-31", at: 1, 13, "day must be 01 to 30")
        assertError("a = 2023-01-00", at: 1, 13, "day")
        assertError("a = 0000-01-01", at: 1, 5, "year")
    }

    func testTimeRanges() {
        assertError("a = 24:00:00", at: 1, 5, "invalid time 24:00:00", "hour")
        assertError("a = 23:60:00", at: 1, 8, "minute")
        assertError("a = 23:59:60", at: 1, 11, "second must be 00 to 59")
        assertError("a = 1979-05-27T25:00:00Z", at: 1, 16, "hour")
    }

    func testOffsetRanges() {
        assertError("a = 1979-05-27T07:32:00+24:00", at: 1, 25, "invalid time offset +24:00")
        assertError("a = 1979-05-27T07:32:00-01:60", at: 1, 28, "offset", "minute")
        assertError("a = 1979-05-27T07:32:00+0100", at: 1, 27, "expected \":\"")
    }

    func testSecondsAreRequired() {
        assertError("a = 07:32", at: 1, 10, "seconds are required")
        assertError("a = 1979-05-27T07:32Z", at: 1, 21, "seconds are required")
    }

    func testMalformedDateTimes() {
        assertError("a = 1979-5-27", at: 1, 11, "in date", "expected a digit")
        assertError("a = 1979-05-27T", at: 1, 16, "in time")
        assertError("a = 07:32:00.", at: 1, 14, "expected a digit")
        assertError("a = 07:32:00Z", at: 1, 13, "after value")
        assertError("a = 1979-05-27 x", at: 1, 16, "after value", "\"x\"")
    }
}
