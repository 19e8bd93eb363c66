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

    /// Names listed in Connection headers: hop-by-hop too.
    static func connectionTokens(_ headers: [(String, String)]) -> Set<String> {
        var out = Set<String>()
        for (name, value) in headers where name.lowercased() == "connection" {
            for token in value.split(separator: ",") {
                out.insert(String(token.trimmingSpacesAndTabs()).lowercased())
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
        var head = exchange.method
        head += " "
        head += target(exchange, route: route, strip: proxy.stripPrefix)
        head += " HTTP/1.1\r\n"
        var clientHost: String?
        var forwardedFor: String?
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower == "host" { clientHost = clientHost ?? value; continue }
            if lower == "x-forwarded-for" { forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value; continue }
            if rewritten.contains(lower) || isHopByHop(lower, tokens: tokens) { continue }
            head += name; head += ": "; head += value; head += "\r\n"
        }
        let upstreamHost: String
        switch upstream {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            upstreamHost = port == 80 ? h : "\(h):\(port)"
        case .unix: upstreamHost = "localhost"
        }
        head += "Host: \(proxy.preserveHost ? (clientHost ?? upstreamHost) : upstreamHost)\r\n"
        let remote = exchange.remoteAddress
        head += "X-Forwarded-For: \(forwardedFor.map { "\($0), \(remote)" } ?? remote)\r\n"
        head += "X-Real-IP: \(remote)\r\n"
        head += "X-Forwarded-Proto: http\r\n"
        if let clientHost { head += "X-Forwarded-Host: \(clientHost)\r\n" }
        if let upgrade {
            head += "Connection: upgrade\r\nUpgrade: \(upgrade)\r\n"
        }
        let body = exchange.body
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(exchange.method) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: body)
        return bytes
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
        let tokens = connectionTokens(head.headers)
        return head.headers.filter { name, _ in
            let lower = name.lowercased()
            if lower == "date" || lower == "server" { return false }
            if lower == "content-length" { return keepLength }
            return !isHopByHop(lower, tokens: tokens)
        }
    }
}
