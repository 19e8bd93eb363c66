import CLibevent
import Glibc

/// The direct path: bodyless GET and HEAD requests for routes that answer at
/// once (return, static, status) are answered from the input buffer, before
/// evhttp parses them, with the head written by us and sent at once.
///
/// Why: evhttp's reply path (evhttp_send_reply) costs ~14k instructions per
/// answer, the write waits for the next loop turn, and EV_WRITE goes on and
/// off around it; nginx answers the whole request in fewer instructions than
/// that (issue 8's profile). The request guard has checked every byte by the
/// time this runs.
///
/// evhttp keeps owning the connection: its state stays "reading the first
/// line", it still reads, times out and closes the socket, and it parses every
/// request this path declines. Order is kept by three rules:
///  - only the request at the front of the input is answered, and only while
///    evhttp owns no request on the connection (`evhttpOwnsInput`): once
///    evhttp has taken part of a request, or will take one, it keeps the
///    connection until that request's answer is written;
///  - an answer is sent straight to the socket only when the output buffer is
///    empty; otherwise it is queued behind what is there;
///  - a queued answer is written by the bufferevent with EV_WRITE on and our
///    write callback in evhttp's place (evhttp's would take the end of our
///    write for the end of its own response), put back when it is out.
extension HTTPServer {
    /// Answers what it can from the front of `input`.
    func answerDirectly(_ c: Connection, input: OpaquePointer) {
        guard let directHandler, !c.evhttpOwnsInput, !c.closing, c.rejection == nil,
              c.state == .idle || c.state == .receiving, !c.requestGuard.isPaused else { return }
        var started = c.state == .receiving ? c.since : loop.now
        var answered = 0
        defer { if answered > 0 { settle(c, input: input) } }
        while !c.closing {
            let length = evbuffer_get_length(input)
            guard length > 0 else { break }
            let window = min(length, Int(limits.maxHeaderSize) + Self.backstopSlack)
            guard let front = evbuffer_pullup(input, window) else { break }
            switch DirectRequest.parse(UnsafeRawBufferPointer(start: front, count: window)) {
            case .incomplete:
                // If evhttp now reads a line of it, the request is evhttp's (see consumed(_:)).
                return
            case .declined:
                c.evhttpOwnsInput = true
                return
            case .request(let request):
                c.requests += 1
                let exchange = HTTPExchange(direct: request, connection: c, started: started)
                if request.wantsClose || draining || c.requests >= limits.keepAliveRequests {
                    exchange.closeAfterResponse = true
                }
                guard directHandler(exchange) else {
                    c.requests -= 1
                    c.evhttpOwnsInput = true
                    return
                }
                requestsServed += 1
                answered += 1
                exchange.endDirect()
                drainInput(c, input, request.head.count)
                if exchange.closeAfterResponse { closeDirect(c) }
                started = loop.now
            }
        }
    }

    /// The connection's state once direct answers were given: idle, or
    /// receiving the next request, whose bytes came with this read (its
    /// clock starts now). Without an answer nothing changes: a request
    /// trickling in keeps the clock of its first byte (request_timeout).
    private func settle(_ c: Connection, input: OpaquePointer) {
        if c.evhttpOwnsInput && c.state == .receiving { return }
        c.state = evbuffer_get_length(input) > 0 ? .receiving : .idle
        c.since = loop.now
    }

    /// evhttp took bytes out of the input buffer: it is reading a request itself.
    func consumed(_ c: Connection) {
        if !c.selfDraining { c.evhttpOwnsInput = true }
    }

    /// Drains what the server itself takes out of the input (not evhttp's reading).
    func drainInput(_ c: Connection, _ input: OpaquePointer, _ count: Int) {
        c.selfDraining = true
        evbuffer_drain(input, count)
        c.selfDraining = false
    }

    /// Sends `bytes` now if nothing is queued before them; queues what the
    /// socket does not take.
    func sendDirect(_ c: Connection, _ bytes: UnsafeRawBufferPointer) {
        guard let output = outputBuffer(c) else { return }
        var sent = 0
        if evbuffer_get_length(output) == 0 {
            sent = sendAtOnce(c.fd, bytes)
            if sent < 0 { return closeDirect(c) }
        }
        if sent < bytes.count {
            evbuffer_add(output, bytes.baseAddress! + sent, bytes.count - sent)
            queued(c)
        }
    }

