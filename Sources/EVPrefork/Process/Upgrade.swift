import Glibc

/// Passing listening sockets to a new manager binary (USR2), the way
/// Server::Starter and nginx do: the fds survive exec, and an environment
/// variable says which address each one is.
enum Upgrade {
    static let fdsVariable = "EVPREFORK_FDS"
    static let parentVariable = "EVPREFORK_UPGRADE_FROM"

    /// `http://127.0.0.1:0=5;unix:/run/x.sock=6` — keyed by the address as
    /// configured, so a port-0 address finds its socket again.
    static func encode(_ sockets: [ListenSocket]) -> String {
        sockets.map { "\($0.address)=\($0.fd)" }.joined(separator: ";")
    }

    static func decode(_ text: String) -> [String: Int32] {
        var out: [String: Int32] = [:]
        for item in text.split(separator: ";") {
            guard let eq = item.lastIndex(of: "="), let fd = Int32(item[item.index(after: eq)...]) else { continue }
            out[String(item[..<eq])] = fd
        }
        return out
    }

    /// Sockets handed over by the manager that exec'd us, and its pid.
    static func inherited() -> (fds: [String: Int32], parent: pid_t?) {
        let fds = getenv(fdsVariable).map { decode(String(cString: $0)) } ?? [:]
        let parent = getenv(parentVariable).flatMap { Int32(String(cString: $0)) }
        unsetenv(fdsVariable)
        unsetenv(parentVariable)
        return (fds, parent)
    }

    /// In the forked child: exec the binary with the sockets kept open.
    static func exec(binary: String, arguments: [String], sockets: [ListenSocket]) -> Never {
        for s in sockets { Sockets.setCloseOnExec(s.fd, false) }
        setenv(fdsVariable, encode(sockets), 1)
        setenv(parentVariable, String(getppid()), 1)
        var argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(binary, argv)
        Console.error("evprefork: cannot exec \(binary): \(String(cString: strerror(errno)))\n")
        _exit(1)
    }
}

/// The running executable's path, resolved at start-up so that USR2 runs
/// whatever binary is installed at that path by then.
func executablePath() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return CommandLine.arguments[0] }
    let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
}
