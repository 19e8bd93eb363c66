/// The `status` route: the manager's view of every worker, as JSON.
func statusHandler(board: StatusBoard, live: @escaping () -> StatusBoard.Worker) -> (HTTPExchange) -> Void {
    return { exchange in
        let now = wallClock()
        let manager = board.manager
        let me = live()
        var workers = board.workers
        // The answering worker's own row is fresher than its last heartbeat.
        if let i = workers.firstIndex(where: { $0.pid == me.pid }) {
            workers[i].connections = me.connections
            workers[i].requests = me.requests
            workers[i].accepted = me.accepted
            workers[i].state = me.state
        }
        workers.sort { $0.pid < $1.pid }
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
            ])),
        ])
        exchange.respond(status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                         body: doc.text + "\n")
    }
}
