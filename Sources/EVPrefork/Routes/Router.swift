/// Longest path prefix wins; among equal prefixes a route for the request's
/// host beats one for any host. Routes match the request's normalised path
/// (percent-decoded, dot segments resolved: `HTTPExchange.normalizedPath`),
/// so "/a/../static/x" and "/%73tatic/x" reach the "/static/" route; a path
/// that cannot be normalised is answered here, whatever the route.
struct Router {
    struct Entry {
        let prefix: String
        let host: String?
        let handler: (HTTPExchange) -> Void
    }

    private var entries: [Entry] = []
    /// Whether any route names a host: only then is the Host header read.
    private var hostRoutes = false

    mutating func add(prefix: String, host: String?, handler: @escaping (HTTPExchange) -> Void) {
        entries.append(Entry(prefix: prefix, host: host, handler: handler))
        entries.sort { a, b in
            a.prefix.utf8.count != b.prefix.utf8.count ? a.prefix.utf8.count > b.prefix.utf8.count
                : (a.host != nil && b.host == nil)
        }
        if host != nil { hostRoutes = true }
    }

    func route(path: some Collection<UInt8>, host: String?) -> Entry? {
        entries.first { e in
            (e.host == nil || e.host == host) && path.starts(with: e.prefix.utf8)
        }
    }

    func handle(_ exchange: HTTPExchange) {
        // The common case, a path already in normal form, is matched where
        // evhttp keeps it; only the others are decoded and normalised.
        let fast: Entry?? = exchange.withRawPath { raw in
            guard RequestPath.isNormal(raw) else { return nil }
            return .some(route(path: raw, host: hostRoutes ? exchange.host : nil))
        }
        if let fast {
            guard let entry = fast else {
                exchange.respond(status: 404)
                return
            }
            entry.handler(exchange)
            return
        }
        switch exchange.normalizedPath {
        case .path(let path):
            guard let entry = route(path: path, host: hostRoutes ? exchange.host : nil) else {
                exchange.respond(status: 404)
                return
            }
            entry.handler(exchange)
        case .badEncoding, .notAbsolute:
            exchange.respond(status: 400)
        case .escapesRoot:
            // nginx answers 400; DESIGN.md: a path that tries to leave the root is 403/404.
            exchange.respond(status: 403)
        case .nulByte:
            // nginx answers 400; no file can have a NUL in its name.
            exchange.respond(status: 404)
        }
    }
}
