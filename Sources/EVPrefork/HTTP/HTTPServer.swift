import CLibevent
import Glibc

/// The settings a worker's HTTP server takes from `[server]`.
struct HTTPLimits {
    var clients: Int
    var keepAliveTimeout: Double
    var keepAliveRequests: Int
    var requestTimeout: Double
    var maxHeaderSize: Int64
    var maxBodySize: Int64

    init(_ s: ServerConfig) {
        clients = s.clients; keepAliveTimeout = s.keepAliveTimeout; keepAliveRequests = s.keepAliveRequests
        requestTimeout = s.requestTimeout; maxHeaderSize = s.maxHeaderSize; maxBodySize = s.maxBodySize
    }
}

/// evhttp on one event loop, with every connection tracked from accept to
/// close so that limits, timeouts and graceful draining can be enforced —
/// things evhttp 2.1 does not do by itself.
final class HTTPServer {
    let loop: EventLoop
    let http: OpaquePointer
    let limits: HTTPLimits
    /// What each connection's RequestGuard enforces.
    let guardLimits: RequestGuard.Limits
    var handler: (HTTPExchange) -> Void = { $0.respond(status: 404) }
    /// Answers a direct request (HTTPServer+Direct.swift) and returns true,
    /// or returns false at once when its route needs evhttp's path.
    var directHandler: ((HTTPExchange) -> Bool)?
    /// Called after each accepted connection, for the accept mutex and retirement.
    var onAccept: () -> Void = {}
    /// Called when a connection closes, so the owner can accept again or finish draining.
    var onClose: () -> Void = {}

    private(set) var connections: [OpaquePointer: Connection] = [:]
    private var listeners: [Listener] = []
    private(set) var listening = false
    private(set) var draining = false
    var requestsServed = 0
    private(set) var accepted = 0
    private var sweeper: LoopEvent!
    private var sweepTick = 0.25
    /// The sweeper runs only while there are connections: an idle worker sleeps.
    private var sweeping = false
    /// The accepted socket evhttp is setting up right now, read by the bufferevent callback.
    private var acceptingFD: Int32 = -1
    private var acceptingBufferevent: OpaquePointer?

    private struct Listener {
        let bound: OpaquePointer
        let listener: OpaquePointer
        let evhttpCallback: evconnlistener_cb
        let evhttpArgument: UnsafeMutableRawPointer?
    }

    struct SetupError: Error { var message: String }

    init(loop: EventLoop, limits: HTTPLimits) throws(SetupError) {
        guard let http = evhttp_new(loop.base) else { throw SetupError(message: "evhttp_new failed") }
        self.loop = loop
        self.http = http
        self.limits = limits
        guardLimits = RequestGuard.Limits(maxHeaderSize: limits.maxHeaderSize, maxBodySize: limits.maxBodySize)
        let me = Unmanaged.passUnretained(self).toOpaque()
        evhttp_set_gencb(http, requestTrampoline, me)
        evhttp_set_bevcb(http, buffereventTrampoline, me)
        // The request guard answers oversized requests first (431, 414, 413);
        // evhttp's own limits stay, a little higher, as backstops only.
        evhttp_set_max_headers_size(http, Int(limits.maxHeaderSize) + Self.backstopSlack)
        if limits.maxBodySize > 0 { evhttp_set_max_body_size(http, Int(limits.maxBodySize) + Self.backstopSlack) }
        evhttp_set_allowed_methods(http, UInt16(EVHTTP_REQ_GET.rawValue | EVHTTP_REQ_POST.rawValue | EVHTTP_REQ_HEAD.rawValue
            | EVHTTP_REQ_PUT.rawValue | EVHTTP_REQ_DELETE.rawValue | EVHTTP_REQ_OPTIONS.rawValue
            | EVHTTP_REQ_TRACE.rawValue | EVHTTP_REQ_PATCH.rawValue))
        // Handlers set Content-Type themselves; a proxied answer without one must stay without.
        evhttp_set_default_content_type(http, nil)
        // evhttp's own timer resets on every byte; it is only the backstop.
        // The real deadlines are kept per connection by the sweeper below.
        var backstop = timeval(commonSeconds: max(limits.requestTimeout, limits.keepAliveTimeout) + 1, base: loop.base)
        evhttp_set_timeout_tv(http, &backstop)
        sweeper = LoopEvent(loop, repeating: true) { [unowned self] in self.sweep() }
        sweepTick = min(0.25, max(0.01, min(limits.keepAliveTimeout > 0 ? limits.keepAliveTimeout : 1, limits.requestTimeout) / 4))
    }

