import CLibevent
import Glibc

/// One open WebSocket in a worker: reads frames from the detached client
/// connection, enforces RFC 6455 with the exact close codes, reassembles
/// messages for the handler, and writes the handler's messages.
public final class WebSocket {
    public let path: String
    public let remoteAddress: String
    /// The subprotocol agreed in the handshake, if any.
    public let subprotocol: String?
    /// Free for the application (a user name, a room).
    public var userInfo: [String: String] = [:]

    private let connection: DetachedConnection
    /// The connection's, the worker's: kept here, where every message uses
    /// them, to save a lookup, a retain and a lazy-global check each time.
    private let stream: BufferEvent
    private let batch = FrameBatch.shared
    private let scratch = ProbelessRead.scratch
    private let loop: EventLoop
    private let handler: WebSocketHandler
    private let maxMessage: Int
    private let idleTimeout: Double
    private var idleTimer: LoopEvent!
    private var closeTimer: LoopEvent?
    private var frame: FrameHeader?
    private var frameRemaining = 0
    private var maskOffset = 0
    /// Opcode of the message being assembled (text or binary), nil between messages.
    private var messageOpcode: UInt8?
    private var message: [UInt8] = []
    private var utf8 = UTF8Stream()
    private var control: [UInt8] = []
    /// Whether this side sent its Close frame.
    public var closeSent: Bool { sentClose }
    /// Private, so that the compiler sees every access and checks none at
    /// run time (a public stored property cost an exclusivity check, about
    /// 70 instructions, on each of its three reads per message).
    private var sentClose = false
    private var closeReceived = false
    private var finished = false
    private var readPaused = false

    nonisolated(unsafe) static var open: [ObjectIdentifier: WebSocket] = [:]
    /// Pause reading while this much waits for a client that does not read.
    static let outputHighWater = 4 << 20

    init(connection: DetachedConnection, handler: WebSocketHandler, path: String, subprotocol: String?,
         maxMessage: Int64, idleTimeout: Double, loop: EventLoop) {
        self.connection = connection
        self.stream = connection.stream
        self.loop = loop
        self.handler = handler
        self.path = path
        self.remoteAddress = connection.remote
        self.subprotocol = subprotocol
        self.maxMessage = Int(min(maxMessage, Int64(Int.max / 2)))
        self.idleTimeout = idleTimeout
        idleTimer = LoopEvent(loop) { [unowned self] in self.idleCheck() }
    }

    func start() {
        Self.open[ObjectIdentifier(self)] = self
        Metrics.counters.websockets += 1
        Metrics.counters.websocketsOpen += 1
        stream.onRead = { [unowned self] in self.readable() }
        stream.onWrite = { [unowned self] in self.drained() }
        stream.onEvent = { [unowned self] _ in self.dropped() }
        lastRead = loop.now
        idleTimer.schedule(after: idleTimeout)
        readsSocket = ProbelessRead.install(on: stream.bev, callback: webSocketReadCallback,
                                            argument: Unmanaged.passUnretained(self).toOpaque())
        handler.onOpen?(self)
        readable()  // frames the client sent right behind its handshake
    }

    /// Whether this socket reads its connection itself (socketReadable), in
    /// place of the bufferevent's reader; false if that could not be set up.
    private var readsSocket = false

    /// Every open WebSocket of this worker, for broadcasts and draining.
    public static var all: [WebSocket] { Array(open.values) }

    // MARK: - sending

    public func send(text: String) {
        var text = text
        text.withUTF8 { sendFrame(opcode: 0x1, payload: UnsafeRawBufferPointer($0)) }
    }

    public func send(binary: [UInt8]) {
        binary.withUnsafeBytes { sendFrame(opcode: 0x2, payload: $0) }
    }

    public func ping(_ payload: [UInt8] = []) {
        payload.prefix(125).withUnsafeBytes { sendFrame(opcode: 0x9, payload: $0) }
    }

