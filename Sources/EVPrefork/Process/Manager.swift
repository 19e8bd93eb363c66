import CLibevent
import Glibc

/// The manager: binds, forks, watches heartbeats, obeys signals. One thread,
/// one loop (`poll` on the signal pipe and the heartbeat pipe), in the shape
/// of Mojo::Server::Prefork's `_manage` and nginx's master cycle: each turn
/// reads what happened, reaps, then brings the pool to what it should be.
final class Manager {
    private var config: Config
    private let configPath: String
    private let application: Application
    private let options: ConfigOptions
    private var sockets: [ListenAddress: ListenSocket] = [:]
    private var heartbeats: HeartbeatPipe
    private var pendingBeats: [UInt8] = []
    private let board: StatusBoard
    private let loads: WorkerLoads
    private var generation = 1
    private var workers: [pid_t: WorkerRecord] = [:]
    private var targetWorkers: Int
    private var lockPath: String?
    private var ownLockFile = false
    private var pidPath: String
    private let binary = executablePath()
    private let started = wallClock()

    private enum Phase { case running, stopping(graceful: Bool, deadline: Double) }
    private var phase = Phase.running
    private var gracefulExit = true
    /// An upgrade in progress: the new manager's pid and when we give up on it.
    private var upgrade: (pid: pid_t, deadline: Double)?
    /// The new manager took over (it told us to quit): leave it the sockets.
    private var handedOver = false
    /// Set in a manager started by USR2: the old manager to QUIT once our workers are healthy.
    private var upgradeFrom: pid_t?
    private var upgradeDeadline = 0.0
    /// Crash-loop guard: workers that died before their first heartbeat.
    private var earlyDeaths = 0
    private var nextSpawn = 0.0
    private var reloadStarted: Double?
    /// Counters of workers that are gone, and why workers were replaced.
    private var retiredCounters = WorkerCounters()
    private var restarts = RestartReason.allCases.map { _ in 0 }
    /// READY=1 sent to systemd for the current generation.
    private var notifiedReady = false
    private var lastStatusNotice = 0.0

    struct StartError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    init(config: Config, configPath: String, application: Application, options: ConfigOptions) throws(StartError) {
        self.config = config
        self.configPath = configPath
        self.application = application
        self.options = options
        self.targetWorkers = config.server.workers
        self.pidPath = config.server.pidFile
        do { heartbeats = try HeartbeatPipe.make() } catch { throw StartError(message: error.message) }
        do { board = try StatusBoard() } catch { throw StartError(message: error.message) }
        do { loads = try WorkerLoads() } catch { throw StartError(message: error.message) }
    }

    // MARK: - start-up

    /// Binds (or inherits) the sockets and prints where we listen. Errors
    /// here are the operator's to see: the caller exits 1.
    func bind() throws(StartError) {
        if let other = PidFile.runningServer(pidPath) {
            throw StartError(message: "another evprefork (pid \(other)) is running with pid file \(pidPath)")
        }
        // Sockets may come from the manager we replace (USR2) or from
        // systemd (socket activation); whatever is left we bind ourselves.
        let (inherited, parent) = Upgrade.inherited()
        upgradeFrom = parent
        var activated = Systemd.activatedSockets()
        var used = Set<Int32>()
        for address in config.server.listen {
            if let fd = inherited[address.description] {
                adopt(fd, for: address)
                used.insert(fd)
            } else if let i = activated.firstIndex(where: { Systemd.matches($0, address) }) {
                adopt(activated.remove(at: i), for: address)
            } else {
                do {
                    sockets[address] = try Sockets.open(address, backlog: config.server.backlog,
                                                        reusePort: config.server.reusePort,
                                                        listening: !perWorkerSockets(address))
                } catch {
                    closeAll()
                    throw StartError(message: error.message)
                }
            }
        }
        for fd in inherited.values where !used.contains(fd) { close(fd) }
        for fd in activated {
            log.warn("socket activation: fd \(fd) matches no listen address; closing it")
            close(fd)
        }
        for address in config.server.listen {
            Console.out("evprefork: listening on \(sockets[address]!.url)\n")
        }
    }

    private func adopt(_ fd: Int32, for address: ListenAddress) {
        Sockets.setCloseOnExec(fd, true)
        Sockets.setNonBlocking(fd)
        // An inherited reuse_port anchor is bound only; listening again is harmless otherwise.
        if !perWorkerSockets(address) { listen(fd, Int32(config.server.backlog)) }
        sockets[address] = ListenSocket(address: address, fd: fd, actual: Sockets.actualAddress(fd: fd, configured: address))
    }

