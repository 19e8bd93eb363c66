import CLibevent
import Glibc

/// A socket bufferevent with Swift closures for its callbacks. Either owns
/// the bufferevent (upstream connections: freed with this object, fd closed)
/// or borrows one evhttp owns (a detached client connection: only the
/// callbacks are ours, and they are cleared when this object goes).
final class BufferEvent {
    let bev: OpaquePointer
    private let owned: Bool
    var onRead: () -> Void = {}
    var onWrite: () -> Void = {}
    /// BEV_EVENT_* flags.
    var onEvent: (Int16) -> Void = { _ in }

    /// A new socket bufferevent; `fd` -1 for one that will connect().
    init?(loop: EventLoop, fd: Int32 = -1) {
        guard let bev = bufferevent_socket_new(loop.base, fd, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)) else { return nil }
        self.bev = bev
        owned = true
        install()
    }

    /// Tells a borrowed bufferevent's owner still has it.
    private var stillThere: () -> Bool = { true }

    /// Takes over the callbacks of a bufferevent someone else frees;
    /// `alive` answers whether the owner has freed it yet.
    init(borrowing bev: OpaquePointer, alive: @escaping () -> Bool) {
        self.bev = bev
        owned = false
        stillThere = alive
        install()
    }

    private func install() {
        bufferevent_setcb(bev, readTrampoline, writeTrampoline, eventTrampoline, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        if owned {
            bufferevent_free(bev)
        } else if stillThere() {
            bufferevent_setcb(bev, nil, nil, nil, nil)
        }
    }

    var input: OpaquePointer { bufferevent_get_input(bev) }
    var output: OpaquePointer { bufferevent_get_output(bev) }
    var fd: Int32 { bufferevent_getfd(bev) }

    func connect(_ address: UnsafePointer<sockaddr>, length: Int32) -> Bool {
        bufferevent_socket_connect(bev, address, length) == 0
    }

    func enable(read: Bool = false, write: Bool = false) {
        bufferevent_enable(bev, Int16((read ? EV_READ : 0) | (write ? EV_WRITE : 0)))
    }

    func disable(read: Bool = false, write: Bool = false) {
        bufferevent_disable(bev, Int16((read ? EV_READ : 0) | (write ? EV_WRITE : 0)))
    }

    var readEnabled: Bool { (bufferevent_get_enabled(bev) & Int16(EV_READ)) != 0 }

    /// Read and write inactivity timeouts (nil: none).
    func setTimeouts(read: Double?, write: Double?) {
        let base = bufferevent_get_base(bev)!
        var r = read.map { timeval(commonSeconds: $0, base: base) } ?? timeval()
        var w = write.map { timeval(commonSeconds: $0, base: base) } ?? timeval()
        withUnsafePointer(to: &r) { rp in
            withUnsafePointer(to: &w) { wp in
                _ = bufferevent_set_timeouts(bev, read == nil ? nil : rp, write == nil ? nil : wp)
            }
        }
    }

    /// Caps how much is read into the input buffer before reading pauses.
    func setReadHighWatermark(_ bytes: Int) {
        bufferevent_setwatermark(bev, Int16(EV_READ), 0, bytes)
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = bufferevent_write(bev, $0.baseAddress, $0.count) }
    }

    /// Writes `head` and then `body` to the socket at once when nothing is
    /// queued, so a small message needs no EV_WRITE round (an epoll_ctl on,
    /// a loop turn, an epoll_ctl off); what the socket does not take is
    /// queued and written by the bufferevent. An error shows again on that
    /// queued write and reaches onEvent there.
    func writeNow(_ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        var sent = 0
        if evbuffer_get_length(output) == 0 { sent = max(0, sendAtOnce(fd, head, body)) }
        guard sent < head.count + body.count else { return }
        if sent < head.count {
            _ = bufferevent_write(bev, head.baseAddress! + sent, head.count - sent)
            sent = head.count
        }
        let bodySent = sent - head.count
        if bodySent < body.count { _ = bufferevent_write(bev, body.baseAddress! + bodySent, body.count - bodySent) }
        enable(write: true)
    }

    func writeNow(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeNow($0) }
    }

    /// Writes what the output buffer holds to the socket now, as far as the
    /// socket takes it; the rest stays for the bufferevent.
    func flushNow() { flushOutputNow(bev) }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = bufferevent_write(bev, $0.baseAddress, $0.count) }
    }

    /// Runs the read callback for bytes already buffered (after reading was
    /// paused, libevent only calls it for new bytes from the socket).
    func triggerRead() {
        bufferevent_trigger(bev, Int16(EV_READ), Int32(BEV_TRIG_IGNORE_WATERMARKS.rawValue))
    }
}

private let readTrampoline: bufferevent_data_cb = { _, ctx in
    Unmanaged<BufferEvent>.fromOpaque(ctx!).takeUnretainedValue().onRead()
}
private let writeTrampoline: bufferevent_data_cb = { _, ctx in
    Unmanaged<BufferEvent>.fromOpaque(ctx!).takeUnretainedValue().onWrite()
}
private let eventTrampoline: bufferevent_event_cb = { _, what, ctx in
    Unmanaged<BufferEvent>.fromOpaque(ctx!).takeUnretainedValue().onEvent(what)
}

/// Sends `head` then `body` without blocking: the bytes the socket took, 0
/// when it takes none now, -1 when the connection is broken.
func sendAtOnce(_ fd: Int32, _ head: UnsafeRawBufferPointer,
                _ body: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), more: Bool = false) -> Int {
    var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: head.baseAddress), iov_len: head.count),
                   iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress), iov_len: body.count))
    let n = withUnsafeMutableBytes(of: &vectors) { raw -> Int in
        var message = msghdr()
        message.msg_iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
        message.msg_iovlen = body.count > 0 ? 2 : 1
        return sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT) | (more ? Int32(MSG_MORE) : 0))
    }
    if n >= 0 { return n }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1
}

/// Writes what a bufferevent's output buffer holds to its socket now
/// (libevent would wait a loop turn for EV_WRITE); the rest stays queued.
func flushOutputNow(_ bev: OpaquePointer) {
    let output = bufferevent_get_output(bev)
    guard evbuffer_get_length(output) > 0 else { return }
    // A bufferevent's output is frozen at its front outside its own writes.
    evbuffer_unfreeze(output, 1)
    _ = evbuffer_write(output, bufferevent_getfd(bev))
    evbuffer_freeze(output, 1)
}

/// Replaces the read or write callback of a bufferevent someone else set
/// up (evhttp's), keeping the other callbacks and their argument. Returns
/// the write callback it had.
@discardableResult
func replaceCallback(of bev: OpaquePointer, read: bufferevent_data_cb?? = .none,
                     write: bufferevent_data_cb?? = .none) -> bufferevent_data_cb? {
    var oldRead: bufferevent_data_cb?
    var oldWrite: bufferevent_data_cb?
    var event: bufferevent_event_cb?
    var argument: UnsafeMutableRawPointer?
    bufferevent_getcb(bev, &oldRead, &oldWrite, &event, &argument)
    bufferevent_setcb(bev, read ?? oldRead, write ?? oldWrite, event, argument)
    return oldWrite
}

/// Bytes of an evbuffer, copied out.
func evbufferBytes(_ buffer: OpaquePointer, count: Int? = nil) -> [UInt8] {
    let n = min(count ?? Int.max, evbuffer_get_length(buffer))
    guard n > 0 else { return [] }
    var out = [UInt8](repeating: 0, count: n)
    _ = evbuffer_copyout(buffer, &out, n)
    return out
}
