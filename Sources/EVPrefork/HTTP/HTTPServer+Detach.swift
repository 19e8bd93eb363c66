import CLibevent

/// A client connection taken away from evhttp after its current request, for
/// a WebSocket or a tunnel. evhttp still owns the connection object, its
/// bufferevent and its fd; the detached side only takes the bufferevent's
/// callbacks, and `close()` hands everything back to evhttp to free. The
/// request that asked for the upgrade is never answered through evhttp.
final class DetachedConnection {
    let stream: BufferEvent
    let remote: String
    private let connection: Connection
    private unowned let server: HTTPServer
    private(set) var closed = false

    fileprivate init(server: HTTPServer, connection: Connection, bev: OpaquePointer) {
        self.server = server
        self.connection = connection
        self.remote = connection.remote
        stream = BufferEvent(borrowing: bev, alive: { [connection] in !connection.freed })
    }

    /// False once evhttp freed the connection (the worker is shutting down).
    var alive: Bool { !closed && !connection.freed }

    /// Ends the connection on the next loop turn (never inside one of its own callbacks).
    func close() {
        guard !closed else { return }
        closed = true
        stream.onRead = {}
        stream.onWrite = {}
        stream.onEvent = { _ in }
        server.after(0) { [connection] in
            if !connection.freed { evhttp_connection_free(connection.evcon) }
        }
    }
}

extension HTTPServer {
    /// Detaches the exchange's connection. Bytes the client sent behind the
    /// request stay in `stream.input` for the new owner to read first.
    func detach(_ exchange: HTTPExchange) -> DetachedConnection? {
        guard let connection = exchange.connection, connections[connection.evcon] != nil,
              let bev = evhttp_connection_get_bufferevent(connection.evcon) else { return nil }
        connection.state = .detached
        connection.since = loop.now
        // The input's callback (guard, direct path) has nothing more to do
        // here, and would run on every read and drain of every frame.
        if let entry = connection.inputCallback {
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), entry)
            connection.inputCallback = nil
        }
        exchange.markDetached()
        let detached = DetachedConnection(server: self, connection: connection, bev: bev)
        // evhttp's inactivity timeouts would fire into callbacks it no longer has.
        detached.stream.setTimeouts(read: nil, write: nil)
        detached.stream.enable(read: true, write: true)
        return detached
    }
}
