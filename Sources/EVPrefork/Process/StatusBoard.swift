import Glibc

/// What the manager knows of its workers, in memory shared with them: the
/// manager writes it as heartbeats arrive, a worker reads it to answer the
/// status route. One writer, many readers; a reader may see a row mid-update,
/// which costs a status answer one heartbeat of staleness at worst.
final class StatusBoard: @unchecked Sendable {
    static let slots = 1024
    private static let headerWords = 64
    private static let totalsAt = 8
    private static let restartsAt = 32
    private static let slotWords = 10
    private let memory: SharedMemory<Int64>
    private var words: UnsafeMutablePointer<Int64> { memory.words }

    init() throws(SharedMemory<Int64>.MapError) {
        memory = try SharedMemory(count: Self.headerWords + Self.slots * Self.slotWords)
    }

    struct Worker {
        var pid: Int32
        var generation: Int
        var state: WorkerState
        var connections: Int
        var requests: Int
        var accepted: Int
        var started: Double
        var lastHeartbeat: Double
    }

    struct Manager {
        var pid: Int32
        var generation: Int
        var started: Double
    }

    var manager: Manager {
        get { Manager(pid: Int32(words[0]), generation: Int(words[1]), started: Double(bitPattern: UInt64(words[2]))) }
        set {
            words[0] = Int64(newValue.pid); words[1] = Int64(newValue.generation)
            words[2] = Int64(bitPattern: newValue.started.bitPattern)
        }
    }

    /// Every worker's counters added up, those of workers gone included (the manager's view).
    var totals: WorkerCounters {
        get { WorkerCounters(words: (0..<WorkerCounters.wordCount).map { UInt64(bitPattern: words[Self.totalsAt + $0]) }[...]) }
        set { for (i, w) in newValue.words.enumerated() { words[Self.totalsAt + i] = Int64(bitPattern: w) } }
    }

    /// Workers replaced, by RestartReason.
    var restarts: [Int] {
        get { RestartReason.allCases.map { Int(words[Self.restartsAt + $0.rawValue]) } }
        set { for (i, n) in newValue.enumerated() { words[Self.restartsAt + i] = Int64(n) } }
    }

    private func slot(_ i: Int) -> UnsafeMutablePointer<Int64> { words + Self.headerWords + i * Self.slotWords }

    /// Rows in use.
    var workers: [Worker] {
        (0..<Self.slots).compactMap { i in
            let s = slot(i)
            guard s[0] != 0 else { return nil }
            return Worker(pid: Int32(s[0]), generation: Int(s[1]), state: WorkerState(rawValue: UInt64(s[2])) ?? .running,
                          connections: Int(s[3]), requests: Int(s[4]), accepted: Int(s[5]),
                          started: Double(bitPattern: UInt64(s[6])), lastHeartbeat: Double(bitPattern: UInt64(s[7])))
        }
    }

    /// Writes a worker's row, taking a free one for a new pid.
    func update(_ w: Worker) {
        var free: Int?
        for i in 0..<Self.slots {
            let s = slot(i)
            if s[0] == Int64(w.pid) { write(w, to: s); return }
            if s[0] == 0 && free == nil { free = i }
        }
        if let free { write(w, to: slot(free)) }
    }

    func remove(pid: Int32) {
        for i in 0..<Self.slots where slot(i)[0] == Int64(pid) { slot(i)[0] = 0 }
    }

    private func write(_ w: Worker, to s: UnsafeMutablePointer<Int64>) {
        s[1] = Int64(w.generation); s[2] = Int64(w.state.rawValue); s[3] = Int64(w.connections)
        s[4] = Int64(w.requests); s[5] = Int64(w.accepted)
        s[6] = Int64(bitPattern: w.started.bitPattern); s[7] = Int64(bitPattern: w.lastHeartbeat.bitPattern)
        s[0] = Int64(w.pid)
    }
}
