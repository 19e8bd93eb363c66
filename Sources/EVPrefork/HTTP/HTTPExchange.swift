import CLibevent
import Glibc

/// One request and its response. A handler may answer at once or keep the
/// exchange and answer later from the same worker's loop; it answers once.
///
/// The request comes from evhttp, or — for a bodyless GET or HEAD to a route
/// that answers at once — straight from the connection's input buffer
/// (`DirectRequest`, HTTPServer+Direct.swift), answered without evhttp.
public final class HTTPExchange {
    /// evhttp's request; nil for a direct one.
    let evRequest: UnsafeMutablePointer<evhttp_request>?
    /// The direct request; nil for evhttp's, and once a direct answer is done
    /// (its bytes are then gone from the input buffer).
    private(set) var direct: DirectRequest?
    let connection: Connection?
    /// Set when the connection must end after this response (draining,
    /// keep_alive_requests reached, the client asked).
    var closeAfterResponse = false
    /// Whether the response was sent (or the connection handed on).
    public var responded: Bool { answered }
    /// Internal, so that the compiler sees every access and checks none at
    /// run time: a public stored property costs an exclusivity check (about
    /// 70 instructions) on every access, twice per request.
    var answered = false
    nonisolated(unsafe) static let scratch: OpaquePointer = evbuffer_new()!
    /// For streamed answers (HTTPExchange+Streaming.swift): what the access log reports.
    var streamedStatus = 0
    var streamedBytes = 0

    /// The connection now belongs to a WebSocket or tunnel: no HTTP answer.
    func markDetached() { answered = true }

    /// When the request's first byte arrived (loop clock), for the access log.
    let started: Double

    init(request: UnsafeMutablePointer<evhttp_request>, connection: Connection?, started: Double) {
        evRequest = request
        direct = nil
        self.connection = connection
        self.started = started
    }

    init(direct: DirectRequest, connection: Connection, started: Double) {
        evRequest = nil
        self.direct = direct
        self.connection = connection
        self.started = started
        ReplyBytes.pendingHeaders.reset()
    }

    /// The direct request's bytes are about to leave the input buffer.
    func endDirect() {
        if !responded {
            log.error("\(target): the handler of a direct route did not answer at once")
            respond(status: 500)
        }
        direct = nil
    }

    /// Every way of answering ends here: one access-log line per response.
    func logAccess(status: Int, bodyBytes: Int) {
        Metrics.response(status: status, bytes: bodyBytes)
        guard let accessLog = AccessLog.shared else { return }
        let v = httpVersion
        let version = "HTTP/\(v.major).\(v.minor)"
        let now = HTTPServer.current?.loop.now ?? started
        accessLog.record(AccessLog.Entry(remote: remoteAddress, requestLine: "\(method) \(target) \(version)",
                                         status: status, bodyBytes: bodyBytes, referer: header("Referer"),
                                         userAgent: header("User-Agent"), duration: max(0, now - started)))
    }

