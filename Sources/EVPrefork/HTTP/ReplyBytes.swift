import Glibc

/// A growable byte buffer for response heads written without evhttp. One
/// per worker (`shared`), reused for every direct answer, so a head costs no
/// allocation once the buffer has grown to its working size.
///
/// The state lives behind a pointer: a class's stored properties would be
/// checked for exclusive access on every append (a runtime call each).
final class ReplyBytes {
    private struct State {
        var base: UnsafeMutablePointer<UInt8>
        var count: Int
        var capacity: Int
    }

    private let state: UnsafeMutablePointer<State>

    init(capacity: Int = 4096) {
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: capacity), count: 0, capacity: capacity))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deallocate()
    }

    var base: UnsafeMutablePointer<UInt8> { state.pointee.base }
    var count: Int { state.pointee.count }

    nonisolated(unsafe) static let shared = ReplyBytes()
    /// Headers a handler adds before it answers (respondFile's Last-Modified,
    /// ETag, ...), copied into the head when it is written.
    nonisolated(unsafe) static let pendingHeaders = ReplyBytes(capacity: 1024)

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func reset() { state.pointee.count = 0 }

    /// Makes room for `extra` more bytes and returns where they go; `commit` them after writing.
    @inline(__always)
    func reserve(_ extra: Int) -> UnsafeMutablePointer<UInt8> {
        let s = state
        if s.pointee.count + extra > s.pointee.capacity { grow(extra) }
        return s.pointee.base + s.pointee.count
    }

    private func grow(_ extra: Int) {
        var grown = state.pointee.capacity * 2
        while grown < state.pointee.count + extra { grown *= 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        fresh.update(from: state.pointee.base, count: state.pointee.count)
        state.pointee.base.deallocate()
        state.pointee.base = fresh
        state.pointee.capacity = grown
    }

    @inline(__always)
    func commit(_ n: Int) { state.pointee.count += n }

    @inline(__always)
    func append(_ p: UnsafeRawPointer?, _ n: Int) {
        guard n > 0, let p else { return }
        memcpy(reserve(n), p, n)
        commit(n)
    }

    func append(_ bytes: UnsafeRawBufferPointer) { append(bytes.baseAddress, bytes.count) }

    func append(_ text: StaticString) { append(text.utf8Start, text.utf8CodeUnitCount) }

    /// A String's bytes. Named apart from append(StaticString): with both
    /// called `append`, a literal would pick the String one (String is the
    /// default literal type) and pay for a String per literal.
    func appendText(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func appendDecimal(_ value: Int64) {
        var w = ByteWriter(UnsafeMutableBufferPointer(start: reserve(20), count: 20))
        w.appendDecimal(value)
        commit(w.count)
    }

    /// "Server: ...", "Date: ..." with their line ends: made once a second.
    func appendServerAndDate() {
        let now = time(nil)
        if now != Self.datedSecond {
            Self.datedSecond = now
            Self.serverAndDate = Array("Server: \(serverHeader)\r\nDate: \(ErrorPage.imfDate(now))\r\n".utf8)
        }
        Self.serverAndDate.withUnsafeBytes { append($0) }
    }

    nonisolated(unsafe) private static var datedSecond: time_t = 0
    nonisolated(unsafe) private static var serverAndDate: [UInt8] = []

    /// `Name: value` and CRLF.
    func appendHeader(_ name: String, _ value: String) {
        appendText(name)
        append(": ")
        appendText(value)
        append("\r\n")
    }

    func appendHeader(_ name: UnsafePointer<CChar>, _ value: UnsafePointer<CChar>) {
        append(name, strlen(name))
        append(": ")
        append(value, strlen(value))
        append("\r\n")
    }
}
