/// An upstream's status line and headers.
struct ResponseHead {
    var major: Int
    var minor: Int
    var status: Int
    var reason: String
    var headers: [(String, String)]

    func value(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    func values(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name }.map(\.1)
    }

    /// Parses a head that ends with an empty line; nil when it is not HTTP/1.x.
    static func parse(_ bytes: [UInt8]) -> ResponseHead? {
        // Split on bytes: as Swift Characters, "\r\n" is one grapheme and
        // would never match "\n".
        var lines: [Substring] = []
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let line = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            lines.append(Substring(String(decoding: line, as: UTF8.self)))
        }
        guard let first = lines.first, first.hasPrefix("HTTP/1."), first.utf8.count >= 12 else { return nil }
        let parts = first.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let minor = Int(parts[0].dropFirst("HTTP/1.".count)),
              parts[1].count == 3, let status = Int(parts[1]), status >= 100 else { return nil }
        var head = ResponseHead(major: 1, minor: minor, status: status,
                                reason: parts.count > 2 ? String(parts[2]) : "", headers: [])
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon]
            guard !name.isEmpty, !name.contains(" "), !name.contains("\t") else { return nil }
            let value = line[line.index(after: colon)...].trimmingSpacesAndTabs()
            head.headers.append((String(name), String(value)))
        }
        return head
    }

    /// How the body is delimited, per RFC 9112 §6.3.
    func framing(requestWasHead: Bool) -> BodyFraming? {
        if requestWasHead || (100..<200).contains(status) || status == 204 || status == 304 { return .empty }
        if let te = value("transfer-encoding") {
            guard te.lowercased().split(separator: ",").last?.trimmingSpacesAndTabs() == "chunked" else { return nil }
            return .chunked
        }
        let lengths = Set(values("content-length"))
        if lengths.count > 1 { return nil }
        if let cl = lengths.first {
            guard !cl.isEmpty, cl.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(cl) else { return nil }
            return .length(n)
        }
        return .untilClose
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
