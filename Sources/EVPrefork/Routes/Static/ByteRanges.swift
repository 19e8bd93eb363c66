/// The `Range` request header, read the way nginx's range filter reads it, so
/// that clients see the same answers: a syntax error is 416 (not ignored), a
/// range starting at 0 that selects nothing means "send the whole file", and
/// ranges that overlap to more than the file are answered with the whole file.
public enum ByteRanges: Equatable, Sendable {
    /// Send the whole representation with 200 (no usable Range).
    case whole
    /// 416, with `Content-Range: bytes */SIZE`.
    case unsatisfiable
    /// 206: one range, or several as multipart/byteranges. `end` is exclusive.
    case ranges([ClosedOpen])

    public struct ClosedOpen: Equatable, Sendable {
        public var start: Int64
        public var end: Int64
        public init(start: Int64, end: Int64) { self.start = start; self.end = end }
        public var length: Int64 { end - start }
    }

    /// Reads the value of a Range header for a representation of `size` bytes.
    public static func parse<Bytes: Collection>(_ header: Bytes, size: Int64) -> ByteRanges where Bytes.Element == UInt8 {
        let h = Array(header)
        // "bytes=" (any case) and at least one character after it; else not a byte range.
        guard h.count >= 7 else { return .whole }
        for (i, c) in "bytes=".utf8.enumerated() where h[i] | (c == UInt8(ascii: "=") ? 0 : 0x20) != c {
            return .whole
        }
        var at = 6
        func peek() -> UInt8? { at < h.count ? h[at] : nil }
        func skipSpaces() { while peek() == UInt8(ascii: " ") { at += 1 } }
        func number() -> Int64?? {
            // nil: no digit here; .some(nil): too large.
            guard let c = peek(), isDigit(c) else { return nil }
            var v: Int64 = 0
            while let c = peek(), isDigit(c) {
                let (times, o1) = v.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(Int64(c - UInt8(ascii: "0")))
                if o1 || o2 { return .some(nil) }
                v = plus
                at += 1
            }
            return .some(v)
        }

        var found: [ClosedOpen] = []
        var total: Int64 = 0
        while true {
            skipSpaces()
            var start: Int64 = 0, end: Int64
            if peek() == UInt8(ascii: "-") {
                // "-N": the last N bytes. No space between "-" and N.
                at += 1
                guard let n = number() else { return .unsatisfiable }
                guard let suffix = n else { return .unsatisfiable }
                start = suffix < size ? size - suffix : 0
                end = size
                guard endOfSpec(h, &at) else { return .unsatisfiable }
            } else {
                guard let s = number() else { return .unsatisfiable }
                guard let first = s else { return .unsatisfiable }
                start = first
                skipSpaces()
                guard peek() == UInt8(ascii: "-") else { return .unsatisfiable }
                at += 1
                skipSpaces()
                if peek() == nil || peek() == UInt8(ascii: ",") {
                    end = size  // "N-": from N to the end
                } else {
                    guard let e = number() else { return .unsatisfiable }
                    guard let last = e else { return .unsatisfiable }
                    guard endOfSpec(h, &at) else { return .unsatisfiable }
                    end = last >= size ? size : last + 1
                }
            }
            if start < end {
                found.append(ClosedOpen(start: start, end: end))
                let (sum, overflow) = total.addingReportingOverflow(end - start)
                if overflow { return .unsatisfiable }
                total = sum
            } else if start == 0 {
                return .whole  // e.g. "0-" of an empty file: nothing to select, send it all
            }
            // Any other empty range is dropped; the rest may still be satisfiable.
            guard peek() == UInt8(ascii: ",") else { break }
            at += 1
        }
        if found.isEmpty { return .unsatisfiable }
        if total > size { return .whole }
        return .ranges(found)
    }

    /// After a range's last number: spaces, then "," or the end.
    private static func endOfSpec(_ h: [UInt8], _ at: inout Int) -> Bool {
        while at < h.count && h[at] == UInt8(ascii: " ") { at += 1 }
        return at == h.count || h[at] == UInt8(ascii: ",")
    }
}

@inline(__always)
private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
