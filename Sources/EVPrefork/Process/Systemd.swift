import CLibevent
import Glibc

/// systemd integration without libsystemd: socket activation (LISTEN_FDS)
/// and readiness notification (sd_notify's datagram protocol).
enum Systemd {
    /// Listening sockets systemd passed us (fds 3...), if they are for this process.
    static func activatedSockets() -> [Int32] {
        defer { unsetenv("LISTEN_FDS"); unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDNAMES") }
        guard let pidText = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(pidText) == getpid(),
              let countText = getenv("LISTEN_FDS").map({ String(cString: $0) }), let count = Int32(countText), count > 0
        else { return [] }
        return (0..<count).map { 3 + $0 }
    }

    /// Which configured address an inherited socket serves, by its bound
    /// address: same family, port, and host (or any host for `*`).
    static func matches(_ fd: Int32, _ address: ListenAddress) -> Bool {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return false }
        let family = Int32(storage.ss_family)
        switch address {
        case .unix(let path):
            guard family == AF_UNIX else { return false }
            let bound = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { sun in
                    withUnsafeBytes(of: sun.pointee.sun_path) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                }
            }
            return bound == path
        case .tcp(let host, let port):
            guard case .tcp(_, let actualPort) = Sockets.actualAddress(fd: fd, configured: address), actualPort == port else {
                return false
            }
            guard let host else { return family == AF_INET || family == AF_INET6 }
            var buffer = [CChar](repeating: 0, count: 64)
            let text: String? = withUnsafePointer(to: &storage) { p in
                if family == AF_INET {
                    return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        var a = sin.pointee.sin_addr
                        return inet_ntop(AF_INET, &a, &buffer, 64).map { String(cString: $0) }
                    }
                }
                if family == AF_INET6 {
                    return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        var a = sin6.pointee.sin6_addr
                        return inet_ntop(AF_INET6, &a, &buffer, 64).map { String(cString: $0) }
                    }
                }
                return nil
            }
            return text == host || (host == "localhost" && (text == "127.0.0.1" || text == "::1"))
        }
    }

    /// sd_notify: one datagram to $NOTIFY_SOCKET ("@name" is the abstract
    /// namespace). Silent when not under systemd.
    static func notify(_ state: String) {
        guard let target = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !target.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        var path = Array(target.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let length = min(path.count, MemoryLayout.size(ofValue: sun.sun_path) - 1)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: path.prefix(length)) }
        let addressLength = socklen_t(MemoryLayout<sa_family_t>.size + length + (path.first == 0 ? 0 : 1))
        var bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &sun) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, &bytes, bytes.count, Int32(MSG_NOSIGNAL), $0, addressLength)
            }
        }
    }
}
