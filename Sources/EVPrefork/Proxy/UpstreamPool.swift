import CLibevent
import Glibc

/// One proxy route's upstreams in one worker: round-robin, passive health
/// (nginx's max_fails / fail_timeout) and the idle keep-alive connections.
final class UpstreamPool: UpstreamListener {
    final class Peer {
        let address: UpstreamAddress
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var resolved = false
        var fails = 0
        var firstFail = 0.0
        var downUntil = 0.0
        var idle: [UpstreamConnection] = []

        init(_ address: UpstreamAddress) { self.address = address }
    }

    let route: ProxyRoute
    let peers: [Peer]
    private var cursor = 0

    init(route: ProxyRoute) {
        self.route = route
        peers = route.upstreams.map(Peer.init)
        for peer in peers { Self.resolve(peer) }
    }

    /// Names are resolved once per worker, as nginx resolves at start-up.
    private static func resolve(_ peer: Peer) {
        switch peer.address {
        case .unix(let path):
            var sun = Sockets.unixAddress(path)
            withUnsafeBytes(of: &sun) { src in
                withUnsafeMutableBytes(of: &peer.storage) { $0.copyMemory(from: src) }
            }
            peer.length = socklen_t(MemoryLayout<sockaddr_un>.size)
            peer.resolved = true
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_flags = AI_NUMERICSERV
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
                log.error("proxy: cannot resolve upstream \(peer.address)")
                return
            }
            defer { freeaddrinfo(result) }
            peer.length = first.pointee.ai_addrlen
            withUnsafeMutableBytes(of: &peer.storage) {
                $0.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
            }
            peer.resolved = true
        }
    }

    /// The peers one request has tried: a bit each, so a call allocates no
    /// set (a list of more than 64 upstreams keeps the rest in one).
    struct Tried {
        private var bits: UInt64 = 0
        private var beyond = Set<Int>()
        private(set) var count = 0

        func contains(_ i: Int) -> Bool { i < 64 ? bits & (1 << UInt64(i)) != 0 : beyond.contains(i) }

        mutating func insert(_ i: Int) {
            guard !contains(i) else { return }
            if i < 64 { bits |= 1 << UInt64(i) } else { beyond.insert(i) }
            count += 1
        }

        mutating func remove(_ i: Int) {
            guard contains(i) else { return }
            if i < 64 { bits &= ~(1 << UInt64(i)) } else { beyond.remove(i) }
            count -= 1
        }
    }

    /// The next usable peer in turn, skipping those tried already and those
    /// marked down. A lone upstream is never marked down (as in nginx).
    func pick(now: Double, excluding tried: Tried) -> Int? {
        for step in 0..<peers.count {
            let i = (cursor + step) % peers.count
            guard !tried.contains(i), peers[i].resolved else { continue }
            if peers.count > 1 && peers[i].downUntil > now { continue }
            cursor = (i + 1) % peers.count
            return i
        }
        return nil
    }

    func failed(_ i: Int, now: Double) {
        Metrics.counters.upstreamFailures += 1
        let peer = peers[i]
        guard route.maxFails > 0, peers.count > 1 else { return }
        if now - peer.firstFail > route.failTimeout { peer.fails = 0; peer.firstFail = now }
        peer.fails += 1
        if peer.fails >= route.maxFails {
            peer.downUntil = now + route.failTimeout
            peer.fails = 0
            log.warn("proxy: upstream \(peer.address) marked down for \(formatSeconds(route.failTimeout))s")
            for c in peer.idle { c.discard() }
            peer.idle.removeAll()
        }
    }

    func succeeded(_ i: Int) {
        peers[i].fails = 0
    }

    /// How long idle connections may stay above `keepalive`.
    static let trimDelay = 1.0
    private var trimScheduled = false

    private func trim() {
        trimScheduled = false
        for peer in peers {
            while peer.idle.count > route.keepalive { peer.idle.removeFirst().discard() }
        }
    }

    func takeIdle(_ i: Int) -> UpstreamConnection? {
        peers[i].idle.popLast()
    }

    /// Keeps a finished connection for the next request. Above `keepalive`
    /// idle connections, the least recently used go after `trimDelay`, not
    /// at once: a worker finishes a burst of answers in one loop turn and
    /// starts the next burst of requests in the next, and closing what that
    /// burst needs only to connect again costs both sides a handshake and a
    /// teardown per request (measured: a tenth of proxied requests connected
    /// anew under 64 clients with keepalive 16).
    func giveBack(_ c: UpstreamConnection, peer i: Int) {
        guard route.keepalive > 0 else { c.discard(); return }
        let peer = peers[i]
        peer.idle.append(c)
        if peer.idle.count > route.keepalive && !trimScheduled {
            trimScheduled = true
            // The pool lives as long as its route; a weak capture would give
            // it a side table and slow every later retain of it.
            LoopEvent.once(c.loop, after: Self.trimDelay) { [self] in trim() }
        }
        c.park(in: self, peer: i)
    }

    /// An idle connection heard from its upstream: closed, or a protocol
    /// error either way. It leaves the pool.
    func upstreamReadable(_ c: UpstreamConnection) { drop(c) }

    func upstreamEvent(_ c: UpstreamConnection, _ what: Int16) { drop(c) }

    private func drop(_ c: UpstreamConnection) {
        c.discard()
        peers[c.peer].idle.removeAll { $0 === c }
    }
}
