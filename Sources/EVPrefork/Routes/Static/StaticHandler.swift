import CLibevent
import Glibc

/// A `static` route: files under `root`, answered as nginx answers them
/// (static, index, autoindex and gzip_static modules, with the not-modified
/// and range filters), so that a site moved from nginx sees the same
/// statuses, types, lengths, redirects and bodies. Where evprefork differs on
/// purpose: a path that would leave the root, and a symlink that does, are
/// refused (403) where nginx says 400 or follows the link; 405 carries Allow.
final class StaticHandler {
    private let prefix: [UInt8]
    private let config: StaticRoute
    private let root: StaticRoot
    private let indexNames: [[UInt8]]

    init(prefix: String, route: StaticRoute) {
        self.prefix = Array(prefix.utf8)
        config = route
        root = StaticRoot(route.root)
        indexNames = route.index.map { Array($0.utf8) }
    }

    func handle(_ exchange: HTTPExchange) {
        let isPost = exchange.isPost
        guard exchange.isGet || exchange.isHead || isPost else {
            notAllowed(exchange)
            return
        }
        guard let uri = exchange.normalizedPath.bytes, let relative = relativePath(uri) else {
            exchange.respond(status: 404)
            return
        }
        if uri.last == UInt8(ascii: "/") {
            serveDirectory(exchange, uri: uri, relative: relative, isPost: isPost)
        } else {
            serveFile(exchange, uri: uri, relative: relative, isPost: isPost)
        }
    }

    /// The part of `uri` below the route's prefix, without a leading slash.
    /// A prefix that does not end in "/" must end at a segment boundary:
    /// "/static" serves "/static" and "/static/x", never "/staticx" (nginx's
    /// alias would map that to a sibling of the root).
    private func relativePath(_ uri: [UInt8]) -> ArraySlice<UInt8>? {
        guard uri.starts(with: prefix) else { return nil }
        var rest = uri[prefix.count...]
        if prefix.last != UInt8(ascii: "/") {
            guard rest.isEmpty || rest.first == UInt8(ascii: "/") else { return nil }
        }
        while rest.first == UInt8(ascii: "/") { rest = rest.dropFirst() }
        return rest
    }

    // MARK: - directories: index, autoindex

    private func serveDirectory(_ exchange: HTTPExchange, uri: [UInt8], relative: ArraySlice<UInt8>, isPost: Bool) {
        var directoryChecked = false
        for name in indexNames {
            let found = root.open(relative, suffix: name)
            switch found {
            case .file, .directory:
                // nginx redirects internally to the index file and starts
                // over (gzip_static included); the open file is reused.
                var indexURI = uri
                indexURI.append(contentsOf: name)
                var indexRelative = Array(relative)
                indexRelative.append(contentsOf: name)
                serveFile(exchange, uri: indexURI, relative: indexRelative[...], isPost: isPost, opened: found)
                return
            case .notFound(errno: ENOENT):
                if !directoryChecked {
                    // Tell "no index here" from "no such directory".
                    switch root.open(relative) {
                    case .directory(let fd, _): close(fd)
                    case .file(let fd, _): close(fd); exchange.respond(status: 404); return
                    case .notFound: exchange.respond(status: 404); return
                    case .forbidden: exchange.respond(status: 403); return
                    case .failed(let e): failed(exchange, errno: e); return
                    }
                    directoryChecked = true
                }
            case .notFound:
                exchange.respond(status: 404)
                return
            case .forbidden:
                exchange.respond(status: 403)
                return
            case .failed(let e):
                failed(exchange, errno: e)
                return
            }
        }
        guard config.autoindex && !isPost else {
            exchange.respond(status: 403)  // nginx: directory index is forbidden
            return
        }
        switch root.open(relative) {
        case .directory(let fd, _):
            switch Autoindex.read(directory: fd, root: root) {
            case .success(let entries):
                var headers = [("Content-Type", "text/html")]
                if let cache = config.cacheControl { headers.append(("Cache-Control", cache)) }
                exchange.respond(status: 200, headers: headers, body: Autoindex.render(uri: uri, entries: entries))
            case .failure(.failed(let e)):
                failed(exchange, errno: e)
            }
        case .file(let fd, _):
            close(fd)
            exchange.respond(status: 404)
        case .notFound:
            exchange.respond(status: 404)
        case .forbidden:
            exchange.respond(status: 403)
        case .failed(let e):
            failed(exchange, errno: e)
        }
    }

