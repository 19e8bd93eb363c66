/// The request as the upstream gets it: hop-by-hop headers gone (RFC 9110
/// §7.6.1), the X-Forwarded-* family added, Host kept or replaced.
enum ProxyRequest {
    /// The request's Connection fields' values joined by commas.
    static func connectionList(_ exchange: HTTPExchange) -> [UInt8] {
        var list: [UInt8] = []
        exchange.eachRequestField { name, value in
            if asciiLowerEqual(name, "connection") { FieldNames.join(value, onto: &list) }
        }
        return list
    }

    /// Writes the request head for the upstream into `out`; the body goes
    /// behind it as it is. Fields are copied as bytes: Strings per field
    /// would cost more than the rest of a proxied request.
    static func writeHead(_ exchange: HTTPExchange, route: Route, proxy: ProxyRoute, upstream: UpstreamAddress,
                          upgrade: String?, bodyLength: Int, into out: ReplyBytes) {
        var connection: [UInt8] = []
        // Into the request's own storage, which outlives this call.
        var clientHost: UnsafeRawBufferPointer?
        var forwardedFor: [UInt8]?
        exchange.eachRequestField { name, value in
            if asciiLowerEqual(name, "connection") {
                FieldNames.join(value, onto: &connection)
            } else if asciiLowerEqual(name, "host") {
                if clientHost == nil { clientHost = value }
            } else if asciiLowerEqual(name, "x-forwarded-for") {
                if forwardedFor != nil { forwardedFor! += ", ".utf8 }
                forwardedFor = (forwardedFor ?? []) + value
            }
        }
        out.reset()
        out.appendText(exchange.method)
        out.append(" ")
        out.appendText(target(exchange, route: route, strip: proxy.stripPrefix))
        out.append(" HTTP/1.1\r\n")
        connection.withUnsafeBytes { connection in
            exchange.eachRequestField { name, value in
                if FieldNames.isRewrittenForUpstream(name) || FieldNames.isHopByHop(name, connection: connection) { return }
                out.append(name)
                out.append(": ")
                out.append(value)
                out.append("\r\n")
            }
        }
        out.append("Host: ")
        if proxy.preserveHost, let clientHost {
            out.append(clientHost)
        } else {
            switch upstream {
            case .tcp(let host, let port):
                let h = host.contains(":") ? "[\(host)]" : host
                out.appendText(port == 80 ? h : "\(h):\(port)")
            case .unix: out.append("localhost")
            }
        }
        out.append("\r\n")
        let remote = exchange.remoteAddress
        out.append("X-Forwarded-For: ")
        if let forwardedFor { out.append(forwardedFor); out.append(", ") }
        out.appendText(remote)
        out.append("\r\nX-Real-IP: ")
        out.appendText(remote)
        out.append("\r\nX-Forwarded-Proto: http\r\n")
        if let clientHost {
            out.append("X-Forwarded-Host: ")
            out.append(clientHost)
            out.append("\r\n")
        }
        if let upgrade {
            out.append("Connection: upgrade\r\nUpgrade: ")
            out.appendText(upgrade)
            out.append("\r\n")
        }
        if bodyLength > 0 || exchange.isPost || exchange.method == "PUT" || exchange.method == "PATCH" {
            out.append("Content-Length: ")
            out.appendDecimal(Int64(bodyLength))
            out.append("\r\n")
        }
        out.append("\r\n")
    }

    /// One buffer per worker for the heads written to upstreams.
    nonisolated(unsafe) static let head = ReplyBytes(capacity: 1024)

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
            head.connection.withUnsafeBytes { connection in
                for f in head.fields {
                    let name = UnsafeRawBufferPointer(rebasing: b[f.name])
                    if asciiLowerEqual(name, "date") || asciiLowerEqual(name, "server") { continue }
                    if asciiLowerEqual(name, "content-length") && !keepLength { continue }
                    if FieldNames.isHopByHop(name, connection: connection) { continue }
                    out.append(name)
                    out.append(": ")
                    out.append(UnsafeRawBufferPointer(rebasing: b[f.value]))
                    out.append("\r\n")
                }
            }
        }
    }
}
