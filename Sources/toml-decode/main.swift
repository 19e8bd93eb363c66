// toml-decode: reads a TOML document on stdin and prints it as the tagged JSON
// of the toml-test decoder protocol. On a parse error it prints the error to
// stderr and exits 1.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TOML

/// All of stdin.
func readStandardInput() -> [UInt8] {
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n > 0 {
            data.append(contentsOf: chunk[0..<n])
        } else if n == 0 || errno != EINTR {
            return data
        }
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n > 0 { offset += n } else if errno != EINTR { return }
    }
}

/// The toml-test JSON encoding.
struct TaggedJSON {
    var out: [UInt8] = []

    mutating func emit(_ s: String) { out.append(contentsOf: s.utf8) }

    mutating func string(_ s: String) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): emit("\\\"")
            case UInt8(ascii: "\\"): emit("\\\\")
            case 0x0A: emit("\\n")
            case 0x0D: emit("\\r")
            case 0x09: emit("\\t")
            case 0x08: emit("\\b")
            case 0x0C: emit("\\f")
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                emit("\\u00")
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func table(_ t: TOMLTable) {
        out.append(UInt8(ascii: "{"))
        for (n, entry) in t.entries.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            string(entry.key)
            out.append(UInt8(ascii: ":"))
            value(entry.node.value)
        }
        out.append(UInt8(ascii: "}"))
    }

    mutating func tagged(_ type: String, _ value: String) {
        emit("{\"type\":\"\(type)\",\"value\":")
        string(value)
        out.append(UInt8(ascii: "}"))
    }

    mutating func value(_ v: TOMLValue) {
        switch v {
        case .table(let t):
            table(t)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                value(item.value)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let s):
            tagged("string", s)
        case .integer(let i):
            tagged("integer", String(i))
        case .float(let d):
            tagged("float", d.isNaN ? "nan" : d.description)
        case .boolean(let b):
            tagged("bool", b ? "true" : "false")
        case .offsetDateTime(let date, let time, let offset):
            tagged("datetime", format(date) + "T" + format(time) + format(offset: offset))
        case .localDateTime(let date, let time):
            tagged("datetime-local", format(date) + "T" + format(time))
        case .localDate(let date):
            tagged("date-local", format(date))
        case .localTime(let time):
            tagged("time-local", format(time))
        }
    }

    func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    func format(_ d: TOMLLocalDate) -> String { "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))" }

    func format(_ t: TOMLLocalTime) -> String {
        "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))" + (t.fraction.isEmpty ? "" : "." + t.fraction)
    }

    func format(offset: Int) -> String {
        if offset == 0 { return "Z" }
        let m = abs(offset)
        return (offset < 0 ? "-" : "+") + pad(m / 60, 2) + ":" + pad(m % 60, 2)
    }
}

let input = readStandardInput()
do {
    let table = try TOML.parse(input)
    var json = TaggedJSON()
    json.table(table)
    json.out.append(0x0A)
    writeAll(1, json.out)
    exit(0)
} catch {
    writeAll(2, Array((error.formatted(file: "<stdin>") + "\n").utf8))
    exit(1)
}
