/// An answer that is the same every time (a `return` route): its status
/// line and its header lines after Date are written once, at set-up, and a
/// direct answer copies them in. Writing them per request (decimals, the
/// reason phrase, a case-blind search for Content-Type) was an eighth of
/// the worker's user time on the fixed answer (callgrind, issue 8).
struct PreparedAnswer {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]
    let statusLine: [UInt8]
    /// `headers`, the default Content-Type, Content-Length.
    let fields: [UInt8]

    init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        let out = ReplyBytes(capacity: 256)
        HTTPExchange.appendStatusLine(out, status)
        statusLine = [UInt8](out.bytes)
        out.reset()
        HTTPExchange.appendFields(out, status: status, contentLength: Int64(body.count), headers: headers,
                                  defaultType: !body.isEmpty)
        fields = [UInt8](out.bytes)
    }
}
