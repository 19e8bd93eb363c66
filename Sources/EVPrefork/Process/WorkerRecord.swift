import Glibc

/// The manager's view of one worker.
struct WorkerRecord {
    let pid: pid_t
    let generation: Int
    /// Its slot in WorkerLoads, when it takes turns on the accept mutex.
    let loadSlot: Int?
    /// Monotonic time of the fork.
    let started: Double
    let startedWall: Double
    /// Monotonic time of the last heartbeat (the fork until the first one).
    var lastHeartbeat: Double
    var lastHeartbeatWall: Double = 0
    /// Has sent at least one heartbeat.
    var healthy = false
    var state = WorkerState.running
    var beat: Heartbeat?
    /// When we sent QUIT (or TERM); KILL follows `graceful_timeout` later.
    var stopSentAt: Double?
    var killed = false
    /// Set when the manager stopped it for silence, for the restarts metric.
    var silent = false

    /// Serving and not on its way out.
    var active: Bool { state == .running && stopSentAt == nil }
}
