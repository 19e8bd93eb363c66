import EVPrefork
import XCTest

final class ServerSchemaTests: XCTestCase {
    func testEmptyFileGivesEveryDefault() throws {
        let dir = ScratchDirectory()
        let c = try XCTUnwrap(valid("", in: dir))
        let s = c.server
        XCTAssertEqual(s.listen, [.tcp(host: nil, port: 8080)])
        XCTAssertEqual(s.workers, 4)
        XCTAssertEqual(s.accepts, 1000)
        XCTAssertEqual(s.clients, 1000)
        XCTAssertEqual(s.backlog, 511)
        XCTAssertTrue(s.acceptMutex)
        XCTAssertFalse(s.reusePort)
        XCTAssertEqual(s.acceptInterval, 0.025)
        XCTAssertEqual(s.multiAccept, 50)
        XCTAssertNil(s.lockFile)
        XCTAssertEqual(s.lockTimeout, 0.5)
        XCTAssertEqual(s.heartbeatInterval, 5)
        XCTAssertEqual(s.heartbeatTimeout, 20)
        XCTAssertEqual(s.gracefulTimeout, 20)
        XCTAssertEqual(s.upgradeTimeout, 60)
        XCTAssertEqual(s.spare, 2)
        XCTAssertEqual(s.keepAliveTimeout, 5)
        XCTAssertEqual(s.keepAliveRequests, 100)
        XCTAssertEqual(s.requestTimeout, 30)
        XCTAssertEqual(s.websocketTimeout, 300)
        XCTAssertEqual(s.maxHeaderSize, 16 * 1024)
        XCTAssertEqual(s.maxBodySize, 1024 * 1024)
        XCTAssertEqual(s.pidFile, dir.path + "/evprefork.pid")
        XCTAssertNil(s.user)
        XCTAssertNil(s.group)
        XCTAssertEqual(c.log.level, .info)
        XCTAssertEqual(c.log.errorLog, .stderr)
        XCTAssertEqual(c.log.accessLog, .off)
        XCTAssertTrue(c.routes.isEmpty)
    }

    func testEveryServerKeyIsRead() throws {
        let dir = ScratchDirectory()
        let c = try XCTUnwrap(valid("""
            [server]
            listen = ["http://127.0.0.1:0", "http://[::1]:8081", "unix:run/evp.sock", "http://*:9000", "http://localhost:1"]
            workers = 8
            accepts = 0
            clients = 20000
            backlog = 1024
            accept_mutex = false
            reuse_port = true
            accept_interval = "10ms"
            multi_accept = 5
            lock_file = "run/accept.lock"
            lock_timeout = 1
            heartbeat_interval = 0.5
            heartbeat_timeout = "2s"
            graceful_timeout = "1m"
            upgrade_timeout = "1h"
            spare = 0
            keep_alive_timeout = 0
            keep_alive_requests = 1
            request_timeout = "90s"
            websocket_timeout = "1d"
            max_header_size = "32KB"
            max_body_size = 0
            pid_file = "/var/run/evp.pid"
            user = "root"
            group = "root"
            """, in: dir))
        let s = c.server
        XCTAssertEqual(s.listen, [.tcp(host: "127.0.0.1", port: 0), .tcp(host: "::1", port: 8081),
                                  .unix(path: dir.path + "/run/evp.sock"), .tcp(host: nil, port: 9000),
                                  .tcp(host: "localhost", port: 1)])
        XCTAssertEqual(s.workers, 8)
        XCTAssertEqual(s.accepts, 0)
        XCTAssertEqual(s.clients, 20000)
        XCTAssertEqual(s.backlog, 1024)
        XCTAssertFalse(s.acceptMutex)
        XCTAssertTrue(s.reusePort)
        XCTAssertEqual(s.acceptInterval, 0.01, accuracy: 1e-12)
        XCTAssertEqual(s.multiAccept, 5)
        XCTAssertEqual(s.lockFile, dir.path + "/run/accept.lock")
        XCTAssertEqual(s.lockTimeout, 1)
        XCTAssertEqual(s.heartbeatInterval, 0.5)
        XCTAssertEqual(s.heartbeatTimeout, 2)
        XCTAssertEqual(s.gracefulTimeout, 60)
        XCTAssertEqual(s.upgradeTimeout, 3600)
        XCTAssertEqual(s.spare, 0)
        XCTAssertEqual(s.keepAliveTimeout, 0)
        XCTAssertEqual(s.keepAliveRequests, 1)
        XCTAssertEqual(s.requestTimeout, 90)
        XCTAssertEqual(s.websocketTimeout, 86400)
        XCTAssertEqual(s.maxHeaderSize, 32 * 1024)
        XCTAssertEqual(s.maxBodySize, 0)
        XCTAssertEqual(s.pidFile, "/var/run/evp.pid")
        XCTAssertEqual(s.user, "root")
        XCTAssertEqual(s.group, "root")
    }

