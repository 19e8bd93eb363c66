import Glibc

/// The small HTML page that goes with an error status, as nginx sends it.
/// Handlers' error answers (HTTPExchange) and the request guard's answers,
/// written straight to the socket, use the same page.
enum ErrorPage {
    /// `headers` with the page's Content-Type, and the page: an error
    /// answer's, and a redirect's (a `return` route with `location`).
    static func answer(status: Int, headers: [(String, String)]) -> (headers: [(String, String)], body: String) {
        let page = html(status: status)
        return (page.isEmpty ? headers : headers + [("Content-Type", "text/html")], page)
    }

    /// The page for `status`; empty for statuses that carry no body (1xx, 204, 304).
    static func html(status: Int) -> String {
        if statusHasNoBody(status) { return "" }
        let title = "\(status) \(reasonPhrase(status))"
        return "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n"
            + "<hr><center>\(serverHeader)</center>\r\n</body>\r\n</html>\r\n"
    }

    /// A complete response that ends the connection, for answering without
    /// evhttp: status line, Server, Date, Content-Type, Content-Length,
    /// `Connection: close`, and the page (not for HEAD, which gets the same headers).
    static func response(status: Int, head: Bool = false, now: time_t = time(nil)) -> [UInt8] {
        let body = html(status: status)
        var top = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        top += "Server: \(serverHeader)\r\n"
        top += "Date: \(imfDate(now))\r\n"
        top += "Content-Type: text/html\r\n"
        top += "Content-Length: \(body.utf8.count)\r\n"
        top += "Connection: close\r\n\r\n"
        return Array((head ? top : top + body).utf8)
    }

    nonisolated(unsafe) private static var cachedSecond: time_t = 0
    nonisolated(unsafe) private static var cachedDate = ""

    /// The current IMF-fixdate, made once per second.
    static func currentDate() -> String {
        let now = time(nil)
        if now != cachedSecond {
            cachedDate = imfDate(now)
            cachedSecond = now
        }
        return cachedDate
    }

    static func imfDate(_ t: time_t) -> String { HTTPDate.format(Int(t)) }
}
