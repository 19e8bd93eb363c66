import Glibc

/// Drops root in a worker after the manager bound the sockets.
enum Privileges {
    struct DropError: Error { var message: String }

    /// The uid and gid workers will run as; nil when they stay as they are.
    static func owner(user: String?, group: String?) -> (uid: uid_t, gid: gid_t)? {
        guard user != nil || group != nil else { return nil }
        let pw = user.flatMap { getpwnam($0) }
        let gid = group.flatMap { getgrnam($0) }?.pointee.gr_gid ?? pw?.pointee.pw_gid ?? getegid()
        return (pw?.pointee.pw_uid ?? geteuid(), gid)
    }

    static func drop(user: String?, group: String?) throws(DropError) {
        guard user != nil || group != nil, geteuid() == 0 else { return }
        var gid: gid_t?
        if let group {
            guard let g = getgrnam(group) else { throw DropError(message: "unknown group \"\(group)\"") }
            gid = g.pointee.gr_gid
        }
        if let user {
            guard let pw = getpwnam(user) else { throw DropError(message: "unknown user \"\(user)\"") }
            let g = gid ?? pw.pointee.pw_gid
            guard initgroups(user, g) == 0, setgid(g) == 0, setuid(pw.pointee.pw_uid) == 0 else {
                throw DropError(message: "cannot become \(user): \(String(cString: strerror(errno)))")
            }
        } else if let gid {
            guard setgroups(0, nil) == 0, setgid(gid) == 0 else {
                throw DropError(message: "cannot change group: \(String(cString: strerror(errno)))")
            }
        }
    }
}
