import EVPrefork
import XCTest

final class RouteSchemaTests: XCTestCase {
    func testStaticRouteDefaultsAndKeys() throws {
        let dir = ScratchDirectory()
        let c = try XCTUnwrap(valid("""
            [[route]]
            path = "/"
            type = "static"
            root = "public"

            [[route]]
            path = "/files/"
            host = "Files.Example.COM"
            type = "static"
            root = "./public/../public"
            index = ["index.htm", "default.html"]
            autoindex = true
            gzip_static = false
            cache_control = "public, max-age=60"
            """, in: dir))
        XCTAssertEqual(c.routes.count, 2)
        guard case .staticFiles(let a) = c.routes[0].kind, case .staticFiles(let b) = c.routes[1].kind else {
            return XCTFail("not static routes")
        }
        XCTAssertEqual(c.routes[0].path, "/")
        XCTAssertNil(c.routes[0].host)
        XCTAssertEqual(a.root, dir.path + "/public")
        XCTAssertEqual(a.index, ["index.html"])
        XCTAssertFalse(a.autoindex)
        XCTAssertTrue(a.gzipStatic)
        XCTAssertNil(a.cacheControl)
        XCTAssertEqual(c.routes[1].host, "files.example.com")
        XCTAssertEqual(b.root, dir.path + "/public")
        XCTAssertEqual(b.index, ["index.htm", "default.html"])
        XCTAssertTrue(b.autoindex)
        XCTAssertFalse(b.gzipStatic)
        XCTAssertEqual(b.cacheControl, "public, max-age=60")
        XCTAssertEqual(c.routes[1].position, .init(line: 6, column: 1))
    }

    func testStaticRootMustBeAnExistingDirectory() {
        let dir = ScratchDirectory()
        assertError("[[route]]\npath = \"/\"\ntype = \"static\"\nroot = \"missing\"\n",
                    "server.conf:4:8: error: root \"\(dir.path)/missing\" does not exist", in: dir)
        assertError("[[route]]\npath = \"/\"\ntype = \"static\"\nroot = \"file.txt\"\n",
                    "server.conf:4:8: error: root \"\(dir.path)/file.txt\" is not a directory", in: dir)
        assertError("[[route]]\npath = \"/\"\ntype = \"static\"\n",
                    "server.conf:1:1: error: missing required key \"root\" in [[route]] of type \"static\"")
        assertError("[[route]]\npath = \"/\"\ntype = \"static\"\nroot = \"public\"\nindex = [\"a/b.html\"]\n",
                    "server.conf:5:10: error: invalid index file name \"a/b.html\", expected a file name without \"/\"")
    }

    func testProxyRoute() throws {
        let dir = ScratchDirectory()
        let c = try XCTUnwrap(valid("""
            [[route]]
            path = "/api/"
            type = "proxy"
            upstream = ["127.0.0.1:9000", "[::1]:9001", "backend.local:80", "unix:app.sock"]
            """, in: dir))
        guard case .proxy(let p) = c.routes[0].kind else { return XCTFail("not a proxy route") }
        XCTAssertEqual(p.upstreams, [.tcp(host: "127.0.0.1", port: 9000), .tcp(host: "::1", port: 9001),
                                     .tcp(host: "backend.local", port: 80), .unix(path: dir.path + "/app.sock")])
        XCTAssertEqual(p.connectTimeout, 5)
        XCTAssertEqual(p.readTimeout, 60)
        XCTAssertEqual(p.keepalive, 16)
        XCTAssertFalse(p.stripPrefix)
        XCTAssertTrue(p.preserveHost)
        XCTAssertEqual(p.maxFails, 1)
        XCTAssertEqual(p.failTimeout, 10)
        let d = try XCTUnwrap(valid("""
            [[route]]
            path = "/api/"
            type = "proxy"
            upstream = ["127.0.0.1:9000"]
            connect_timeout = "250ms"
            read_timeout = "2m"
            keepalive = 0
            strip_prefix = true
            preserve_host = false
            max_fails = 3
            fail_timeout = 30
            """))
        guard case .proxy(let q) = d.routes[0].kind else { return XCTFail("not a proxy route") }
        XCTAssertEqual(q.connectTimeout, 0.25)
        XCTAssertEqual(q.readTimeout, 120)
        XCTAssertEqual(q.keepalive, 0)
        XCTAssertTrue(q.stripPrefix)
        XCTAssertFalse(q.preserveHost)
        XCTAssertEqual(q.maxFails, 3)
        XCTAssertEqual(q.failTimeout, 30)
    }