    deinit {
        sweeper = nil
        evhttp_free(http)  // frees every connection; their close callbacks release our objects
    }

    /// Serves the listening socket `fd` (already bound and listening). Starts disabled.
    func addListener(fd: Int32) throws(SetupError) {
        guard let bound = evhttp_accept_socket_with_handle(http, fd),
              let lev = evhttp_bound_socket_get_listener(bound) else {
            throw SetupError(message: "cannot serve socket \(fd): \(String(cString: strerror(errno)))")
        }
        var argument: UnsafeMutableRawPointer?
        guard let original = evprefork_listener_callback(lev, &argument),
              argument == UnsafeMutableRawPointer(http) else {
            throw SetupError(message: "this libevent's evconnlistener layout is not the 2.1 one evprefork knows")
        }
        evconnlistener_set_cb(lev, acceptTrampoline, Unmanaged.passUnretained(self).toOpaque())
        evconnlistener_disable(lev)
        listeners.append(Listener(bound: bound, listener: lev, evhttpCallback: original, evhttpArgument: argument))
    }

    var atCapacity: Bool { connections.count >= limits.clients }

    /// Starts or stops accepting on every listener.
    func setListening(_ on: Bool) {
        let want = on && !draining
        guard want != listening else { return }
        listening = want
        for l in listeners {
            if want { evconnlistener_enable(l.listener) } else { evconnlistener_disable(l.listener) }
        }
    }

    /// Stop accepting for good: the listening sockets are closed in this
    /// worker (the manager and other workers keep theirs), requests in flight
    /// finish, and each connection closes once idle.
    func drain() {
        guard !draining else { return }
        setListening(false)
        draining = true
        for l in listeners { evhttp_del_accept_socket(http, l.bound) }
        listeners.removeAll()
        closeIdle(olderThan: Self.drainGrace)
    }

    /// A connection idle this long is closed at once when draining; one that
    /// only just finished a response gets this grace first, so a client that
    /// is sending its next request right now does not meet a closed socket.
    static let drainGrace = 0.2

    // MARK: - evhttp callbacks

    fileprivate func accepted(_ lev: OpaquePointer?, fd: Int32, address: UnsafeMutablePointer<sockaddr>?, length: Int32) {
        guard let l = listeners.first(where: { $0.listener == lev }) else { close(fd); return }
        acceptingFD = fd
        acceptingBufferevent = nil
        l.evhttpCallback(lev, fd, address, length, l.evhttpArgument)
        acceptingFD = -1
        defer { acceptingBufferevent = nil }
        // evhttp made the connection around our bufferevent and passes the
        // evhttp_connection as its callbacks' argument.
        guard let bev = acceptingBufferevent, let evcon = evprefork_bufferevent_connection(bev) else { return }
        if !ProbelessRead.install(on: bev) { log.warn("socket \(fd): libevent's own read path kept") }
        let connection = Connection(evcon: evcon, fd: fd, remote: describePeer(address), now: loop.now,
                                    guardLimits: guardLimits)
        let retained = Unmanaged.passRetained(connection).toOpaque()
        connections[evcon] = connection
        if !sweeping {
            sweeping = true
            sweeper.schedule(after: sweepTick)
        }
        evhttp_connection_set_closecb(evcon, closeTrampoline, retained)
        connection.inputCallback = evbuffer_add_cb(bufferevent_get_input(bev), inputTrampoline, retained)
        accepted += 1
        if atCapacity { setListening(false) }
        onAccept()
    }

    fileprivate func makeBufferevent() -> OpaquePointer? {
        let bev = bufferevent_socket_new(loop.base, -1, 0)
        if let bev {
            // One write per loop turn is capped at 16 KiB by default; files
            // go out much faster in larger writes (LIBEVENT.md).
            bufferevent_set_max_single_write(bev, 1 << 20)
            acceptingBufferevent = bev
        }
        return bev
    }

    fileprivate func closed(_ evcon: OpaquePointer?, _ context: UnsafeMutableRawPointer?) {
        guard let evcon, let context else { return }
        let connection = Unmanaged<Connection>.fromOpaque(context).takeRetainedValue()
        connection.freed = true
        if let entry = connection.inputCallback, let input = connection.input {
            evbuffer_remove_cb_entry(input, entry)
        }
        connections[evcon] = nil
        onClose()
    }

