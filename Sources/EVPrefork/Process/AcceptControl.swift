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
///
/// A worker that holds clearly more connections than another (`heavy`)
/// ends its turn at once and sits out up to an interval, so that new
/// connections go to the others. Without that rule the split of
/// connections is a random walk: under load each worker serves about half
/// the requests however many connections it holds, so each loses clients to
/// reconnection at the same rate, and nothing pulls the split back once it
/// drifts. wrk, which reconnects every `keep_alive_requests`, saw 60/6 and
/// 63/3 splits and one core partly idle (issue 8). The counts come from
/// WorkerLoads; nginx's `accept_disabled` is the same idea at 7/8 of
/// `worker_connections`, too late to even out a split.
final class AcceptControl {
    private let server: HTTPServer
    private let mutex: AcceptMutex?
    private let interval: Double
    private let lockTimeout: Double
    private let multiAccept: Int
    private let load: WorkerLoads.Slot?
    private var timer: LoopEvent?
    private var acceptedThisTurn = 0
    private var stopped = false
    /// Set while sitting out: when this worker tries the lock again even
    /// if it is still heavy (monotonic clock).
    private var sitOutUntil: Double?
    /// How often a worker sitting out looks whether it is still heavy:
    /// another worker may have taken the lock and become the heavier one,
    /// sitting out in turn. Both sitting out a whole interval left nobody
    /// listening, and a burst of 200 connections came in at 5 an interval.
    /// (libevent's timers follow a coarse clock: a look may come 4 ms late.)
    private static let sitOutLook = 0.001

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

    init(server: HTTPServer, loop: EventLoop, mutex: AcceptMutex?, interval: Double, lockTimeout: Double, multiAccept: Int,
         load: WorkerLoads.Slot?) {
        self.server = server
        self.load = load
        self.mutex = mutex
        self.interval = interval
        self.lockTimeout = lockTimeout
        self.multiAccept = multiAccept
        if mutex != nil {
            timer = LoopEvent(loop) { [unowned self] in self.tick() }
        }
    }

    func start() {
        if mutex == nil { server.setListening(!server.atCapacity) } else { publishLoad(); tick() }
    }

    /// For good: draining or retiring.
    func stop() {
        stopped = true
        timer?.cancel()
        server.setListening(false)
        mutex?.release()
        load?.clear()
    }

    var holdsLock: Bool { mutex?.held ?? false }

    func accepted() {
        guard mutex != nil else {
            if server.atCapacity { server.setListening(false) }
            return
        }
        publishLoad()
        acceptedThisTurn += 1
        if acceptedThisTurn >= multiAccept || server.atCapacity || heavy {
            endTurn()
        } else if acceptedThisTurn == 1 {
            timer?.schedule(after: interval)
        }
    }

    func connectionClosed() {
        guard !stopped else { return }
        publishLoad()
        if sitOutUntil != nil && !heavy {
            // At once, not at the next look: under a flood of short
            // connections each worker's clients come and go within a loop
            // turn or two, and waiting for the look after each handoff cut
            // the rate from 23,000 to 1,000 connections a second.
            sitOutUntil = nil
            timer?.schedule(after: 0)
        }
        guard mutex == nil, !server.atCapacity else { return }
        server.setListening(true)
    }

    private func endTurn() {
        server.setListening(false)
        mutex?.release()
        acceptedThisTurn = 0
        if heavy {
            sitOutUntil = monotonicClock() + interval
            timer?.schedule(after: Self.sitOutLook)
        } else {
            timer?.schedule(after: handoffPause)
        }
    }

    private func publishLoad() {
        load?.publish(server.connections.count)
    }

    /// Holds more connections than the least loaded other worker by more
    /// than eight and an eighth of that one's count. Under a flood of short
    /// connections each worker holds a handful at any moment, and a holder
    /// takes the whole backlog in one go: with a margin of one, the lock
    /// changed hands every two connections (7,000 times a second, against
    /// 350) and the rate fell by a few percent; with eight it is as before.
    private var heavy: Bool {
        guard let fewest = load?.fewestOthers else { return false }
        return server.connections.count > fewest + 8 + fewest / 8
    }

    private func tick() {
        guard !stopped, let mutex else { return }
        if let until = sitOutUntil {
            if heavy && monotonicClock() < until {
                timer?.schedule(after: Self.sitOutLook)
                return
            }
            sitOutUntil = nil
        }
        if mutex.held {
            guard acceptedThisTurn > 0 else { return }  // idle: the first connection re-arms the timer
            endTurn()
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
