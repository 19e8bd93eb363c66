/// An upstream's status line and headers.
struct ResponseHead {
    var major: Int
    var minor: Int
    var status: Int
    var reason: String
    var headers: [(String, String)]
    /// Names the Connection header lists (lower case), computed once.
    var connectionTokens: Set<String> = []

    /// The first value of a header; `name` in lower case.
    func value(_ name: StaticString) -> String? {
        headers.first { sameHeaderName($0.0, name) }?.1
    }

    func values(_ name: StaticString) -> [String] {
        headers.filter { sameHeaderName($0.0, name) }.map(\.1)
    }

    /// Parses a head that ends with an empty line; nil when it is not HTTP/1.x.
    /// Works on bytes: this runs once per proxied response.
    static func parse(_ bytes: [UInt8]) -> ResponseHead? {
        bytes.withUnsafeBufferPointer { b -> ResponseHead? in
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
            var i = 12
            var lineEnd = i
            while lineEnd < n && b[lineEnd] != 10 { lineEnd += 1 }
            var reasonEnd = lineEnd
            if reasonEnd > i && b[reasonEnd - 1] == 13 { reasonEnd -= 1 }
            let reasonStart = i < reasonEnd && b[i] == 32 ? i + 1 : i
            var head = ResponseHead(major: 1, minor: Int(b[7] - 48), status: status,
                                    reason: String(decoding: UnsafeBufferPointer(rebasing: b[reasonStart..<max(reasonStart, reasonEnd)]), as: UTF8.self),
                                    headers: [])
            i = lineEnd + 1
            while i < n {
                var end = i
                while end < n && b[end] != 10 { end += 1 }
                var last = end
                if last > i && b[last - 1] == 13 { last -= 1 }
                if last == i { break }  // the empty line
                var colon = i
                while colon < last && b[colon] != 58 { colon += 1 }
                guard colon < last, colon > i else { return nil }
                for k in i..<colon where b[k] == 32 || b[k] == 9 { return nil }
                var v = colon + 1
                while v < last && (b[v] == 32 || b[v] == 9) { v += 1 }
                var w = last
                while w > v && (b[w - 1] == 32 || b[w - 1] == 9) { w -= 1 }
                head.headers.append((String(decoding: UnsafeBufferPointer(rebasing: b[i..<colon]), as: UTF8.self),
                                     String(decoding: UnsafeBufferPointer(rebasing: b[v..<w]), as: UTF8.self)))
                i = end + 1
            }
            head.connectionTokens = ProxyRequest.connectionTokens(head.headers)
            return head
        }
    }

    /// How the body is delimited, per RFC 9112 §6.3.
    func framing(requestWasHead: Bool) -> BodyFraming? {
        if requestWasHead || statusHasNoBody(status) { return .empty }
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

/// ASCII case-insensitive header-name equality; `lower` is in lower case.
/// No copies: header names are compared on every proxied request.
func sameHeaderName(_ name: String, _ lower: StaticString) -> Bool {
    let n = lower.utf8CodeUnitCount
    return name.utf8.withContiguousStorageIfAvailable { a -> Bool in
        guard a.count == n else { return false }
        let b = lower.utf8Start
        for i in 0..<n {
            let c = a[i]
            if (c >= 65 && c <= 90 ? c | 0x20 : c) != b[i] { return false }
        }
        return true
    } ?? (name.lowercased() == lower.description)
}

extension Substring {
    func trimmingSpacesAndTabs() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
