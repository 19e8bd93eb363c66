import TOML

/// The keys each route type takes, besides `path`, `type` and `host`.
enum RouteKeys {
    static let common = ["path", "type", "host"]
    static let byType: [(type: String, keys: [String])] = [
        ("static", ["root", "index", "autoindex", "gzip_static", "cache_control"]),
        ("proxy", ["upstream", "connect_timeout", "read_timeout", "keepalive", "strip_prefix", "preserve_host",
                   "max_fails", "fail_timeout"]),
        ("websocket", ["mode", "max_message_size", "origins"]),
        ("return", ["status", "body", "location", "content_type"]),
        ("status", []),
    ]
    static let types = byType.map(\.type)
    static func keys(of type: String) -> [String] { common + (byType.first { $0.type == type }?.keys ?? []) }
    static func owner(of key: String) -> String? { byType.first { $0.keys.contains(key) }?.type }
}

extension Schema {
    func route(_ table: TOMLTable) -> Route? {
        var r = TableReader(table, context: "[[route]]", sink: sink)
        let path = r.string("path")
        let type = r.string("type", choices: RouteKeys.types)
        let host = r.string("host")
        if path == nil && r.table["path"] == nil { r.missing("path") }
        if type == nil && r.table["type"] == nil { r.missing("type", detail: " (one of \(RouteKeys.types.joined(separator: ", ")))") }
        if let (p, position) = path, let why = routePathProblem(p) { sink.error(why, at: position) }
        var hostName: String?
        if let (h, position) = host {
            if h.contains(":") {
                sink.error("invalid host \"\(h)\" in [[route]]: give the name without a port (the port is ignored when matching)", at: position)
            } else if !AddressParser.isHostName(Substring(h)) {
                sink.error("invalid host \"\(h)\" in [[route]], expected a DNS name or an IP address", at: position)
            } else {
                hostName = h.lowercased()
            }
        }
        guard let (typeName, _) = type else {
            // Without a type we can't tell which keys belong; report only the
            // ones no route type knows.
            let every = RouteKeys.common + RouteKeys.byType.flatMap(\.keys)
            r.reportUnknown(known: every, ignoring: Set(every))
            return nil
        }
        let kind: RouteKind?
        switch typeName {
        case "static": kind = staticRoute(&r)
        case "proxy": kind = proxyRoute(&r)
        case "websocket": kind = websocketRoute(&r)
        case "return": kind = returnRoute(&r)
        default: kind = .status
        }
        r.reportUnknown(known: RouteKeys.keys(of: typeName)) { key in
            RouteKeys.owner(of: key).map { "belongs to routes of type \"\($0)\", not to a route of type \"\(typeName)\"" }
        }
        guard let kind, let (p, _) = path else { return nil }
        return Route(path: p, host: hostName, kind: kind, position: table.position)
    }