    func testListenDescriptionsShowTheRealForm() {
        XCTAssertEqual(ListenAddress.tcp(host: nil, port: 80).description, "http://*:80")
        XCTAssertEqual(ListenAddress.tcp(host: "::1", port: 80).description, "http://[::1]:80")
        XCTAssertEqual(ListenAddress.unix(path: "/a.sock").description, "unix:/a.sock")
    }

    func testIntegerRangeEdges() {
        let cases: [(String, String, Bool)] = [
            ("workers", "0", false), ("workers", "1", true), ("workers", "4096", true), ("workers", "4097", false),
            ("accepts", "-1", false), ("accepts", "0", true),
            ("clients", "0", false), ("clients", "1000000", true), ("clients", "1000001", false),
            ("backlog", "0", false), ("backlog", "65535", true), ("backlog", "65536", false),
            ("multi_accept", "0", false), ("multi_accept", "1", true),
            ("spare", "-1", false), ("spare", "0", true),
            ("keep_alive_requests", "0", false), ("keep_alive_requests", "1", true),
        ]
        for (key, value, ok) in cases {
            let text = "[server]\n\(key) = \(value)\n"
            if ok {
                XCTAssertNotNil(valid(text), "\(key) = \(value)")
            } else {
                let got = errors(text)
                XCTAssertEqual(got.count, 1, "\(key) = \(value)")
                XCTAssertTrue(got.first?.hasPrefix("server.conf:2:\(key.count + 4): error: value of \"\(key)\" in [server] is out of range: found \(value), expected ") ?? false,
                              "\(got)")
            }
        }
    }

    func testOutOfRangeMessage() {
        assertError("[server]\nworkers = 0\n",
                    "server.conf:2:11: error: value of \"workers\" in [server] is out of range: found 0, expected 1 to 4096")
        assertError("[server]\nspare = -3\n",
                    "server.conf:2:9: error: value of \"spare\" in [server] is out of range: found -3, expected 0 to 4096")
        assertError("[server]\naccepts = -1\n",
                    "server.conf:2:11: error: value of \"accepts\" in [server] is out of range: found -1, expected at least 0")
    }

    func testWrongTypeMessages() {
        assertError("[server]\nworkers = \"4\"\n",
                    "server.conf:2:11: error: invalid type for \"workers\" in [server]: found string \"4\", expected an integer")
        assertError("[server]\naccept_mutex = 1\n",
                    "server.conf:2:16: error: invalid type for \"accept_mutex\" in [server]: found integer 1, expected a boolean")
        assertError("[server]\nlisten = \"http://*:80\"\n",
                    "server.conf:2:10: error: invalid type for \"listen\" in [server]: found string \"http://*:80\", expected an array of strings")
        assertError("[server]\nlisten = [\"http://*:80\", 81]\n",
                    "server.conf:2:26: error: invalid element in \"listen\" in [server]: found integer 81, expected a string")
        assertError("[server]\ngraceful_timeout = true\n",
                    "server.conf:2:20: error: invalid type for \"graceful_timeout\" in [server]: found boolean true, expected a duration (seconds, or a string such as \"5s\")")
        assertError("[server]\nmax_body_size = 1.5\n",
                    "server.conf:2:17: error: invalid type for \"max_body_size\" in [server]: found float 1.5, expected a size (bytes, or a string such as \"16KB\")")
        assertError("server = 1\n",
                    "server.conf:1:10: error: invalid type for \"server\" in the top level: found integer 1, expected a table ([server])")
        assertError("[route]\npath = \"/\"\n",
                    "server.conf:1:1: error: invalid type for \"route\" in the top level: found a table, expected an array of tables ([[route]])")
    }