    private func closeAll() {
        for s in sockets.values { close(s.fd) }
        sockets.removeAll()
    }

    /// Runs until stopped; returns the exit code.
    func run(onReady: () -> Void) -> Int32 {
        SignalQueue.install()
        do { try PidFile.write(pidPath) } catch {
            log.error(error.message)
            return 1
        }
        onReady()
        setUpLockFile()
        board.manager = StatusBoard.Manager(pid: getpid(), generation: generation, started: started)
        if upgradeFrom != nil { upgradeDeadline = monotonicClock() + config.server.upgradeTimeout }
        log.info("manager started (pid \(getpid()), \(targetWorkers) workers, evprefork \(EVPreforkVersion.string))")

        while true {
            waitForEvents(timeout: 0.1)
            for sig in SignalQueue.drain() { handle(signal: sig) }
            for beat in heartbeats.receive(into: &pendingBeats) { record(beat) }
            reap()
            if manage() { break }
            application.onWait?()
        }
        finish()
        return 0
    }

    private func setUpLockFile() {
        guard config.server.acceptMutex && !config.server.reusePort else { lockPath = nil; return }
        if let path = config.server.lockFile {
            lockPath = path
        } else {
            let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            lockPath = "\(tmp)/evprefork.\(getpid()).lock"
            ownLockFile = true
        }
        let fd = open(lockPath!, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            log.error("cannot create lock file \(lockPath!): \(String(cString: strerror(errno)))")
            return
        }
        // Workers that drop privileges open it after the drop.
        if geteuid() == 0, let owner = Privileges.owner(user: config.server.user, group: config.server.group) {
            fchown(fd, owner.uid, owner.gid)
        }
        close(fd)
    }

