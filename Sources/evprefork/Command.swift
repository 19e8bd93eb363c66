import ArgumentParser
import EVPrefork

/// The names `-s` accepts, as nginx's `-s` and hypnotoad's signals.
enum SignalName: String, ExpressibleByArgument, CaseIterable {
    case stop, quit, reload, reopen, upgrade, ttin, ttou
}

struct EvpreforkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evprefork",
        abstract: "A preforking HTTP/1.1 and WebSocket server on libevent.",
        discussion: """
            Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.
            Signals to a running manager: INT/TERM stop, QUIT graceful stop, HUP reload,
            USR1 reopen logs, USR2 upgrade, TTIN/TTOU one worker more/less.
            """,
        version: "evprefork \(EVPreforkVersion.string)"
    )

    @Option(name: [.customShort("c"), .customLong("config")], help: "The configuration file.")
    var config = "server.conf"

    @Flag(name: [.customShort("t"), .customLong("test")], help: "Test the configuration and exit.")
    var test = false

    @Flag(name: [.customShort("d"), .customLong("daemon")], help: "Run in the background.")
    var daemon = false

    @Option(name: [.customShort("s"), .customLong("signal")],
            help: "Signal the running server: \(SignalName.allCases.map(\.rawValue).joined(separator: ", ")).")
    var signal: SignalName?

    func validate() throws {
        if test && signal != nil { throw ValidationError("-t and -s cannot be used together") }
        if test && daemon { throw ValidationError("-t and -d cannot be used together") }
        if signal != nil && daemon { throw ValidationError("-s and -d cannot be used together") }
    }
}
