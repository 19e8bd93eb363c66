/// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out; IMF-fixdate, RFC 850 and
/// asctime in. Whole seconds since the epoch, UTC, no time zone database.
public enum HTTPDate {
    private static let dayNames: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let monthNames: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func format(_ seconds: Int) -> String {
        withFormatted(seconds) { String(decoding: $0, as: UTF8.self) }
    }

    /// The 29 bytes of the IMF-fixdate for `seconds`, in a buffer that lives
    /// for the call only (no allocation: headers are written from it).
    static func withFormatted<R>(_ seconds: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let t = CivilTime(seconds)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 30) { buffer in
            var w = ByteWriter(buffer)
            w.append(dayNames[t.weekday])
            w.append(", ")
            w.appendDecimal(t.day, width: 2)
            w.append(" ")
            w.append(monthNames[t.month - 1])
            w.append(" ")
            w.appendDecimal(t.year, width: 4)
            w.append(" ")
            w.appendDecimal(t.hour, width: 2)
            w.append(":")
            w.appendDecimal(t.minute, width: 2)
            w.append(":")
            w.appendDecimal(t.second, width: 2)
            w.append(" GMT")
            return body(UnsafeBufferPointer(rebasing: buffer[..<w.count]))
        }
    }

    /// Parses the three forms HTTP/1.1 recipients must accept:
    /// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT` and
    /// `Sun Nov  6 08:49:37 1994`. The weekday is not checked against the
    /// date, and anything after the time (or year) is ignored, as nginx does.
    public static func parse<Bytes: Collection>(_ text: Bytes) -> Int? where Bytes.Element == UInt8 {
        var s = Scanner(Array(text))
        // Weekday: letters, then "," (IMF-fixdate, RFC 850) or " " (asctime).
        guard s.skipLetters() > 0 else { return nil }
        let day: Int, month: Int, year: Int
        if s.take(UInt8(ascii: ",")) {
            s.skipSpaces()
            guard let d = s.digits(exactly: 2) else { return nil }
            if s.take(UInt8(ascii: " ")) {
                guard let m = s.month(), s.take(UInt8(ascii: " ")), let y = s.digits(exactly: 4) else { return nil }
                (day, month, year) = (d, m, y)
            } else if s.take(UInt8(ascii: "-")) {
                // RFC 850's two-digit year: 70–99 are 19xx, the rest 20xx (RFC 9110 §5.6.7
                // asks for "50 years in the future" reasoning; nginx uses 70, as do we).
                guard let m = s.month(), s.take(UInt8(ascii: "-")), let y = s.digits(exactly: 2) else { return nil }
                (day, month, year) = (d, m, y < 70 ? 2000 + y : 1900 + y)
            } else {
                return nil
            }
            guard s.take(UInt8(ascii: " ")), let clock = s.clock() else { return nil }
            return CivilTime.seconds(year: year, month: month, day: day, clock: clock)
        }
        guard s.take(UInt8(ascii: " ")), let m = s.month(), s.take(UInt8(ascii: " ")) else { return nil }
        _ = s.take(UInt8(ascii: " "))  // "Nov  6": a space pads a one-digit day
        guard let d = s.digits(from: 1, to: 2), s.take(UInt8(ascii: " ")), let clock = s.clock(),
              s.take(UInt8(ascii: " ")), let y = s.digits(exactly: 4) else { return nil }
        return CivilTime.seconds(year: y, month: m, day: d, clock: clock)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var at = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var next: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func take(_ c: UInt8) -> Bool {
            guard next == c else { return false }
            at += 1
            return true
        }

        mutating func skipSpaces() { while next == UInt8(ascii: " ") { at += 1 } }

        mutating func skipLetters() -> Int {
            let start = at
            while let c = next, (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") { at += 1 }
            return at - start
        }

        mutating func digits(from least: Int, to most: Int) -> Int? {
            var value = 0, n = 0
            while n < most, let c = next, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                value = value * 10 + Int(c - UInt8(ascii: "0"))
                at += 1
                n += 1
            }
            return n >= least ? value : nil
        }

        mutating func digits(exactly n: Int) -> Int? { digits(from: n, to: n) }

        /// "Jan" … "Dec" (case as RFC 9110 writes them) → 1 … 12.
        mutating func month() -> Int? {
            guard at + 3 <= bytes.count else { return nil }
            for (i, name) in HTTPDate.monthNames.enumerated() {
                let n = name.utf8Start
                if bytes[at] == n[0] && bytes[at + 1] == n[1] && bytes[at + 2] == n[2] {
                    at += 3
                    return i + 1
                }
            }
            return nil
        }

        /// "hh:mm:ss" as seconds into the day.
        mutating func clock() -> Int? {
            guard let h = digits(exactly: 2), take(UInt8(ascii: ":")), let m = digits(exactly: 2),
                  take(UInt8(ascii: ":")), let sec = digits(exactly: 2),
                  h < 24, m < 60, sec < 60 else { return nil }
            return h * 3600 + m * 60 + sec
        }
    }
}

/// A UTC calendar date and time from seconds since the epoch, and back, by
/// the proleptic Gregorian calendar (days counted in 400-year eras).
struct CivilTime {
    var year: Int, month: Int, day: Int
    var hour: Int, minute: Int, second: Int
    /// 0 = Sunday.
    var weekday: Int

    init(_ seconds: Int) {
        var days = seconds / 86400
        var rest = seconds % 86400
        if rest < 0 { rest += 86400; days -= 1 }
        hour = rest / 3600
        minute = rest / 60 % 60
        second = rest % 60
        weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
        // Shift the epoch to 0000-03-01 so that leap days end each year.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Seconds since the epoch, or nil for a day that does not exist.
    static func seconds(year: Int, month: Int, day: Int, clock: Int) -> Int? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthFromMarch = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86400 + clock
    }
}