    // MARK: - files

    /// `opened`: the file, already open (an index file found by serveDirectory).
    private func serveFile(_ exchange: HTTPExchange, uri: [UInt8], relative: ArraySlice<UInt8>, isPost: Bool,
                           opened: StaticRoot.Opened? = nil) {
        var vary = false
        if config.gzipStatic && !isPost {
            switch root.open(relative, suffix: gzSuffix) {
            case .file(let fd, let info):
                vary = true
                if clientAcceptsGzip(exchange) {
                    opened?.close()
                    send(exchange, fd: fd, info: info, uri: uri, gzip: true, vary: true)
                    return
                }
                close(fd)
            case .directory(let fd, _):
                close(fd)
            default:
                break
            }
        }
        // Once a .gz sibling exists, every answer varies with Accept-Encoding (nginx's gzip_vary).
        let varyHeaders = vary ? [("Vary", "Accept-Encoding")] : []
        switch opened ?? root.open(relative) {
        case .file(let fd, let info):
            if isPost {
                close(fd)
                notAllowed(exchange)  // nginx: POST reaches a file only to be refused
                return
            }
            send(exchange, fd: fd, info: info, uri: uri, gzip: false, vary: vary)
        case .directory(let fd, _):
            close(fd)
            redirectToDirectory(exchange, uri: uri, headers: varyHeaders)
        case .notFound:
            exchange.respond(status: 404, headers: varyHeaders)
        case .forbidden:
            exchange.respond(status: 403, headers: varyHeaders)
        case .failed(let e):
            failed(exchange, errno: e)
        }
    }

    private func clientAcceptsGzip(_ exchange: HTTPExchange) -> Bool {
        let version = exchange.httpVersion
        return GzipAcceptance.accepts(acceptEncoding: exchange.header("Accept-Encoding"),
                                      via: exchange.hasHeader("Via"),
                                      httpMinor: version.minor, httpMajor: version.major)
    }

    /// A directory asked for without its slash: 301 to the slash form, with
    /// the query kept, as an absolute URL as nginx sends it.
    private func redirectToDirectory(_ exchange: HTTPExchange, uri: [UInt8], headers: [(String, String)]) {
        var location = Array(exchange.redirectOrigin.utf8)
        Escaping.appendPath(uri, to: &location)
        location.append(UInt8(ascii: "/"))
        if let query = exchange.query?.utf8.prefix(while: { $0 != UInt8(ascii: "#") }), !query.isEmpty {
            location.append(UInt8(ascii: "?"))
            location.append(contentsOf: query)
        }
        exchange.respond(status: 301, headers: headers + [("Location", String(decoding: location, as: UTF8.self))])
    }

