/// The opening handshake (RFC 6455 §4.2): check the request, and compute
/// the answer's Sec-WebSocket-Accept.
enum Handshake {
    enum Verdict {
        case accept(key: String, protocols: [String])
        case refuse(status: Int, headers: [(String, String)])
    }

    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    static func check(_ exchange: HTTPExchange, origins: [String]?) -> Verdict {
        guard exchange.method == "GET" else { return .refuse(status: 405, headers: [("Allow", "GET")]) }
        let version = exchange.httpVersion
        guard version.major == 1 && version.minor >= 1 else { return .refuse(status: 400, headers: []) }
        let upgrade = tokens(exchange, "Upgrade")
        let connection = tokens(exchange, "Connection")
        guard upgrade.contains("websocket"), connection.contains("upgrade") else {
            return .refuse(status: 426, headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                  ("Sec-WebSocket-Version", "13")])
        }
        guard exchange.header("Sec-WebSocket-Version")?.trimmingCharacters(in: " \t") == "13" else {
            return .refuse(status: 426, headers: [("Sec-WebSocket-Version", "13")])
        }
        guard let key = exchange.header("Sec-WebSocket-Key")?.trimmingCharacters(in: " \t"),
              Base64.decode(key)?.count == 16 else {
            return .refuse(status: 400, headers: [])
        }
        if let origins {
            guard let origin = exchange.header("Origin")?.lowercased(), origins.contains(origin) else {
                return .refuse(status: 403, headers: [])
            }
        }
        let offered = exchange.requestHeaders.filter { $0.0.lowercased() == "sec-websocket-protocol" }
            .flatMap { $0.1.split(separator: ",").map { String($0.trimmingSpacesAndTabs()) } }
        return .accept(key: key, protocols: offered)
    }

    static func acceptValue(for key: String) -> String {
        Base64.encode(SHA1.digest(Array((key + guid).utf8)))
    }

    /// Comma-separated tokens of every header of that name, lower-cased.
    private static func tokens(_ exchange: HTTPExchange, _ name: String) -> Set<String> {
        let lower = name.lowercased()
        var out = Set<String>()
        for (n, v) in exchange.requestHeaders where n.lowercased() == lower {
            for t in v.split(separator: ",") { out.insert(String(t.trimmingSpacesAndTabs()).lowercased()) }
        }
        return out
    }
}

/// A `websocket` route: handshake, then the connection leaves evhttp and
/// belongs to a WebSocket driven by `handler`.
func webSocketRouteHandler(route: WebSocketRoute, handler: WebSocketHandler, server: HTTPServer,
                           idleTimeout: Double) -> (HTTPExchange) -> Void {
    return { exchange in
        switch Handshake.check(exchange, origins: route.origins) {
        case .refuse(let status, let headers):
            exchange.respond(status: status, headers: headers)
        case .accept(let key, let offered):
            let chosen = offered.isEmpty ? nil : handler.selectProtocol?(offered).flatMap { offered.contains($0) ? $0 : nil }
            let path = String(exchange.path)
            exchange.logAccess(status: 101, bodyBytes: 0)
            guard let detached = server.detach(exchange) else { return }
            var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            head += "Sec-WebSocket-Accept: \(Handshake.acceptValue(for: key))\r\n"
            if let chosen { head += "Sec-WebSocket-Protocol: \(chosen)\r\n" }
            head += "Server: \(serverHeader)\r\n\r\n"
            detached.stream.write(head)
            WebSocket(connection: detached, handler: handler, path: path, subprotocol: chosen,
                      maxMessage: route.maxMessageSize, idleTimeout: idleTimeout, loop: server.loop).start()
        }
    }
}
