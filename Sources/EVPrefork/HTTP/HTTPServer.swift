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
    var handler: (HTTPExchange) -> Void = { $0.respond(status: 404) }
    /// Called after each accepted connection, for the accept mutex and retirement.
    var onAccept: () -> Void = {}
    /// Called when a connection closes, so the owner can accept again or finish draining.
    var onClose: () -> Void = {}

    private(set) var connections: [OpaquePointer: Connection] = [:]
    private var listeners: [Listener] = []
    private(set) var listening = false
    private(set) var draining = false
    private(set) var requestsServed = 0
    private(set) var accepted = 0
    private var sweeper: LoopEvent!
    /// One-shot timers handlers asked for, kept alive until they fire.
    private var timers: [ObjectIdentifier: LoopEvent] = [:]
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
        let me = Unmanaged.passUnretained(self).toOpaque()
        evhttp_set_gencb(http, requestTrampoline, me)
        evhttp_set_bevcb(http, buffereventTrampoline, me)
        evhttp_set_max_headers_size(http, Int(limits.maxHeaderSize))
        if limits.maxBodySize > 0 { evhttp_set_max_body_size(http, Int(limits.maxBodySize)) }
        evhttp_set_allowed_methods(http, UInt16(EVHTTP_REQ_GET.rawValue | EVHTTP_REQ_POST.rawValue | EVHTTP_REQ_HEAD.rawValue
            | EVHTTP_REQ_PUT.rawValue | EVHTTP_REQ_DELETE.rawValue | EVHTTP_REQ_OPTIONS.rawValue
            | EVHTTP_REQ_TRACE.rawValue | EVHTTP_REQ_PATCH.rawValue))
        // Handlers set Content-Type themselves; a proxied answer without one must stay without.
        evhttp_set_default_content_type(http, nil)
        // evhttp's own timer resets on every byte; it is only the backstop.
        // The real deadlines are kept per connection by the sweeper below.
        var backstop = timeval(seconds: max(limits.requestTimeout, limits.keepAliveTimeout) + 1)
        evhttp_set_timeout_tv(http, &backstop)
        sweeper = LoopEvent(loop, repeating: true) { [unowned self] in self.sweep() }
        let tick = min(0.25, max(0.01, min(limits.keepAliveTimeout > 0 ? limits.keepAliveTimeout : 1, limits.requestTimeout) / 4))
        sweeper.schedule(after: tick)
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
        let connection = Connection(evcon: evcon, fd: fd, remote: describePeer(address), now: loop.now)
        let retained = Unmanaged.passRetained(connection).toOpaque()
        connections[evcon] = connection
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
        if let entry = connection.inputCallback, let input = connection.input {
            evbuffer_remove_cb_entry(input, entry)
        }
        connections[evcon] = nil
        onClose()
    }

    fileprivate func received(_ connection: Connection) {
        if connection.state == .idle {
            connection.state = .receiving
            connection.since = loop.now
        }
    }

    fileprivate func dispatch(_ req: UnsafeMutablePointer<evhttp_request>) {
        requestsServed += 1
        let connection = evhttp_request_get_connection(req).flatMap { connections[$0] }
        let started = connection.map { $0.state == .receiving ? $0.since : loop.now } ?? loop.now
        if let connection {
            connection.state = .handling
            connection.since = loop.now
            connection.requests += 1
            evhttp_request_set_on_complete_cb(req, completeTrampoline, Unmanaged.passUnretained(connection).toOpaque())
        }
        let exchange = HTTPExchange(request: req, connection: connection, started: started)
        if draining || (connection?.requests ?? 0) >= limits.keepAliveRequests {
            exchange.closeAfterResponse = true
        }
        handler(exchange)
    }

    fileprivate func completed(_ connection: Connection) {
        guard connection.state == .handling else { return }
        let pending = connection.input.map { evbuffer_get_length($0) } ?? 0
        connection.state = pending > 0 ? .receiving : .idle
        connection.since = loop.now
    }

    /// Runs `action` on this loop after `seconds`.
    func after(_ seconds: Double, _ action: @escaping () -> Void) {
        var id: ObjectIdentifier?
        let timer = LoopEvent(loop) { [unowned self] in
            if let id { self.timers[id] = nil }
            action()
        }
        id = ObjectIdentifier(timer)
        timers[id!] = timer
        timer.schedule(after: seconds)
    }

    // MARK: - deadlines

    /// Enforces what evhttp's per-byte timer cannot: keep-alive idle time and
    /// a total deadline for receiving a request (a slowloris client is cut
    /// off however steadily it trickles). Also closes idle connections while
    /// draining.
    private func sweep() {
        let now = loop.now
        var expired: [OpaquePointer] = []
        for (evcon, c) in connections {
            switch c.state {
            case .idle:
                let limit = draining ? Self.drainGrace : limits.keepAliveTimeout
                if now - c.since >= limit { expired.append(evcon) }
            case .receiving:
                if now - c.since >= limits.requestTimeout { expired.append(evcon) }
            case .handling, .detached:
                break
            }
        }
        for evcon in expired { evhttp_connection_free(evcon) }
    }

    private func closeIdle(olderThan age: Double) {
        let now = loop.now
        let idle = connections.filter { $0.value.state == .idle && now - $0.value.since >= age }.map(\.key)
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

private let inputTrampoline: evbuffer_cb_func = { _, info, context in
    guard let info, info.pointee.n_added > 0, let server = HTTPServer.current else { return }
    server.received(Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue())
}

private let completeTrampoline: @convention(c) (UnsafeMutablePointer<evhttp_request>?, UnsafeMutableRawPointer?) -> Void = { _, context in
    guard let server = HTTPServer.current else { return }
    server.completed(Unmanaged<Connection>.fromOpaque(context!).takeUnretainedValue())
}

extension HTTPServer {
    /// A worker runs exactly one HTTP server; callbacks whose C signature has
    /// room for one context pointer only reach it here.
    nonisolated(unsafe) static var current: HTTPServer?
}
