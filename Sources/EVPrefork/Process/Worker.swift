import CLibevent
import Glibc

/// Everything a freshly forked worker needs from its manager.
struct WorkerSetup {
    let config: Config
    let generation: Int
    let listenFDs: [Int32]
    let heartbeatFD: Int32
    /// nil: no accept mutex (turned off, or reuse_port).
    let lockPath: String?
    /// Where it publishes its connection count for the mutex's fairness rule.
    let load: WorkerLoads.Slot?
    let board: StatusBoard
    let application: Application
    let managerPID: pid_t
}

/// A worker: one event loop serving HTTP until it is told to stop, retires,
/// or its manager goes away.
final class Worker {
    private let setup: WorkerSetup
    private let loop: EventLoop
    private let server: HTTPServer
    private var control: AcceptControl!
    private var state = WorkerState.running
    private var events: [LoopEvent] = []
    private let acceptsLimit: Int
    private let started = wallClock()

    init(_ setup: WorkerSetup) throws(WorkerError) {
        self.setup = setup
        let s = setup.config.server
        do { loop = try EventLoop() } catch { throw WorkerError(message: error.message) }
        do { server = try HTTPServer(loop: loop, limits: HTTPLimits(s)) } catch { throw WorkerError(message: error.message) }
        HTTPServer.current = server
        AccessLog.shared = AccessLog(setup.config.log.accessLog)
        for fd in setup.listenFDs {
            do { try server.addListener(fd: fd) } catch { throw WorkerError(message: error.message) }
        }
        var mutex: AcceptMutex?
        if let path = setup.lockPath {
            do { mutex = try AcceptMutex(path: path) } catch { throw WorkerError(message: error.message) }
            AcceptMutex.installAlarmHandler()
        }
        // Retire after `accepts` minus up to half of it at random, so workers
        // started together do not all retire together.
        acceptsLimit = s.accepts == 0 ? Int.max : s.accepts - Int.random(in: 0...(s.accepts / 2))
        control = AcceptControl(server: server, loop: loop, mutex: mutex, interval: s.acceptInterval,
                                lockTimeout: s.lockTimeout, multiAccept: s.multiAccept, load: setup.load)
        let router = makeRouter()
        server.handler = router.handle
        server.directHandler = router.handleDirect
        server.onAccept = { [unowned self] in self.accepted() }
        server.onClose = { [unowned self] in self.connectionClosed() }
    }

    struct WorkerError: Error { var message: String }

    private func makeRouter() -> Router {
        var router = Router()
        for route in setup.config.routes {
            router.add(prefix: route.path, host: route.host, direct: route.answersAtOnce, handler: handler(for: route))
        }
        for route in setup.application.routes {
            router.add(prefix: route.path, host: route.host, handler: route.handler)
        }
        for (path, host, mode) in setup.application.webSocketPaths {
            let handler = setup.application.webSocketModes[mode] ?? .echo
            router.add(prefix: path, host: host, handler: webSocketRouteHandler(
                route: WebSocketRoute(mode: mode), handler: handler, server: server,
                idleTimeout: setup.config.server.websocketTimeout))
        }
        return router
    }

    private func handler(for route: Route) -> Application.Handler {
        switch route.kind {
        case .fixed(let r): return returnHandler(r)
        case .status:
            return statusHandler(board: setup.board) { [unowned self] in self.snapshot() }
        case .proxy(let p):
            return proxyHandler(route: route, proxy: p, server: server, websocketTimeout: setup.config.server.websocketTimeout)
        case .staticFiles(let s):
            return staticHandler(prefix: route.path, route: s)
        case .websocket(let w):
            let handler = setup.application.webSocketModes[w.mode] ?? .echo
            return webSocketRouteHandler(route: w, handler: handler, server: server,
                                         idleTimeout: setup.config.server.websocketTimeout)
        }
    }

    func run() -> Never {
        let s = setup.config.server
        events.append(LoopEvent(loop, signal: SIGQUIT) { [unowned self] in self.drain(.draining) })
        for sig in [SIGTERM, SIGINT] {
            events.append(LoopEvent(loop, signal: sig) { [unowned self] in self.loop.stop() })
        }
        events.append(LoopEvent(loop, signal: SIGUSR1) {
            log.reopen()
            AccessLog.shared?.reopen()
        })
        let heartbeat = LoopEvent(loop, repeating: true) { [unowned self] in self.beat() }
        events.append(heartbeat)
        for e in events where e !== heartbeat { e.arm() }
        heartbeat.schedule(after: s.heartbeatInterval)
        beat()
        control.start()
        // A worker told to drain before its loop started (its manager died
        // meanwhile) has nothing to wait for; running the loop would clear
        // the break and serve forever.
        if !(server.draining && server.connections.isEmpty) { loop.run() }
        control.stop()
        beat()  // the last counts, so the manager's totals lose nothing
        exit(0)
    }

    /// What the last heartbeat told the manager.
    private var lastSent = WorkerCounters()

    private func counters() -> WorkerCounters {
        var c = Metrics.counters
        c.connections = server.connections.count
        c.accepted = server.accepted
        return c
    }

    /// This worker's row as of now, and what it counted since its last heartbeat.
    private func snapshot() -> (row: StatusBoard.Worker, unsent: WorkerCounters) {
        let now = counters()
        let row = StatusBoard.Worker(pid: getpid(), generation: setup.generation, state: state,
                                     connections: now.connections, requests: now.requests,
                                     accepted: now.accepted, started: started, lastHeartbeat: wallClock())
        return (row, now - lastSent)
    }

    private func beat() {
        // A manager that died leaves us orphaned: stop serving rather than
        // linger unmanaged.
        if getppid() != setup.managerPID && state == .running { log.warn("manager is gone; draining"); drain(.draining) }
        lastSent = counters()
        HeartbeatPipe.send(Heartbeat(pid: getpid(), state: state, counters: lastSent), to: setup.heartbeatFD)
    }

    private func accepted() {
        control.accepted()
        if server.accepted >= acceptsLimit && state == .running {
            log.info("accepted \(server.accepted) connections; retiring")
            drain(.retiring)
        }
    }

    private func connectionClosed() {
        control.connectionClosed()
        if server.draining && server.connections.isEmpty { loop.stop() }
    }

    private func drain(_ reason: WorkerState) {
        guard state == .running else { return }
        state = reason
        control.stop()
        server.drain()
        for ws in WebSocket.all { ws.close(code: WebSocketCloseCode.goingAway, reason: "server shutting down") }
        beat()
        if server.connections.isEmpty { loop.stop() }
    }
}

private extension Route {
    /// Routes whose handlers answer before they return (HTTPServer+Direct.swift).
    var answersAtOnce: Bool {
        switch kind {
        case .fixed, .status, .staticFiles: true
        case .proxy, .websocket: false
        }
    }
}
