import Glibc

/// `-d`: the classic double fork. The first parent waits until the daemon
/// has written its pid file, so `evprefork -d && evprefork -s stop` works,
/// and exits 1 if the daemon died first.
enum Daemon {
    enum Side {
        case parent(ready: Bool)
        /// In the daemon; call the closure once the pid file is written.
        case daemon(notify: () -> Void)
    }

    static func detach() -> Side {
        guard let pair = makePipe(nonBlocking: false) else { return .parent(ready: false) }
        let fds = [pair.read, pair.write]
        let first = fork()
        if first < 0 { return .parent(ready: false) }
        if first > 0 {
            close(fds[1])
            var byte: UInt8 = 0
            var n: Int
            repeat { n = read(fds[0], &byte, 1) } while n < 0 && errno == EINTR
            var status: Int32 = 0
            waitpid(first, &status, 0)
            return .parent(ready: n == 1)
        }
        close(fds[0])
        setsid()
        let second = fork()
        if second != 0 { _exit(second < 0 ? 1 : 0) }
        let devnull = open("/dev/null", O_RDWR)
        if devnull >= 0 {
            dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2)
            if devnull > 2 { close(devnull) }
        }
        let ready = fds[1]
        return .daemon(notify: {
            var byte: UInt8 = 1
            _ = write(ready, &byte, 1)
            close(ready)
        })
    }
}
