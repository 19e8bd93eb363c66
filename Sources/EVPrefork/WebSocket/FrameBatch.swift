import Glibc

/// Frames a WebSocket sends while it handles one read wait here and leave
/// in one send when the read is done: an echo of every message a read
/// brought costs one system call, and no evbuffer chain is allocated,
/// copied into, written and freed per message (callgrind, issue 8).
///
/// One per worker, held by one socket at a time: a handler that writes to
/// another WebSocket while this one reads finds the batch taken and that
/// socket writes as usual.
final class FrameBatch {
    nonisolated(unsafe) static let shared = FrameBatch()
    /// Larger answers bypass the batch (what it holds is sent first, to keep the order).
    static let capacity = 64 << 10

    private let bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    private(set) var count = 0
    private var holder: ObjectIdentifier?

    /// Takes the batch for `socket`; false while another socket holds it.
    func take(for socket: ObjectIdentifier) -> Bool {
        guard holder == nil else { return false }
        holder = socket
        count = 0
        return true
    }

    /// Appends a frame; false (nothing appended) when it does not fit.
    func append(_ head: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard count + head.count + payload.count <= Self.capacity else { return false }
        if head.count > 0 { memcpy(bytes + count, head.baseAddress!, head.count) }
        count += head.count
        if payload.count > 0 { memcpy(bytes + count, payload.baseAddress!, payload.count) }
        count += payload.count
        return true
    }

    /// Hands the batch back, calling `flush` with what it holds (possibly nothing).
    func release(_ flush: (UnsafeRawBufferPointer) -> Void) {
        flush(UnsafeRawBufferPointer(start: bytes, count: count))
        count = 0
        holder = nil
    }
}
