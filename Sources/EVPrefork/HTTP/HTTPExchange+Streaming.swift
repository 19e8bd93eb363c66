import CLibevent

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

    var httpVersion: (major: Int, minor: Int) {
        guard let request = evRequest else { return (1, direct?.minor ?? 1) }
        return (Int(request.pointee.major), Int(request.pointee.minor))
    }

    /// False once the client went away: evhttp detaches the request from its connection.
    var clientConnected: Bool { evRequest.map { evhttp_request_get_connection($0) != nil } == true && !responded }

    /// Sends the status and headers. Without a Content-Length header evhttp
    /// frames the body with chunked encoding (HTTP/1.1) or by closing.
    func startStreaming(status: Int, headers: [(String, String)]) {
        guard !responded else { return }
        guard let request = evRequest else {
            // Streamed answers take evhttp's path; only answer-at-once routes are direct.
            log.error("\(target): a streamed answer to a direct request")
            respond(status: 500)
            return
        }
        let out = evhttp_request_get_output_headers(request)
        evhttp_add_header(out, ("Server" as StaticString).cString, serverHeaderC)
        for (name, value) in headers {
            name.withCString { n in value.withCString { v in _ = evhttp_add_header(out, n, v) } }
        }
        if closeAfterResponse { evhttp_add_header(out, "Connection", "close") }
        streamedStatus = status
        evhttp_send_reply_start(request, Int32(status), reasonPhrase(status).cString)
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
