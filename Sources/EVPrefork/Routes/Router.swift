/// Longest path prefix wins; among equal prefixes a route for the request's
/// host beats one for any host.
struct Router {
    struct Entry {
        let prefix: String
        let host: String?
        let handler: (HTTPExchange) -> Void
    }

    private var entries: [Entry] = []

    mutating func add(prefix: String, host: String?, handler: @escaping (HTTPExchange) -> Void) {
        entries.append(Entry(prefix: prefix, host: host, handler: handler))
        entries.sort { a, b in
            a.prefix.utf8.count != b.prefix.utf8.count ? a.prefix.utf8.count > b.prefix.utf8.count
                : (a.host != nil && b.host == nil)
        }
    }

    func route(path: Substring, host: String?) -> Entry? {
        entries.first { e in
            (e.host == nil || e.host == host) && path.utf8.starts(with: e.prefix.utf8)
        }
    }

    func handle(_ exchange: HTTPExchange) {
        guard let entry = route(path: exchange.path, host: exchange.host) else {
            exchange.respond(status: 404)
            return
        }
        entry.handler(exchange)
    }
}
