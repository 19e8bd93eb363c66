import CLibevent
import Glibc

/// Bytes both ways between a detached client connection and an upstream,
/// after a 101: a WebSocket through the proxy. Either side closing ends
/// both, once what was already read has been delivered; idle past
/// `websocket_timeout` ends both too.
final class Tunnel {
    private let client: DetachedConnection
    private let upstream: UpstreamConnection
    private let idleTimeout: Double
    private var idleTimer: LoopEvent!
    private var closing = false
    nonisolated(unsafe) private static var active: [ObjectIdentifier: Tunnel] = [:]
    static let highWater = 1 << 20

    init(client: DetachedConnection, upstream: UpstreamConnection, loop: EventLoop, idleTimeout: Double) {
        self.client = client
        self.upstream = upstream
        self.idleTimeout = idleTimeout
        idleTimer = LoopEvent(loop) { [unowned self] in
            log.info("tunnel idle for \(formatSeconds(idleTimeout))s; closing")
            self.end()
        }
    }

    func start() {
        Self.active[ObjectIdentifier(self)] = self
        wire(from: client.stream, to: upstream.stream)
        wire(from: upstream.stream, to: client.stream)
        upstream.stream.setTimeouts(read: nil, write: nil)
        upstream.stream.setReadHighWatermark(0)
        idleTimer.schedule(after: idleTimeout)
        // Bytes the client sent right behind its request are already buffered.
        pump(from: client.stream, to: upstream.stream)
        pump(from: upstream.stream, to: client.stream)
    }

    private func wire(from a: BufferEvent, to b: BufferEvent) {
        a.onRead = { [unowned self] in self.pump(from: a, to: b) }
        a.onEvent = { [unowned self] _ in
            self.pump(from: a, to: b)
            self.closeAfterFlush()
        }
        b.onWrite = { [unowned self] in
            if self.closing {
                if evbuffer_get_length(b.output) == 0 { self.end() }
            } else if !a.readEnabled {
                a.enable(read: true)
                a.triggerRead()
            }
        }
    }

    private func pump(from a: BufferEvent, to b: BufferEvent) {
        let n = evbuffer_get_length(a.input)
        guard n > 0 else { return }
        idleTimer.schedule(after: idleTimeout)
        evbuffer_add_buffer(b.output, a.input)
        if evbuffer_get_length(b.output) > Self.highWater { a.disable(read: true) }
    }

    private func closeAfterFlush() {
        guard !closing else { return }
        closing = true
        if evbuffer_get_length(client.stream.output) == 0 && evbuffer_get_length(upstream.stream.output) == 0 {
            end()
        }
    }

    private func end() {
        guard Self.active[ObjectIdentifier(self)] != nil else { return }
        idleTimer.cancel()
        upstream.discard()
        client.close()
        Self.active[ObjectIdentifier(self)] = nil
    }
}
