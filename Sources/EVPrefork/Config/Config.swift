import TOML

/// A validated configuration: every value in range, every path absolute.
/// Times are seconds (Double), sizes bytes.
public struct Config: Sendable {
    public var file: String
    public var server: ServerConfig
    public var log: LogConfig
    public var routes: [Route]
}

public struct ServerConfig: Sendable {
    public var listen: [ListenAddress] = [.tcp(host: nil, port: 8080)]
    public var workers = 4
    public var accepts = 1000
    public var clients = 1000
    public var backlog = 511
    public var acceptMutex = true
    public var reusePort = false
    public var acceptInterval = 0.025
    public var multiAccept = 50
    /// nil: `$TMPDIR/evprefork.<manager pid>.lock`, known only once the manager runs.
    public var lockFile: String?
    public var lockTimeout = 0.5
    public var heartbeatInterval = 5.0
    public var heartbeatTimeout = 20.0
    public var gracefulTimeout = 20.0
    public var upgradeTimeout = 60.0
    public var spare = 2
    public var keepAliveTimeout = 5.0
    public var keepAliveRequests = 100
    public var requestTimeout = 30.0
    public var websocketTimeout = 300.0
    public var maxHeaderSize: Int64 = 16 << 10
    public var maxBodySize: Int64 = 1 << 20
    public var pidFile = ""
    public var user: String?
    public var group: String?
    public init() {}
}

public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, warn, error
    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// Where a log goes.
public enum LogTarget: Sendable, Equatable {
    case off, stdout, stderr, file(String)
}

public struct LogConfig: Sendable {
    public var level = LogLevel.info
    public var errorLog = LogTarget.stderr
    public var accessLog = LogTarget.off
    public init() {}
}

public struct Route: Sendable {
    public var path: String
    /// Lower-cased, without port; nil matches any host.
    public var host: String?
    public var kind: RouteKind
    /// Where the route's `[[route]]` header is, for messages about it at run time.
    public var position: TOMLPosition
}

public enum RouteKind: Sendable {
    case staticFiles(StaticRoute)
    case proxy(ProxyRoute)
    case websocket(WebSocketRoute)
    case fixed(ReturnRoute)
    case status

    public var typeName: String {
        switch self {
        case .staticFiles: "static"
        case .proxy: "proxy"
        case .websocket: "websocket"
        case .fixed: "return"
        case .status: "status"
        }
    }
}

public struct StaticRoute: Sendable {
    public var root: String
    public var index = ["index.html"]
    public var autoindex = false
    public var gzipStatic = true
    public var cacheControl: String?
}

public struct ProxyRoute: Sendable {
    public var upstreams: [UpstreamAddress]
    public var connectTimeout = 5.0
    public var readTimeout = 60.0
    public var keepalive = 16
    public var stripPrefix = false
    public var preserveHost = true
    public var maxFails = 1
    public var failTimeout = 10.0
}

public struct WebSocketRoute: Sendable {
    public var mode: String
    public var maxMessageSize: Int64 = 1 << 20
    /// nil: any origin.
    public var origins: [String]?
}

public struct ReturnRoute: Sendable {
    public var status: Int
    public var body: String?
    public var location: String?
    public var contentType = "text/plain; charset=utf-8"
}