    public var method: String {
        guard let request = evRequest else { return direct?.isHead == true ? "HEAD" : "GET" }
        return switch evhttp_request_get_command(request) {
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

    public var isHead: Bool {
        guard let request = evRequest else { return direct?.isHead == true }
        return evhttp_request_get_command(request) == EVHTTP_REQ_HEAD
    }

    /// GET, HEAD and POST, the methods handlers tell apart most.
    var isGet: Bool { evRequest.map { evhttp_request_get_command($0) == EVHTTP_REQ_GET } ?? (direct?.isHead == false) }
    var isPost: Bool { evRequest.map { evhttp_request_get_command($0) == EVHTTP_REQ_POST } ?? false }

    private var cachedTarget: String?
    private var cachedPath: RequestPath?

    /// The request-target exactly as the client sent it.
    public var target: String {
        if let t = cachedTarget { return t }
        let t: String
        if let request = evRequest {
            t = evhttp_request_get_uri(request).map { String(cString: $0) } ?? "/"
        } else {
            t = direct.map { String(decoding: $0.targetBytes, as: UTF8.self) } ?? "/"
        }
        cachedTarget = t
        return t
    }

    /// The target's path, still percent-encoded, without the query.
    public var path: Substring {
        let t = target
        return t[..<(t.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? t.endIndex)]
    }

    /// The raw path (up to "?" or "#") as bytes of evhttp's own copy of the
    /// target: no String, no allocation. Valid while the request is.
    func withRawPath<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let direct {
            let t = direct.targetBytes.bindMemory(to: UInt8.self)
            let n = t.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? t.count
            return body(UnsafeBufferPointer(rebasing: t[..<n]))
        }
        guard let request = evRequest, let uri = evhttp_request_get_uri(request) else {
            return body(UnsafeBufferPointer(start: nil, count: 0))
        }
        let bytes = UnsafeRawPointer(uri).assumingMemoryBound(to: UInt8.self)
        var n = 0
        while bytes[n] != 0 && bytes[n] != UInt8(ascii: "?") && bytes[n] != UInt8(ascii: "#") { n += 1 }
        return body(UnsafeBufferPointer(start: bytes, count: n))
    }

    /// The path percent-decoded, with slashes merged and "." and ".." resolved
    /// (nginx's rules), or why it cannot be: what routes match and static
    /// files map. `target` and `path` stay raw, for proxies.
    public var normalizedPath: RequestPath {
        if let p = cachedPath { return p }
        // A path already in normal form (the usual case) is taken as it is.
        let p = withRawPath { raw in RequestPath.isNormal(raw) ? .path(Array(raw)) : RequestPath.normalize(raw) }
        cachedPath = p
        return p
    }

    public var query: Substring? {
        let t = target
        guard let q = t.firstIndex(of: "?") else { return nil }
        return t[t.index(after: q)...]
    }

    /// The first value of a request header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        if let direct { return direct.field(name).map { String(decoding: $0, as: UTF8.self) } }
        guard let request = evRequest, let headers = evhttp_request_get_input_headers(request),
              let value = evhttp_find_header(headers, name) else { return nil }
        return String(cString: value)
    }

    /// Whether the request has a header, by case-insensitive name (no copy of its value).
    public func hasHeader(_ name: String) -> Bool {
        if let direct { return direct.field(name) != nil }
        guard let request = evRequest, let headers = evhttp_request_get_input_headers(request) else { return false }
        return evhttp_find_header(headers, name) != nil
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
        guard let request = evRequest, let buffer = evhttp_request_get_input_buffer(request) else { return [] }
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
        answered = true
        guard let request = evRequest else {
            respondDirectly(status: status, headers: headers, body: body)
            return
        }
        let out = evhttp_request_get_output_headers(request)
        Self.addServerAndDate(out)
        var hasType = false
        for (name, value) in headers {
            if !hasType && asciiCaseEqual(name, "content-type") { hasType = true }
            name.withCString { n in value.withCString { v in _ = evhttp_add_header(out, n, v) } }
        }
        if !hasType && !body.isEmpty {
            evhttp_add_header(out, ("Content-Type" as StaticString).cString, ("text/plain; charset=utf-8" as StaticString).cString)
        }
        if closeAfterResponse { evhttp_add_header(out, ("Connection" as StaticString).cString, ("close" as StaticString).cString) }
        if !statusHasNoBody(status) {
            // Always the length: evhttp leaves it out for HTTP/1.0 without
            // keep-alive, and for HEAD (which must carry what GET would send).
            withDecimal(body.count) { _ = evhttp_add_header(out, ("Content-Length" as StaticString).cString, $0) }
        }
        // evhttp moves the body out of the buffer, so one buffer serves every answer.
        let buffer = Self.scratch
        if !body.isEmpty && !isHead {
            body.withUnsafeBytes { _ = evbuffer_add(buffer, $0.baseAddress, $0.count) }
        }
        logAccess(status: status, bodyBytes: isHead ? 0 : body.count)
        evhttp_send_reply(request, Int32(status), reasonPhrase(status).cString, buffer)
        evbuffer_drain(buffer, evbuffer_get_length(buffer))
    }

    /// A fixed answer (a `return` route): the same bytes as the call above,
    /// with the lines that never change written once at set-up.
    func respond(_ prepared: PreparedAnswer) {
        guard evRequest == nil else {
            return respond(status: prepared.status, headers: prepared.headers, body: prepared.body)
        }
        guard !responded else { return }
        answered = true
        respondDirectly(prepared)
    }

    public func respond(status: Int, headers: [(String, String)] = [], body: String) {
        respond(status: status, headers: headers, body: Array(body.utf8))
    }

