import CLibevent
import Glibc

/// One client request on its way through a proxy route: choose an upstream,
/// send, read the answer's head, then stream the body to the client with
/// backpressure; retry on the next upstream where nginx would.
final class ProxyCall: UpstreamListener {
    private let exchange: HTTPExchange
    private let route: Route
    private let proxy: ProxyRoute
    private let pool: UpstreamPool
    private let loop: EventLoop
    private let server: HTTPServer
    private let websocketTimeout: Double
    private var tried = UpstreamPool.Tried()
    private var peer = 0
    private var upstream: UpstreamConnection?
    private var reused = false
    private var head: ResponseHead?
    private var framing = BodyFraming.empty
    private var remaining = 0
    private var decoder = ChunkedDecoder()
    private var paused = false
    private var done = false
    private let upgrade: String?
    private let idempotent: Bool

    /// Calls in progress keep themselves alive here.
    nonisolated(unsafe) private static var active: [ObjectIdentifier: ProxyCall] = [:]
    /// Pause reading the upstream when this much waits for the client.
    static let clientHighWater = 1 << 20
    static let maxHeadSize = 64 << 10
    nonisolated(unsafe) private static let piece: OpaquePointer = evbuffer_new()!

    init(exchange: HTTPExchange, route: Route, proxy: ProxyRoute, pool: UpstreamPool, server: HTTPServer,
         websocketTimeout: Double) {
        self.exchange = exchange
        self.route = route
        self.proxy = proxy
        self.pool = pool
        self.server = server
        self.loop = server.loop
        self.websocketTimeout = websocketTimeout
        let method = exchange.method
        idempotent = switch method {
        case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE": true
        default: false
        }
        let wantsUpgrade = method == "GET" && exchange.hasHeader("Upgrade")
            && ProxyRequest.connectionList(exchange).withUnsafeBytes { FieldNames.list($0, contains: "upgrade") }
        upgrade = wantsUpgrade ? exchange.header("Upgrade") : nil
    }

    func start() {
        Self.active[ObjectIdentifier(self)] = self
        attempt()
    }

    private func finish() {
        done = true
        Self.active[ObjectIdentifier(self)] = nil
    }

    // MARK: - choosing and connecting

    private func attempt() {
        guard let i = pool.pick(now: loop.now, excluding: tried) else {
            fail(502, "no upstream available")
            return
        }
        tried.insert(i)
        peer = i
        if let idle = pool.takeIdle(i) {
            use(idle, reused: true)
            return
        }
        guard let c = UpstreamConnection(loop: loop) else { fail(502, "cannot create a socket"); return }
        c.connect(to: pool.peers[i], timeout: proxy.connectTimeout) { [self] ok in
            if ok {
                use(c, reused: false)
            } else {
                c.discard()
                log.warn("proxy: cannot connect to \(pool.peers[i].address)")
                pool.failed(i, now: loop.now)
                retryOrFail(502, "connect failed", sent: false)
            }
        }
    }

    private func use(_ c: UpstreamConnection, reused: Bool) {
        upstream = c
        self.reused = reused
        c.carry(for: self, timeout: proxy.readTimeout)
        let body = exchange.body
        let head = ProxyRequest.head
        ProxyRequest.writeHead(exchange, route: route, proxy: proxy, upstream: pool.peers[peer].address,
                               upgrade: upgrade, bodyLength: body.count, into: head)
        body.withUnsafeBytes { c.stream.writeNow(head.bytes, $0) }
    }

    /// Before any byte of an answer: try the next upstream if that is safe
    /// (nothing sent, or an idempotent request), else answer `status`.
    private func retryOrFail(_ status: Int, _ why: String, sent: Bool) {
        upstream = nil
        if !sent || idempotent, tried.count < pool.peers.count {
            attempt()
        } else {
            fail(status, why)
        }
    }

    private func fail(_ status: Int, _ why: String) {
        log.warn("proxy: \(exchange.method) \(exchange.target): \(status) (\(why))")
        if exchange.clientConnected { exchange.respond(status: status) }
        finish()
    }

    // MARK: - the answer

    func upstreamReadable(_ c: UpstreamConnection) {
        if c === upstream { readable() }
    }

    func upstreamEvent(_ c: UpstreamConnection, _ what: Int16) {
        if c === upstream { event(what) }
    }

    private func event(_ what: Int16) {
        guard !done, let c = upstream else { return }
        let eof = what & Int16(BEV_EVENT_EOF) != 0
        let timeout = what & Int16(BEV_EVENT_TIMEOUT) != 0
        if head == nil {
            c.discard()
            if reused && eof && evbuffer_get_length(c.stream.input) == 0 {
                // A kept-alive connection the upstream had closed: not its fault.
                upstream = nil
                tried.remove(peer)
                attempt()
                return
            }
            pool.failed(peer, now: loop.now)
            if timeout {
                log.warn("proxy: upstream \(pool.peers[peer].address) timed out")
                retryOrFail(504, "upstream timed out", sent: true)
            } else {
                retryOrFail(502, "upstream closed the connection", sent: true)
            }
            return
        }
        if eof && framing == .untilClose {
            readable()  // whatever is still buffered
            complete(keepAlive: false)
            return
        }
        if eof { readable() }
        guard !done else { return }
        // The body was cut short: the client must not take it for whole.
        log.warn("proxy: upstream \(pool.peers[peer].address) \(timeout ? "timed out" : "closed") mid-response")
        c.discard()
        upstream = nil
        exchange.abortStreaming()
        finish()
    }

