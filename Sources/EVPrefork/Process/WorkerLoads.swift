/// How many connections each worker that takes turns on the accept mutex
/// holds, in memory the manager shares with them. The mutex's fairness rule
/// needs the others' counts when a turn ends; heartbeats, which go through
/// the manager every few seconds, are too late for that. A worker writes
/// only its own slot. The manager hands slots out and clears a reaped
/// worker's, so one that crashed leaves no stale count behind.
final class WorkerLoads: @unchecked Sendable {
    static let slots = 1024
    /// Word 0: one past the highest slot handed out, so a reader looks at
    /// a few words, not all. Then per slot: connections + 1, 0 for none.
    private let memory: SharedMemory<Int32>
    private var words: UnsafeMutablePointer<Int32> { memory.words }

    init() throws(SharedMemory<Int32>.MapError) {
        memory = try SharedMemory(count: 1 + Self.slots)
    }

    /// The manager, before it forks the worker that gets `slot`.
    func assign(_ slot: Int) {
        words[1 + slot] = 0
        words[0] = max(words[0], Int32(slot + 1))
    }

    /// The manager, for a reaped worker; a worker, when it stops accepting.
    func clear(_ slot: Int) { words[1 + slot] = 0 }

    func publish(_ connections: Int, at slot: Int) { words[1 + slot] = Int32(connections + 1) }

    /// The fewest connections among the other workers taking turns, nil if none is.
    func fewest(besides slot: Int) -> Int? {
        var least: Int32 = 0
        for i in 0..<Int(words[0]) where i != slot {
            let n = words[1 + i]
            if n != 0 && (least == 0 || n < least) { least = n }
        }
        return least == 0 ? nil : Int(least - 1)
    }
}

extension WorkerLoads {
    /// One worker's place in the table.
    struct Slot {
        let table: WorkerLoads
        let index: Int

        func publish(_ connections: Int) { table.publish(connections, at: index) }
        func clear() { table.clear(index) }
        var fewestOthers: Int? { table.fewest(besides: index) }
    }
}
