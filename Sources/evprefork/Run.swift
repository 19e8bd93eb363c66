import EVPrefork

/// Carries out a parsed command line; returns the process exit code.
func run(_ command: EvpreforkCommand) -> Int32 {
    let server = Server()
    if let name = command.signal {
        return server.signal(configPath: command.config, Server.SignalName(rawValue: name.rawValue)!)
    }
    if command.test {
        do {
            _ = try Config.load(path: command.config, options: server.configOptions)
        } catch {
            Console.error(error.description + "\n")
            Console.error("evprefork: configuration file \(command.config) test failed\n")
            return 2
        }
        Console.out("configuration ok\n")
        return 0
    }
    return server.run(configPath: command.config, daemonize: command.daemon)
}