    private func waitForEvents(timeout: Double) {
        var fds = [pollfd(fd: SignalQueue.readFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: heartbeats.readFD, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, Int32(timeout * 1000))
    }

    private func finish() {
        application.onFinish?(gracefulExit)
        PidFile.remove(pidPath)
        if ownLockFile, let lockPath { unlink(lockPath) }
        if !handedOver {
            for s in sockets.values { if case .unix(let path) = s.address { unlink(path) } }
        }
        log.info("manager exiting")
    }

    // MARK: - signals

    private func handle(signal sig: Int32) {
        switch sig {
        case SIGINT, SIGTERM: stop(graceful: false)
        case SIGQUIT: stop(graceful: true)
        case SIGHUP: reload()
        case SIGUSR1:
            log.info("reopening logs")
            log.reopen()
            for pid in workers.keys { kill(pid, SIGUSR1) }
        case SIGUSR2: startUpgrade()
        case SIGTTIN:
            targetWorkers += 1
            log.info("workers: \(targetWorkers)")
        case SIGTTOU:
            guard targetWorkers > 1 else { log.warn("TTOU ignored: one worker is the minimum"); return }
            targetWorkers -= 1
            log.info("workers: \(targetWorkers)")
            if let victim = workers.values.filter({ $0.generation == generation && $0.active }).max(by: { $0.started < $1.started }) {
                stopWorker(victim.pid, signal: SIGQUIT)
            }
        default: break  // SIGCHLD only wakes the loop; reap() runs every turn.
        }
    }

    private func stop(graceful: Bool) {
        let now = monotonicClock()
        if case .stopping(let wasGraceful, _) = phase, !wasGraceful || graceful { return }
        gracefulExit = graceful
        log.info(graceful ? "graceful shutdown" : "fast shutdown")
        if upgrade == nil { Systemd.notify("STOPPING=1") }  // not when handing over to a new binary
        // Fast: TERM now, KILL whatever is left half a second later.
        let deadline = now + (graceful ? config.server.gracefulTimeout : 0.5)
        phase = .stopping(graceful: graceful, deadline: deadline)
        for pid in workers.keys { stopWorker(pid, signal: graceful ? SIGQUIT : SIGTERM) }
        // Stopped while a new manager runs: it has the sockets and writes its
        // own pid file; the QUIT most likely came from it.
        if upgrade != nil {
            handedOver = true
            upgrade = nil
        }
    }

    private func stopWorker(_ pid: pid_t, signal sig: Int32) {
        kill(pid, sig)
        if workers[pid]?.stopSentAt == nil || sig == SIGTERM { workers[pid]?.stopSentAt = monotonicClock() }
    }

    // MARK: - heartbeats and reaping

    private func record(_ beat: Heartbeat) {
        guard var w = workers[beat.pid] else { return }
        let first = !w.healthy
        w.healthy = true
        w.lastHeartbeat = monotonicClock()
        w.lastHeartbeatWall = wallClock()
        w.beat = beat
        if beat.state != w.state {
            if beat.state == .retiring { log.info("worker \(beat.pid) is retiring after \(beat.accepted) connections") }
            w.state = beat.state
        }
        workers[beat.pid] = w
        if first { earlyDeaths = 0 }
        publish(w)
        publishTotals()
        application.onHeartbeat?(beat.pid)
    }

    private func publish(_ w: WorkerRecord) {
        board.update(StatusBoard.Worker(pid: w.pid, generation: w.generation, state: w.state,
                                        connections: w.beat?.connections ?? 0, requests: w.beat?.requests ?? 0,
                                        accepted: w.beat?.accepted ?? 0, started: w.startedWall,
                                        lastHeartbeat: w.lastHeartbeatWall))
    }

    private func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            if let upgrade, pid == upgrade.pid {
                log.error("upgrade failed: the new manager (pid \(pid)) exited (\(describe(status: status))); keeping this one")
                abandonUpgrade()
                continue
            }
            guard let w = workers.removeValue(forKey: pid) else { continue }
            board.remove(pid: pid)
            if let slot = w.loadSlot { loads.clear(slot) }
            if let beat = w.beat { retiredCounters = retiredCounters + beat.counters.retired }
            if let reason = restartReason(w) { restarts[reason.rawValue] += 1 }
            publishTotals()
            application.onReap?(pid, status)
            let how = describe(status: status)
            if !w.healthy && w.stopSentAt == nil {
                earlyDeaths += 1
                let delay = min(5.0, 0.1 * Double(1 << min(earlyDeaths, 6)))
                nextSpawn = monotonicClock() + delay
                log.error("worker \(pid) died before its first heartbeat (\(how)); next spawn in \(delay)s")
            } else if w.stopSentAt == nil && w.state == .running {
                log.warn("worker \(pid) exited unexpectedly (\(how))")
            } else {
                log.debug("worker \(pid) stopped (\(how))")
            }
        }
    }

    /// Why a worker that exited had to be replaced; nil when it was meant
    /// to go (shutdown, reload, TTOU).
    private func restartReason(_ w: WorkerRecord) -> RestartReason? {
        if w.silent { return .heartbeatTimeout }
        if w.state == .retiring { return .retired }
        guard w.stopSentAt == nil else { return nil }
        return w.healthy ? .crashed : .diedAtStart
    }

    /// The totals the status route shows: gone workers plus the last beat of each live one.
    private func publishTotals() {
        board.totals = workers.values.reduce(retiredCounters) { $0 + ($1.beat?.counters ?? WorkerCounters()) }
        board.restarts = restarts
    }

    private func describe(status: Int32) -> String {
        // <sys/wait.h>'s macros, which Swift cannot import.
        let low = status & 0x7f
        if low == 0 { return "exit \((status >> 8) & 0xff)" }
        if low != 0x7f { return "signal \(low)" }
        return "status \(status)"
    }

    // MARK: - the pool

    /// One turn of management; true when the manager should exit.
    private func manage() -> Bool {
        let now = monotonicClock()
        if case .stopping(_, let deadline) = phase {
            if workers.isEmpty { return true }
            if now >= deadline {
                for (pid, w) in workers where !w.killed {
                    log.warn("worker \(pid) did not stop in time; killing it")
                    kill(pid, SIGKILL)
                    workers[pid]?.killed = true
                }
            }
            return false
        }
        checkHeartbeats(now)
        retireOldGeneration(now)
        spawnMissing(now)
        checkUpgrade(now)
        notifySystemd(now)
        return false
    }

    private func checkHeartbeats(_ now: Double) {
        let s = config.server
        for (pid, w) in workers {
            if w.stopSentAt == nil && now - w.lastHeartbeat > s.heartbeatInterval + s.heartbeatTimeout {
                log.error("worker \(pid) sent no heartbeat for \(Int(now - w.lastHeartbeat))s; stopping it")
                workers[pid]?.silent = true
                stopWorker(pid, signal: SIGQUIT)
            } else if let sent = workers[pid]?.stopSentAt, !w.killed, now - sent > s.gracefulTimeout {
                log.warn("worker \(pid) did not stop within graceful_timeout; killing it")
                kill(pid, SIGKILL)
                workers[pid]?.killed = true
            }
        }
    }

    /// After a reload, the old generation stops once the new one is serving
    /// (or a few seconds have passed), so there is always someone to accept.
    private func retireOldGeneration(_ now: Double) {
        guard let since = reloadStarted else { return }
        let fresh = workers.values.filter { $0.generation == generation && $0.healthy && $0.active }.count
        guard fresh >= targetWorkers || now - since > 5 else { return }
        for (pid, w) in workers where w.generation < generation && w.stopSentAt == nil {
            stopWorker(pid, signal: SIGQUIT)
        }
        reloadStarted = nil
    }

    private func spawnMissing(_ now: Double) {
        guard now >= nextSpawn else { return }
        let current = workers.values.filter { $0.generation == generation }
        let active = current.filter(\.active).count
        let older = workers.count - current.count
        // Retiring or stuck workers of this generation may overlap their
        // replacements by at most `spare`; the previous generation does not count.
        let room = targetWorkers + config.server.spare + older - workers.count
        let need = min(targetWorkers - active, room)
        guard need > 0 else { return }
        for _ in 0..<need { spawn() }
    }

    /// With reuse_port, each worker gets its own listening socket on a TCP
    /// address, and the kernel spreads connections over them; the manager's
    /// socket is only bound (never listening), to hold the port and to hand
    /// over on upgrade.
    private func perWorkerSockets(_ address: ListenAddress) -> Bool {
        guard config.server.reusePort, case .tcp = address else { return false }
        return true
    }

    /// The fds a new worker serves; the second list is the manager's copies to close after fork.
    private func socketsForWorker() -> (fds: [Int32], temporary: [Int32]) {
        var fds: [Int32] = []
        var temporary: [Int32] = []
        for s in sockets.values {
            guard perWorkerSockets(s.address), case .tcp(_, let port) = s.actual else { fds.append(s.fd); continue }
            do {
                let own = try Sockets.open(s.address, backlog: config.server.backlog, reusePort: true, port: port)
                fds.append(own.fd)
                temporary.append(own.fd)
            } catch {
                log.error("reuse_port: \(error.message)")
            }
        }
        return (fds, temporary)
    }

    private func spawn() {
        let (listenFDs, temporary) = socketsForWorker()
        defer { for fd in temporary { close(fd) } }
        let loadSlot = lockPath == nil ? nil : freeLoadSlot()
        if let loadSlot { loads.assign(loadSlot) }
        let setup = WorkerSetup(config: config, generation: generation, listenFDs: listenFDs,
                                heartbeatFD: heartbeats.writeFD, lockPath: lockPath,
                                load: loadSlot.map { WorkerLoads.Slot(table: loads, index: $0) }, board: board,
                                application: application, managerPID: getpid())
        let pid = fork()
        if pid < 0 {
            log.error("fork failed: \(String(cString: strerror(errno)))")
            nextSpawn = monotonicClock() + 1
            return
        }
        if pid == 0 { runWorker(setup) }
        let now = monotonicClock()
        var w = WorkerRecord(pid: pid, generation: generation, loadSlot: loadSlot, started: now, startedWall: wallClock(),
                             lastHeartbeat: now)
        w.lastHeartbeatWall = 0
        workers[pid] = w
        publish(w)
        log.debug("spawned worker \(pid) (generation \(generation))")
        application.onSpawn?(pid)
    }

    private func freeLoadSlot() -> Int? {
        let used = Set(workers.values.compactMap(\.loadSlot))
        return (0..<WorkerLoads.slots).first { !used.contains($0) }
    }

    /// In the child. Never returns.
    private func runWorker(_ setup: WorkerSetup) -> Never {
        SignalQueue.resetInChild()
        for sig in [SIGHUP, SIGUSR2, SIGTTIN, SIGTTOU] { signal(sig, SIG_IGN) }
        close(heartbeats.readFD)
        do {
            try Privileges.drop(user: setup.config.server.user, group: setup.config.server.group)
        } catch {
            log.error("worker: \(error.message)")
            _exit(1)
        }
        application.onWorkerStart?()
        do {
            let worker = try Worker(setup)
            worker.run()
        } catch {
            log.error("worker: \(error.message)")
            _exit(1)
        }
    }

    /// READY=1 once the current generation's workers have all sent a
    /// heartbeat (also after a reload), and a STATUS= line now and then.
    private func notifySystemd(_ now: Double) {
        let current = workers.values.filter { $0.generation == generation }
        if !notifiedReady && upgradeFrom == nil && current.filter(\.healthy).count >= targetWorkers {
            notifiedReady = true
            Systemd.notify("READY=1\nMAINPID=\(getpid())\nSTATUS=\(statusLine())")
            lastStatusNotice = now
        } else if notifiedReady && now - lastStatusNotice >= 5 {
            Systemd.notify("STATUS=\(statusLine())")
            lastStatusNotice = now
        }
    }

    private func statusLine() -> String {
        let requests = workers.values.reduce(0) { $0 + ($1.beat?.requests ?? 0) }
        return "\(workers.count) workers, generation \(generation), \(requests) requests"
    }

    // MARK: - reload

    private func reload() {
        log.info("reloading \(configPath)")
        Systemd.notify("RELOADING=1")
        let fresh: Config
        do {
            fresh = try Config.load(path: configPath, options: options)
        } catch {
            for d in error.diagnostics { log.error("reload failed: \(d)") }
            log.error("reload failed; still serving the previous configuration")
            Systemd.notify("READY=1")
            return
        }
        var opened: [ListenAddress: ListenSocket] = [:]
        if fresh.server.reusePort != config.server.reusePort {
            log.warn("reuse_port changes take effect at the next restart or upgrade")
        }
        for address in fresh.server.listen where sockets[address] == nil {
            do {
                opened[address] = try Sockets.open(address, backlog: fresh.server.backlog, reusePort: config.server.reusePort,
                                                   listening: !perWorkerSockets(address))
            } catch {
                for s in opened.values { close(s.fd) }
                log.error("reload failed: \(error.message); still serving the previous configuration")
                Systemd.notify("READY=1")
                return
            }
        }
        for (address, s) in sockets where !fresh.server.listen.contains(address) {
            close(s.fd)
            if case .unix(let path) = address { unlink(path) }
            sockets[address] = nil
            log.info("stopped listening on \(s.url)")
        }
        for (address, s) in opened {
            sockets[address] = s
            log.info("listening on \(s.url)")
        }
        let oldLog = config.log
        let reusePort = config.server.reusePort
        config = fresh
        config.server.pidFile = pidPath  // the pid file stays where it is until restart
        config.server.reusePort = reusePort
        if oldLog.level != fresh.log.level || oldLog.errorLog != fresh.log.errorLog {
            Log.shared = Log(level: fresh.log.level, target: fresh.log.errorLog)
        }
        if ownLockFile, let old = lockPath { unlink(old) }
        setUpLockFile()
        targetWorkers = fresh.server.workers
        generation += 1
        board.manager = StatusBoard.Manager(pid: getpid(), generation: generation, started: started)
        reloadStarted = monotonicClock()
        nextSpawn = 0
        notifiedReady = false
        log.info("configuration reloaded: generation \(generation), \(targetWorkers) workers")
    }

    // MARK: - upgrade

    private func startUpgrade() {
        if upgrade != nil { log.warn("upgrade already in progress"); return }
        if upgradeFrom != nil { log.warn("upgrade ignored: this manager is itself still taking over"); return }
        let oldbin = pidPath + ".oldbin"
        guard rename(pidPath, oldbin) == 0 else {
            log.error("upgrade failed: cannot rename \(pidPath): \(String(cString: strerror(errno)))")
            return
        }
        pidPath = oldbin
        let list = Array(sockets.values)
        let pid = fork()
        if pid < 0 {
            log.error("upgrade failed: fork: \(String(cString: strerror(errno)))")
            abandonUpgrade()
            return
        }
        if pid == 0 {
            SignalQueue.resetInChild()
            Upgrade.exec(binary: binary, arguments: ["-c", configPath], sockets: list)
        }
        upgrade = (pid, monotonicClock() + config.server.upgradeTimeout)
        log.info("upgrade: started new manager \(binary) (pid \(pid))")
    }

    /// The new manager failed or was too slow: take the pid file back.
    private func abandonUpgrade() {
        if let u = upgrade { kill(u.pid, SIGTERM) }
        upgrade = nil
        let original = String(pidPath.dropLast(".oldbin".count))
        if pidPath.hasSuffix(".oldbin") && rename(pidPath, original) == 0 { pidPath = original }
        try? PidFile.write(pidPath)
    }

    private func checkUpgrade(_ now: Double) {
        if let u = upgrade, now > u.deadline {
            log.error("upgrade timed out after \(config.server.upgradeTimeout)s; keeping this manager")
            abandonUpgrade()
        }
        // The new side: once our workers are healthy, the old manager goes.
        if let old = upgradeFrom {
            let healthy = workers.values.filter { $0.generation == generation && $0.healthy }.count
            if healthy >= targetWorkers {
                log.info("upgrade: workers are up; stopping the old manager \(old)")
                upgradeFrom = nil
                // systemd follows the service to its new main process (NotifyAccess=all).
                notifiedReady = true
                Systemd.notify("MAINPID=\(getpid())\nREADY=1\nSTATUS=\(statusLine())")
                kill(old, SIGQUIT)
            } else if now > upgradeDeadline {
                log.error("upgrade: workers did not come up within upgrade_timeout; exiting")
                upgradeFrom = nil
                stop(graceful: false)
            }
        }
    }
}
