import XCTest
import TOML

final class NumberTests: XCTestCase {
    func testDecimalIntegers() {
        XCTAssertEqual(rendered("a = 99\nb = +99\nc = 0\nd = -17\ne = +0\nf = -0"), "{a=99,b=99,c=0,d=-17,e=0,f=0}")
    }

    func testUnderscoresBetweenDigits() {
        XCTAssertEqual(value(parseOK("a = 1_000_000"), "a")?.integer, 1_000_000)
        XCTAssertEqual(value(parseOK("a = 5_3_4"), "a")?.integer, 534)
    }

    func testInt64Limits() {
        XCTAssertEqual(value(parseOK("a = 9223372036854775807"), "a")?.integer, Int64.max)
        XCTAssertEqual(value(parseOK("a = -9223372036854775808"), "a")?.integer, Int64.min)
        XCTAssertEqual(value(parseOK("a = 0x7FFF_FFFF_FFFF_FFFF"), "a")?.integer, Int64.max)
    }

    func testIntegerOverflow() {
        assertError("a = 9223372036854775808", at: 1, 5, "integer 9223372036854775808 does not fit in 64 bits")
        assertError("a = -9_223_372_036_854_775_809", at: 1, 5, "does not fit in 64 bits")
        assertError("a = 0x8000000000000000", at: 1, 5, "does not fit in 64 bits")
    }

    func testHexOctalBinary() {
        XCTAssertEqual(rendered("a = 0xDEADbeef\nb = 0o755\nc = 0b1101_0110\nd = 0x0"), "{a=3735928559,b=493,c=214,d=0}")
    }

    func testRadixErrors() {
        assertError("a = +0x10", at: 1, 5, "sign")
        assertError("a = 0X10", at: 1, 6, "lowercase")
        assertError("a = 0b102", at: 1, 9, "invalid binary digit \"2\"")
        assertError("a = 0o", at: 1, 7, "expected an octal digit")
        assertError("a = 0x_1", at: 1, 7, "expected a hexadecimal digit")
    }

    func testLeadingZero() {
        assertError("a = 012", at: 1, 5, #"leading zero in integer "012""#)
        assertError("a = -01.5", at: 1, 6, #"leading zero in float "-01.5""#)
        assertError("a = 0_1", at: 1, 5, "leading zero")
    }

    func testMisplacedUnderscores() {
        assertError("a = 1__2", at: 1, 6, "underscore must be between two digits")
        assertError("a = 1_", at: 1, 6, "underscore")
        assertError("a = 1_.5", at: 1, 6, "underscore")
        assertError("a = 1.5_e3", at: 1, 8, "underscore")
        assertError("a = 1e_3", at: 1, 7, "expected a digit")
        assertError("a = _1", at: 1, 5, "expected a value")
    }

    func testFloats() {
        let t = parseOK("a = 1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\nh = 224_617.445_991_228\ni = 0e0")
        XCTAssertEqual(value(t, "a")?.float, 1.0)
        XCTAssertEqual(value(t, "b")?.float, 3.1415)
        XCTAssertEqual(value(t, "c")?.float, -0.01)
        XCTAssertEqual(value(t, "d")?.float, 5e22)
        XCTAssertEqual(value(t, "e")?.float, 1e6)
        XCTAssertEqual(value(t, "f")?.float, -0.02)
        XCTAssertEqual(value(t, "g")?.float, 6.626e-34)
        XCTAssertEqual(value(t, "h")?.float, 224617.445991228)
        XCTAssertEqual(value(t, "i")?.float, 0)
    }

    func testNegativeZeroKeepsItsSign() {
        let d = value(parseOK("a = -0.0"), "a")?.float
        XCTAssertEqual(d, 0)
        XCTAssertEqual(d?.sign, .minus)
    }

    func testSpecialFloats() {
        let t = parseOK("a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan")
        XCTAssertEqual(value(t, "a")?.float, .infinity)
        XCTAssertEqual(value(t, "b")?.float, .infinity)
        XCTAssertEqual(value(t, "c")?.float, -.infinity)
        for k in ["d", "e", "f"] { XCTAssertTrue(value(t, k)?.float?.isNaN ?? false, k) }
    }

    func testHugeExponentIsInfinityLikePython() {
        XCTAssertEqual(value(parseOK("a = 1e400"), "a")?.float, .infinity)
        XCTAssertEqual(value(parseOK("a = 1e-400"), "a")?.float, 0)
    }

    func testFloatSyntaxErrors() {
        assertError("a = 1.", at: 1, 7, "after \".\"", "expected a digit")
        assertError("a = .5", at: 1, 5, "expected a value")
        assertError("a = 1.e5", at: 1, 7, "expected a digit")
        assertError("a = 1.5.3", at: 1, 8, "unexpected \".\" in number")
        assertError("a = 1e", at: 1, 7, "exponent")
        assertError("a = infinity", at: 1, 8, "in number")
        assertError("a = Inf", at: 1, 5, "expected a value")
    }

    func testSignWithoutNumber() {
        assertError("a = +", at: 1, 6, "expected a number")
        assertError("a = -x", at: 1, 6, "expected a number")
    }

    func testNumberRunningIntoText() {
        assertError("a = 12abc", at: 1, 7, "unexpected \"a\" in number")
        assertError("a = 1-2", at: 1, 6, "unexpected \"-\" in number")
    }

    func testBooleans() {
        XCTAssertEqual(rendered("t = true\nf = false"), "{t=true,f=false}")
        assertError("t = True", at: 1, 5, "unexpected \"True\", expected a value")
        assertError("t = truex", at: 1, 9, "after value", "\"x\"")
    }
}
