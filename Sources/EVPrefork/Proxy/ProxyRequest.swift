/// The request as the upstream gets it: hop-by-hop headers gone (RFC 9110
/// §7.6.1), the X-Forwarded-* family added, Host kept or replaced.
enum ProxyRequest {
    /// The names the request's Connection fields list, lower-cased.
    static func connectionTokens(_ exchange: HTTPExchange) -> [[UInt8]] {
        var tokens: [[UInt8]] = []
        exchange.eachRequestField { name, value in
            if asciiLowerEqual(name, "connection") { tokens += FieldNames.tokens(value) }
        }
        return tokens
    }

    /// The request head and body bytes, ready to write. Fields are copied
    /// as bytes: Strings per field would cost more than the rest of a
    /// proxied request.
    static func build(_ exchange: HTTPExchange, route: Route, proxy: ProxyRoute, upstream: UpstreamAddress,
                      upgrade: String?) -> [UInt8] {
        var tokens: [[UInt8]] = []
        var clientHost: [UInt8]?
        var forwardedFor: [UInt8]?
        exchange.eachRequestField { name, value in
            if asciiLowerEqual(name, "connection") {
                tokens += FieldNames.tokens(value)
            } else if asciiLowerEqual(name, "host") {
                if clientHost == nil { clientHost = Array(value) }
            } else if asciiLowerEqual(name, "x-forwarded-for") {
                if forwardedFor != nil { forwardedFor! += ", ".utf8 }
                forwardedFor = (forwardedFor ?? []) + value
            }
        }
        var head: [UInt8] = []
        head.reserveCapacity(512)
        func add(_ s: String) { head.append(contentsOf: s.utf8) }
        func add(_ s: StaticString) { head.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        add(exchange.method)
        add(" ")
        add(target(exchange, route: route, strip: proxy.stripPrefix))
        add(" HTTP/1.1\r\n")
        exchange.eachRequestField { name, value in
            if FieldNames.isRewrittenForUpstream(name) || FieldNames.isHopByHop(name, tokens: tokens) { return }
            head.append(contentsOf: name); add(": "); head.append(contentsOf: value); add("\r\n")
        }
        add("Host: ")
        if proxy.preserveHost, let clientHost {
            head.append(contentsOf: clientHost)
        } else {
            switch upstream {
            case .tcp(let host, let port):
                let h = host.contains(":") ? "[\(host)]" : host
                add(port == 80 ? h : "\(h):\(port)")
            case .unix: add("localhost")
            }
        }
        add("\r\n")
        let remote = exchange.remoteAddress
        add("X-Forwarded-For: ")
        if let forwardedFor { head.append(contentsOf: forwardedFor); add(", ") }
        add(remote); add("\r\nX-Real-IP: "); add(remote); add("\r\nX-Forwarded-Proto: http\r\n")
        if let clientHost { add("X-Forwarded-Host: "); head.append(contentsOf: clientHost); add("\r\n") }
        if let upgrade { add("Connection: upgrade\r\nUpgrade: "); add(upgrade); add("\r\n") }
        let body = exchange.body
        if !body.isEmpty || exchange.isPost || exchange.method == "PUT" || exchange.method == "PATCH" {
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

    /// The upstream's fields for the client: hop-by-hop ones and the
    /// upstream's Date and Server go (we send our own, as nginx does), and
    /// Content-Length unless `keepLength`.
    static func appendResponseFields(_ head: ResponseHead, keepLength: Bool, to out: ReplyBytes) {
        head.bytes.withUnsafeBytes { b in
            for f in head.fields {
                let name = UnsafeRawBufferPointer(rebasing: b[f.name])
                if asciiLowerEqual(name, "date") || asciiLowerEqual(name, "server") { continue }
                if asciiLowerEqual(name, "content-length") && !keepLength { continue }
                if FieldNames.isHopByHop(name, tokens: head.connectionTokens) { continue }
                out.append(name)
                out.append(": ")
                out.append(UnsafeRawBufferPointer(rebasing: b[f.value]))
                out.append("\r\n")
            }
        }
    }
}
