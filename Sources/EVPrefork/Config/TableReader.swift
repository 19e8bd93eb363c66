import TOML

/// Collects diagnostics while the schema walks a file, so every problem is
/// reported in one run.
final class DiagnosticSink {
    let file: String
    private(set) var diagnostics: [ConfigDiagnostic] = []
    init(file: String) { self.file = file }
    func error(_ message: String, at position: TOMLPosition) {
        diagnostics.append(ConfigDiagnostic(file: file, position: position, message: message))
    }
}

/// Reads typed keys from one TOML table, remembers which keys it read, and
/// reports the rest as unknown. On an error it records a diagnostic and
/// returns the default, so the walk goes on.
struct TableReader {
    let table: TOMLTable
    /// How messages name this table: `[server]`, `[[route]]`.
    let context: String
    let sink: DiagnosticSink
    private(set) var used: Set<String> = []

    init(_ table: TOMLTable, context: String, sink: DiagnosticSink) {
        self.table = table; self.context = context; self.sink = sink
    }

    mutating func entry(_ key: String) -> TOMLEntry? {
        used.insert(key)
        return table[key]
    }

    func typeError(_ entry: TOMLEntry, expected: String) {
        sink.error("invalid type for \"\(entry.key)\" in \(context): found \(describe(entry.node.value)), expected \(expected)",
                   at: entry.node.position)
    }

    func rangeError(_ entry: TOMLEntry, found: String, expected: String) {
        sink.error("value of \"\(entry.key)\" in \(context) is out of range: found \(found), expected \(expected)",
                   at: entry.node.position)
    }

    func missing(_ key: String, detail: String = "") {
        sink.error("missing required key \"\(key)\" in \(context)\(detail)", at: table.position)
    }

    mutating func bool(_ key: String, default value: Bool) -> Bool {
        guard let e = entry(key) else { return value }
        guard case .boolean(let b) = e.node.value else { typeError(e, expected: "a boolean"); return value }
        return b
    }

    mutating func int(_ key: String, default value: Int, range: ClosedRange<Int>) -> Int {
        guard let e = entry(key) else { return value }
        guard case .integer(let n) = e.node.value else { typeError(e, expected: "an integer"); return value }
        guard n >= Int64(range.lowerBound), n <= Int64(range.upperBound) else {
            rangeError(e, found: "\(n)", expected: describe(range))
            return value
        }
        return Int(n)
    }

    /// A string; with `choices`, one of them.
    mutating func string(_ key: String, choices: [String]? = nil) -> (String, TOMLPosition)? {
        guard let e = entry(key) else { return nil }
        guard case .string(let s) = e.node.value else { typeError(e, expected: "a string"); return nil }
        if let choices, !choices.contains(s) {
            sink.error("invalid value for \"\(key)\" in \(context): found \"\(s)\", expected one of "
                       + choices.map { "\"\($0)\"" }.joined(separator: ", ") + suggestion(for: s, among: choices),
                       at: e.node.position)
            return nil
        }
        return (s, e.node.position)
    }

    /// Seconds: a number, or a string with a unit (ms, s, m, h, d).
    mutating func duration(_ key: String, default value: Double, min: Double = 0, allowZero: Bool = true,
                           max: Double = 31_536_000) -> Double {
        guard let e = entry(key) else { return value }
        let seconds: Double
        switch e.node.value {
        case .integer(let n): seconds = Double(n)
        case .float(let f) where f.isFinite: seconds = f
        case .string(let s):
            guard let parsed = Units.parseDuration(s) else {
                sink.error("invalid duration \"\(s)\" for \"\(key)\" in \(context), expected seconds or a number with a unit: \"25ms\", \"5s\", \"2m\", \"1h\"",
                           at: e.node.position)
                return value
            }
            seconds = parsed
        default:
            typeError(e, expected: "a duration (seconds, or a string such as \"5s\")")
            return value
        }
        let low = allowZero ? "\(formatSeconds(min))" : "more than \(formatSeconds(min))"
        if seconds < min || (!allowZero && seconds <= min) || seconds > max {
            rangeError(e, found: "\(formatSeconds(seconds))s",
                       expected: allowZero ? "\(low)s to \(formatSeconds(max))s" : "\(low)s and at most \(formatSeconds(max))s")
            return value
        }
        return seconds
    }

