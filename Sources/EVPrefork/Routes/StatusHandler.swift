/// The `status` route: the manager's view of every worker, as JSON, or in
/// Prometheus' text format when asked (`?format=prometheus`, or an Accept
/// header naming `version=0.0.4`).
func statusHandler(board: StatusBoard, live: @escaping () -> (row: StatusBoard.Worker, unsent: WorkerCounters))
    -> (HTTPExchange) -> Void {
    return { exchange in
        let snapshot = StatusSnapshot(board: board, live: live())
        let accept = exchange.header("Accept") ?? ""
        if exchange.query?.split(separator: "&").contains("format=prometheus") == true
            || (accept.contains("text/plain") && accept.contains("version=0.0.4")) {
            exchange.respond(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                                                    ("Cache-Control", "no-store")],
                             body: snapshot.prometheus)
        } else {
            exchange.respond(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                             body: snapshot.json)
        }
    }
}

/// One consistent reading of the board, with the answering worker's own
/// numbers brought up to date.
struct StatusSnapshot {
    let now = wallClock()
    let manager: StatusBoard.Manager
    let me: StatusBoard.Worker
    let workers: [StatusBoard.Worker]
    let totals: WorkerCounters
    let restarts: [Int]

    init(board: StatusBoard, live: (row: StatusBoard.Worker, unsent: WorkerCounters)) {
        manager = board.manager
        me = live.row
        var rows = board.workers
        let mine = live.row
        if let i = rows.firstIndex(where: { $0.pid == mine.pid }) {
            rows[i].connections = mine.connections
            rows[i].requests = mine.requests
            rows[i].accepted = mine.accepted
            rows[i].state = mine.state
        }
        workers = rows.sorted { $0.pid < $1.pid }
        totals = board.totals + live.unsent
        restarts = board.restarts
    }

    var json: String {
        let rows: [JSON] = workers.map { w in
            .object([
                ("pid", .int(Int(w.pid))),
                ("generation", .int(w.generation)),
                ("state", .string(w.state.name)),
                ("connections", .int(w.connections)),
                ("requests", .int(w.requests)),
                ("accepted", .int(w.accepted)),
                ("uptime", .double(now - w.started)),
                ("heartbeat_age", .double(w.lastHeartbeat > 0 ? now - w.lastHeartbeat : -1)),
            ])
        }
        let classes: [(String, JSON)] = totals.byClass.enumerated().map { ("\($0.offset + 1)xx", .int($0.element)) }
        let doc = JSON.object([
            ("version", .string(EVPreforkVersion.string)),
            ("manager", .object([
                ("pid", .int(Int(manager.pid))),
                ("generation", .int(manager.generation)),
                ("uptime", .double(now - manager.started)),
            ])),
            ("worker_pid", .int(Int(me.pid))),
            ("workers", .array(rows)),
            ("totals", .object([
                ("workers", .int(workers.count)),
                ("connections", .int(workers.reduce(0) { $0 + $1.connections })),
                ("requests", .int(workers.reduce(0) { $0 + $1.requests })),
                ("requests_total", .int(totals.requests)),
                ("responses", .object(classes)),
                ("accepted_total", .int(totals.accepted)),
                ("bytes_sent_total", .int(totals.bytesSent)),
                ("upstream_failures_total", .int(totals.upstreamFailures)),
                ("websockets_open", .int(totals.websocketsOpen)),
                ("websockets_total", .int(totals.websockets)),
                ("worker_restarts", .object(RestartReason.allCases.map { ($0.label, .int(restarts[$0.rawValue])) })),
            ])),
        ])
        return doc.text + "\n"
    }

    var prometheus: String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP evprefork_\(name) \(help)\n# TYPE evprefork_\(name) \(type)\n"
            for (labels, value) in samples { out += "evprefork_\(name)\(labels) \(value)\n" }
        }
        metric("requests_total", "counter", "Responses sent, by status class.",
               totals.byClass.enumerated().map { ("{class=\"\($0.offset + 1)xx\"}", String($0.element)) })
        metric("connections_open", "gauge", "Client connections open now.",
               [("", String(workers.reduce(0) { $0 + $1.connections }))])
        metric("connections_accepted_total", "counter", "Client connections accepted.", [("", String(totals.accepted))])
        metric("bytes_sent_total", "counter", "Response body bytes sent.", [("", String(totals.bytesSent))])
        metric("worker_restarts_total", "counter", "Workers replaced, by reason.",
               RestartReason.allCases.map { ("{reason=\"\($0.label)\"}", String(restarts[$0.rawValue])) })
        metric("worker_heartbeat_age_seconds", "gauge", "Seconds since each worker's last heartbeat.",
               workers.map { ("{pid=\"\($0.pid)\"}", $0.lastHeartbeat > 0 ? format(now - $0.lastHeartbeat) : "NaN") })
        metric("workers", "gauge", "Worker processes.", [("", String(workers.count))])
        metric("generation", "gauge", "Configuration generation (reloads + 1).", [("", String(manager.generation))])
        metric("uptime_seconds", "gauge", "Seconds since the manager started.", [("", format(now - manager.started))])
        metric("upstream_failures_total", "counter", "Failed attempts to reach a proxy upstream.",
               [("", String(totals.upstreamFailures))])
        metric("websocket_connections_open", "gauge", "WebSockets open now.", [("", String(totals.websocketsOpen))])
        metric("websocket_connections_total", "counter", "WebSockets opened.", [("", String(totals.websockets))])
        return out
    }

    private func format(_ seconds: Double) -> String {
        String((seconds * 1000).rounded() / 1000)
    }
}
