import CLibevent
import Glibc

/// Text form of a peer address for logs and X-Forwarded-For: "1.2.3.4",
/// "::1", or "unix" for a unix-socket peer.
func describePeer(_ sa: UnsafePointer<sockaddr>?) -> String {
    guard let sa else { return "-" }
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch Int32(sa.pointee.sa_family) {
    case AF_INET:
        return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            var addr = sin.pointee.sin_addr
            return inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count)).map { String(cString: $0) } ?? "-"
        }
    case AF_INET6:
        return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
            var addr = sin6.pointee.sin6_addr
            return inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)).map { String(cString: $0) } ?? "-"
        }
    case AF_UNIX:
        return "unix"
    default:
        return "-"
    }
}
