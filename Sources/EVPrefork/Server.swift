import Glibc

/// The library's front door: load a config, then run the manager (which
/// forks the workers), or signal a running one. The `evprefork` executable
/// is a client of exactly this.
public struct Server {
    public var application: Application

    public init(application: Application = Application()) {
        self.application = application
    }

    /// The schema options this application implies.
    public var configOptions: ConfigOptions {
        var options = ConfigOptions()
        options.websocketModes = Set(application.webSocketModes.keys.filter { !$0.hasPrefix("app:") })
        return options
    }

    /// Runs in the foreground (or as a daemon) until stopped. Returns the
    /// process exit code: 0 after a clean stop, 1 when it could not start,
    /// 2 for a bad config.
    public func run(configPath: String, daemonize: Bool = false) -> Int32 {
        let absolute = Paths.resolve(configPath, against: Paths.currentDirectory())
        let config: Config
        do { config = try Config.load(path: configPath, options: configOptions) } catch {
            Console.error(error.description + "\n")
            return 2
        }
        Log.shared = Log(level: config.log.level, target: config.log.errorLog)
        let manager: Manager
        do {
            manager = try Manager(config: config, configPath: absolute, application: application, options: configOptions)
            try manager.bind()
        } catch {
            Console.error("evprefork: \(error.message)\n")
            return 1
        }
        if daemonize {
            switch Daemon.detach() {
            case .parent(let ready): return ready ? 0 : 1
            case .daemon(let notify):
                Log.shared = Log(level: config.log.level, target: config.log.errorLog)
                return manager.run(onReady: notify)
            }
        }
        return manager.run(onReady: {})
    }

    public enum SignalName: String, CaseIterable, Sendable {
        case stop, quit, reload, reopen, upgrade, ttin, ttou

        var number: Int32 {
            switch self {
            case .stop: SIGTERM
            case .quit: SIGQUIT
            case .reload: SIGHUP
            case .reopen: SIGUSR1
            case .upgrade: SIGUSR2
            case .ttin: SIGTTIN
            case .ttou: SIGTTOU
            }
        }
    }

    /// `-s NAME`: signals the manager named by the config's pid file.
    public func signal(configPath: String, _ name: SignalName) -> Int32 {
        let config: Config
        do { config = try Config.load(path: configPath, options: configOptions) } catch {
            Console.error(error.description + "\n")
            return 2
        }
        let path = config.server.pidFile
        guard let pid = PidFile.read(path) else {
            Console.error("evprefork: no running server: pid file \(path) is missing or empty\n")
            return 1
        }
        guard PidFile.isEvprefork(pid) else {
            Console.error("evprefork: no running server: pid \(pid) from \(path) is not running\n")
            return 1
        }
        guard kill(pid, name.number) == 0 else {
            Console.error("evprefork: cannot signal pid \(pid): \(String(cString: strerror(errno)))\n")
            return 1
        }
        return 0
    }
}