    func testProxyErrors() {
        assertError("[[route]]\npath = \"/\"\ntype = \"proxy\"\n",
                    "server.conf:1:1: error: missing required key \"upstream\" in [[route]] of type \"proxy\"")
        assertError("[[route]]\npath = \"/\"\ntype = \"proxy\"\nupstream = [\"http://a:80\"]\n",
                    "server.conf:4:13: error: invalid upstream \"http://a:80\", expected \"HOST:PORT\" or \"unix:/path\" (no scheme)")
        assertError("[[route]]\npath = \"/\"\ntype = \"proxy\"\nupstream = [\"a:0\"]\n",
                    "server.conf:4:13: error: invalid port \"0\" in \"a:0\", expected a number from 1 to 65535")
        assertError("[[route]]\npath = \"/\"\ntype = \"proxy\"\nupstream = [\"*:80\"]\n",
                    "server.conf:4:13: error: invalid address \"*:80\": \"*\" is not a host an upstream can have")
        assertError("[[route]]\npath = \"/\"\ntype = \"proxy\"\nupstream = []\n",
                    "server.conf:4:12: error: \"upstream\" in [[route]] is empty, expected at least one string")
    }

    func testWebSocketRoute() throws {
        let c = try XCTUnwrap(valid("""
            [[route]]
            path = "/ws"
            type = "websocket"
            mode = "echo"
            max_message_size = "16MB"
            origins = ["https://Example.com"]
            """))
        guard case .websocket(let w) = c.routes[0].kind else { return XCTFail("not a websocket route") }
        XCTAssertEqual(w.mode, "echo")
        XCTAssertEqual(w.maxMessageSize, 16 << 20)
        XCTAssertEqual(w.origins, ["https://example.com"])
        let d = try XCTUnwrap(valid("[[route]]\npath = \"/ws\"\ntype = \"websocket\"\nmode = \"echo\"\n"))
        guard case .websocket(let v) = d.routes[0].kind else { return XCTFail("not a websocket route") }
        XCTAssertEqual(v.maxMessageSize, 1 << 20)
        XCTAssertNil(v.origins)
        assertError("[[route]]\npath = \"/ws\"\ntype = \"websocket\"\nmode = \"ecoh\"\n",
                    "server.conf:4:8: error: unknown websocket mode \"ecoh\", expected one of \"echo\" (did you mean \"echo\"?)")
        assertError("[[route]]\npath = \"/ws\"\ntype = \"websocket\"\n",
                    "server.conf:1:1: error: missing required key \"mode\" in [[route]] of type \"websocket\"")
    }

    func testApplicationWebSocketModes() throws {
        var options = ConfigOptions()
        options.websocketModes = ["echo", "chat"]
        let c = try Config.parse(Array("[[route]]\npath = \"/chat\"\ntype = \"websocket\"\nmode = \"chat\"\n".utf8),
                                 file: "app.conf", directory: "/tmp", options: options)
        guard case .websocket(let w) = c.routes[0].kind else { return XCTFail("not a websocket route") }
        XCTAssertEqual(w.mode, "chat")
    }

    func testReturnRoute() throws {
        let c = try XCTUnwrap(valid("""
            [[route]]
            path = "/healthz"
            type = "return"
            status = 200
            body = "ok"

            [[route]]
            path = "/old"
            type = "return"
            status = 301
            location = "/new"

            [[route]]
            path = "/empty"
            type = "return"
            status = 204

            [[route]]
            path = "/json"
            type = "return"
            status = 503
            body = "{}"
            content_type = "application/json"
            """))
        guard case .fixed(let a) = c.routes[0].kind, case .fixed(let b) = c.routes[1].kind,
              case .fixed(let e) = c.routes[2].kind, case .fixed(let j) = c.routes[3].kind
        else { return XCTFail("not return routes") }
        XCTAssertEqual(a.status, 200); XCTAssertEqual(a.body, "ok"); XCTAssertNil(a.location)
        XCTAssertEqual(a.contentType, "text/plain; charset=utf-8")
        XCTAssertEqual(b.status, 301); XCTAssertEqual(b.location, "/new"); XCTAssertNil(b.body)
        XCTAssertEqual(e.status, 204); XCTAssertNil(e.body)
        XCTAssertEqual(j.contentType, "application/json")
    }

