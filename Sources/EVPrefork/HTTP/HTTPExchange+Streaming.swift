import CLibevent
import Glibc

/// Streaming answers (the proxy): headers first, then the body in pieces as
/// it arrives, with a callback when the client has taken what was sent.
extension HTTPExchange {
    /// Request headers in order, as sent.
    var requestHeaders: [(String, String)] {
        var out: [(String, String)] = []
        if let direct {
            direct.eachField { name, value in
                out.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
                return true
            }
            return out
        }
        guard let request = evRequest, let headers = evhttp_request_get_input_headers(request) else { return [] }
        var entry = headers.pointee.tqh_first
        while let e = entry {
            out.append((String(cString: e.pointee.key), String(cString: e.pointee.value)))
            entry = e.pointee.next.tqe_next
        }
        return out
    }

    /// Each request field's name and value as bytes, in order: no String made.
    func eachRequestField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        if let direct {
            direct.eachField { name, value in
                body(name, value)
                return true
            }
            return
        }
        guard let request = evRequest, let headers = evhttp_request_get_input_headers(request) else { return }
        var entry = headers.pointee.tqh_first
        while let e = entry {
            body(UnsafeRawBufferPointer(start: e.pointee.key, count: strlen(e.pointee.key)),
                 UnsafeRawBufferPointer(start: e.pointee.value, count: strlen(e.pointee.value)))
            entry = e.pointee.next.tqe_next
        }
    }

    var httpVersion: (major: Int, minor: Int) {
        guard let request = evRequest else { return (1, direct?.minor ?? 1) }
        return (Int(request.pointee.major), Int(request.pointee.minor))
    }

    /// False once the client went away: evhttp detaches the request from its connection.
    var clientConnected: Bool { evRequest.map { evhttp_request_get_connection($0) != nil } == true && !responded }

    /// How a streamed body is delimited for the client.
    enum StreamFraming {
        /// None follows: a HEAD request, or 204 and 304.
        case none
        /// By the Content-Length among the fields.
        case length
        /// Not known ahead: chunked for HTTP/1.1, the connection's end for HTTP/1.0.
        case unknown
    }

    /// Queues the status line, Server, Date, the fields `appendFields`
    /// writes, and the framing and Connection fields `framing` calls for.
    /// The head goes out with the first piece of the body, or at the end
    /// (`flushStreamed` sends it alone).
    ///
    /// The head is written here, as direct answers are, rather than by
    /// evhttp_send_reply_start: evhttp stores each field in a list (three
    /// allocations) and prints it with vsnprintf, a quarter of a proxied
    /// request's time in user space. evhttp is then told what it needs
    /// for the chunks and the end: the status, whether to frame chunks,
    /// and Connection: close when the connection ends with this answer.
    func startStreaming(status: Int, framing: StreamFraming, appendFields: (ReplyBytes) -> Void) {
        guard !responded else { return }
        guard let request = evRequest else {
            // Streamed answers take evhttp's path; only answer-at-once routes are direct.
            log.error("\(target): a streamed answer to a direct request")
            respond(status: 500)
            return
        }
        streamedStatus = status
        guard let output = clientOutput(request) else { return }  // the client is gone
        let out = ReplyBytes.shared
        out.reset()
        Self.appendStatusLine(out, status)
        out.appendServerAndDate()
        appendFields(out)
        let http10 = request.pointee.major == 1 && request.pointee.minor == 0
        var close = closeAfterResponse || HTTPServer.responseEndsConnection(request)
        var chunked = false
        if framing == .unknown {
            if http10 { close = true } else { chunked = true; out.append("Transfer-Encoding: chunked\r\n") }
        }
        if close {
            out.append("Connection: close\r\n")
            // What evhttp reads once the answer is out to decide to close.
            evhttp_add_header(evhttp_request_get_output_headers(request), "Connection", "close")
        } else if http10 {
            out.append("Connection: keep-alive\r\n")
        }
        out.append("\r\n")
        request.pointee.response_code = Int32(status)
        request.pointee.chunked = chunked ? 1 : 0
        if connection?.directPending == true {
            handHeadToEvhttp(request, out, hasBody: framing != .none)
        } else {
            evbuffer_add(output, out.base, out.count)
        }
    }

    /// A direct answer still waits in the output buffer, with the direct
    /// path's write callback in evhttp's place: the head goes as evhttp's
    /// first (unframed) chunk, which puts evhttp's callbacks back, so that
    /// evhttp sees the end of this answer once everything before it is out.
    /// evhttp sends no chunk of an answer without a body: for one it is
    /// told of a GET answered 200 for the moment.
    private func handHeadToEvhttp(_ request: UnsafeMutablePointer<evhttp_request>, _ head: ReplyBytes, hasBody: Bool) {
        let piece = Self.scratch
        evbuffer_add(piece, head.base, head.count)
        let (command, status, chunked) = (request.pointee.type, request.pointee.response_code, request.pointee.chunked)
        request.pointee.chunked = 0
        if !hasBody {
            request.pointee.type = EVHTTP_REQ_GET
            request.pointee.response_code = 200
        }
        evhttp_send_reply_chunk(request, piece)
        evbuffer_drain(piece, evbuffer_get_length(piece))
        (request.pointee.type, request.pointee.response_code, request.pointee.chunked) = (command, status, chunked)
    }

    /// Moves `buffer`'s bytes (no copy) to the client, as a chunk when the
    /// answer is chunked. `drained` runs once the client's output buffer has
    /// been written out. The `last` piece is only queued: endStreaming
    /// writes it with the end of the answer.
    func streamChunk(_ buffer: OpaquePointer, last: Bool = false, drained: (() -> Void)? = nil) {
        guard !responded, let request = evRequest else { return }
        let n = evbuffer_get_length(buffer)
        streamedBytes += n
        if last && drained == nil {
            guard let output = clientOutput(request), n > 0 else { return }
            if request.pointee.chunked != 0 { appendChunkSize(output, n) }
            evbuffer_add_buffer(output, buffer)
            if request.pointee.chunked != 0 { evbuffer_add(output, "\r\n", 2) }
        } else if let drained {
            let box = Unmanaged.passRetained(DrainBox(drained)).toOpaque()
            evhttp_send_reply_chunk_with_cb(request, buffer, drainTrampoline, box)
            // evhttp forgets the callback if the connection goes; a leaked box
            // is the price of never calling into freed memory.
        } else {
            evhttp_send_reply_chunk(request, buffer)
        }
    }

    /// Sends what is queued for the client as far as the socket takes it
    /// now: a head whose body has not begun to arrive.
    func flushStreamed() {
        guard !responded, let request = evRequest, let bev = clientBufferevent(request) else { return }
        flushOutputNow(bev)
    }

    /// The client connection's bufferevent; nil once the client is gone.
    private func clientBufferevent(_ request: UnsafeMutablePointer<evhttp_request>) -> OpaquePointer? {
        evhttp_request_get_connection(request).flatMap { evhttp_connection_get_bufferevent($0) }
    }

    private func clientOutput(_ request: UnsafeMutablePointer<evhttp_request>) -> OpaquePointer? {
        clientBufferevent(request).map { bufferevent_get_output($0) }
    }

    /// "<hex size>\r\n", as evhttp frames a chunk.
    private func appendChunkSize(_ output: OpaquePointer, _ n: Int) {
        var line: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 16 digits and CRLF fit
        withUnsafeMutableBytes(of: &line) { p in
            var i = p.count - 2
            p[i] = 13
            p[i + 1] = 10
            var v = n
            repeat {
                i -= 1
                let d = UInt8(v & 15)
                p[i] = d < 10 ? 48 + d : 87 + d
                v >>= 4
            } while v > 0
            evbuffer_add(output, p.baseAddress! + i, p.count - i)
        }
    }

    /// Bytes waiting to go to the client (for backpressure).
    var clientPending: Int {
        guard let request = evRequest, let output = clientOutput(request) else { return 0 }
        return evbuffer_get_length(output)
    }

    /// The body is complete.
    func endStreaming() {
        guard !responded, let request = evRequest else { return }
        answered = true
        logAccess(status: streamedStatus, bodyBytes: streamedBytes)
        flushBeforeEnd(request)
        evhttp_send_reply_end(request)
    }

    /// Writes the rest of the answer to the socket now, the final chunk
    /// included. evhttp would wait a loop turn for EV_WRITE to do it (an
    /// epoll_ctl on and one off); when the output buffer is empty at
    /// evhttp_send_reply_end, evhttp finishes the request at once instead.
    private func flushBeforeEnd(_ request: UnsafeMutablePointer<evhttp_request>) {
        guard let bev = clientBufferevent(request) else { return }
        let output = bufferevent_get_output(bev)
        if request.pointee.chunked != 0 {
            evbuffer_add(output, "0\r\n\r\n", 5)
            request.pointee.chunked = 0
        }
        pushOut(bev)
    }

    /// Writes what the socket takes now. The rest goes with EV_WRITE,
    /// evhttp's write callback then ending the request: what startStreaming
    /// and a last piece queued did not turn it on.
    private func pushOut(_ bev: OpaquePointer) {
        flushOutputNow(bev)
        if evbuffer_get_length(bufferevent_get_output(bev)) > 0 { bufferevent_enable(bev, Int16(EV_WRITE)) }
    }

    /// The body cannot be completed (the upstream died): the client must see
    /// a broken response, never a short one that looks whole. What was sent
    /// still goes out, then the connection closes without the final chunk,
    /// which breaks Content-Length and chunked framing alike.
    func abortStreaming() {
        guard !responded, let request = evRequest else { return }
        answered = true
        logAccess(status: streamedStatus, bodyBytes: streamedBytes)
        if let evcon = evhttp_request_get_connection(request) {
            request.pointee.chunked = 0
            evhttp_add_header(evhttp_request_get_output_headers(request), "Connection", "close")
            if let bev = evhttp_connection_get_bufferevent(evcon) { pushOut(bev) }
        }
        evhttp_send_reply_end(request)
    }
}

private final class DrainBox {
    let action: () -> Void
    init(_ action: @escaping () -> Void) { self.action = action }
}

private let drainTrampoline: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { _, ctx in
    let box = Unmanaged<DrainBox>.fromOpaque(ctx!).takeRetainedValue()
    box.action()
}
