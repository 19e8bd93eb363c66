/// The one place the version lives: `--version`, the `Server` header and the
/// status route all read it.
public enum EVPreforkVersion {
    public static let string = "0.1.0"
}
