import ArgumentParser
import EVPrefork
import Glibc

/// Exit codes are part of the CLI contract: 0 ok, 1 runtime failure, 2 usage
/// or config error. ArgumentParser's own usage code (64) is mapped to 2.
let command: EvpreforkCommand
do {
    command = try EvpreforkCommand.parse()
} catch {
    let code = EvpreforkCommand.exitCode(for: error)
    if code == .success {
        print(EvpreforkCommand.fullMessage(for: error))
        exit(0)
    }
    let message = EvpreforkCommand.message(for: error)
    Console.error("evprefork: \(message)\nTry 'evprefork --help' for more information.\n")
    exit(2)
}

exit(run(command))
