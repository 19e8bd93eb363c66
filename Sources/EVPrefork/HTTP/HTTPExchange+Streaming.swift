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

    /// Sends the status line, Server, Date, the fields `appendFields` writes,
    /// and the framing and Connection fields `framing` calls for.
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
        streamedStatus = status
        // The head goes out as evhttp's first chunk, unframed, which also puts
        // the connection in evhttp's writing state. evhttp sends no chunk of
        // an answer without a body: for those it is told of a GET answered 200.
        let piece = Self.scratch
        evbuffer_add(piece, out.base, out.count)
        let command = request.pointee.type
        request.pointee.chunked = 0
        request.pointee.response_code = framing == .none ? 200 : Int32(status)
        if framing == .none { request.pointee.type = EVHTTP_REQ_GET }
        evhttp_send_reply_chunk(request, piece)
        evbuffer_drain(piece, evbuffer_get_length(piece))
        request.pointee.type = command
        request.pointee.response_code = Int32(status)
        request.pointee.chunked = chunked ? 1 : 0
    }

    /// Moves `buffer`'s bytes (no copy) to the client. `drained` runs once
    /// the client's output buffer has been written out.
    func streamChunk(_ buffer: OpaquePointer, drained: (() -> Void)? = nil) {
        guard !responded, let request = evRequest else { return }
        streamedBytes += evbuffer_get_length(buffer)
        if let drained {
            let box = Unmanaged.passRetained(DrainBox(drained)).toOpaque()
            evhttp_send_reply_chunk_with_cb(request, buffer, drainTrampoline, box)
            // evhttp forgets the callback if the connection goes; a leaked box
            // is the price of never calling into freed memory.
        } else {
            evhttp_send_reply_chunk(request, buffer)
        }
    }

    /// Bytes waiting to go to the client (for backpressure).
    var clientPending: Int {
        guard let request = evRequest, let evcon = evhttp_request_get_connection(request),
              let bev = evhttp_connection_get_bufferevent(evcon) else { return 0 }
        return evbuffer_get_length(bufferevent_get_output(bev))
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
        guard let evcon = evhttp_request_get_connection(request),
              let bev = evhttp_connection_get_bufferevent(evcon) else { return }
        let output = bufferevent_get_output(bev)
        if request.pointee.chunked != 0 {
            evbuffer_add(output, "0\r\n\r\n", 5)
            request.pointee.chunked = 0
        }
        flushOutputNow(bev)
    }

    /// The body cannot be completed (the upstream died): the client must see
    /// a broken response, never a short one that looks whole. What was sent
    /// still goes out, then the connection closes without the final chunk,
    /// which breaks Content-Length and chunked framing alike.
    func abortStreaming() {
        guard !responded, let request = evRequest else { return }
        answered = true
        logAccess(status: streamedStatus, bodyBytes: streamedBytes)
        if evhttp_request_get_connection(request) != nil {
            request.pointee.chunked = 0
            evhttp_add_header(evhttp_request_get_output_headers(request), "Connection", "close")
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
