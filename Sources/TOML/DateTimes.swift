/// Offset date-times, local date-times, local dates and local times, with
/// calendar validation (as Python's datetime, which tomllib uses: years 1-9999,
/// seconds 00-59).

extension Parser {
    /// `YYYY-MM-DD`, optionally followed by `T`/`t`/space, a time and an offset.
    mutating func parseDateOrDateTime() throws(TOMLError) -> TOMLValue {
        let start = i
        let year = try fixedDigits(4, in: "date", format: "YYYY-MM-DD")
        try expectSeparator("-", in: "date", format: "YYYY-MM-DD")
        let monthAt = i
        let month = try fixedDigits(2, in: "date", format: "YYYY-MM-DD")
        try expectSeparator("-", in: "date", format: "YYYY-MM-DD")
        let dayAt = i
        let day = try fixedDigits(2, in: "date", format: "YYYY-MM-DD")
        let written = text(start, i)
        if year == 0 {
            throw error("invalid date \(written), the year must be 0001 or later", at: start)
        }
        if month < 1 || month > 12 {
            throw error("invalid date \(written), the month must be 01 to 12", at: monthAt)
        }
        let days = daysIn(month: month, year: year)
        if day < 1 || day > days {
            throw error("invalid date \(written), the day must be 01 to \(days)", at: dayAt)
        }
        let date = TOMLLocalDate(year: year, month: month, day: day)

        let b = byte(i)
        let hasTime = b == UInt8(ascii: "T") || b == UInt8(ascii: "t") || (b == 0x20 && isDigit(byte(i + 1)))
        guard hasTime else { return .localDate(date) }
        i += 1
        let time = try parseTimeOfDay()
        let o = byte(i)
        if o == UInt8(ascii: "Z") || o == UInt8(ascii: "z") {
            i += 1
            return .offsetDateTime(date, time, offsetMinutes: 0)
        }
        guard o == UInt8(ascii: "+") || o == UInt8(ascii: "-") else { return .localDateTime(date, time) }
        let offsetAt = i
        i += 1
        let hours = try fixedDigits(2, in: "time offset", format: "+HH:MM")
        try expectSeparator(":", in: "time offset", format: "+HH:MM")
        let minutesAt = i
        let minutes = try fixedDigits(2, in: "time offset", format: "+HH:MM")
        if hours > 23 {
            throw error("invalid time offset \(text(offsetAt, i)), the hour must be 00 to 23", at: offsetAt + 1)
        }
        if minutes > 59 {
            throw error("invalid time offset \(text(offsetAt, i)), the minute must be 00 to 59", at: minutesAt)
        }
        let offset = hours * 60 + minutes
        return .offsetDateTime(date, time, offsetMinutes: o == UInt8(ascii: "-") ? -offset : offset)
    }

    /// `HH:MM:SS` with optional fractional seconds of any length.
    mutating func parseTimeOfDay() throws(TOMLError) -> TOMLLocalTime {
        let start = i
        let format = "HH:MM:SS"
        let hour = try fixedDigits(2, in: "time", format: format)
        try expectSeparator(":", in: "time", format: format)
        let minuteAt = i
        let minute = try fixedDigits(2, in: "time", format: format)
        try expectSeparator(":", in: "time", format: format + ", seconds are required")
        let secondAt = i
        let second = try fixedDigits(2, in: "time", format: format)
        var fraction = ""
        if byte(i) == UInt8(ascii: ".") {
            i += 1
            guard isDigit(byte(i)) else {
                throw error("unexpected \(describe(at: i)) after \".\" in time, expected a digit", at: i)
            }
            let fractionStart = i
            while isDigit(byte(i)) { i += 1 }
            fraction = text(fractionStart, i)
        }
        let written = text(start, i)
        if hour > 23 {
            throw error("invalid time \(written), the hour must be 00 to 23", at: start)
        }
        if minute > 59 {
            throw error("invalid time \(written), the minute must be 00 to 59", at: minuteAt)
        }
        if second > 59 {
            throw error("invalid time \(written), the second must be 00 to 59", at: secondAt)
        }
        return TOMLLocalTime(hour: hour, minute: minute, second: second, fraction: fraction)
    }

    /// Exactly `count` decimal digits.
    private mutating func fixedDigits(_ count: Int, in what: String, format: String) throws(TOMLError) -> Int {
        var value = 0
        for _ in 0..<count {
            let b = byte(i)
            guard isDigit(b) else {
                throw error("unexpected \(describe(at: i)) in \(what), expected a digit (\(format))", at: i)
            }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
            i += 1
        }
        return value
    }

    private mutating func expectSeparator(_ separator: Unicode.Scalar, in what: String, format: String) throws(TOMLError) {
        guard byte(i) == UInt8(separator.value) else {
            throw error("unexpected \(describe(at: i)) in \(what), expected \"\(separator)\" (\(format))", at: i)
        }
        i += 1
    }
}

func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}