    func testReturnRouteErrors() {
        let head = "[[route]]\npath = \"/r\"\ntype = \"return\"\n"
        assertError(head, "server.conf:1:1: error: missing required key \"status\" in [[route]] of type \"return\"")
        assertError(head + "status = 99\nbody = \"x\"\n",
                    "server.conf:4:10: error: value of \"status\" in [[route]] is out of range: found 99, expected 100 to 599")
        assertError(head + "status = 600\nbody = \"x\"\n",
                    "server.conf:4:10: error: value of \"status\" in [[route]] is out of range: found 600, expected 100 to 599")
        XCTAssertNotNil(valid(head + "status = 100\n"))
        XCTAssertNotNil(valid(head + "status = 599\nbody = \"x\"\n"))
        assertError(head + "status = 302\n",
                    "server.conf:1:1: error: missing required key \"location\" in [[route]] (status 302 is a redirect)")
        assertError(head + "status = 200\nlocation = \"/x\"\n",
                    "server.conf:5:12: error: \"location\" needs a redirect status (301, 302, 303, 307 or 308), found status 200")
        assertError(head + "status = 204\nbody = \"x\"\n",
                    "server.conf:5:8: error: a 204 response has no body, remove \"body\"")
        assertError(head + "status = 200\n",
                    "server.conf:1:1: error: missing required key \"body\" in [[route]] of type \"return\" (or use \"location\" with a redirect status)")
        assertError(head + "status = 301\nlocation = \"/a\"\nbody = \"b\"\n",
                    "server.conf:6:8: error: give either \"body\" or \"location\", not both")
        assertError(head + "status = 200\nbody = \"x\"\ncontent_type = \"a\\nb\"\n",
                    "server.conf:6:16: error: invalid \"content_type\": control characters are not allowed in a header value")
    }

    func testStatusRouteAndKeysOfOtherTypes() throws {
        let c = try XCTUnwrap(valid("[[route]]\npath = \"/status\"\ntype = \"status\"\n"))
        guard case .status = c.routes[0].kind else { return XCTFail("not a status route") }
        assertError("[[route]]\npath = \"/status\"\ntype = \"status\"\nroot = \"public\"\n",
                    "server.conf:4:1: error: key \"root\" belongs to routes of type \"static\", not to a route of type \"status\"")
        assertError("[[route]]\npath = \"/\"\ntype = \"proxy\"\nupstream = [\"a:1\"]\nupstrem = 1\n",
                    "server.conf:5:1: error: unknown key \"upstrem\" in [[route]] (did you mean \"upstream\"?)")
    }

    func testCommonRouteKeys() {
        assertError("[[route]]\ntype = \"status\"\n", "server.conf:1:1: error: missing required key \"path\" in [[route]]")
        assertError("[[route]]\npath = \"/\"\n",
                    "server.conf:1:1: error: missing required key \"type\" in [[route]] (one of static, proxy, websocket, return, status)")
        assertError("[[route]]\npath = \"/\"\ntype = \"statik\"\nroot = \"public\"\n",
                    "server.conf:3:8: error: invalid value for \"type\" in [[route]]: found \"statik\", expected one of \"static\", \"proxy\", \"websocket\", \"return\", \"status\" (did you mean \"static\"?)")
        assertError("[[route]]\npath = \"status\"\ntype = \"status\"\n",
                    "server.conf:2:8: error: invalid route path \"status\", expected a path that starts with \"/\"")
        assertError("[[route]]\npath = \"/a b\"\ntype = \"status\"\n",
                    "server.conf:2:8: error: invalid route path \"/a b\": character U+0020 is not allowed in a path prefix")
        assertError("[[route]]\npath = \"/\"\ntype = \"status\"\nhost = \"example.com:8080\"\n",
                    "server.conf:4:8: error: invalid host \"example.com:8080\" in [[route]]: give the name without a port (the port is ignored when matching)")
        assertError("[[route]]\npath = \"/\"\ntype = \"status\"\nhost = \"exa mple\"\n",
                    "server.conf:4:8: error: invalid host \"exa mple\" in [[route]], expected a DNS name or an IP address")
    }

    func testDuplicateRoutes() {
        assertError("""
            [[route]]
            path = "/a"
            type = "status"

            [[route]]
            path = "/a"
            type = "status"
            """, "server.conf:5:1: error: duplicate route: path \"/a\" is already defined at 1:1")
        assertError("""
            [[route]]
            path = "/a"
            host = "x.org"
            type = "status"

            [[route]]
            path = "/a"
            host = "X.org"
            type = "status"
            """, "server.conf:6:1: error: duplicate route: path \"/a\" and host \"x.org\" is already defined at 1:1")
        XCTAssertNotNil(valid("""
            [[route]]
            path = "/a"
            host = "x.org"
            type = "status"

            [[route]]
            path = "/a"
            type = "status"
            """))
    }
}
