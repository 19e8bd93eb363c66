import Glibc

/// What an application adds to evprefork: its own request handlers for path
/// prefixes, and hooks into the manager's life, as Mojo::Server::Prefork's
/// events. Handlers run in the workers; hooks run in the manager, which is
/// single-threaded, so a hook must not block.
public struct Application {
    public typealias Handler = (HTTPExchange) -> Void

    struct Route {
        let path: String
        let host: String?
        let handler: Handler
    }

    var routes: [Route] = []
    /// WebSocket handlers by mode name, for `[[route]] type = "websocket"`.
    var webSocketModes: [String: WebSocketHandler] = ["echo": .echo]

    /// A worker was forked.
    public var onSpawn: ((pid_t) -> Void)?
    /// A worker exited; the raw wait status.
    public var onReap: ((pid_t, Int32) -> Void)?
    /// A heartbeat arrived from a worker.
    public var onHeartbeat: ((pid_t) -> Void)?
    /// Once per turn of the manager loop.
    public var onWait: (() -> Void)?
    /// The manager is about to exit; true after a graceful stop.
    public var onFinish: ((Bool) -> Void)?
    /// In each new worker, after fork and before it serves (open per-worker resources here).
    public var onWorkerStart: (() -> Void)?

    public init() {}

    /// Makes `mode = "NAME"` usable in `[[route]]` tables of type websocket.
    public mutating func webSocketMode(_ name: String, _ handler: WebSocketHandler) {
        webSocketModes[name] = handler
    }

    /// Serves WebSockets on `path` with `handler`, without a config entry
    /// (max_message_size 1 MiB, any origin).
    public mutating func webSocket(_ path: String, host: String? = nil, _ handler: WebSocketHandler) {
        let mode = "app:" + path
        webSocketModes[mode] = handler
        webSocketPaths.append((path, host?.lowercased(), mode))
    }

    var webSocketPaths: [(path: String, host: String?, mode: String)] = []

    /// Serves `path` (a prefix, as a `[[route]]` path) with `handler`; the
    /// longest prefix wins across config and application routes.
    public mutating func handle(_ path: String, host: String? = nil, _ handler: @escaping Handler) {
        routes.append(Route(path: path, host: host?.lowercased(), handler: handler))
    }
}
