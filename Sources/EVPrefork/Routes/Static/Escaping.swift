/// Escaping for what the static route writes back: paths in `Location`
/// headers, names in autoindex links, and text in autoindex HTML. The sets
/// are the ones nginx uses, so the same names come out the same way.
enum Escaping {
    /// For a path in a Location header: everything a URI path may carry
    /// stays; controls, space, non-ASCII and `" # % < > ? \ ^ ` { | }` are
    /// percent-encoded (a decoded "?" must not start a query).
    static func appendPath(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        for b in bytes {
            if keepsInPath(b) { out.append(b) } else { appendPercent(b, to: &out) }
        }
    }

    /// For one name in an autoindex link: only letters, digits and `- . _ ~`
    /// stay.
    static func appendComponent(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        for b in bytes {
            if isUnreserved(b) { out.append(b) } else { appendPercent(b, to: &out) }
        }
    }

    /// `& < > "` as HTML entities.
    static func appendHTML(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        for b in bytes {
            switch b {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            default: out.append(b)
            }
        }
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    static func keepsInPath(_ b: UInt8) -> Bool {
        if isUnreserved(b) { return true }
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: "/"),
             UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "@"), UInt8(ascii: "["),
             UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func appendPercent(_ b: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "%"))
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 0x0F)])
    }
}
