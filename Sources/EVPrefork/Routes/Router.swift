import Glibc

/// Longest path prefix wins; among equal prefixes a route for the request's
/// host beats one for any host. Routes match the request's normalised path
/// (percent-decoded, dot segments resolved: `HTTPExchange.normalizedPath`),
/// so "/a/../static/x" and "/%73tatic/x" reach the "/static/" route; a path
/// that cannot be normalised is answered here, whatever the route.
struct Router {
    struct Entry {
        let prefix: String
        let prefixBytes: [UInt8]
        let host: String?
        let handler: (HTTPExchange) -> Void
        /// The handler answers at once, never later: its GET and HEAD
        /// requests may take the direct path (HTTPServer+Direct.swift).
        let direct: Bool
    }

    private var entries: [Entry] = []
    /// Whether any route names a host: only then is the Host header read.
    private var hostRoutes = false

    mutating func add(prefix: String, host: String?, direct: Bool = false, handler: @escaping (HTTPExchange) -> Void) {
        entries.append(Entry(prefix: prefix, prefixBytes: Array(prefix.utf8), host: host, handler: handler, direct: direct))
        entries.sort { a, b in
            a.prefix.utf8.count != b.prefix.utf8.count ? a.prefix.utf8.count > b.prefix.utf8.count
                : (a.host != nil && b.host == nil)
        }
        if host != nil { hostRoutes = true }
    }

    func route(path: UnsafeBufferPointer<UInt8>, host: String?) -> Entry? {
        for e in entries where e.host == nil || e.host == host {
            let n = e.prefixBytes.count
            guard path.count >= n else { continue }
            let same = e.prefixBytes.withUnsafeBufferPointer { p -> Bool in
                n == 0 || memcmp(p.baseAddress!, path.baseAddress!, n) == 0
            }
            if same { return e }
        }
        return nil
    }

    func route(path: [UInt8], host: String?) -> Entry? {
        path.withUnsafeBufferPointer { route(path: $0, host: host) }
    }

    /// Where a request goes: a route, or an answer given here.
    private enum Resolution {
        case route(Entry)
        case status(Int)
    }

    private func resolve(_ exchange: HTTPExchange) -> Resolution {
        // The common case, a path already in normal form, is matched where
        // the request keeps it; only the others are decoded and normalised.
        let fast: Entry?? = exchange.withRawPath { raw in
            guard RequestPath.isNormal(raw) else { return nil }
            return .some(route(path: raw, host: hostRoutes ? exchange.host : nil))
        }
        if let fast { return fast.map(Resolution.route) ?? .status(404) }
        switch exchange.normalizedPath {
        case .path(let path):
            return route(path: path, host: hostRoutes ? exchange.host : nil).map(Resolution.route) ?? .status(404)
        case .badEncoding, .notAbsolute:
            return .status(400)
        case .escapesRoot:
            // nginx answers 400; DESIGN.md: a path that tries to leave the root is 403/404.
            return .status(403)
        case .nulByte:
            // nginx answers 400; no file can have a NUL in its name.
            return .status(404)
        }
    }

    func handle(_ exchange: HTTPExchange) {
        switch resolve(exchange) {
        case .route(let entry): entry.handler(exchange)
        case .status(let status): exchange.respond(status: status)
        }
    }

    /// Handles a direct request and returns true, or returns false without
    /// answering when its route may answer later (evhttp must carry it).
    func handleDirect(_ exchange: HTTPExchange) -> Bool {
        switch resolve(exchange) {
        case .route(let entry):
            guard entry.direct else { return false }
            entry.handler(exchange)
        case .status(let status):
            exchange.respond(status: status)
        }
        return true
    }
}
