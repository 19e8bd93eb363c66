import CLibevent
import Glibc

/// What hears a connected upstream connection's bytes and events: the call
/// it carries, or the pool it waits in.
protocol UpstreamListener: AnyObject {
    func upstreamReadable(_ c: UpstreamConnection)
    func upstreamEvent(_ c: UpstreamConnection, _ what: Int16)
}

/// One connection to an upstream: connect with a timeout, then carry one
/// request at a time; between requests it may wait in the pool.
final class UpstreamConnection {
    let stream: BufferEvent
    let loop: EventLoop
    /// Whoever holds the connection now. Set per request and per stay in the
    /// pool, where closures would be made anew each time; strong, and
    /// cleared by `discard` and by whoever hands the connection on.
    var listener: UpstreamListener?
    /// The pool's index of its upstream, while it waits there.
    var peer = 0
    /// The read and write timeout last set, so that a request on a reused
    /// connection does not set it again.
    private var timeout: Double?
    private var connectTimer: LoopEvent?

    init?(loop: EventLoop) {
        guard let stream = BufferEvent(loop: loop) else { return nil }
        self.stream = stream
        self.loop = loop
    }

    /// Connects; `done(true)` once connected, `done(false)` on refusal or timeout.
    func connect(to peer: UpstreamPool.Peer, timeout: Double, done: @escaping (Bool) -> Void) {
        var finished = false
        // Unowned, not weak: a weak reference would give this long-lived
        // object a side table, and every retain of it would take the slow
        // path. Whoever asked holds it in `done` until `finish` runs, and
        // the stream and the timer go with it.
        let finish: (Bool) -> Void = { [unowned self] ok in
            guard !finished else { return }
            finished = true
            connectTimer?.cancel()
            connectTimer = nil
            if ok {
                // What an answer may queue in the input before reading pauses.
                stream.setReadHighWatermark(256 << 10)
                listen()
            }
            done(ok)
        }
        stream.onEvent = { [stream] what in
            guard what & Int16(BEV_EVENT_CONNECTED) != 0 else { return finish(false) }
            // Read without libevent's ioctl(FIONREAD) per read, as client sockets are
            // (ProbelessRead.swift). Only once connected: while connecting, libevent's
            // read callback leaves a refused connect for its write callback to report.
            if !ProbelessRead.install(on: stream.bev) { log.warn("upstream: libevent's own read path kept") }
            finish(true)
        }
        connectTimer = LoopEvent(loop) { finish(false) }
        connectTimer?.schedule(after: timeout)
        let ok = withUnsafePointer(to: &peer.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { stream.connect($0, length: Int32(peer.length)) }
        }
        if !ok {
            // Refused at once (e.g. a unix socket that is not there): report on the next turn.
            LoopEvent.once(loop, after: 0) { finish(false) }
        } else {
            stream.enable(read: true, write: true)
        }
    }

    /// From now on the stream's callbacks go to `listener`. Unowned: the
    /// stream is this object's, and calls nothing once it is freed.
    private func listen() {
        stream.onRead = { [unowned self] in listener?.upstreamReadable(self) }
        stream.onWrite = {}
        stream.onEvent = { [unowned self] what in listener?.upstreamEvent(self, what) }
    }

    /// Ready to carry a request: reads end at `timeout` of silence, and
    /// what the upstream sends goes to `call`.
    func carry(for call: UpstreamListener, timeout: Double) {
        listener = call
        if self.timeout != timeout {
            self.timeout = timeout
            stream.setTimeouts(read: timeout, write: timeout)
        }
        stream.enable(read: true)
    }

    /// Idle in `pool`: any byte or event means the upstream closed it (or
    /// broke the protocol), and the pool lets it go. The read timeout stays:
    /// a connection idle that long is closed, as nginx closes its idle
    /// upstream connections after keepalive_timeout.
    func park(in pool: UpstreamListener, peer: Int) {
        listener = pool
        self.peer = peer
        stream.enable(read: true)
    }

    /// Closes it for good.
    func discard() {
        listener = nil
        stream.onRead = {}
        stream.onWrite = {}
        stream.onEvent = { _ in }
        stream.disable(read: true, write: true)
        shutdown(stream.fd, Int32(SHUT_RDWR))
    }
}
