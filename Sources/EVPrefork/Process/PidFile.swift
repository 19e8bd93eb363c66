import Glibc

/// The pid file: how `-s`, ops scripts and a new binary find the manager.
enum PidFile {
    struct PidFileError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The pid a file names, if the file holds one.
    static func read(_ path: String) -> pid_t? {
        guard let bytes = try? readFile(path) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n\t\r")
        guard let pid = Int32(text), pid > 0 else { return nil }
        return pid
    }

    /// True when `pid` is a running evprefork (not a recycled pid that some
    /// other program now has).
    static func isEvprefork(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let cmdline = try? readFile("/proc/\(pid)/cmdline") else { return true }
        let argv0 = cmdline.split(separator: 0, omittingEmptySubsequences: false).first ?? []
        let name = String(decoding: argv0, as: UTF8.self)
        let base = name.split(separator: "/").last.map(String.init) ?? name
        return base.contains("evprefork") || String(decoding: cmdline, as: UTF8.self).contains("evprefork")
    }

    /// The running server named by `path`, if any.
    static func runningServer(_ path: String) -> pid_t? {
        guard let pid = read(path), pid != getpid(), isEvprefork(pid) else { return nil }
        return pid
    }

    /// Writes our pid atomically (temp file + rename): a reader never sees a
    /// half-written file.
    static func write(_ path: String, pid: pid_t = getpid()) throws(PidFileError) {
        let temp = path + ".tmp.\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw PidFileError(message: "cannot write pid file \(path): \(String(cString: strerror(errno)))")
        }
        Console.write(fd, "\(pid)\n")
        close(fd)
        guard rename(temp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temp)
            throw PidFileError(message: "cannot write pid file \(path): \(why)")
        }
    }

    /// Removes the file only if it still names `pid`: after an upgrade the
    /// file belongs to the new manager.
    static func remove(_ path: String, ifOwnedBy pid: pid_t = getpid()) {
        if read(path) == pid { unlink(path) }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
