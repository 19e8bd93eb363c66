import Glibc

/// The accept mutex: `flock` on a shared lock file, as Mojo::Server::Prefork
/// and early nginx did, so that one worker at a time listens and the others
/// are not woken for connections they will not get. Each worker opens the
/// file itself: flock belongs to the open file description, and one shared
/// through fork() would let every worker "hold" it at once.
final class AcceptMutex {
    private let fd: Int32
    private(set) var held = false

    struct LockError: Error { var message: String }

    init(path: String) throws(LockError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LockError(message: "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        release()
        close(fd)
    }

    /// Takes the lock without waiting.
    func tryAcquire() -> Bool {
        guard !held else { return true }
        held = flock(fd, LOCK_EX | LOCK_NB) == 0
        return held
    }

    /// Waits for the lock up to `timeout` seconds. Only for a worker with no
    /// connections to serve: its loop stands still while it waits, and the
    /// kernel hands the lock over the moment the holder lets go.
    func acquire(timeout: Double) -> Bool {
        guard !held else { return true }
        if timeout <= 0 { return tryAcquire() }
        var timer = itimerval(it_interval: timeval(), it_value: timeval(seconds: timeout))
        var none = itimerval()
        setitimer(__itimer_which_t(ITIMER_REAL.rawValue), &timer, nil)
        held = flock(fd, LOCK_EX) == 0
        setitimer(__itimer_which_t(ITIMER_REAL.rawValue), &none, nil)
        return held
    }

    func release() {
        guard held else { return }
        flock(fd, LOCK_UN)
        held = false
    }

    /// SIGALRM must interrupt a waiting flock (no SA_RESTART) and do nothing else.
    static func installAlarmHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = 0
        sigemptyset(&action.sa_mask)
        sigaction(SIGALRM, &action, nil)
    }
}
