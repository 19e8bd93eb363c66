import Glibc
import TOML

/// What the schema needs from its embedder: the WebSocket modes that exist
/// (the built-in `echo` plus whatever handlers an application registered).
public struct ConfigOptions: Sendable {
    public var websocketModes: Set<String> = ["echo"]
    /// Look `user`/`group` up in the system databases, so `-t` catches a typo.
    public var checkAccounts = true
    public init() {}
}

extension Config {
    /// Reads and validates `path`. Messages name the file as it was given.
    public static func load(path: String, options: ConfigOptions = ConfigOptions()) throws(ConfigError) -> Config {
        let bytes: [UInt8]
        do { bytes = try readFile(path) } catch {
            throw ConfigError([ConfigDiagnostic(file: path, position: nil, message: error.message)])
        }
        return try parse(bytes, file: path, directory: Paths.directory(of: path), options: options)
    }

    /// Validates config text; relative paths resolve against `directory`.
    public static func parse(_ bytes: [UInt8], file: String, directory: String,
                             options: ConfigOptions = ConfigOptions()) throws(ConfigError) -> Config {
        let document: TOMLTable
        do { document = try TOML.parse(bytes) } catch {
            throw ConfigError([ConfigDiagnostic(file: file, position: error.position, message: error.message)])
        }
        let sink = DiagnosticSink(file: file)
        let schema = Schema(sink: sink, directory: directory, options: options)
        let config = schema.config(document, file: file)
        guard sink.diagnostics.isEmpty else { throw ConfigError(sorted(sink.diagnostics)) }
        return config
    }
}

/// In file order, so the report reads top to bottom; stable for equal positions.
private func sorted(_ diagnostics: [ConfigDiagnostic]) -> [ConfigDiagnostic] {
    diagnostics.enumerated().sorted { a, b in
        let pa = a.element.position ?? TOMLPosition(line: 0, column: 0)
        let pb = b.element.position ?? TOMLPosition(line: 0, column: 0)
        return pa == pb ? a.offset < b.offset : pa < pb
    }.map(\.element)
}

struct FileReadError: Error { var message: String }

