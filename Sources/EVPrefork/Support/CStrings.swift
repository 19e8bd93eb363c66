import Glibc

/// C strings for libevent calls on the per-request path without a heap
/// allocation: passing a Swift String where C wants `const char *` copies it
/// to the heap when the string is short enough to live inline.
extension StaticString {
    /// A literal's bytes, which the compiler stores NUL-terminated.
    var cString: UnsafePointer<CChar> { UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self) }
}

/// `Server:`'s value, made once per process.
nonisolated(unsafe) let serverHeaderC: UnsafePointer<CChar> = UnsafePointer(strdup(serverHeader)!)

/// Calls `body` with `n` in decimal as a C string on the stack.
func withDecimal<R>(_ n: Int, _ body: (UnsafePointer<CChar>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 24) { buffer in
        var i = 23
        buffer[i] = 0
        var v = n.magnitude
        repeat {
            i -= 1
            buffer[i] = CChar(48 + Int(v % 10))
            v /= 10
        } while v > 0
        if n < 0 { i -= 1; buffer[i] = CChar(UInt8(ascii: "-")) }
        return body(UnsafePointer(buffer.baseAddress! + i))
    }
}

/// ASCII case-insensitive equality, without lower-casing copies.
func asciiCaseEqual(_ a: String, _ b: StaticString) -> Bool {
    var a = a
    return a.withUTF8 { x in
        guard x.count == b.utf8CodeUnitCount else { return false }
        let y = UnsafeBufferPointer(start: b.utf8Start, count: b.utf8CodeUnitCount)
        for i in 0..<x.count where x[i] | 0x20 != y[i] | 0x20 { return false }
        return true
    }
}
