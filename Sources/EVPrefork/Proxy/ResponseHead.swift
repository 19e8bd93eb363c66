import Glibc

/// An upstream's status line and header fields. The fields stay the bytes
/// received, with their positions: a proxied answer's head is copied to the
/// client field by field, and a String is made only when a value is asked for.
struct ResponseHead {
    /// A field's name and its value (without surrounding whitespace), as ranges of `bytes`.
    struct Field {
        let name: Range<Int>
        let value: Range<Int>
    }

    /// The head as received, status line to empty line.
    let bytes: [UInt8]
    let minor: Int
    let status: Int
    private(set) var fields: [Field] = []
    /// The Connection fields' values joined by commas (most answers have one
    /// or none): the names they list are hop-by-hop too.
    private(set) var connection: [UInt8] = []

    /// Whether field `f`'s name is `lower`, in any case.
    func name(of f: Field, is lower: StaticString) -> Bool {
        bytes[f.name].elementsEqualLowercased(lower)
    }

    /// The first field named `name` (lower case).
    func field(_ name: StaticString) -> Field? {
        fields.first { self.name(of: $0, is: name) }
    }

    /// The first value of a field; `name` in lower case.
    func value(_ name: StaticString) -> String? {
        field(name).map { String(decoding: bytes[$0.value], as: UTF8.self) }
    }

    /// Whether a Connection field lists `token`.
    func connectionLists(_ token: StaticString) -> Bool {
        connection.withUnsafeBytes { FieldNames.list($0, contains: token) }
    }

    /// Parses a head that ends with an empty line; nil when it is not HTTP/1.x.
    static func parse(_ bytes: [UInt8]) -> ResponseHead? {
        let parsed = bytes.withUnsafeBufferPointer { b -> (minor: Int, status: Int, fields: [Field])? in
            let n = b.count
            // "HTTP/1.x SSS[ reason]"
            guard n >= 12, b[0] == 72, b[1] == 84, b[2] == 84, b[3] == 80, b[4] == 47, b[5] == 49, b[6] == 46,
                  b[7] >= 48, b[7] <= 57, b[8] == 32 else { return nil }
            var status = 0
            for i in 9..<12 {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                status = status * 10 + Int(b[i] - 48)
            }
            guard status >= 100 else { return nil }
            let base = b.baseAddress!
            // memchr finds line ends and colons a word at a time.
            func find(_ byte: UInt8, from: Int, to: Int) -> Int {
                guard to > from, let p = memchr(base + from, Int32(byte), to - from) else { return to }
                return UnsafePointer<UInt8>(p.assumingMemoryBound(to: UInt8.self)) - base
            }
            var i = find(10, from: 12, to: n) + 1
            var fields: [Field] = []
            fields.reserveCapacity(12)
            while i < n {
                let end = find(10, from: i, to: n)
                var last = end
                if last > i && b[last - 1] == 13 { last -= 1 }
                if last == i { break }  // the empty line
                let colon = find(58, from: i, to: last)
                guard colon < last, colon > i else { return nil }
                for k in i..<colon where b[k] == 32 || b[k] == 9 { return nil }
                var v = colon + 1
                while v < last && (b[v] == 32 || b[v] == 9) { v += 1 }
                var w = last
                while w > v && (b[w - 1] == 32 || b[w - 1] == 9) { w -= 1 }
                fields.append(Field(name: i..<colon, value: v..<w))
                i = end + 1
            }
            return (Int(b[7] - 48), status, fields)
        }
        guard let parsed else { return nil }
        var head = ResponseHead(bytes: bytes, minor: parsed.minor, status: parsed.status, fields: parsed.fields)
        for f in head.fields where head.name(of: f, is: "connection") {
            bytes[f.value].withUnsafeBytes { FieldNames.join($0, onto: &head.connection) }
        }
        return head
    }

    /// How the body is delimited, per RFC 9112 §6.3.
    func framing(requestWasHead: Bool) -> BodyFraming? {
        if requestWasHead || statusHasNoBody(status) { return .empty }
        if let te = field("transfer-encoding") {
            // The final coding must be chunked (empty list elements do not count, RFC 9110 §5.6.1).
            let final = bytes.withUnsafeBytes { FieldNames.lastElement(UnsafeRawBufferPointer(rebasing: $0[te.value])) }
            guard let final, asciiLowerEqual(final, "chunked") else { return nil }
            return .chunked
        }
        var length: ArraySlice<UInt8>?
        for f in fields where name(of: f, is: "content-length") {
            let v = bytes[f.value]
            if let seen = length, !seen.elementsEqual(v) { return nil }  // conflicting lengths
            length = v
        }
        guard let length else { return .untilClose }
        guard !length.isEmpty, length.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let n = Int(String(decoding: length, as: UTF8.self)) else { return nil }
        return .length(n)
    }
}

enum BodyFraming: Equatable {
    case empty
    case length(Int)
    case chunked
    case untilClose
}

extension Substring {
    func trimmingSpacesAndTabs() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