func readFile(_ path: String) throws(FileReadError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileReadError(message: "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n < 0 {
            if errno == EINTR { continue }
            throw FileReadError(message: "cannot read: \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// The walk from a TOML document to a Config. Knows every key evprefork has.
struct Schema {
    let sink: DiagnosticSink
    let directory: String
    let options: ConfigOptions

    func resolve(_ path: String) -> String { Paths.resolve(path, against: directory) }

    func config(_ document: TOMLTable, file: String) -> Config {
        var top = TableReader(document, context: "the top level", sink: sink)
        var server = ServerConfig()
        server.pidFile = resolve("evprefork.pid")
        var log = LogConfig()
        var routes: [Route] = []
        if let e = top.entry("server") {
            if case .table(let t) = e.node.value { server = serverTable(t) } else { top.typeError(e, expected: "a table ([server])") }
        }
        if let e = top.entry("log") {
            if case .table(let t) = e.node.value { log = logTable(t) } else { top.typeError(e, expected: "a table ([log])") }
        }
        if let e = top.entry("route") {
            if case .array(let nodes) = e.node.value {
                for node in nodes {
                    guard case .table(let t) = node.value else {
                        sink.error("invalid element in \"route\": found \(describe(node.value)), expected a table ([[route]])", at: node.position)
                        continue
                    }
                    if let route = self.route(t) { routes.append(route) }
                }
            } else {
                top.typeError(e, expected: "an array of tables ([[route]])")
            }
        }
        top.reportUnknown(known: ["server", "log", "route"])
        checkDuplicates(routes)
        return Config(file: file, server: server, log: log, routes: routes)
    }

    func serverTable(_ table: TOMLTable) -> ServerConfig {
        var r = TableReader(table, context: "[server]", sink: sink)
        var s = ServerConfig()
        if let items = r.stringArray("listen") {
            var seen: [ListenAddress: TOMLPosition] = [:]
            var addresses: [ListenAddress] = []
            for (text, position) in items {
                do {
                    let address = try AddressParser.listen(text, resolve: resolve)
                    if let first = seen[address] {
                        sink.error("duplicate listen address \"\(text)\" (first given at \(first))", at: position)
                    } else {
                        seen[address] = position
                        addresses.append(address)
                    }
                } catch {
                    sink.error(error.message, at: position)
                }
            }
            if !addresses.isEmpty { s.listen = addresses }
        }
        s.workers = r.int("workers", default: s.workers, range: 1...4096)
        s.accepts = r.int("accepts", default: s.accepts, range: 0...Int.max)
        s.clients = r.int("clients", default: s.clients, range: 1...1_000_000)
        s.backlog = r.int("backlog", default: s.backlog, range: 1...65535)
        s.acceptMutex = r.bool("accept_mutex", default: s.acceptMutex)
        s.reusePort = r.bool("reuse_port", default: s.reusePort)
        s.acceptInterval = r.duration("accept_interval", default: s.acceptInterval, allowZero: false, max: 60)
        s.multiAccept = r.int("multi_accept", default: s.multiAccept, range: 1...100_000)
        if let (path, _) = r.string("lock_file") { s.lockFile = resolve(path) }
        s.lockTimeout = r.duration("lock_timeout", default: s.lockTimeout, max: 60)
        s.heartbeatInterval = r.duration("heartbeat_interval", default: s.heartbeatInterval, allowZero: false, max: 3600)
        s.heartbeatTimeout = r.duration("heartbeat_timeout", default: s.heartbeatTimeout, allowZero: false, max: 86400)
        s.gracefulTimeout = r.duration("graceful_timeout", default: s.gracefulTimeout, max: 86400)
        s.upgradeTimeout = r.duration("upgrade_timeout", default: s.upgradeTimeout, allowZero: false, max: 86400)
        s.spare = r.int("spare", default: s.spare, range: 0...4096)
        s.keepAliveTimeout = r.duration("keep_alive_timeout", default: s.keepAliveTimeout, max: 86400)
        s.keepAliveRequests = r.int("keep_alive_requests", default: s.keepAliveRequests, range: 1...Int.max)
        s.requestTimeout = r.duration("request_timeout", default: s.requestTimeout, allowZero: false, max: 86400)
        s.websocketTimeout = r.duration("websocket_timeout", default: s.websocketTimeout, allowZero: false, max: 31_536_000)
        s.maxHeaderSize = r.size("max_header_size", default: s.maxHeaderSize, range: 1024...(64 << 20))
        s.maxBodySize = r.size("max_body_size", default: s.maxBodySize, range: 0...(1 << 50))
        s.pidFile = resolve(r.string("pid_file")?.0 ?? "evprefork.pid")
        if let (name, position) = r.string("user") {
            if options.checkAccounts && getpwnam(name) == nil { sink.error("unknown user \"\(name)\"", at: position) }
            s.user = name
        }
        if let (name, position) = r.string("group") {
            if options.checkAccounts && getgrnam(name) == nil { sink.error("unknown group \"\(name)\"", at: position) }
            s.group = name
        }
        r.reportUnknown(known: ServerKeys.all)
        return s
    }

    func logTable(_ table: TOMLTable) -> LogConfig {
        var r = TableReader(table, context: "[log]", sink: sink)
        var l = LogConfig()
        if let (level, _) = r.string("level", choices: LogLevel.allCases.map(\.rawValue)) { l.level = LogLevel(rawValue: level)! }
        if let (target, position) = r.string("error_log") {
            l.errorLog = logTarget(target, at: position, key: "error_log", allowOff: false)
        }
        if let (target, position) = r.string("access_log") {
            l.accessLog = logTarget(target, at: position, key: "access_log", allowOff: true)
        }
        r.reportUnknown(known: ["level", "error_log", "access_log"])
        return l
    }

    private func logTarget(_ text: String, at position: TOMLPosition, key: String, allowOff: Bool) -> LogTarget {
        switch text {
        case "off" where allowOff: return .off
        case "stdout": return .stdout
        case "stderr": return .stderr
        case "":
            sink.error("empty \"\(key)\" in [log], expected \(allowOff ? "\"off\", " : "")\"stdout\", \"stderr\" or a file path", at: position)
            return allowOff ? .off : .stderr
        default:
            let path = resolve(text)
            if Paths.kind(of: Paths.directory(of: path)) != .directory {
                sink.error("folder of \"\(key)\" \"\(path)\" does not exist", at: position)
            }
            return .file(path)
        }
    }
}

enum ServerKeys {
    static let all = [
        "listen", "workers", "accepts", "clients", "backlog", "accept_mutex", "reuse_port", "accept_interval",
        "multi_accept", "lock_file", "lock_timeout", "heartbeat_interval", "heartbeat_timeout",
        "graceful_timeout", "upgrade_timeout", "spare", "keep_alive_timeout", "keep_alive_requests",
        "request_timeout", "websocket_timeout", "max_header_size", "max_body_size", "pid_file", "user", "group",
    ]
}