    private func readable() {
        guard !done, let c = upstream else { return }
        guard exchange.clientConnected else {
            c.discard()
            upstream = nil
            exchange.abortStreaming()
            finish()
            return
        }
        let input = c.stream.input
        while head == nil {
            let ptr = evbuffer_search(input, "\r\n\r\n", 4, nil)
            guard ptr.pos >= 0 else {
                if evbuffer_get_length(input) > Self.maxHeadSize {
                    c.discard(); upstream = nil
                    pool.failed(peer, now: loop.now)
                    fail(502, "upstream response head too large")
                }
                return
            }
            let bytes = evbufferBytes(input, count: ptr.pos + 4)
            evbuffer_drain(input, ptr.pos + 4)
            guard let parsed = ResponseHead.parse(bytes) else {
                c.discard(); upstream = nil
                pool.failed(peer, now: loop.now)
                fail(502, "upstream sent an invalid response")
                return
            }
            if parsed.status == 101, upgrade != nil, parsed.field("upgrade") != nil {
                startTunnel(c, head: bytes)
                return
            }
            if parsed.status < 200 { continue }  // 100 Continue and friends
            guard let f = parsed.framing(requestWasHead: exchange.isHead) else {
                c.discard(); upstream = nil
                fail(502, "upstream response has invalid framing")
                return
            }
            pool.succeeded(peer)
            head = parsed
            framing = f
            if case .length(let n) = f { remaining = n }
            let streamFraming: HTTPExchange.StreamFraming = switch f {
            case .empty: .none
            case .length: .length
            case .chunked, .untilClose: .unknown
            }
            exchange.startStreaming(status: parsed.status, framing: streamFraming) { out in
                // A HEAD answer or a 304 keeps the length the upstream gave, as nginx does.
                ProxyRequest.appendResponseFields(parsed, keepLength: streamFraming != .unknown, to: out)
            }
            if f == .empty { complete(keepAlive: true); return }
            if case .length(0) = f { complete(keepAlive: true); return }
        }
        forwardBody(input)
    }

    private func forwardBody(_ input: OpaquePointer) {
        guard !done, !paused else { return }
        // evhttp moves the piece's bytes to the client's buffer: one buffer serves every call.
        let piece = Self.piece
        defer { evbuffer_drain(piece, evbuffer_get_length(piece)) }
        var finished = false
        switch framing {
        case .length:
            let n = min(remaining, evbuffer_get_length(input))
            evbuffer_remove_buffer(input, piece, n)
            remaining -= n
            finished = remaining == 0
        case .chunked:
            do { try decoder.decode(input, into: piece) } catch {
                upstream?.discard(); upstream = nil
                exchange.abortStreaming()
                finish()
                return
            }
            finished = decoder.finished
        case .untilClose:
            evbuffer_add_buffer(piece, input)
        case .empty:
            finished = true
        }
        if evbuffer_get_length(piece) > 0 {
            if exchange.clientPending + evbuffer_get_length(piece) > Self.clientHighWater && !finished {
                // The client is slower than the upstream: stop reading until it catches up.
                paused = true
                upstream?.stream.disable(read: true)
                exchange.streamChunk(piece) { [weak self] in self?.resume() }
            } else {
                exchange.streamChunk(piece, last: finished)
            }
        } else if !finished {
            exchange.flushStreamed()  // the head, before a body that is late
        }
        if finished { complete(keepAlive: true) }
    }

    private func resume() {
        guard !done, paused, let c = upstream else { return }
        paused = false
        c.stream.enable(read: true)
        forwardBody(c.stream.input)
        if !done && !paused { c.stream.triggerRead() }
    }

    private func complete(keepAlive: Bool) {
        guard !done else { return }
        exchange.endStreaming()
        if let c = upstream, keepAlive, let head, canReuse(head) {
            pool.giveBack(c, peer: peer)
        } else {
            upstream?.discard()
        }
        upstream = nil
        finish()
    }

    private func canReuse(_ head: ResponseHead) -> Bool {
        guard framing != .untilClose, let c = upstream, evbuffer_get_length(c.stream.input) == 0 else { return false }
        if head.connectionLists("close") { return false }
        return head.minor >= 1 || head.connectionLists("keep-alive")
    }

    // MARK: - WebSocket and other upgrades

    private func startTunnel(_ c: UpstreamConnection, head: [UInt8]) {
        guard let client = server.detach(exchange) else {
            c.discard()
            upstream = nil
            finish()
            return
        }
        client.stream.write(head)
        c.listener = nil  // the tunnel wires the stream itself
        upstream = nil
        Tunnel(client: client, upstream: c, loop: loop, idleTimeout: websocketTimeout).start()
        finish()
    }
}
