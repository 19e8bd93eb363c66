import TOML

/// One problem found in a config file, with where it is.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// nil when the problem is the file as a whole (it cannot be read).
    public var position: TOMLPosition?
    public var message: String

    public init(file: String, position: TOMLPosition?, message: String) {
        self.file = file; self.position = position; self.message = message
    }

    /// `server.conf:3:1: error: unknown key "wokers" in [server] (did you mean "workers"?)`
    public var description: String {
        guard let position else { return "\(file): error: \(message)" }
        return "\(file):\(position): error: \(message)"
    }
}

/// Everything wrong with a config file. The schema keeps going after an error
/// wherever it can, so an operator fixes a file in one pass, not one error per run.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]
    public init(_ diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
