/// Decides when this worker listens. Without the mutex: always, below the
/// `clients` limit. With it: only while holding the lock, for one turn of
/// `accept_interval` or `multi_accept` connections, whichever ends first; a
/// worker that accepted anything in its turn sits out the next attempt so
/// the lock moves round the workers under load.
final class AcceptControl {
    private let server: HTTPServer
    private let mutex: AcceptMutex?
    private let lockTimeout: Double
    private let multiAccept: Int
    private var timer: LoopEvent?
    private var acceptedThisTurn = 0
    private var sitOut = false
    private var stopped = false

    init(server: HTTPServer, loop: EventLoop, mutex: AcceptMutex?, interval: Double, lockTimeout: Double, multiAccept: Int) {
        self.server = server
        self.mutex = mutex
        self.lockTimeout = lockTimeout
        self.multiAccept = multiAccept
        if mutex != nil {
            timer = LoopEvent(loop, repeating: true) { [unowned self] in self.tick() }
            timer?.schedule(after: interval)
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
        guard let mutex else {
            if server.atCapacity { server.setListening(false) }
            return
        }
        acceptedThisTurn += 1
        if acceptedThisTurn >= multiAccept || server.atCapacity {
            server.setListening(false)
            mutex.release()
            sitOut = true
        }
    }

    func connectionClosed() {
        guard !stopped, mutex == nil, !server.atCapacity else { return }
        server.setListening(true)
    }

    private func tick() {
        guard !stopped, let mutex else { return }
        if mutex.held {
            server.setListening(false)
            mutex.release()
            if acceptedThisTurn > 0 { sitOut = true }
        }
        acceptedThisTurn = 0
        if sitOut {
            sitOut = false
            return
        }
        guard !server.atCapacity else { return }
        let got = server.connections.isEmpty ? mutex.acquire(timeout: lockTimeout) : mutex.tryAcquire()
        if got { server.setListening(true) }
    }
}
