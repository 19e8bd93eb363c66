import CLibevent
import Glibc

/// Answers to direct requests (DirectRequest.swift): the head is written
/// here, in one buffer, and goes to the socket at once with the body when
/// nothing else is queued for the client (HTTPServer+Direct.swift).
extension HTTPExchange {
    /// Status line, Server, Date, the headers added before, `headers`, then
    /// Content-Length (when the status has a body) and Connection.
    private func writeHead(_ out: ReplyBytes, status: Int, contentLength: Int64, headers: [(String, String)] = [],
                           defaultType: Bool = false) {
        out.reset()
        Self.appendStatusLine(out, status)
        out.appendServerAndDate()
        out.append(ReplyBytes.pendingHeaders.bytes)
        Self.appendFields(out, status: status, contentLength: contentLength, headers: headers, defaultType: defaultType)
        appendHeadEnd(out)
    }

    /// The same head for an answer whose lines were written at set-up.
    private func writeHead(_ out: ReplyBytes, prepared: PreparedAnswer) {
        out.reset()
        out.append(prepared.statusLine)
        out.appendServerAndDate()
        out.append(ReplyBytes.pendingHeaders.bytes)
        out.append(prepared.fields)
        appendHeadEnd(out)
    }

    static func appendStatusLine(_ out: ReplyBytes, _ status: Int) {
        out.append("HTTP/1.1 ")
        out.appendDecimal(Int64(status))
        out.append(" ")
        out.append(reasonPhrase(status))
        out.append("\r\n")
    }

    /// `headers`, a default Content-Type, and Content-Length when the status has a body.
    static func appendFields(_ out: ReplyBytes, status: Int, contentLength: Int64, headers: [(String, String)],
                             defaultType: Bool) {
        var hasType = false
        for (name, value) in headers {
            if !hasType && asciiCaseEqual(name, "content-type") { hasType = true }
            out.appendHeader(name, value)
        }
        if defaultType && !hasType { out.append("Content-Type: text/plain; charset=utf-8\r\n") }
        if !statusHasNoBody(status) {
            out.append("Content-Length: ")
            out.appendDecimal(contentLength)
            out.append("\r\n")
        }
    }

    private func appendHeadEnd(_ out: ReplyBytes) {
        if closeAfterResponse {
            out.append("Connection: close\r\n")
        } else if direct?.keepAlive10 == true {
            out.append("Connection: keep-alive\r\n")
        }
        out.append("\r\n")
    }

    func respondDirectly(_ prepared: PreparedAnswer) {
        writeHead(ReplyBytes.shared, prepared: prepared)
        sendDirectly(status: prepared.status, body: prepared.body)
    }

    func respondDirectly(status: Int, headers: [(String, String)], body: [UInt8]) {
        writeHead(ReplyBytes.shared, status: status, contentLength: Int64(body.count), headers: headers, defaultType: !body.isEmpty)
        sendDirectly(status: status, body: body)
    }

    /// Sends the head just written to the worker's reply buffer with the body
    /// behind it (not for HEAD), and logs the answer.
    private func sendDirectly(status: Int, body: [UInt8]) {
        guard let connection, let server = HTTPServer.current else { return }
        let out = ReplyBytes.shared
        if !isHead { out.append(body) }
        logAccess(status: status, bodyBytes: isHead ? 0 : body.count)
        server.sendDirect(connection, out.bytes)
    }

    /// The direct form of sendFile (HTTPExchange.swift): a small body is read
    /// in behind the head and both leave in one write; a larger one follows
    /// the head with sendfile(2), and what the socket does not take at once
    /// is queued as a file segment (zero-copy, the file stays open until sent).
    func sendFileDirectly(status: Int, fd: Int32, fileSize: Int64, contentLength: Int64,
                          small: (offset: Int64, length: Int64)?,
                          addBody: (_ output: OpaquePointer, _ segment: OpaquePointer) -> Bool) {
        guard let connection, let server = HTTPServer.current else { close(fd); return }
        let out = ReplyBytes.shared
        writeHead(out, status: status, contentLength: contentLength)
        if isHead || contentLength == 0 {
            close(fd)
            server.sendDirect(connection, out.bytes)
            return
        }
        if let small, small.length <= Self.copyLimit {
            let length = Int(small.length)
            let copied = Self.read(fd, offset: small.offset, length: length, into: out.reserve(length))
            close(fd)
            guard copied else {
                log.error("cannot read \(small.length) bytes of \(target): \(String(cString: strerror(errno)))")
                server.closeDirect(connection)
                return
            }
            out.commit(length)
            server.sendDirect(connection, out.bytes)
            return
        }
        server.sendFileDirect(connection, head: out.bytes, fd: fd, fileSize: fileSize, range: small, addBody: addBody)
    }

    /// Reads `length` bytes at `offset` of `fd` into `buffer`.
    static func read(_ fd: Int32, offset: Int64, length: Int, into buffer: UnsafeMutablePointer<UInt8>) -> Bool {
        var done = 0
        while done < length {
            let n = pread(fd, buffer + done, length - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }  // the file shrank, or a read error
            done += n
        }
        return true
    }
}
