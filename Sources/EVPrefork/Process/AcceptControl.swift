/// Decides when this worker listens. Without the mutex: always, below the
/// `clients` limit. With it: only while holding the lock, for one turn of
/// `accept_interval` or `multi_accept` connections, whichever ends first.
/// A turn starts with its first connection: a holder that accepts nothing
/// keeps the lock and sleeps, since no one else has anything to accept
/// either. Handing an unused lock over every interval woke both workers
/// 40 times a second on an idle server (0.4-0.8% of a core; nginx: 0).
///
/// A turn in which connections came is followed by a try for the lock on
/// the loop's next turn or 5 ms later (`handoffPause`), not a whole
/// `accept_interval` later: a worker blocked on the lock (one with no connections) is woken
/// by the release and takes it meanwhile, so the lock moves round the
/// workers under load; and when no one takes it, this worker is back before
/// the backlog fills. Sitting out a whole interval left the lock unheld most
/// of the time under a flood of new connections: two workers accepted about
/// 2,000 connections a second where nginx accepts 20,000 (wrk with
/// `Connection: close`, issue 8); a 1 ms pause still left a quarter of the
/// time unheld (19k against 21.5k with the next loop turn).
final class AcceptControl {
    private let server: HTTPServer
    private let mutex: AcceptMutex?
    private let interval: Double
    private let lockTimeout: Double
    private let multiAccept: Int
    private var timer: LoopEvent?
    private var acceptedThisTurn = 0
    private var stopped = false

    /// How long a worker waits after a turn that accepted before it tries
    /// the lock again. The loop's next turn (0) while it serves fewer than
    /// two turns' worth of connections (2 x `multi_accept`): a worker woken
    /// by the release runs on another core meanwhile, and a flood of short
    /// connections is accepted at full speed (a 1 ms pause there cost a
    /// tenth of the rate). 5 ms beyond that: on a busy machine the woken
    /// worker may not get a core before the next loop turn, and one worker
    /// took all 256 connections of a burst (wrk -c256), leaving the other
    /// idle (0.90x nginx, which spreads them); with 1 ms it still took all
    /// 200 of a burst under CPU pressure one time in five.
    private var handoffPause: Double { server.connections.count >= 2 * multiAccept ? 0.005 : 0 }

    init(server: HTTPServer, loop: EventLoop, mutex: AcceptMutex?, interval: Double, lockTimeout: Double, multiAccept: Int) {
        self.server = server
        self.mutex = mutex
        self.interval = interval
        self.lockTimeout = lockTimeout
        self.multiAccept = multiAccept
        if mutex != nil {
            timer = LoopEvent(loop) { [unowned self] in self.tick() }
        }
    }

    func start() {
        if mutex == nil { server.setListening(!server.atCapacity) } else { tick() }
    }

    /// For good: draining or retiring.
    func stop() {
        stopped = true
        timer?.cancel()
        server.setListening(false)
        mutex?.release()
    }

    var holdsLock: Bool { mutex?.held ?? false }

    func accepted() {
        guard mutex != nil else {
            if server.atCapacity { server.setListening(false) }
            return
        }
        acceptedThisTurn += 1
        if acceptedThisTurn >= multiAccept || server.atCapacity {
            endTurn()
            timer?.schedule(after: handoffPause)
        } else if acceptedThisTurn == 1 {
            timer?.schedule(after: interval)
        }
    }

    func connectionClosed() {
        guard !stopped, mutex == nil, !server.atCapacity else { return }
        server.setListening(true)
    }

    private func endTurn() {
        server.setListening(false)
        mutex?.release()
        acceptedThisTurn = 0
    }

    private func tick() {
        guard !stopped, let mutex else { return }
        if mutex.held {
            guard acceptedThisTurn > 0 else { return }  // idle: the first connection re-arms the timer
            endTurn()
            timer?.schedule(after: handoffPause)
            return
        }
        if !server.atCapacity {
            let got = server.connections.isEmpty ? mutex.acquire(timeout: lockTimeout) : mutex.tryAcquire()
            if got {
                server.setListening(true)
                return
            }
        }
        timer?.schedule(after: interval)
    }
}