    /// The head, then `range` of the file (or the parts `addBody` queues):
    /// sent with send and sendfile at once when nothing is queued, the rest
    /// queued as a file segment. Takes ownership of `fd`.
    func sendFileDirect(_ c: Connection, head: UnsafeRawBufferPointer, fd: Int32, fileSize: Int64,
                        range: (offset: Int64, length: Int64)?,
                        addBody: (_ output: OpaquePointer, _ segment: OpaquePointer) -> Bool) {
        guard let output = outputBuffer(c) else { close(fd); return }
        var headSent = 0
        var fileSent: Int64 = 0
        if evbuffer_get_length(output) == 0 {
            headSent = sendAtOnce(c.fd, head, more: range != nil)
            if headSent < 0 { close(fd); return closeDirect(c) }
            if headSent == head.count, let range {
                var offset = off_t(range.offset)
                let n = sendfile(c.fd, fd, &offset, Int(range.length))
                if n < 0 && errno != EAGAIN && errno != EINTR { close(fd); return closeDirect(c) }
                fileSent = Int64(max(0, n))
                if fileSent == range.length { close(fd); return }
            }
        }
        if headSent < head.count { evbuffer_add(output, head.baseAddress! + headSent, head.count - headSent) }
        guard let segment = evbuffer_file_segment_new(fd, 0, fileSize, UInt32(EVBUF_FS_CLOSE_ON_FREE)) else {
            close(fd)
            log.error("cannot send a file: no file segment for \(fileSize) bytes")
            return closeDirect(c)
        }
        defer { evbuffer_file_segment_free(segment) }  // the queued chains keep their own references
        let added: Bool
        if let range {
            added = evbuffer_add_file_segment(output, segment, range.offset + fileSent, range.length - fileSent) == 0
        } else {
            added = addBody(output, segment)
        }
        // The client was promised Content-Length bytes: if they cannot follow, the connection ends.
        guard added else { return closeDirect(c) }
        queued(c)
    }

    private func outputBuffer(_ c: Connection) -> OpaquePointer? {
        evhttp_connection_get_bufferevent(c.evcon).map { bufferevent_get_output($0) }
    }

    /// Bytes of a direct answer wait in the output buffer: the bufferevent
    /// writes them, and tells us (not evhttp) when they are out.
    private func queued(_ c: Connection) {
        guard !c.directPending, let bev = evhttp_connection_get_bufferevent(c.evcon) else { return }
        c.directPending = true
        let write = replaceCallback(of: bev, write: .some(directWrittenTrampoline))
        if let write, unsafeBitCast(write, to: UnsafeRawPointer.self) != unsafeBitCast(directWrittenTrampoline, to: UnsafeRawPointer.self) {
            Self.evhttpWriteCallback = write
        }
        bufferevent_enable(bev, Int16(EV_WRITE))
    }

    /// The queued direct answers are written.
    fileprivate func written(_ evcon: OpaquePointer) {
        guard let c = connections[evcon], c.directPending,
              let bev = evhttp_connection_get_bufferevent(evcon) else { return }
        c.directPending = false
        replaceCallback(of: bev, write: .some(Self.evhttpWriteCallback))
        bufferevent_disable(bev, Int16(EV_WRITE))
        if c.closing {
            closeSoon(c)
        } else if c.state == .idle {
            c.since = loop.now  // the keep-alive clock starts when the answer is out
        }
    }

    /// The connection ends once what is queued is written. What the client
    /// sends after a closing answer is dropped (as nginx does).
    func closeDirect(_ c: Connection) {
        guard !c.closing else { return }
        c.closing = true
        if let input = c.input { drainInput(c, input, evbuffer_get_length(input)) }
        if !c.directPending { closeSoon(c) }
    }

    /// Frees the connection on the next loop turn, outside libevent's callbacks.
    ///
    /// The server is found through `current`, not a weak capture: one weak
    /// reference gives an object a side table for the rest of its life, and
    /// every later retain and release of the server (several per request)
    /// would take the runtime's slow path.
    private func closeSoon(_ c: Connection) {
        after(0) { [weak c] in
            guard let c, let server = HTTPServer.current, server.connections[c.evcon] === c else { return }
            evhttp_connection_free(c.evcon)
        }
    }

    /// evhttp's bufferevent write callback, put back once a direct answer is out (the same for every connection).
    nonisolated(unsafe) fileprivate static var evhttpWriteCallback: bufferevent_data_cb?
}

private let directWrittenTrampoline: bufferevent_data_cb = { _, context in
    guard let context, let server = HTTPServer.current else { return }
    server.written(OpaquePointer(context))
}