    private func routePathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "invalid route path \"\(path)\", expected a path that starts with \"/\"" }
        if let bad = path.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "?" || $0 == "#" }) {
            return "invalid route path \"\(path)\": character U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(4)) is not allowed in a path prefix"
        }
        return nil
    }

    private func staticRoute(_ r: inout TableReader) -> RouteKind? {
        guard let (rootText, position) = r.string("root") else {
            if r.table["root"] == nil { r.missing("root", detail: " of type \"static\"") }
            return nil
        }
        let root = resolve(rootText)
        switch Paths.kind(of: root) {
        case .missing: sink.error("root \"\(root)\" does not exist", at: position)
        case .other: sink.error("root \"\(root)\" is not a directory", at: position)
        case .directory: break
        }
        var route = StaticRoute(root: root)
        if let index = r.stringArray("index", allowEmpty: true) {
            for (name, p) in index where name.isEmpty || name.contains("/") {
                sink.error("invalid index file name \"\(name)\", expected a file name without \"/\"", at: p)
            }
            route.index = index.map(\.0)
        }
        route.autoindex = r.bool("autoindex", default: route.autoindex)
        route.gzipStatic = r.bool("gzip_static", default: route.gzipStatic)
        if let (value, p) = r.string("cache_control") {
            if let problem = headerValueProblem(value) { sink.error("invalid \"cache_control\": \(problem)", at: p) }
            route.cacheControl = value
        }
        return .staticFiles(route)
    }

    private func proxyRoute(_ r: inout TableReader) -> RouteKind? {
        var upstreams: [UpstreamAddress] = []
        if let items = r.stringArray("upstream") {
            for (text, position) in items {
                do { upstreams.append(try AddressParser.upstream(text, resolve: resolve)) } catch {
                    sink.error(error.message, at: position)
                }
            }
        } else if r.table["upstream"] == nil {
            r.missing("upstream", detail: " of type \"proxy\"")
        }
        var route = ProxyRoute(upstreams: upstreams)
        route.connectTimeout = r.duration("connect_timeout", default: route.connectTimeout, allowZero: false, max: 3600)
        route.readTimeout = r.duration("read_timeout", default: route.readTimeout, allowZero: false, max: 86400)
        route.keepalive = r.int("keepalive", default: route.keepalive, range: 0...100_000)
        route.stripPrefix = r.bool("strip_prefix", default: route.stripPrefix)
        route.preserveHost = r.bool("preserve_host", default: route.preserveHost)
        route.maxFails = r.int("max_fails", default: route.maxFails, range: 0...1_000_000)
        route.failTimeout = r.duration("fail_timeout", default: route.failTimeout, max: 86400)
        return upstreams.isEmpty ? nil : .proxy(route)
    }

    private func websocketRoute(_ r: inout TableReader) -> RouteKind? {
        var mode: String?
        if let (m, position) = r.string("mode") {
            if options.websocketModes.contains(m) {
                mode = m
            } else {
                let known = options.websocketModes.sorted()
                sink.error("unknown websocket mode \"\(m)\", expected one of "
                           + known.map { "\"\($0)\"" }.joined(separator: ", ") + suggestion(for: m, among: known),
                           at: position)
            }
        } else if r.table["mode"] == nil {
            r.missing("mode", detail: " of type \"websocket\"")
        }
        let size = r.size("max_message_size", default: 1 << 20, range: 1...(1 << 40))
        var origins: [String]?
        if let list = r.stringArray("origins") {
            for (origin, p) in list where origin.isEmpty || origin.contains(where: { $0 == " " || $0 == "," }) {
                sink.error("invalid origin \"\(origin)\", expected e.g. \"https://example.com\"", at: p)
            }
            origins = list.map { $0.0.lowercased() }
        }
        guard let mode else { return nil }
        return .websocket(WebSocketRoute(mode: mode, maxMessageSize: size, origins: origins))
    }

    private func returnRoute(_ r: inout TableReader) -> RouteKind? {
        guard r.table["status"] != nil else {
            r.missing("status", detail: " of type \"return\"")
            _ = r.string("body"); _ = r.string("location"); _ = r.string("content_type")
            return nil
        }
        let status = r.int("status", default: 0, range: 100...599)
        let body = r.string("body")
        let location = r.string("location")
        var route = ReturnRoute(status: status, body: body?.0, location: location?.0)
        if let (type, p) = r.string("content_type") {
            if let problem = headerValueProblem(type) { sink.error("invalid \"content_type\": \(problem)", at: p) }
            route.contentType = type
        }
        guard status != 0 else { return nil }
        let redirect = [301, 302, 303, 307, 308].contains(status)
        let bodiless = statusHasNoBody(status)
        var ok = true
        if let (_, p) = location {
            if !redirect {
                sink.error("\"location\" needs a redirect status (301, 302, 303, 307 or 308), found status \(status)", at: p)
                ok = false
            } else if let problem = headerValueProblem(location!.0) {
                sink.error("invalid \"location\": \(problem)", at: p)
                ok = false
            }
            if let (_, bp) = body {
                sink.error("give either \"body\" or \"location\", not both", at: bp)
                ok = false
            }
        } else if redirect {
            r.missing("location", detail: " (status \(status) is a redirect)")
            ok = false
        } else if bodiless, let (_, bp) = body {
            sink.error("a \(status) response has no body, remove \"body\"", at: bp)
            ok = false
        } else if !bodiless && body == nil {
            r.missing("body", detail: " of type \"return\" (or use \"location\" with a redirect status)")
            ok = false
        }
        return ok ? .fixed(route) : nil
    }

    private func headerValueProblem(_ value: String) -> String? {
        value.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }
            ? "control characters are not allowed in a header value" : nil
    }

    func checkDuplicates(_ routes: [Route]) {
        var seen: [String: Route] = [:]
        for route in routes {
            let key = (route.host ?? "*") + " " + route.path
            if let first = seen[key] {
                let host = route.host.map { " and host \"\($0)\"" } ?? ""
                sink.error("duplicate route: path \"\(route.path)\"\(host) is already defined at \(first.position)",
                           at: route.position)
            } else {
                seen[key] = route
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