    /// Bytes were read from the client into `input` (the last `added` of
    /// it); evhttp has not parsed them yet. Runs inside libevent's read:
    /// it may drain the buffer, never free the connection.
    fileprivate func received(_ connection: Connection, input: OpaquePointer, added: Int) {
        if connection.reinserting || connection.state == .detached { return }
        if connection.closing {
            // A direct answer ended the connection; evhttp must not read on.
            drainInput(connection, input, evbuffer_get_length(input))
            return
        }
        if connection.rejection != nil {
            // Refused already: what the client still sends is discarded
            // (the whole requests before the refused one stay for evhttp).
            keepOnly(evbuffer_get_length(input) - added, of: input, connection)
            return
        }
        if connection.state == .idle {
            connection.state = .receiving
            connection.since = loop.now
        }
        if connection.requestGuard.isPaused { return }
        let length = evbuffer_get_length(input)
        let bufferStart = connection.requestGuard.bytesFed - Int64(length - added)
        if let rejection = check(input, from: length - added, connection) {
            refuse(connection, rejection, input: input, bufferStart: bufferStart, answerNow: true)
        } else if directHandler != nil {
            answerDirectly(connection, input: input)
        }
    }

    /// Feeds `input` from byte `from` to its end to the connection's guard, in place.
    private func check(_ input: OpaquePointer, from: Int, _ connection: Connection) -> RequestGuard.Rejection? {
        var left = evbuffer_get_length(input) - from
        guard left > 0 else { return nil }
        var position = evbuffer_ptr()
        guard evbuffer_ptr_set(input, &position, from, EVBUFFER_PTR_SET) == 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: 8) { vectors -> RequestGuard.Rejection? in
            while left > 0 {
                let count = Int(evbuffer_peek(input, left, &position, vectors.baseAddress, 8))
                guard count > 0 else { return nil }
                var done = 0
                for k in 0..<min(count, 8) where done < left {
                    let n = min(vectors[k].iov_len, left - done)
                    let bytes = UnsafeMutableRawBufferPointer(start: vectors[k].iov_base, count: n)
                    if let rejection = connection.requestGuard.feed(bytes) { return rejection }
                    if connection.requestGuard.isPaused { return nil }
                    done += n
                }
                left -= done
                if done == 0 || (left > 0 && evbuffer_ptr_set(input, &position, done, EVBUFFER_PTR_ADD) != 0) { return nil }
            }
            return nil
        }
    }

    /// The guard refused a request. The whole requests before it stay in
    /// `input` for evhttp; the refused one and everything after are dropped,
    /// so evhttp never parses them. The answer goes out once the requests
    /// before it are answered.
    private func refuse(_ connection: Connection, _ rejection: RequestGuard.Rejection, input: OpaquePointer,
                        bufferStart: Int64, answerNow: Bool) {
        connection.rejection = rejection
        let keep = max(0, rejection.requestStart - bufferStart)
        keepOnly(Int(min(keep, Int64(evbuffer_get_length(input)))), of: input, connection)
        log.info("\(connection.remote): request refused with \(rejection.status): \(rejection.reason)")
        if answerNow { answerRefusal(connection) }
    }

    /// Cuts `input` down to its first `keep` bytes. The end of a
    /// bufferevent's input buffer is frozen outside its reads, so the kept
    /// bytes are taken out and put back in front.
    private func keepOnly(_ keep: Int, of input: OpaquePointer, _ connection: Connection) {
        let length = evbuffer_get_length(input)
        guard keep < length else { return }
        if keep <= 0 {
            evbuffer_drain(input, length)
            return
        }
        guard let kept = evbuffer_new() else { evbuffer_drain(input, length); return }
        defer { evbuffer_free(kept) }
        evbuffer_remove_buffer(input, kept, keep)
        evbuffer_drain(input, evbuffer_get_length(input))
        connection.reinserting = true
        evbuffer_prepend_buffer(input, kept)
        connection.reinserting = false
    }

    /// Writes the refusal straight to the socket once nothing evhttp owes
    /// the client comes before it, then closes lingering: our side is shut
    /// for writing, and what the client still sends is read and dropped
    /// until it closes or `lingerTime` ends, so that the kernel does not
    /// answer unread data with a reset that destroys the answer.
    /// Never written through the bufferevent: evhttp would take the end of
    /// that write for the end of its own response.
    private func answerRefusal(_ connection: Connection) {
        guard let rejection = connection.rejection, !connection.rejectionAnswered,
              connection.state != .handling, connection.state != .detached,
              connection.requests >= rejection.completedRequests else { return }
        if let bev = evhttp_connection_get_bufferevent(connection.evcon),
           evbuffer_get_length(bufferevent_get_output(bev)) > 0 {
            return  // evhttp is still writing (a 100 Continue); the sweeper retries
        }
        connection.rejectionAnswered = true
        connection.unsentAnswer = ErrorPage.response(status: rejection.status, head: rejection.isHead)
        let now = loop.now
        connection.lingerUntil = now + min(Self.lingerTime, limits.requestTimeout)
        flushAnswer(connection)
        AccessLog.shared?.record(AccessLog.Entry(
            remote: connection.remote, requestLine: rejection.requestLine ?? "-", status: rejection.status,
            bodyBytes: rejection.isHead ? 0 : ErrorPage.html(status: rejection.status).utf8.count, referer: nil, userAgent: nil,
            duration: max(0, now - connection.since)))
    }

    /// Writes what is left of a refusal; once all of it is out, shuts our
    /// side for writing. A full socket (the client is not reading an
    /// earlier answer) leaves the rest for the sweeper.
    private func flushAnswer(_ connection: Connection) {
        guard !connection.unsentAnswer.isEmpty else { return }
        let sent = connection.unsentAnswer.withUnsafeBytes { sendAtOnce(connection.fd, $0) }
        if sent == 0 { return }
        if sent > 0 && sent < connection.unsentAnswer.count {
            connection.unsentAnswer.removeFirst(sent)
            return
        }
        connection.unsentAnswer = []
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.lingerUntil = max(connection.lingerUntil, loop.now + min(Self.lingerTime, limits.requestTimeout))
    }

    /// How long a refused connection is read and drained before it is closed.
    static let lingerTime = 2.0
    /// How far above the guard's limits evhttp's own are set.
    static let backstopSlack = 1024

    fileprivate func dispatch(_ req: UnsafeMutablePointer<evhttp_request>) {
        requestsServed += 1
        // HTTP/1.2 and later minors are HTTP/1.1 to us, and the answer says
        // 1.1 (RFC 9110 §6.2); evhttp would echo the client's version.
        if req.pointee.minor > 1 { req.pointee.minor = 1 }
        let connection = evhttp_request_get_connection(req).flatMap { connections[$0] }
        let started = connection.map { $0.state == .receiving ? $0.since : loop.now } ?? loop.now
        if let connection {
            connection.state = .handling
            connection.since = loop.now
            connection.requests += 1
            evhttp_request_set_on_complete_cb(req, completeTrampoline, Unmanaged.passUnretained(connection).toOpaque())
        }
        // evhttp stops reading the client while a handler has the request,
        // and starts again after the answer: an epoll_ctl off and one on per
        // request. Reading goes on instead, with no read callback (evhttp's
        // would take a byte now for a broken state); what arrives waits in
        // the input buffer, checked by the guard, and a close is seen at once.
        if let evcon = evhttp_request_get_connection(req), let bev = evhttp_connection_get_bufferevent(evcon) {
            replaceCallback(of: bev, read: .some(nil))
            bufferevent_enable(bev, Int16(EV_READ))
        }
        let exchange = HTTPExchange(request: req, connection: connection, started: started)
        if draining || (connection?.requests ?? 0) >= limits.keepAliveRequests {
            exchange.closeAfterResponse = true
        }
        handler(exchange)
    }

    /// evhttp wrote a whole response (all of it is in the kernel). Runs
    /// inside evhttp's send-done callback, before evhttp reads on or closes.
    fileprivate func completed(_ connection: Connection, _ req: UnsafeMutablePointer<evhttp_request>?) {
        guard connection.state == .handling else { return }
        let pending = connection.input.map { evbuffer_get_length($0) } ?? 0
        // evhttp's send-done comes once the output buffer is empty, direct answers queued before included.
        connection.directPending = false
        // What follows in the input is evhttp's to parse: it goes on reading right after this.
        connection.evhttpOwnsInput = pending > 0
        connection.state = pending > 0 ? .receiving : .idle
        connection.since = loop.now
        if connection.requestGuard.isPaused, connection.rejection == nil, let input = connection.input {
            // An upgrade request answered the ordinary way: what the client
            // sent behind it is HTTP again and is checked now.
            connection.requestGuard.resume()
            let bufferStart = connection.requestGuard.bytesFed
            if let rejection = check(input, from: 0, connection) {
                refuse(connection, rejection, input: input, bufferStart: bufferStart, answerNow: false)
            }
        }
        if connection.rejection != nil {
            // A refused request waits behind this response. If evhttp ends
            // the connection after it, the refusal is never sent (as nginx
            // drops what follows a closing response); otherwise it goes now,
            // before evhttp reads on and meets the client's EOF.
            if let req, Self.responseEndsConnection(req) { return }
            answerRefusal(connection)
        }
    }

    /// Whether evhttp closes the connection after this response (its send-done rule).
    static func responseEndsConnection(_ req: UnsafeMutablePointer<evhttp_request>) -> Bool {
        // evhttp compares the first Connection value whole with "close", and its start with "keep-alive".
        func says(_ headers: UnsafeMutablePointer<evkeyvalq>?, _ word: String, whole: Bool = true) -> Bool {
            guard let headers, let value = evhttp_find_header(headers, "Connection") else { return false }
            return whole ? strcasecmp(value, word) == 0 : strncasecmp(value, word, word.utf8.count) == 0
        }
        let input = evhttp_request_get_input_headers(req)
        if says(input, "close") || says(evhttp_request_get_output_headers(req), "close") { return true }
        return req.pointee.major == 1 && req.pointee.minor == 0 && !says(input, "keep-alive", whole: false)
    }

    /// Runs `action` on this loop after `seconds`.
    func after(_ seconds: Double, _ action: @escaping () -> Void) {
        LoopEvent.once(loop, after: seconds, action)
    }

    // MARK: - deadlines

    /// Enforces what evhttp's per-byte timer cannot: keep-alive idle time and
    /// a total deadline for receiving a request (a slowloris client is cut
    /// off however steadily it trickles). Also closes idle connections while
    /// draining.
    private func sweep() {
        if connections.isEmpty {
            sweeping = false
            sweeper.cancel()
            return
        }
        let now = loop.now
        var expired: [OpaquePointer] = []
        for (evcon, c) in connections {
            if c.rejection != nil {
                if c.rejectionAnswered {
                    flushAnswer(c)
                    if now >= c.lingerUntil { expired.append(evcon) }
                } else {
                    answerRefusal(c)
                    if !c.rejectionAnswered && c.state != .handling && now - c.since >= limits.requestTimeout {
                        expired.append(evcon)
                    }
                }
                continue
            }
            if c.directPending { continue }  // a direct answer is being written; evhttp's write timeout guards it
            switch c.state {
            case .idle:
                let limit = draining ? Self.drainGrace : limits.keepAliveTimeout
                if now - c.since >= limit { expired.append(evcon) }
            case .receiving:
                if now - c.since >= limits.requestTimeout {
                    expired.append(evcon)
                    // Like nginx: no answer, the connection is closed, the access log says 408.
                    AccessLog.shared?.record(AccessLog.Entry(
                        remote: c.remote, requestLine: "-", status: 408, bodyBytes: 0, referer: nil,
                        userAgent: nil, duration: now - c.since))
                }
            case .handling, .detached:
                break
            }
        }
        for evcon in expired { evhttp_connection_free(evcon) }
    }

    private func closeIdle(olderThan age: Double) {
        let now = loop.now
        let idle = connections.filter { $0.value.state == .idle && $0.value.rejection == nil && !$0.value.directPending && now - $0.value.since >= age }
            .map(\.key)
        for evcon in idle { evhttp_connection_free(evcon) }
    }
}