    /// Adds a response header before answering (respondFile, or headers the
    /// answer's own list does not carry).
    func addResponseHeader(_ name: UnsafePointer<CChar>, _ value: UnsafePointer<CChar>) {
        guard let request = evRequest else {
            ReplyBytes.pendingHeaders.appendHeader(name, value)
            return
        }
        evhttp_add_header(evhttp_request_get_output_headers(request), name, value)
    }

    /// Sends `length` bytes of the open file `fd` from `offset` as the body,
    /// zero-copy: the file goes into the connection's own output buffer,
    /// which drains to the socket with sendfile(2), so a large file costs no
    /// memory (added to any other buffer, libevent would map it whole).
    /// Takes ownership of `fd`. Content-Length is set here; for HEAD only the
    /// headers go out.
    public func respondFile(status: Int, headers: [(String, String)] = [], fd: Int32, offset: Int64 = 0, length: Int64) {
        for (name, value) in headers { addResponseHeader(name, value) }
        sendFile(status: status, fd: fd, fileSize: offset + length, contentLength: length,
                 small: (offset, length)) { output, segment in
            evbuffer_add_file_segment(output, segment, offset, length) == 0
        }
    }

    /// Bodies up to this size are read into the output buffer instead: they
    /// then leave with the headers in one write, where sendfile would take a
    /// second write on a later loop turn. Measured on a 1 KiB file: about a
    /// fifth less worker CPU per request; at 16 KiB sendfile is cheaper. The
    /// copy is small and short-lived.
    static let copyLimit: Int64 = 8 << 10

    /// One piece of a body made of text and ranges of one file.
    enum FilePart {
        case text([UInt8])
        case range(offset: Int64, length: Int64)
    }

    /// Sends text and ranges of the open file `fd` of `fileSize` bytes (for
    /// multipart/byteranges), zero-copy for the file's bytes. Takes ownership of `fd`.
    func respondFile(status: Int, fd: Int32, fileSize: Int64, parts: [FilePart]) {
        var total: Int64 = 0
        for part in parts {
            switch part {
            case .text(let t): total += Int64(t.count)
            case .range(_, let length): total += length
            }
        }
        sendFile(status: status, fd: fd, fileSize: fileSize, contentLength: total) { output, segment in
            for part in parts {
                switch part {
                case .text(let t):
                    guard t.withUnsafeBytes({ evbuffer_add(output, $0.baseAddress, $0.count) }) == 0 else { return false }
                case .range(let offset, let length):
                    guard evbuffer_add_file_segment(output, segment, offset, length) == 0 else { return false }
                }
            }
            return true
        }
    }

    /// Headers (those added before, plus Server, Connection and
    /// Content-Length), then `addBody` puts the body into the connection's
    /// output buffer, taking file bytes from `segment` (one reference per
    /// chain, so the file stays open until the last one is written). If that
    /// fails the connection is cut: the client was promised Content-Length bytes.
    private func sendFile(status: Int, fd: Int32, fileSize: Int64, contentLength: Int64,
                          small: (offset: Int64, length: Int64)? = nil,
                          addBody: (_ output: OpaquePointer, _ segment: OpaquePointer) -> Bool) {
        guard !responded else { close(fd); return }
        guard let request = evRequest else {
            answered = true
            logAccess(status: status, bodyBytes: isHead ? 0 : Int(contentLength))
            sendFileDirectly(status: status, fd: fd, fileSize: fileSize, contentLength: contentLength, small: small,
                             addBody: addBody)
            return
        }
        guard !isHead, contentLength > 0, let evcon = evhttp_request_get_connection(request),
              let bev = evhttp_connection_get_bufferevent(evcon) else {
            close(fd)
            startFileReply(status: status, contentLength: contentLength, bodyBytes: 0)
            evhttp_send_reply(request, Int32(status), reasonPhrase(status).cString, nil)
            return
        }
        if let small, small.length <= Self.copyLimit {
            startFileReply(status: status, contentLength: contentLength, bodyBytes: Int(contentLength))
            evhttp_send_reply_start(request, Int32(status), reasonPhrase(status).cString)
            let copied = Self.read(fd, offset: small.offset, length: small.length, into: bufferevent_get_output(bev))
            close(fd)
            guard copied else {
                log.error("cannot read \(small.length) bytes of \(target): \(String(cString: strerror(errno)))")
                evhttp_connection_free(evcon)  // frees the request too
                return
            }
            evhttp_send_reply_end(request)
            return
        }
        guard let segment = evbuffer_file_segment_new(fd, 0, fileSize, UInt32(EVBUF_FS_CLOSE_ON_FREE)) else {
            close(fd)
            log.error("cannot send \(target): no file segment for \(fileSize) bytes")
            respond(status: 500)
            return
        }
        defer { evbuffer_file_segment_free(segment) }  // closes fd once the last chain using it is gone
        startFileReply(status: status, contentLength: contentLength, bodyBytes: Int(contentLength))
        evhttp_send_reply_start(request, Int32(status), reasonPhrase(status).cString)
        guard addBody(bufferevent_get_output(bev), segment) else {
            log.error("cannot queue \(contentLength) bytes of \(target)")
            evhttp_connection_free(evcon)  // frees the request too
            return
        }
        evhttp_send_reply_end(request)
    }

