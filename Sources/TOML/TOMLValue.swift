/// The document model. Every value and key keeps where it came from so that a
/// consumer (the config schema) can point its own errors at the source.

/// 1-based line and column; the column counts Unicode scalars, not bytes, so it
/// matches what an editor shows.
public struct TOMLPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
    public var description: String { "\(line):\(column)" }
    public static func < (a: TOMLPosition, b: TOMLPosition) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
}

public struct TOMLLocalDate: Sendable, Hashable {
    public var year: Int, month: Int, day: Int
    public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }
}

public struct TOMLLocalTime: Sendable, Hashable {
    public var hour: Int, minute: Int, second: Int
    /// Fractional seconds exactly as written (digits after the dot, "" if none),
    /// so no precision is lost or invented.
    public var fraction: String
    public init(hour: Int, minute: Int, second: Int, fraction: String = "") {
        self.hour = hour; self.minute = minute; self.second = second; self.fraction = fraction
    }
}

public indirect enum TOMLValue: Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// Offset in minutes east of UTC; `Z` is 0.
    case offsetDateTime(TOMLLocalDate, TOMLLocalTime, offsetMinutes: Int)
    case localDateTime(TOMLLocalDate, TOMLLocalTime)
    case localDate(TOMLLocalDate)
    case localTime(TOMLLocalTime)
    case array([TOMLNode])
    case table(TOMLTable)

    /// The TOML type name used in messages ("integer", "string", "table", ...).
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .offsetDateTime: "offset date-time"
        case .localDateTime: "local date-time"
        case .localDate: "local date"
        case .localTime: "local time"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// A value and the position of its first character.
public struct TOMLNode: Sendable {
    public var value: TOMLValue
    public var position: TOMLPosition
    public init(_ value: TOMLValue, at position: TOMLPosition) { self.value = value; self.position = position }
}

/// One key of a table: the key's own position (of the last key part, for a
/// dotted key) and its value.
public struct TOMLEntry: Sendable {
    public var key: String
    public var keyPosition: TOMLPosition
    public var node: TOMLNode
    public init(key: String, keyPosition: TOMLPosition, node: TOMLNode) {
        self.key = key; self.keyPosition = keyPosition; self.node = node
    }
}

/// A table keeps its keys in source order. `position` is where the table was
/// opened: its `[header]` / `[[header]]`, its `{`, or, for a table created
/// implicitly by a dotted key or header, the key that created it.
public struct TOMLTable: Sendable {
    public var entries: [TOMLEntry]
    public var position: TOMLPosition
    public init(entries: [TOMLEntry] = [], position: TOMLPosition = TOMLPosition(line: 1, column: 1)) {
        self.entries = entries; self.position = position
    }
    public subscript(key: String) -> TOMLEntry? { entries.first { $0.key == key } }
}

/// A syntax error: where, and a sentence that says what was found and what was
/// expected ("found \"=\", expected a key").
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: TOMLPosition
    public var message: String
    public init(_ message: String, at position: TOMLPosition) { self.message = message; self.position = position }
    public var description: String { "\(position): error: \(message)" }
    /// `FILE:LINE:COL: error: MESSAGE`, the shape every evprefork error has.
    public func formatted(file: String) -> String { "\(file):\(description)" }
}
