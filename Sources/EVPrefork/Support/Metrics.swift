/// What a worker counts. Sent whole with every heartbeat; the manager keeps
/// the last one of each worker and adds those of workers that are gone, so
/// totals survive restarts.
struct WorkerCounters: Equatable {
    /// Open connections now (a gauge).
    var connections = 0
    var accepted = 0
    /// Responses by status class: index 0 is 1xx ... index 4 is 5xx.
    var byClass = [0, 0, 0, 0, 0]
    var bytesSent = 0
    var upstreamFailures = 0
    /// Open WebSockets now (a gauge).
    var websocketsOpen = 0
    var websockets = 0

    static let wordCount = 11

    var requests: Int { byClass.reduce(0, +) }

    var words: [UInt64] {
        [UInt64(connections), UInt64(accepted)] + byClass.map { UInt64($0) }
            + [UInt64(bytesSent), UInt64(upstreamFailures), UInt64(websocketsOpen), UInt64(websockets)]
    }

    init() {}

    init(words w: ArraySlice<UInt64>) {
        let v = Array(w.map { Int(truncatingIfNeeded: $0) })
        guard v.count == Self.wordCount else { return }
        connections = v[0]; accepted = v[1]; byClass = Array(v[2..<7])
        bytesSent = v[7]; upstreamFailures = v[8]; websocketsOpen = v[9]; websockets = v[10]
    }

    /// Totals: counters add up, gauges too (the sum over workers).
    static func + (a: WorkerCounters, b: WorkerCounters) -> WorkerCounters {
        var c = WorkerCounters()
        c.connections = a.connections + b.connections
        c.accepted = a.accepted + b.accepted
        c.byClass = zip(a.byClass, b.byClass).map(+)
        c.bytesSent = a.bytesSent + b.bytesSent
        c.upstreamFailures = a.upstreamFailures + b.upstreamFailures
        c.websocketsOpen = a.websocketsOpen + b.websocketsOpen
        c.websockets = a.websockets + b.websockets
        return c
    }

    static func - (a: WorkerCounters, b: WorkerCounters) -> WorkerCounters {
        var c = WorkerCounters()
        c.connections = a.connections - b.connections
        c.accepted = a.accepted - b.accepted
        c.byClass = zip(a.byClass, b.byClass).map(-)
        c.bytesSent = a.bytesSent - b.bytesSent
        c.upstreamFailures = a.upstreamFailures - b.upstreamFailures
        c.websocketsOpen = a.websocketsOpen - b.websocketsOpen
        c.websockets = a.websockets - b.websockets
        return c
    }

    /// What a worker that is gone still contributes: its counters, not its gauges.
    var retired: WorkerCounters {
        var c = self
        c.connections = 0
        c.websocketsOpen = 0
        return c
    }
}

/// This worker's counters, updated where things happen.
enum Metrics {
    /// Unchecked: a global's exclusivity is checked at run time on every
    /// update (about 70 instructions, once per request), and a worker is one
    /// thread whose updates are single statements that never overlap.
    @exclusivity(unchecked) nonisolated(unsafe) static var counters = WorkerCounters()

    static func response(status: Int, bytes: Int) {
        let i = min(4, max(0, status / 100 - 1))
        counters.byClass[i] += 1
        counters.bytesSent += bytes
    }
}

/// Why the manager replaced a worker, for the restarts metric.
enum RestartReason: Int, CaseIterable {
    case crashed = 0, heartbeatTimeout, retired, diedAtStart

    var label: String {
        switch self {
        case .crashed: "crashed"
        case .heartbeatTimeout: "heartbeat_timeout"
        case .retired: "retired"
        case .diedAtStart: "died_at_start"
        }
    }
}
