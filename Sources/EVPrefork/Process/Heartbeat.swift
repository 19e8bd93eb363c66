import Glibc

/// Where a worker is in its life, as it tells the manager.
enum WorkerState: UInt64 {
    case running = 1
    /// Reached `accepts`: draining; the manager starts its replacement now.
    case retiring = 2
    /// Told to stop gracefully (QUIT): draining.
    case draining = 3

    var name: String {
        switch self {
        case .running: "running"
        case .retiring: "retiring"
        case .draining: "draining"
        }
    }
}

/// The fixed-size record a worker writes to the shared heartbeat pipe:
/// magic, pid, state and the worker's counters, 14 64-bit words, well under
/// PIPE_BUF, so every write is atomic and records from different workers
/// never interleave.
struct Heartbeat: Equatable {
    static let size = (3 + WorkerCounters.wordCount) * 8
    static let magic: UInt64 = 0x4556_5046_4842_0002  // "EVPFHB" v2

    var pid: Int32
    var state: WorkerState
    var counters: WorkerCounters

    var connections: Int { counters.connections }
    var accepted: Int { counters.accepted }
    var requests: Int { counters.requests }

    func encoded() -> [UInt8] {
        var words: [UInt64] = [Self.magic, UInt64(UInt32(bitPattern: pid)), state.rawValue] + counters.words
        return words.withUnsafeMutableBytes { Array($0) }
    }

    init(pid: Int32, state: WorkerState, counters: WorkerCounters) {
        self.pid = pid; self.state = state; self.counters = counters
    }

    /// nil for a record that is not ours (wrong magic or state).
    init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count == Self.size else { return nil }
        var words = [UInt64](repeating: 0, count: Self.size / 8)
        words.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        guard words[0] == Self.magic, let state = WorkerState(rawValue: words[2]) else { return nil }
        self.init(pid: Int32(bitPattern: UInt32(truncatingIfNeeded: words[1])), state: state,
                  counters: WorkerCounters(words: words[3...]))
    }
}

/// The pipe every worker writes heartbeats to and the manager reads.
struct HeartbeatPipe {
    let readFD: Int32
    let writeFD: Int32

    struct PipeError: Error { var message: String }

    static func make() throws(PipeError) -> HeartbeatPipe {
        guard let fds = makePipe(nonBlocking: true) else {
            throw PipeError(message: "pipe: \(String(cString: strerror(errno)))")
        }
        return HeartbeatPipe(readFD: fds.read, writeFD: fds.write)
    }

    /// Worker side. A full pipe drops the beat rather than block the worker;
    /// the next one follows.
    static func send(_ beat: Heartbeat, to fd: Int32) {
        let bytes = beat.encoded()
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Manager side: every complete record waiting in the pipe.
    func receive(into pending: inout [UInt8]) -> [Heartbeat] {
        var chunk = [UInt8](repeating: 0, count: Heartbeat.size * 64)
        while true {
            let n = read(readFD, &chunk, chunk.count)
            if n <= 0 { break }
            pending.append(contentsOf: chunk[0..<n])
        }
        var beats: [Heartbeat] = []
        var offset = 0
        while pending.count - offset >= Heartbeat.size {
            if let beat = Heartbeat(pending[offset..<offset + Heartbeat.size]) { beats.append(beat) }
            offset += Heartbeat.size
        }
        pending.removeFirst(offset)
        return beats
    }
}