private let acceptTrampoline: evconnlistener_cb = { lev, fd, address, length, context in
    Unmanaged<HTTPServer>.fromOpaque(context!).takeUnretainedValue()
        .accepted(lev, fd: fd, address: address, length: length)
}

private let buffereventTrampoline: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> OpaquePointer? = { _, context in
    Unmanaged<HTTPServer>.fromOpaque(context!).takeUnretainedValue().makeBufferevent()
}

private let requestTrampoline: @convention(c) (UnsafeMutablePointer<evhttp_request>?, UnsafeMutableRawPointer?) -> Void = { req, context in
    guard let req else { return }
    Unmanaged<HTTPServer>.fromOpaque(context!).takeUnretainedValue().dispatch(req)
}

/// The close callback's context is the retained Connection; the server is
/// reached through a global because evhttp gives no second argument.
private let closeTrampoline: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { evcon, context in
    guard let server = HTTPServer.current else { return }
    server.closed(evcon, context)
}

private let inputTrampoline: evbuffer_cb_func = { buffer, info, context in
    guard let buffer, let info, let server = HTTPServer.current else { return }
    let connection = Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue()
    if info.pointee.n_added > 0 {
        server.received(connection, input: buffer, added: info.pointee.n_added)
    } else if info.pointee.n_deleted > 0 {
        server.consumed(connection)
    }
}

private let completeTrampoline: @convention(c) (UnsafeMutablePointer<evhttp_request>?, UnsafeMutableRawPointer?) -> Void = { req, context in
    guard let server = HTTPServer.current else { return }
    server.completed(Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue(), req)
}

extension HTTPServer {
    /// A worker runs exactly one HTTP server; callbacks whose C signature has
    /// room for one context pointer only reach it here.
    nonisolated(unsafe) static var current: HTTPServer?
}
