import Glibc

/// Unbuffered writes to fd 1 and 2. Going through write(2) rather than
/// stdio keeps output ordered across fork() and safe for Swift 6's checks.
public enum Console {
    public static func error(_ text: String) { write(2, text) }
    public static func out(_ text: String) { write(1, text) }

    public static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }
}