    /// Bytes: an integer, or a string with a unit (B, KB, MB, GB; powers of 1024).
    mutating func size(_ key: String, default value: Int64, range: ClosedRange<Int64>) -> Int64 {
        guard let e = entry(key) else { return value }
        let bytes: Int64
        switch e.node.value {
        case .integer(let n): bytes = n
        case .string(let s):
            guard let parsed = Units.parseSize(s) else {
                sink.error("invalid size \"\(s)\" for \"\(key)\" in \(context), expected bytes or a number with a unit: \"16KB\", \"1MB\", \"2GB\"",
                           at: e.node.position)
                return value
            }
            bytes = parsed
        default:
            typeError(e, expected: "a size (bytes, or a string such as \"16KB\")")
            return value
        }
        guard range.contains(bytes) else {
            rangeError(e, found: "\(bytes) bytes", expected: "\(range.lowerBound) to \(range.upperBound) bytes")
            return value
        }
        return bytes
    }

    /// An array of strings, each with its position.
    mutating func stringArray(_ key: String, allowEmpty: Bool = false) -> [(String, TOMLPosition)]? {
        guard let e = entry(key) else { return nil }
        guard case .array(let nodes) = e.node.value else { typeError(e, expected: "an array of strings"); return nil }
        if nodes.isEmpty && !allowEmpty {
            sink.error("\"\(key)\" in \(context) is empty, expected at least one string", at: e.node.position)
            return nil
        }
        var out: [(String, TOMLPosition)] = []
        for node in nodes {
            guard case .string(let s) = node.value else {
                sink.error("invalid element in \"\(key)\" in \(context): found \(describe(node.value)), expected a string",
                           at: node.position)
                return nil
            }
            out.append((s, node.position))
        }
        return out
    }

    /// Reports every key nobody read. `elsewhere` maps keys that are valid in
    /// a sibling context to why they don't apply here.
    func reportUnknown(known: [String], ignoring: Set<String> = [], elsewhere: (String) -> String? = { _ in nil }) {
        for e in table.entries where !used.contains(e.key) && !ignoring.contains(e.key) {
            if let why = elsewhere(e.key) {
                sink.error("key \"\(e.key)\" \(why)", at: e.keyPosition)
            } else {
                sink.error("unknown key \"\(e.key)\" in \(context)\(suggestion(for: e.key, among: known))", at: e.keyPosition)
            }
        }
    }
}

/// " (did you mean "workers"?)" when a known word is a likely typo of `word`.
func suggestion(for word: String, among candidates: [String]) -> String {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0)) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return "" }
    let limit = max(1, min(3, best.0.count / 3))
    return best.1 <= limit ? " (did you mean \"\(best.0)\"?)" : ""
}

/// Damerau–Levenshtein (optimal string alignment), so a swapped pair of
/// letters counts as one typo.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[x.count][y.count]
}

/// `string "four"`, `integer 4`, `an array` — what a type error says was found.
func describe(_ value: TOMLValue) -> String {
    switch value {
    case .string(let s): "string \"\(s)\""
    case .integer(let n): "integer \(n)"
    case .float(let f): "float \(f)"
    case .boolean(let b): "boolean \(b)"
    case .array: "an array"
    case .table: "a table"
    default: "a \(value.typeName)"
    }
}

private func describe(_ range: ClosedRange<Int>) -> String {
    if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
    return "\(range.lowerBound) to \(range.upperBound)"
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() && abs(s) < 1e15 ? String(Int64(s)) : String(s)
}
