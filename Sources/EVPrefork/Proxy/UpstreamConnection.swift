import CLibevent
import Glibc

/// One connection to an upstream: connect with a timeout, then carry one
/// request at a time; between requests it may wait in the pool.
final class UpstreamConnection {
    let stream: BufferEvent
    let loop: EventLoop
    private(set) var connected = false
    /// Requests it has carried: a reused connection may have been closed by
    /// the upstream just before we wrote, which is no fault of the upstream.
    var uses = 0
    private var connectTimer: LoopEvent?

    init?(loop: EventLoop) {
        guard let stream = BufferEvent(loop: loop) else { return nil }
        self.stream = stream
        self.loop = loop
    }

    /// Connects; `done(true)` once connected, `done(false)` on refusal or timeout.
    func connect(to peer: UpstreamPool.Peer, timeout: Double, done: @escaping (Bool) -> Void) {
        var finished = false
        let finish: (Bool) -> Void = { [weak self] ok in
            guard !finished else { return }
            finished = true
            self?.connectTimer?.cancel()
            self?.connectTimer = nil
            self?.connected = ok
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

    /// Idle in the pool: any byte or event means the upstream closed it (or
    /// broke the protocol), and it leaves the pool.
    func park(onGone: @escaping () -> Void) {
        stream.setTimeouts(read: nil, write: nil)
        stream.onRead = { [weak self] in self?.discard(); onGone() }
        stream.onWrite = {}
        stream.onEvent = { [weak self] _ in self?.discard(); onGone() }
        stream.enable(read: true)
    }

    /// Closes it for good.
    func discard() {
        stream.onRead = {}
        stream.onWrite = {}
        stream.onEvent = { _ in }
        stream.disable(read: true, write: true)
        shutdown(stream.fd, Int32(SHUT_RDWR))
    }
}