    func testUnknownKeyWithDidYouMean() {
        assertError("[server]\nwokers = 4\n",
                    "server.conf:2:1: error: unknown key \"wokers\" in [server] (did you mean \"workers\"?)")
        assertError("[server]\n  keep_alive_timeuot = 4\n",
                    "server.conf:2:3: error: unknown key \"keep_alive_timeuot\" in [server] (did you mean \"keep_alive_timeout\"?)")
        assertError("[server]\ncolour = \"red\"\n",
                    "server.conf:2:1: error: unknown key \"colour\" in [server]")
        assertError("[sever]\nworkers = 4\n",
                    "server.conf:1:2: error: unknown key \"sever\" in the top level (did you mean \"server\"?)")
        assertError("[log]\nlevl = \"info\"\n",
                    "server.conf:2:1: error: unknown key \"levl\" in [log] (did you mean \"level\"?)")
    }

    func testDurations() throws {
        let cases: [(String, Double)] = [
            ("5", 5), ("0.25", 0.25), ("\"25ms\"", 0.025), ("\"5s\"", 5), ("\"2m\"", 120), ("\"1h\"", 3600),
            ("\"1.5s\"", 1.5), ("\"1d\"", 86400), ("\"7\"", 7), ("\"10MS\"", 0.01),
        ]
        for (text, seconds) in cases {
            let c = try XCTUnwrap(valid("[server]\ngraceful_timeout = \(text)\n"), text)
            XCTAssertEqual(c.server.gracefulTimeout, seconds, accuracy: 1e-9, text)
        }
        for bad in ["\"5x\"", "\"-5s\"", "\"s\"", "\"\"", "\"1e3s\"", "\"5 s s\"", "\".5s\""] {
            let got = errors("[server]\ngraceful_timeout = \(bad)\n")
            XCTAssertEqual(got, ["server.conf:2:20: error: invalid duration \(bad) for \"graceful_timeout\" in [server], expected seconds or a number with a unit: \"25ms\", \"5s\", \"2m\", \"1h\""])
        }
        assertError("[server]\ngraceful_timeout = -1\n",
                    "server.conf:2:20: error: value of \"graceful_timeout\" in [server] is out of range: found -1s, expected 0s to 86400s")
        assertError("[server]\nheartbeat_interval = 0\n",
                    "server.conf:2:22: error: value of \"heartbeat_interval\" in [server] is out of range: found 0s, expected more than 0s and at most 3600s")
        assertError("[server]\ngraceful_timeout = inf\n",
                    "server.conf:2:20: error: invalid type for \"graceful_timeout\" in [server]: found float inf, expected a duration (seconds, or a string such as \"5s\")")
    }

    func testSizes() throws {
        let cases: [(String, Int64)] = [
            ("2048", 2048), ("\"16KB\"", 16384), ("\"1MB\"", 1 << 20), ("\"2GB\"", 2 << 30), ("\"4k\"", 4096),
            ("\"1.5KB\"", 1536), ("\"3KiB\"", 3072), ("\"100B\"", 100), ("\"1024\"", 1024), ("\"8 KB\"", 8192),
        ]
        for (text, bytes) in cases {
            let c = try XCTUnwrap(valid("[server]\nmax_body_size = \(text)\n"), text)
            XCTAssertEqual(c.server.maxBodySize, bytes, text)
        }
        for bad in ["\"1TB\"", "\"KB\"", "\"-1KB\"", "\"1.5\"", "\"ten\""] {
            XCTAssertEqual(errors("[server]\nmax_body_size = \(bad)\n"),
                           ["server.conf:2:17: error: invalid size \(bad) for \"max_body_size\" in [server], expected bytes or a number with a unit: \"16KB\", \"1MB\", \"2GB\""])
        }
        assertError("[server]\nmax_header_size = \"512B\"\n",
                    "server.conf:2:19: error: value of \"max_header_size\" in [server] is out of range: found 512 bytes, expected 1024 to 67108864 bytes")
    }