    /// Starts the closing handshake: the peer's Close (or a short wait) ends the connection.
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        guard !sentClose, !finished else { return }
        sendClose(code: code, reason: reason)
        if closeReceived {
            finishAfterFlush()
        } else {
            closeTimer = LoopEvent(loop) { [unowned self] in self.finish(peerCode: nil, reason: "") }
            closeTimer?.schedule(after: 2)
        }
    }

    private func sendClose(code: UInt16?, reason: String) {
        var payload: [UInt8] = []
        if let code {
            payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(123))
        }
        payload.withUnsafeBytes { sendFrame(opcode: 0x8, payload: $0) }
        sentClose = true
    }

    private func sendFrame(opcode: UInt8, payload: UnsafeRawBufferPointer) {
        guard !sentClose, !finished, connection.alive else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { head in
            head[0] = 0x80 | opcode
            let n = payload.count
            var length = 2
            if n < 126 {
                head[1] = UInt8(n)
            } else if n <= 0xFFFF {
                head[1] = 126
                head[2] = UInt8(n >> 8)
                head[3] = UInt8(n & 0xFF)
                length = 4
            } else {
                head[1] = 127
                for k in 0..<8 { head[2 + k] = UInt8(truncatingIfNeeded: UInt64(n) >> UInt64(56 - 8 * k)) }
                length = 10
            }
            let head = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(head)[..<length])
            if batching {
                if batch.append(head, payload) { return }
                flushBatch()  // full: what it holds goes first, then it is taken again
                startBatch()
                if batching && batch.append(head, payload) { return }
            }
            stream.writeNow(head, payload)
        }
    }

    /// While frames that arrived together are handled, the answers they
    /// cause are collected in the worker's FrameBatch and leave in one
    /// write at the end: one system call for a burst of echoes, none
    /// waiting for a loop turn. Only when nothing is queued before them.
    private var batching = false

    private func startBatch() {
        if evbuffer_get_length(stream.output) == 0 && batch.take(for: ObjectIdentifier(self)) {
            batching = true
        }
    }

    /// Sends what the batch holds; what the socket does not take now is
    /// queued in the bufferevent (whose write reports a broken connection).
    private func flushBatch() {
        guard batching else { return }
        batching = false
        batch.release { bytes in
            guard bytes.count > 0, connection.alive else { return }  // closed meanwhile: nothing to send
            // Behind bytes already queued (a frame too large for the batch), it queues too.
            let sent = evbuffer_get_length(stream.output) == 0 ? max(0, sendAtOnce(stream.fd, bytes)) : 0
            if sent < bytes.count {
                _ = bufferevent_write(stream.bev, bytes.baseAddress! + sent, bytes.count - sent)
                stream.enable(write: true)  // the rest goes out as the client reads; drained() follows
            }
        }
    }

    private func endBatch() {
        guard batching else { return }
        flushBatch()
        if connection.alive && evbuffer_get_length(stream.output) == 0 { drained() }
    }

    /// Bytes written but not yet taken by the socket.
    private var pendingOutput: Int {
        evbuffer_get_length(stream.output) + (batching ? batch.count : 0)
    }

    // MARK: - receiving

    /// The socket has bytes (our read event; see ProbelessRead). Whole
    /// single-frame messages are handled where recv put them, the usual
    /// case; a frame cut off by the read, and everything after a frame
    /// that is not a whole data message, go through the input buffer.
    fileprivate func socketReadable(_ fd: Int32) {
        let n = recv(fd, scratch, ProbelessRead.scratchSize, 0)
        if n <= 0 {
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
            stream.disable(read: true)
            dropped()  // EOF or a reset, as the bufferevent's event callback would say
            return
        }
        guard !finished else { return }
        let bytes = UnsafeMutableRawBufferPointer(start: scratch, count: n)
        startBatch()
        defer { endBatch() }
        var used = 0
        if frame == nil && !sentClose && !closeReceived && !readPaused
            && evbuffer_get_length(stream.input) == 0 {
            lastRead = loop.now
            used = handleWholeMessages(bytes)
        }
        guard used < n, !finished else { return }
        ProbelessRead.append(bytes.baseAddress! + used, n - used, to: stream.bev)
        readFrames()
    }

    /// Handles the whole single-frame data messages at the front of
    /// `bytes`; returns how many bytes it used (all of them once it failed
    /// the connection).
    private func handleWholeMessages(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var used = 0
        while !finished && !readPaused && !sentClose {
            let rest = UnsafeMutableRawBufferPointer(rebasing: bytes[used...])
            guard let (header, size) = FrameHeader.parse(UnsafeBufferPointer(rest.assumingMemoryBound(to: UInt8.self))),
                  header.fin && !header.isControl && header.opcode != 0 && !header.lengthOverflow,
                  header.length <= rest.count - size else { break }
            used += size + header.length
            if let code = accept(header, whole: true) { fail(code); return bytes.count }
            let payload = UnsafeMutableRawBufferPointer(rebasing: rest[size..<(size + header.length)])
            if !deliverWhole(header, payload, from: nil) { return bytes.count }
        }
        return used
    }

    private func readable() {
        guard !finished else { return }
        startBatch()
        defer { endBatch() }
        readFrames()
    }

    /// Handles the frames in the input buffer, as far as they have come.
    private func readFrames() {
        let input = stream.input
        if sentClose && closeReceived { evbuffer_drain(input, evbuffer_get_length(input)); return }
        lastRead = loop.now
        while !finished && !readPaused {
            if frame == nil {
                guard let header = peekHeader(input) else { return }
                if let code = accept(header) { fail(code); return }
                frame = header
                frameRemaining = header.length
                maskOffset = 0
                control.removeAll(keepingCapacity: true)
            }
            guard let current = frame else { return }
            if current.fin && !current.isControl && current.opcode != 0 && frameRemaining > 0
                && frameRemaining == current.length && frameRemaining <= evbuffer_get_length(input) {
                // A whole message in one frame, all of it here (the usual
                // case): handed on from the input buffer, no reassembly copy.
                let n = frameRemaining
                guard let p = evbuffer_pullup(input, n) else { return }
                frame = nil
                frameRemaining = 0
                messageOpcode = nil
                if !deliverWhole(current, UnsafeMutableRawBufferPointer(start: p, count: n), from: input) { return }
                continue
            }
            if frameRemaining > 0 {
                let available = evbuffer_get_length(input)
                guard available > 0 else { return }
                let n = min(available, frameRemaining)
                guard let p = evbuffer_pullup(input, n) else { return }
                let chunk = UnsafeMutableRawBufferPointer(start: p, count: n)
                unmask(chunk, key: current.mask, offset: maskOffset)
                maskOffset += n
                frameRemaining -= n
                if current.isControl {
                    control.append(contentsOf: chunk)
                } else {
                    if messageOpcode == 0x1 && !utf8.feed(UnsafeRawBufferPointer(chunk)) {
                        evbuffer_drain(input, n)
                        fail(WebSocketCloseCode.invalidData)
                        return
                    }
                    message.append(contentsOf: chunk)
                }
                evbuffer_drain(input, n)
                if frameRemaining > 0 { return }
            }
            frame = nil
            if current.isControl { handleControl(current.opcode) } else if current.fin { deliverMessage() }
        }
    }

    /// When the client last sent something (loop clock). The idle timer is
    /// not moved on every read (an event_del and event_add per message): when
    /// it fires early it is set again for what is left.
    private var lastRead = 0.0

    private func idleCheck() {
        let idle = loop.now - lastRead
        if idle >= idleTimeout - 0.001 {
            close(code: WebSocketCloseCode.goingAway, reason: "idle timeout")
        } else {
            idleTimer.schedule(after: idleTimeout - idle)
        }
    }

    /// A whole header (2 to 14 bytes) from the front of the buffer, consumed; nil until it has arrived.
    private func peekHeader(_ input: OpaquePointer) -> FrameHeader? {
        var bytes: (UInt64, UInt64) = (0, 0)  // 16 bytes on the stack
        return withUnsafeMutableBytes(of: &bytes) { raw -> FrameHeader? in
            let have = evbuffer_copyout(input, raw.baseAddress, 14)
            guard have >= 2, let (header, size) = FrameHeader.parse(
                UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: have)) else { return nil }
            evbuffer_drain(input, size)
            return header
        }
    }

    /// The close code a frame header earns, or nil when it may proceed.
    /// A data frame starts a message, unless it is `whole` (a message in
    /// one frame, all of it at hand, handed on at once): that one leaves no
    /// state behind.
    private func accept(_ h: FrameHeader, whole: Bool = false) -> UInt16? {
        if closeReceived { return nil }
        if h.rsv != 0 || !h.masked || h.lengthOverflow || h.nonMinimal { return WebSocketCloseCode.protocolError }
        switch h.opcode {
        case 0x0:
            guard messageOpcode != nil else { return WebSocketCloseCode.protocolError }
        case 0x1, 0x2:
            guard messageOpcode == nil else { return WebSocketCloseCode.protocolError }
            if whole { return h.length > maxMessage ? WebSocketCloseCode.messageTooBig : nil }
            messageOpcode = h.opcode
            message.removeAll(keepingCapacity: false)
            utf8.reset()
        case 0x8, 0x9, 0xA:
            guard h.fin, h.length <= 125 else { return WebSocketCloseCode.protocolError }
            return nil
        default:
            return WebSocketCloseCode.protocolError
        }
        if message.count + h.length > maxMessage { return WebSocketCloseCode.messageTooBig }
        return nil
    }

    private func deliverMessage() {
        guard let opcode = messageOpcode else { return }
        messageOpcode = nil
        let payload = message
        message = []
        if opcode == 0x1 && !utf8.complete { fail(WebSocketCloseCode.invalidData); return }
        if handler.echoes {
            payload.withUnsafeBytes { sendFrame(opcode: opcode, payload: $0) }
        } else if opcode == 0x1 {
            handler.onText?(self, String(decoding: payload, as: UTF8.self))
        } else {
            handler.onBinary?(self, payload)
        }
        pauseIfBacklogged()
    }

    /// A whole message in one frame, its payload still masked where it
    /// lies: the front of `input` (drained once used), or the bytes just
    /// read. Unmasked, checked, then handed to the handler or echoed from
    /// where it lies by the built-in echo mode. False when it failed the
    /// connection.
    private func deliverWhole(_ header: FrameHeader, _ payload: UnsafeMutableRawBufferPointer, from input: OpaquePointer?) -> Bool {
        unmask(payload, key: header.mask, offset: 0)
        let bytes = UnsafeRawBufferPointer(payload)
        if header.opcode == 0x1 && !UTF8Stream.isValid(bytes) {
            if let input { evbuffer_drain(input, bytes.count) }
            fail(WebSocketCloseCode.invalidData)
            return false
        }
        if handler.echoes {
            sendFrame(opcode: header.opcode, payload: bytes)
            if let input { evbuffer_drain(input, bytes.count) }
        } else if header.opcode == 0x1 {
            let text = String(decoding: bytes, as: UTF8.self)
            if let input { evbuffer_drain(input, bytes.count) }
            handler.onText?(self, text)
        } else {
            let message = [UInt8](bytes)
            if let input { evbuffer_drain(input, bytes.count) }
            handler.onBinary?(self, message)
        }
        pauseIfBacklogged()
        return true
    }

    private func pauseIfBacklogged() {
        if !finished && pendingOutput > Self.outputHighWater {
            readPaused = true
            stream.disable(read: true)
        }
    }

    private func handleControl(_ opcode: UInt8) {
        switch opcode {
        case 0x9: control.withUnsafeBytes { sendFrame(opcode: 0xA, payload: $0) }
        case 0xA: break  // unsolicited pongs are fine
        default: receivedClose()
        }
    }

    private func receivedClose() {
        closeReceived = true
        var code: UInt16?
        var reason = ""
        if control.count == 1 { fail(WebSocketCloseCode.protocolError); return }
        if control.count >= 2 {
            let c = UInt16(control[0]) << 8 | UInt16(control[1])
            guard Self.validCloseCode(c) else { fail(WebSocketCloseCode.protocolError); return }
            let text = Array(control[2...])
            guard UTF8Stream.isValid(text) else { fail(WebSocketCloseCode.invalidData); return }
            code = c
            reason = String(decoding: text, as: UTF8.self)
        }
        peerCode = code
        peerReason = reason
        if !sentClose { sendClose(code: code, reason: "") }
        finishAfterFlush()
    }

    private var peerCode: UInt16?
    private var peerReason = ""

    static func validCloseCode(_ c: UInt16) -> Bool {
        switch c {
        case 1000...1003, 1007...1014: true
        case 3000...4999: true
        default: false
        }
    }

    /// A protocol violation: Close with the code, then the connection ends.
    /// Whatever the client still sends is read and dropped for a moment
    /// after our write side is shut (a lingering close): closing with unread
    /// data would make the kernel send a reset that can destroy the Close
    /// frame before the client reads it.
    private func fail(_ code: UInt16) {
        guard !finished else { return }
        let input = stream.input
        evbuffer_drain(input, evbuffer_get_length(input))
        if !sentClose { sendClose(code: code, reason: "") }
        closeReceived = true  // from now on, input is only drained
        peerCode = nil
        lingerAfterFlush = true
        finishAfterFlush()
    }

    private var lingerAfterFlush = false
    private var lingering = false

    private func linger() {
        lingering = true
        shutdown(stream.fd, Int32(SHUT_WR))
        closeTimer?.cancel()
        closeTimer = LoopEvent(loop) { [unowned self] in self.finish(peerCode: nil, reason: "") }
        closeTimer?.schedule(after: 2)
    }

    // MARK: - ending

    private var flushing = false

    private func finishAfterFlush() {
        flushing = true
        if pendingOutput == 0 { flushed() }
    }

    private func flushed() {
        if lingerAfterFlush {
            if !lingering { linger() }
        } else {
            finish(peerCode: peerCode, reason: peerReason)
        }
    }

    private func drained() {
        if flushing {
            flushed()
        } else if readPaused {
            readPaused = false
            stream.enable(read: true)
            readable()
        }
    }

    private func dropped() {
        finish(peerCode: closeReceived ? peerCode : nil, reason: peerReason)
    }

    private func finish(peerCode: UInt16?, reason: String) {
        guard !finished else { return }
        finished = true
        idleTimer.cancel()
        closeTimer?.cancel()
        if batching { batching = false; batch.release { _ in } }
        // The read event must not call into this object once it is gone.
        if readsSocket && connection.alive { _ = ProbelessRead.install(on: stream.bev) }
        connection.close()
        Self.open[ObjectIdentifier(self)] = nil
        Metrics.counters.websocketsOpen -= 1
        handler.onClose?(self, peerCode, reason)
    }
}

private let webSocketReadCallback: ProbelessRead.Callback = { fd, _, argument in
    Unmanaged<WebSocket>.fromOpaque(argument!).takeUnretainedValue().socketReadable(fd)
}

private func unmask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    // The key in the order the bytes come, turned to start at `offset`, then applied eight bytes at a time.
    let shift = UInt32((offset & 3) * 8)
    let turned = shift == 0 ? key : key << shift | key >> (32 - shift)
    let word32 = UInt32(bigEndian: turned)
    let word = UInt64(word32) | UInt64(word32) << 32
    var i = 0
    while i + 8 <= bytes.count {
        base.storeBytes(of: base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ word, toByteOffset: i, as: UInt64.self)
        i += 8
    }
    var k = i & 3
    let keyBytes = withUnsafeBytes(of: word32) { ($0[0], $0[1], $0[2], $0[3]) }
    while i < bytes.count {
        let m = k == 0 ? keyBytes.0 : k == 1 ? keyBytes.1 : k == 2 ? keyBytes.2 : keyBytes.3
        base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ m, toByteOffset: i, as: UInt8.self)
        i += 1
        k = (k + 1) & 3
    }
}
