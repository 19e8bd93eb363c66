/// Durations and sizes as operators write them: a bare number, or a string
/// with a unit. Sizes use powers of 1024 as nginx does.
enum Units {
    static let durationUnits: [(suffix: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ]
    static let sizeUnits: [(suffix: String, bytes: Int64)] = [
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30),
        ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30),
        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
    ]

    /// "25ms", "1.5s", "2m", "1h" → seconds. nil when the text is not a duration.
    static func parseDuration(_ text: String) -> Double? {
        let lower = text.lowercased()
        for unit in durationUnits where lower.hasSuffix(unit.suffix) {
            let number = lower.dropLast(unit.suffix.count)
            // "5m" must not be read as "5" + "m" of "ms": ms is tried first.
            guard let value = parseNumber(number) else { continue }
            return value * unit.seconds
        }
        return parseNumber(Substring(lower))
    }

    /// "16KB", "1MB", "2GB", "512" → bytes. nil when the text is not a size.
    static func parseSize(_ text: String) -> Int64? {
        let lower = text.lowercased()
        for unit in sizeUnits where lower.hasSuffix(unit.suffix) {
            let number = lower.dropLast(unit.suffix.count)
            guard let value = parseNumber(number) else { continue }
            let bytes = value * Double(unit.bytes)
            guard bytes < 9.0e18 else { return nil }
            return Int64(bytes.rounded())
        }
        guard let value = parseNumber(Substring(lower)), value == value.rounded(), value < 9.0e18 else { return nil }
        return Int64(value)
    }

    /// Plain decimal: digits with an optional fraction; no sign, no exponent,
    /// so "1e3s" or "-5s" are errors rather than surprises.
    private static func parseNumber(_ text: Substring) -> Double? {
        let body = text.trimmingSpaces()
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              body.filter({ $0 == "." }).count <= 1, body.first != ".", body.last != "."
        else { return nil }
        return Double(body)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
