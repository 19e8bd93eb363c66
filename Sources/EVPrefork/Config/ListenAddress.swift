import Glibc

/// A listening address from `listen`.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// host nil means every address (`*`); IPv6 hosts are kept without brackets.
    case tcp(host: String?, port: UInt16)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port):
            guard let host else { return "http://*:\(port)" }
            return host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        case .unix(let path): return "unix:\(path)"
        }
    }
}

/// An upstream of a proxy route.
public enum UpstreamAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// Why an address string was refused; the schema turns it into a diagnostic.
struct AddressSyntaxError: Error { var message: String }

enum AddressParser {
    /// `http://HOST:PORT` with HOST `*`, IPv4, a name, or `[IPv6]`; or `unix:/path`.
    static func listen(_ text: String, resolve: (String) -> String) throws(AddressSyntaxError) -> ListenAddress {
        if text.hasPrefix("unix:") {
            return .unix(path: try unixPath(text, resolve: resolve))
        }
        guard text.hasPrefix("http://") else {
            throw AddressSyntaxError(message: "invalid listen address \"\(text)\", expected \"http://HOST:PORT\" or \"unix:/path\"")
        }
        let rest = String(text.dropFirst("http://".count))
        let (host, port) = try hostPort(rest, original: text, allowWildcard: true, allowPortZero: true)
        return .tcp(host: host == "*" ? nil : host, port: port)
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `unix:/path`.
    static func upstream(_ text: String, resolve: (String) -> String) throws(AddressSyntaxError) -> UpstreamAddress {
        if text.hasPrefix("unix:") {
            return .unix(path: try unixPath(text, resolve: resolve))
        }
        if text.contains("://") {
            throw AddressSyntaxError(message: "invalid upstream \"\(text)\", expected \"HOST:PORT\" or \"unix:/path\" (no scheme)")
        }
        let (host, port) = try hostPort(text, original: text, allowWildcard: false, allowPortZero: false)
        return .tcp(host: host, port: port)
    }

    private static func unixPath(_ text: String, resolve: (String) -> String) throws(AddressSyntaxError) -> String {
        let path = String(text.dropFirst("unix:".count))
        guard !path.isEmpty, !path.contains("\0") else {
            throw AddressSyntaxError(message: "invalid address \"\(text)\", expected a socket path after \"unix:\"")
        }
        let resolved = resolve(path)
        // sun_path holds 108 bytes including the terminating NUL.
        guard resolved.utf8.count < 108 else {
            throw AddressSyntaxError(message: "unix socket path \"\(resolved)\" is \(resolved.utf8.count) bytes long, the limit is 107")
        }
        return resolved
    }

    private static func hostPort(_ text: String, original: String, allowWildcard: Bool, allowPortZero: Bool)
        throws(AddressSyntaxError) -> (String, UInt16) {
        let expected = allowWildcard ? "\"http://HOST:PORT\"" : "\"HOST:PORT\""
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw AddressSyntaxError(message: "invalid address \"\(original)\": missing \"]\" after the IPv6 address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else {
                throw AddressSyntaxError(message: "invalid address \"\(original)\", expected \":PORT\" after \"]\"")
            }
            portText = after.dropFirst()
            guard isIPv6(host) else {
                throw AddressSyntaxError(message: "invalid IPv6 address \"\(host)\" in \"\(original)\"")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw AddressSyntaxError(message: "invalid address \"\(original)\": missing port, expected \(expected)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                throw AddressSyntaxError(message: "invalid address \"\(original)\": an IPv6 address needs brackets, e.g. \"[::1]:8080\"")
            }
            guard !host.isEmpty else {
                throw AddressSyntaxError(message: "invalid address \"\(original)\": missing host, expected \(expected)")
            }
            if host == "*" {
                guard allowWildcard else {
                    throw AddressSyntaxError(message: "invalid address \"\(original)\": \"*\" is not a host an upstream can have")
                }
            } else if !isHostName(host) {
                throw AddressSyntaxError(message: "invalid host \"\(host)\" in \"\(original)\"")
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), port <= 65535, allowPortZero || port > 0
        else {
            let range = allowPortZero ? "0 to 65535" : "1 to 65535"
            throw AddressSyntaxError(message: "invalid port \"\(portText)\" in \"\(original)\", expected a number from \(range)")
        }
        return (String(host), UInt16(port))
    }

    /// Letters, digits, dots and hyphens: an IPv4 address or a DNS name.
    static func isHostName(_ host: Substring) -> Bool {
        !host.isEmpty && host.count <= 253 && host.first != "-" && host.first != "."
            && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    static func isIPv6(_ host: Substring) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, String(host), &address) == 1
    }
}