    func testListenAddressErrors() {
        let cases: [(String, String)] = [
            ("tcp://1.2.3.4:80", "invalid listen address \"tcp://1.2.3.4:80\", expected \"http://HOST:PORT\" or \"unix:/path\""),
            ("http://localhost", "invalid address \"http://localhost\": missing port, expected \"http://HOST:PORT\""),
            ("http://::1:80", "invalid address \"http://::1:80\": an IPv6 address needs brackets, e.g. \"[::1]:8080\""),
            ("http://[::1]80", "invalid address \"http://[::1]80\", expected \":PORT\" after \"]\""),
            ("http://[zz::1]:80", "invalid IPv6 address \"zz::1\" in \"http://[zz::1]:80\""),
            ("http://a b:80", "invalid host \"a b\" in \"http://a b:80\""),
            ("http://h:65536", "invalid port \"65536\" in \"http://h:65536\", expected a number from 0 to 65535"),
            ("http://h:", "invalid port \"\" in \"http://h:\", expected a number from 0 to 65535"),
            ("http://:80", "invalid address \"http://:80\": missing host, expected \"http://HOST:PORT\""),
            ("unix:", "invalid address \"unix:\", expected a socket path after \"unix:\""),
        ]
        for (address, message) in cases {
            assertError("[server]\nlisten = [\"\(address)\"]\n", "server.conf:2:11: error: \(message)")
        }
        assertError("[server]\nlisten = [\"http://*:80\", \"http://*:80\"]\n",
                    "server.conf:2:26: error: duplicate listen address \"http://*:80\" (first given at 2:11)")
        assertError("[server]\nlisten = []\n",
                    "server.conf:2:10: error: \"listen\" in [server] is empty, expected at least one string")
        let long = String(repeating: "x", count: 120)
        assertError("[server]\nlisten = [\"unix:/\(long)\"]\n",
                    "server.conf:2:11: error: unix socket path \"/\(long)\" is 121 bytes long, the limit is 107")
    }

    func testUnknownAccounts() {
        assertError("[server]\nuser = \"no-such-user-evp\"\n", "server.conf:2:8: error: unknown user \"no-such-user-evp\"")
        assertError("[server]\ngroup = \"no-such-group-evp\"\n", "server.conf:2:9: error: unknown group \"no-such-group-evp\"")
    }

    func testLogSection() throws {
        let dir = ScratchDirectory()
        let c = try XCTUnwrap(valid("[log]\nlevel = \"debug\"\nerror_log = \"logs/../error.log\"\naccess_log = \"stdout\"\n", in: dir))
        XCTAssertEqual(c.log.level, .debug)
        XCTAssertEqual(c.log.errorLog, .file(dir.path + "/error.log"))
        XCTAssertEqual(c.log.accessLog, .stdout)
        let d = try XCTUnwrap(valid("[log]\nerror_log = \"stderr\"\naccess_log = \"off\"\n"))
        XCTAssertEqual(d.log.errorLog, .stderr)
        XCTAssertEqual(d.log.accessLog, .off)
        assertError("[log]\nlevel = \"verbose\"\n",
                    "server.conf:2:9: error: invalid value for \"level\" in [log]: found \"verbose\", expected one of \"debug\", \"info\", \"warn\", \"error\"")
        assertError("[log]\nlevel = \"wran\"\n",
                    "server.conf:2:9: error: invalid value for \"level\" in [log]: found \"wran\", expected one of \"debug\", \"info\", \"warn\", \"error\" (did you mean \"warn\"?)")
        let other = ScratchDirectory()
        assertError("[log]\nerror_log = \"nowhere/x/e.log\"\n",
                    "server.conf:2:13: error: folder of \"error_log\" \"\(other.path)/nowhere/x/e.log\" does not exist", in: other)
    }

    func testAllErrorsAreReportedInOneRun() {
        let got = errors("""
            [server]
            wokers = 4
            backlog = 0
            listen = ["nope"]

            [log]
            level = 3
            """)
        XCTAssertEqual(got.count, 4, "\(got)")
        // Sorted by position, whatever order the schema found them in.
        XCTAssertEqual(got.map { $0.split(separator: ":")[1] }, ["2", "3", "4", "7"])
        XCTAssertTrue(got.contains { $0.hasPrefix("server.conf:2:1: error: unknown key \"wokers\"") })
        XCTAssertTrue(got.contains { $0.hasPrefix("server.conf:3:11: error: value of \"backlog\"") })
        XCTAssertTrue(got.contains { $0.hasPrefix("server.conf:4:11: error: invalid listen address \"nope\"") })
        XCTAssertTrue(got.contains { $0.hasPrefix("server.conf:7:9: error: invalid type for \"level\" in [log]") })
    }

    func testTOMLSyntaxErrorComesWithFileLineColumn() {
        let got = errors("[server]\nworkers = 4\nworkers = 5\n")
        XCTAssertEqual(got.count, 1)
        XCTAssertTrue(got[0].hasPrefix("server.conf:3:1: error: "), got[0])
        XCTAssertTrue(got[0].contains("workers"), got[0])
    }

    func testUnreadableFile() {
        do {
            _ = try Config.load(path: "/nonexistent/evp.conf")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.description, "/nonexistent/evp.conf: error: cannot open: No such file or directory")
        }
    }
}
