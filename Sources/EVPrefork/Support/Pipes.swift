import Glibc

/// pipe2(2) is hidden from Swift (it needs _GNU_SOURCE); this is the same
/// with two fcntl calls per end. Only called before fork() or in one process.
func makePipe(nonBlocking: Bool) -> (read: Int32, write: Int32)? {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return nil }
    for fd in fds {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return (fds[0], fds[1])
}
