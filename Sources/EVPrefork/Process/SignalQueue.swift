import Glibc

/// The self-pipe: a signal handler only writes the signal's number to a
/// pipe; the manager loop reads the pipe and acts. Nothing else runs in
/// signal context.
enum SignalQueue {
    nonisolated(unsafe) private static var writeFD: Int32 = -1
    nonisolated(unsafe) private(set) static var readFD: Int32 = -1

    static let handled: [Int32] = [SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGCHLD]

    static func install() {
        guard let fds = makePipe(nonBlocking: true) else { fatalError("pipe: \(errno)") }
        readFD = fds.read
        writeFD = fds.write
        for sig in handled {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = signalRecorder
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Signals received since the last call, in order.
    static func drain() -> [Int32] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var out: [Int32] = []
        while true {
            let n = read(readFD, &buffer, buffer.count)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n].map { Int32($0) })
        }
        return out
    }

    /// In a new worker: default dispositions again, and the pipe closed.
    static func resetInChild() {
        for sig in handled { signal(sig, SIG_DFL) }
        if readFD >= 0 { close(readFD); readFD = -1 }
        if writeFD >= 0 { close(writeFD); writeFD = -1 }
    }

    fileprivate static func record(_ sig: Int32) {
        var byte = UInt8(truncatingIfNeeded: sig)
        let saved = errno
        _ = write(writeFD, &byte, 1)
        errno = saved
    }
}

private let signalRecorder: @convention(c) (Int32) -> Void = { sig in SignalQueue.record(sig) }
