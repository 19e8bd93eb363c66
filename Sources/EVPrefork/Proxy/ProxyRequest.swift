/// The request as the upstream gets it: hop-by-hop headers gone (RFC 9110
/// §7.6.1), the X-Forwarded-* family added, Host kept or replaced.
enum ProxyRequest {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-connection", "proxy-authenticate", "proxy-authorization",
    ]
    /// Headers we set ourselves, so the client's copies are dropped.
    static let rewritten: Set<String> = [
        "host", "content-length", "x-forwarded-for", "x-real-ip", "x-forwarded-proto", "x-forwarded-host",
    ]

    /// Names listed in Connection headers, lower-cased: hop-by-hop too.
    static func connectionTokens(_ headers: [(String, String)]) -> Set<String> {
        var out = Set<String>()
        for (name, value) in headers where sameHeaderName(name, "connection") {
            for token in value.utf8.split(separator: UInt8(ascii: ",")) {
                var t = Array(token.drop { $0 == 32 || $0 == 9 })
                while let last = t.last, last == 32 || last == 9 { t.removeLast() }
                for i in t.indices where t[i] >= 65 && t[i] <= 90 { t[i] |= 0x20 }
                out.insert(String(decoding: t, as: UTF8.self))
            }
        }
        return out
    }

    static func isHopByHop(_ lowerName: String, tokens: Set<String>) -> Bool {
        hopByHop.contains(lowerName) || lowerName.hasPrefix("proxy-") || tokens.contains(lowerName)
    }

    /// The request head and body bytes, ready to write.
    static func build(_ exchange: HTTPExchange, route: Route, proxy: ProxyRoute, upstream: UpstreamAddress,
                      upgrade: String?) -> [UInt8] {
        let headers = exchange.requestHeaders
        let tokens = connectionTokens(headers)
        // Built as bytes: String concatenation costs more than the rest of
        // a proxied request.
        var head: [UInt8] = []
        head.reserveCapacity(512)
        func add(_ s: String) { head.append(contentsOf: s.utf8) }
        func add(_ s: StaticString) { head.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        add(exchange.method)
        add(" ")
        add(target(exchange, route: route, strip: proxy.stripPrefix))
        add(" HTTP/1.1\r\n")
        var clientHost: String?
        var forwardedFor: String?
        for (name, value) in headers {
            if sameHeaderName(name, "host") { clientHost = clientHost ?? value; continue }
            if sameHeaderName(name, "x-forwarded-for") { forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value; continue }
            let lower = name.lowercased()
            if rewritten.contains(lower) || isHopByHop(lower, tokens: tokens) { continue }
            add(name); add(": "); add(value); add("\r\n")
        }
        let upstreamHost: String
        switch upstream {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            upstreamHost = port == 80 ? h : "\(h):\(port)"
        case .unix: upstreamHost = "localhost"
        }
        add("Host: "); add(proxy.preserveHost ? (clientHost ?? upstreamHost) : upstreamHost); add("\r\n")
        let remote = exchange.remoteAddress
        add("X-Forwarded-For: ")
        if let forwardedFor { add(forwardedFor); add(", ") }
        add(remote); add("\r\nX-Real-IP: "); add(remote); add("\r\nX-Forwarded-Proto: http\r\n")
        if let clientHost { add("X-Forwarded-Host: "); add(clientHost); add("\r\n") }
        if let upgrade { add("Connection: upgrade\r\nUpgrade: "); add(upgrade); add("\r\n") }
        let body = exchange.body
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(exchange.method) {
            add("Content-Length: "); add(String(body.count)); add("\r\n")
        }
        add("\r\n")
        head.append(contentsOf: body)
        return head
    }

    /// The raw target, with the route's prefix removed when `strip`. The
    /// route matched the normalised path; when the raw one spells the prefix
    /// differently (`/%61pi/`), the normalised path is forwarded instead,
    /// re-encoded, as nginx does when it rewrites a URI.
    static func target(_ exchange: HTTPExchange, route: Route, strip: Bool) -> String {
        let raw = exchange.target
        guard strip else { return raw }
        let prefix = route.path
        var rest: String
        if raw.hasPrefix(prefix) {
            rest = String(raw.dropFirst(prefix.count))
        } else if let path = exchange.normalizedPath.bytes, path.starts(with: prefix.utf8) {
            var encoded: [UInt8] = []
            Escaping.appendPath(path.dropFirst(prefix.utf8.count), to: &encoded)
            rest = String(decoding: encoded, as: UTF8.self)
            if let query = exchange.query { rest += "?" + query }
        } else {
            return raw
        }
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return rest
    }

    /// Response headers for the client: hop-by-hop ones and the upstream's
    /// Date and Server go (we send our own, as nginx does).
    static func responseHeaders(_ head: ResponseHead, keepLength: Bool) -> [(String, String)] {
        let tokens = head.connectionTokens
        return head.headers.filter { name, _ in
            if sameHeaderName(name, "date") || sameHeaderName(name, "server") { return false }
            if sameHeaderName(name, "content-length") { return keepLength }
            return !isHopByHop(name.lowercased(), tokens: tokens)
        }
    }
}