    /// Answers with the open regular file: 304, 412, 416, 206 or 200.
    private func send(_ exchange: HTTPExchange, fd: Int32, info: stat, uri: [UInt8], gzip: Bool, vary: Bool) {
        let size = Int64(info.st_size)
        let mtime = Int(info.st_mtim.tv_sec)
        let etag = fileETag(mtime: mtime, size: size)
        let contentType = MIMETypes.type(forPath: uri)

        let conditions = Preconditions.Request(ifMatch: exchange.header("If-Match"),
                                               ifUnmodifiedSince: exchange.header("If-Unmodified-Since"),
                                               ifNoneMatch: exchange.header("If-None-Match"),
                                               ifModifiedSince: exchange.header("If-Modified-Since"))
        if !conditions.isEmpty {
            switch Preconditions.evaluate(conditions, etag: etag, mtime: mtime) {
            case .proceed:
                break
            case .failed:
                close(fd)
                exchange.respond(status: 412)
                return
            case .notModified:
                close(fd)
                var headers = [("ETag", etag), ("Last-Modified", HTTPDate.format(mtime))]
                if vary { headers.append(("Vary", "Accept-Encoding")) }
                if let cache = config.cacheControl { headers.append(("Cache-Control", cache)) }
                exchange.respond(status: 304, headers: headers, body: [])
                return
            }
        }

        // nginx's gzip_static does not allow ranges: the .gz goes out whole.
        var ranges = ByteRanges.whole
        if !gzip, let range = exchange.header("Range") {
            if let ifRange = exchange.header("If-Range"), !Preconditions.ifRangeHolds(ifRange, etag: etag, mtime: mtime) {
                ranges = .whole
            } else {
                ranges = ByteRanges.parse(range.utf8, size: size)
            }
        }

        switch ranges {
        case .unsatisfiable:
            close(fd)
            let contentRange = "bytes */\(size)"
            exchange.respond(status: 416, headers: [("Content-Range", contentRange)])
        case .whole:
            addCommonHeaders(exchange, etag: etag, mtime: mtime, vary: vary)
            exchange.addResponseHeader("Content-Type", contentType)
            if gzip {
                exchange.addResponseHeader("Content-Encoding", "gzip")
            } else {
                exchange.addResponseHeader("Accept-Ranges", "bytes")
            }
            exchange.respondFile(status: 200, fd: fd, offset: 0, length: size)
        case .ranges(let list) where list.count == 1:
            let r = list[0]
            addCommonHeaders(exchange, etag: etag, mtime: mtime, vary: vary)
            exchange.addResponseHeader("Content-Type", contentType)
            withHeaderValue(capacity: 80, { w in
                w.append("bytes ")
                w.appendDecimal(r.start)
                w.append("-")
                w.appendDecimal(r.end - 1)
                w.append("/")
                w.appendDecimal(size)
            }) { exchange.addResponseHeader("Content-Range", $0) }
            exchange.respondFile(status: 206, fd: fd, offset: r.start, length: r.length)
        case .ranges(let list):
            let boundary = Self.nextBoundary()
            addCommonHeaders(exchange, etag: etag, mtime: mtime, vary: vary)
            exchange.addResponseHeader("Content-Type", "multipart/byteranges; boundary=" + boundary)
            exchange.respondFile(status: 206, fd: fd, fileSize: size,
                                 parts: Self.multipart(list, boundary: boundary, contentType: contentType, size: size))
        }
    }

    private func addCommonHeaders(_ exchange: HTTPExchange, etag: String, mtime: Int, vary: Bool) {
        HTTPDate.withFormatted(mtime) { date in
            withHeaderValue(capacity: 32, { $0.append(bytes: date) }) { exchange.addResponseHeader("Last-Modified", $0) }
        }
        exchange.addResponseHeader("ETag", etag)
        if vary { exchange.addResponseHeader("Vary", "Accept-Encoding") }
        if let cache = config.cacheControl { exchange.addResponseHeader("Cache-Control", cache) }
    }

    /// The body of a multipart/byteranges answer, laid out as nginx lays it out.
    static func multipart(_ ranges: [ByteRanges.ClosedOpen], boundary: String, contentType: String,
                          size: Int64) -> [HTTPExchange.FilePart] {
        var parts: [HTTPExchange.FilePart] = []
        for r in ranges {
            let head = "\r\n--\(boundary)\r\nContent-Type: \(contentType)\r\nContent-Range: bytes \(r.start)-\(r.end - 1)/\(size)\r\n\r\n"
            parts.append(.text(Array(head.utf8)))
            parts.append(.range(offset: r.start, length: r.length))
        }
        parts.append(.text(Array("\r\n--\(boundary)--\r\n".utf8)))
        return parts
    }

    /// Twenty digits, like nginx's boundaries (so multipart lengths match).
    nonisolated(unsafe) private static var boundaryCounter = UInt64.random(in: 1...999_999_999_999)

    static func nextBoundary() -> String {
        boundaryCounter &+= 1
        let digits = String(boundaryCounter)
        return String(repeating: "0", count: max(0, 20 - digits.utf8.count)) + digits
    }

    private func notAllowed(_ exchange: HTTPExchange) {
        exchange.respond(status: 405, headers: [("Allow", "GET, HEAD")])
    }

    private func failed(_ exchange: HTTPExchange, errno e: Int32) {
        log.error("static: \(exchange.target): \(String(cString: strerror(e)))")
        exchange.respond(status: 500)
    }
}

private let gzSuffix: [UInt8] = Array(".gz".utf8)

/// The handler for a `static` route at `prefix`.
func staticHandler(prefix: String, route: StaticRoute) -> (HTTPExchange) -> Void {
    let handler = StaticHandler(prefix: prefix, route: route)
    return { handler.handle($0) }
}
