import CLibevent
import CLibeventInternals
import Glibc

/// Reading a client socket without asking first how much is there.
///
/// libevent's bufferevent read callback calls ioctl(FIONREAD) before every
/// read, only to size the read: per keep-alive request that is one system
/// call in four (epoll share, ioctl, read, send), about 5% of a worker's time
/// under load (perf, issue 8), and nginx does without it. This callback reads
/// into one scratch buffer per worker and appends what came to the input
/// buffer; the rest is libevent's callback's behaviour: watermarks,
/// max_single_read, timeouts, EOF and errors to the event callback.
///
/// It also skips the read callback when the input is empty once the bytes
/// were added: the input buffer's own callbacks (the request guard and the
/// direct path) may have answered and drained everything already, and
/// evhttp's read callback would then only look for a line that is not there.
enum ProbelessRead {
    typealias Callback = @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void

    /// Takes over reading for a socket bufferevent (which has its fd).
    static func install(on bev: OpaquePointer) -> Bool {
        evprefork_bufferevent_set_read_handler(bev, probelessReadCallback, nil) == 0
    }

    /// Puts a reader of the caller's in place of libevent's: `callback`
    /// gets the socket, the event flags and `argument`, and reads the
    /// socket itself (a WebSocket handling frames where they were read).
    static func install(on bev: OpaquePointer, callback: Callback, argument: UnsafeMutableRawPointer) -> Bool {
        evprefork_bufferevent_set_read_handler(bev, callback, argument) == 0
    }

    /// Appends bytes read by a reader of the caller's to the bufferevent's input.
    static func append(_ bytes: UnsafeRawPointer, _ count: Int, to bev: OpaquePointer) {
        let input = bufferevent_get_input(bev)
        // The end of a bufferevent's input is frozen outside its own reads.
        evbuffer_unfreeze(input, 0)
        evbuffer_add(input, bytes, count)
        evbuffer_freeze(input, 0)
    }

    static let scratchSize = 64 << 10
    nonisolated(unsafe) static let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchSize, alignment: 16)
}

private let probelessReadCallback: ProbelessRead.Callback = { fd, what, argument in
    guard let argument else { return }
    let bev = OpaquePointer(argument)
    // A callback below may free the bufferevent; the reference keeps it until we return.
    bufferevent_incref(bev)
    defer { _ = bufferevent_decref(bev) }
    if what & Int16(EV_TIMEOUT) != 0 && what & Int16(EV_READ) == 0 {
        return stopReading(bev, Int16(BEV_EVENT_READING | BEV_EVENT_TIMEOUT))
    }
    let input = bufferevent_get_input(bev)
    var limit = min(bufferevent_get_max_single_read(bev), ProbelessRead.scratchSize)
    var low = 0
    var high = 0
    _ = bufferevent_getwatermark(bev, Int16(EV_READ), &low, &high)
    if high > 0 {
        limit = min(limit, high - evbuffer_get_length(input))
        // At the high watermark libevent suspends reading through the input's own callback.
        if limit <= 0 { return }
    }
    let n = recv(fd, ProbelessRead.scratch, limit, 0)
    if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
        return stopReading(bev, Int16(BEV_EVENT_READING | BEV_EVENT_ERROR))
    }
    if n == 0 { return stopReading(bev, Int16(BEV_EVENT_READING | BEV_EVENT_EOF)) }
    ProbelessRead.append(ProbelessRead.scratch, n, to: bev)
    let length = evbuffer_get_length(input)
    if length > 0 && length >= low { bufferevent_trigger(bev, Int16(EV_READ), 0) }
}

/// As libevent does on EOF, an error or a read timeout: reading stops and the event callback hears why.
private func stopReading(_ bev: OpaquePointer, _ why: Int16) {
    bufferevent_disable(bev, Int16(EV_READ))
    var event: bufferevent_event_cb?
    var argument: UnsafeMutableRawPointer?
    bufferevent_getcb(bev, nil, nil, &event, &argument)
    event?(bev, why, argument)
}