    /// Reads `length` bytes at `offset` of `fd` straight into free space at the end of `output`.
    private static func read(_ fd: Int32, offset: Int64, length: Int64, into output: OpaquePointer) -> Bool {
        var extent = iovec()  // evbuffer_iovec is iovec here (event2/buffer.h)
        guard evbuffer_reserve_space(output, Int(length), &extent, 1) == 1, let base = extent.iov_base else {
            return false
        }
        guard read(fd, offset: offset, length: Int(length), into: base.assumingMemoryBound(to: UInt8.self)) else {
            return false
        }
        extent.iov_len = Int(length)
        return evbuffer_commit_space(output, &extent, 1) == 0
    }

    private func startFileReply(status: Int, contentLength: Int64, bodyBytes: Int) {
        answered = true
        if let request = evRequest { Self.addServerAndDate(evhttp_request_get_output_headers(request)) }
        if closeAfterResponse { addResponseHeader("Connection", "close") }
        withHeaderValue(capacity: 24, { $0.appendDecimal(contentLength) }) { addResponseHeader("Content-Length", $0) }
        logAccess(status: status, bodyBytes: bodyBytes)
    }

    /// For a head evhttp writes: Server, and Date, which evhttp puts on
    /// HTTP/1.1 answers only and formats per answer; ours is made once a second.
    private static func addServerAndDate(_ out: UnsafeMutablePointer<evkeyvalq>?) {
        evhttp_add_header(out, ("Server" as StaticString).cString, serverHeaderC)
        ErrorPage.currentDate().withCString { _ = evhttp_add_header(out, ("Date" as StaticString).cString, $0) }
    }

    /// `http://host[:port]` for an absolute redirect, built as nginx builds
    /// it: the Host header's name (lower-cased, without its port or a
    /// trailing dot), else the local address; the local port unless 80.
    var redirectOrigin: String {
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let haveLocal = connection.map { c in
            withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(c.fd, $0, &length) == 0 }
            }
        } ?? false
        var port = 0
        var address = "localhost"
        if haveLocal {
            withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    switch Int32(sa.pointee.sa_family) {
                    case AF_INET:
                        sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { port = Int(UInt16(bigEndian: $0.pointee.sin_port)) }
                        address = describePeer(sa)
                    case AF_INET6:
                        sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { port = Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
                        address = "[" + describePeer(sa) + "]"
                    default:
                        break
                    }
                }
            }
        }
        var name = address
        if var h = header("Host")?.lowercased(), !h.isEmpty {
            if h.hasPrefix("[") {
                if let close = h.firstIndex(of: "]") { h = String(h[...close]) }
            } else if let colon = h.lastIndex(of: ":") {
                h = String(h[..<colon])
            }
            if h.hasSuffix(".") { h.removeLast() }
            if !h.isEmpty { name = h }
        }
        return port == 0 || port == 80 ? "http://\(name)" : "http://\(name):\(port)"
    }

    /// An error page: small HTML naming the status, as nginx sends.
    public func respond(status: Int, headers: [(String, String)] = []) {
        let answer = ErrorPage.answer(status: status, headers: headers)  // the request guard's page too
        respond(status: status, headers: answer.headers, body: answer.body)
    }
}

let serverHeader = "evprefork/\(EVPreforkVersion.string)"
