import CLibevent
import Glibc

/// One request and its response. A handler may answer at once or keep the
/// exchange and answer later from the same worker's loop; it answers once.
public final class HTTPExchange {
    let request: UnsafeMutablePointer<evhttp_request>
    let connection: Connection?
    /// Set when the connection must end after this response (draining,
    /// keep_alive_requests reached).
    var closeAfterResponse = false
    public internal(set) var responded = false
    /// For streamed answers (HTTPExchange+Streaming.swift): what the access log reports.
    var streamedStatus = 0
    var streamedBytes = 0

    /// The connection now belongs to a WebSocket or tunnel: no HTTP answer.
    func markDetached() { responded = true }

    /// When the request's first byte arrived (loop clock), for the access log.
    let started: Double

    init(request: UnsafeMutablePointer<evhttp_request>, connection: Connection?, started: Double) {
        self.request = request
        self.connection = connection
        self.started = started
    }

    /// Every way of answering ends here: one access-log line per response.
    func logAccess(status: Int, bodyBytes: Int) {
        Metrics.response(status: status, bytes: bodyBytes)
        guard let accessLog = AccessLog.shared else { return }
        let version = "HTTP/\(request.pointee.major).\(request.pointee.minor)"
        let now = HTTPServer.current?.loop.now ?? started
        accessLog.record(AccessLog.Entry(remote: remoteAddress, requestLine: "\(method) \(target) \(version)",
                                         status: status, bodyBytes: bodyBytes, referer: header("Referer"),
                                         userAgent: header("User-Agent"), duration: max(0, now - started)))
    }

    public var method: String {
        switch evhttp_request_get_command(request) {
        case EVHTTP_REQ_GET: "GET"
        case EVHTTP_REQ_POST: "POST"
        case EVHTTP_REQ_HEAD: "HEAD"
        case EVHTTP_REQ_PUT: "PUT"
        case EVHTTP_REQ_DELETE: "DELETE"
        case EVHTTP_REQ_OPTIONS: "OPTIONS"
        case EVHTTP_REQ_TRACE: "TRACE"
        case EVHTTP_REQ_CONNECT: "CONNECT"
        case EVHTTP_REQ_PATCH: "PATCH"
        default: "UNKNOWN"
        }
    }

    public var isHead: Bool { evhttp_request_get_command(request) == EVHTTP_REQ_HEAD }

    /// The request-target exactly as the client sent it.
    public var target: String { evhttp_request_get_uri(request).map { String(cString: $0) } ?? "/" }

    /// The target's path, still percent-encoded, without the query.
    public var path: Substring {
        let t = target
        return t[..<(t.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? t.endIndex)]
    }

    public var query: Substring? {
        let t = target
        guard let q = t.firstIndex(of: "?") else { return nil }
        return t[t.index(after: q)...]
    }

    /// The first value of a request header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        guard let headers = evhttp_request_get_input_headers(request),
              let value = evhttp_find_header(headers, name) else { return nil }
        return String(cString: value)
    }

    /// Host header without port, lower-cased.
    public var host: String? {
        guard var h = header("Host")?.lowercased() else { return nil }
        if h.hasPrefix("[") {
            if let close = h.firstIndex(of: "]") { h = String(h[h.index(after: h.startIndex)..<close]) }
        } else if let colon = h.lastIndex(of: ":") {
            h = String(h[..<colon])
        }
        return h
    }

    public var remoteAddress: String { connection?.remote ?? "-" }

    /// Runs `action` on this worker's loop after `seconds`: a handler that
    /// answers later (waiting on something) uses it instead of blocking.
    public func after(_ seconds: Double, _ action: @escaping () -> Void) {
        HTTPServer.current?.after(seconds, action)
    }

    /// The whole request body (evhttp has read it already, within max_body_size).
    public var body: [UInt8] {
        guard let buffer = evhttp_request_get_input_buffer(request) else { return [] }
        let n = evbuffer_get_length(buffer)
        guard n > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: n)
        _ = evbuffer_copyout(buffer, &out, n)
        return out
    }

    /// Sends the whole response. Adds `Server`, `Content-Type` (when there is a
    /// body and none was given) and `Connection: close` when the connection
    /// ends here; evhttp adds `Date` and `Content-Length`.
    public func respond(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        guard !responded else { return }
        responded = true
        let out = evhttp_request_get_output_headers(request)
        evhttp_add_header(out, "Server", serverHeader)
        var hasType = false
        for (name, value) in headers {
            if name.utf8.count == 12 && name.lowercased() == "content-type" { hasType = true }
            evhttp_add_header(out, name, value)
        }
        if !hasType && !body.isEmpty { evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8") }
        if closeAfterResponse { evhttp_add_header(out, "Connection", "close") }
        let buffer = evbuffer_new()
        defer { evbuffer_free(buffer) }
        if !body.isEmpty && !isHead {
            body.withUnsafeBytes { _ = evbuffer_add(buffer, $0.baseAddress, $0.count) }
        } else if isHead && !body.isEmpty {
            // HEAD: the length of what GET would send, and no body (LIBEVENT.md:
            // evhttp would otherwise send one).
            evhttp_add_header(out, "Content-Length", String(body.count))
        }
        logAccess(status: status, bodyBytes: isHead ? 0 : body.count)
        evhttp_send_reply(request, Int32(status), reasonPhrase(status), buffer)
    }

    public func respond(status: Int, headers: [(String, String)] = [], body: String) {
        respond(status: status, headers: headers, body: Array(body.utf8))
    }

    /// An error page: small HTML naming the status, as nginx sends.
    public func respond(status: Int, headers: [(String, String)] = []) {
        let page = ErrorPage.html(status: status)  // shared with the request guard's answers
        var all = headers
        if !page.isEmpty { all.append(("Content-Type", "text/html")) }
        respond(status: status, headers: all, body: page)
    }
}

let serverHeader = "evprefork/\(EVPreforkVersion.string)"
