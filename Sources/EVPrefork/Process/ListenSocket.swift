import CLibevent
import Glibc

/// A bound, listening socket the manager owns and its workers inherit.
struct ListenSocket {
    let address: ListenAddress
    let fd: Int32
    /// The address with the real port (port 0 in the config picks one).
    let actual: ListenAddress

    var url: String {
        if case .tcp(nil, let port) = actual { return "http://0.0.0.0:\(port)" }
        return actual.description
    }
}

struct SocketError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

enum Sockets {
    /// Binds and listens. `reusePort` sets SO_REUSEPORT; with `listening`
    /// false the socket is only bound (the anchor that keeps a reuse_port
    /// address's port while each worker has its own listening socket).
    static func open(_ address: ListenAddress, backlog: Int, reusePort: Bool = false, listening: Bool = true,
                     port overridePort: UInt16? = nil) throws(SocketError) -> ListenSocket {
        switch address {
        case .unix(let path):
            return try openUnix(address, path: path, backlog: backlog)
        case .tcp(let host, let port):
            var storage = sockaddr_storage()
            let length = try resolve(host: host, port: overridePort ?? port, into: &storage, for: address)
            let family = Int32(storage.ss_family)
            let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw SocketError(message: "\(address): socket: \(errnoText())") }
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) }
            if family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size)) }
            // Accepted sockets inherit it; evhttp never sets it (LIBEVENT.md).
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            let bound = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
            }
            guard bound == 0 else {
                let why = errnoText()
                close(fd)
                throw SocketError(message: "cannot listen on \(address): \(why)")
            }
            if listening {
                guard listen(fd, Int32(backlog)) == 0 else {
                    let why = errnoText()
                    close(fd)
                    throw SocketError(message: "cannot listen on \(address): \(why)")
                }
            }
            return ListenSocket(address: address, fd: fd, actual: actualAddress(fd: fd, configured: address))
        }
    }

    /// The configured address with the port the kernel gave.
    static func actualAddress(fd: Int32, configured: ListenAddress) -> ListenAddress {
        guard case .tcp(let host, _) = configured else { return configured }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return configured }
        let family = Int32(storage.ss_family)
        let port: UInt16 = withUnsafePointer(to: &storage) { p in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return .tcp(host: host, port: port)
    }

    private static func resolve(host: String?, port: UInt16, into storage: inout sockaddr_storage,
                                for address: ListenAddress) throws(SocketError) -> socklen_t {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = host == nil ? AF_INET : AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw SocketError(message: "cannot resolve \(address): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        let length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(length)))
        }
        return length
    }

    private static func openUnix(_ address: ListenAddress, path: String, backlog: Int) throws(SocketError) -> ListenSocket {
        try removeStaleSocket(path, address: address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SocketError(message: "\(address): socket: \(errnoText())") }
        var sun = unixAddress(path)
        let bound = withUnsafePointer(to: &sun) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, Int32(backlog)) == 0 else {
            let why = errnoText()
            close(fd)
            throw SocketError(message: "cannot listen on \(address): \(why)")
        }
        return ListenSocket(address: address, fd: fd, actual: address)
    }

    static func unixAddress(_ path: String) -> sockaddr_un {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { dst in
            let bytes = Array(path.utf8.prefix(dst.count - 1))
            dst.copyBytes(from: bytes)
        }
        return sun
    }

    /// A socket file left by a server that died is removed; one a live
    /// server answers on is an error, and so is any other kind of file.
    private static func removeStaleSocket(_ path: String, address: ListenAddress) throws(SocketError) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw SocketError(message: "cannot listen on \(address): \(path) exists and is not a socket")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        var sun = unixAddress(path)
        let rc = withUnsafePointer(to: &sun) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc == 0 {
            throw SocketError(message: "cannot listen on \(address): another server is listening there")
        }
        unlink(path)
    }

    /// Workers accept until EAGAIN; a blocking listener would hang them.
    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    static func setCloseOnExec(_ fd: Int32, _ on: Bool) {
        let flags = fcntl(fd, F_GETFD)
        _ = fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC)
    }
}
