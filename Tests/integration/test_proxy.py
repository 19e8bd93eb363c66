"""Proxy routes against real upstreams on loopback: Python servers on TCP and unix sockets, nginx, websockets."""
import asyncio
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import http.client
import pytest
import requests
import websockets

from evp import FAST, wait_for

HERE = pathlib.Path(__file__).resolve().parent


class Upstream:
    def __init__(self, kind, address, name="up"):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "upstream.py"), kind, str(address)],
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, "UPSTREAM_NAME": name})
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "ready", line
        self.address = line[1]
        self.kind = kind

    @property
    def spec(self):
        return f"127.0.0.1:{self.address}" if self.kind == "tcp" else f"unix:{self.address}"

    def stats(self):
        if self.kind == "tcp":
            return requests.get(f"http://127.0.0.1:{self.address}/stats", timeout=5).json()
        raise NotImplementedError

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


@pytest.fixture
def upstreams():
    started = []

    def make(kind="tcp", address=0, name="up"):
        u = Upstream(kind, address, name)
        started.append(u)
        return u
    yield make
    for u in started:
        u.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def conf(upstream_list, extra_route="", workers=1, extra_server="", read_timeout=2):
    ups = ", ".join(f'"{u}"' for u in upstream_list)
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = {workers}
websocket_timeout = 3
max_body_size = "4MB"
{FAST}
{extra_server}

[[route]]
path = "/"
type = "proxy"
upstream = [{ups}]
connect_timeout = 1
read_timeout = {read_timeout}
{extra_route}

[[route]]
path = "/status"
type = "status"
"""


def echo(r):
    doc = r.json()
    doc["h"] = {k.lower(): v for k, v in doc["headers"]}
    return doc


def test_get_and_post_with_bodies(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    r = requests.get(s.url("/echo/a?x=1&y=%20"), timeout=5)
    assert r.status_code == 200
    assert r.headers["X-Upstream"] == "up"
    assert r.headers["Server"].startswith("evprefork/")
    doc = echo(r)
    assert doc["method"] == "GET" and doc["path"] == "/echo/a?x=1&y=%20"
    body = bytes(range(256)) * 1000
    r = requests.post(s.url("/echo/post"), data=body, timeout=5)
    assert r.status_code == 201
    doc = echo(r)
    assert doc["body"].encode("latin-1") == body
    assert doc["h"]["content-length"] == str(len(body))
    r = requests.put(s.url("/echo/put"), data=b"", timeout=5)
    assert echo(r)["h"]["content-length"] == "0"
    r = requests.head(s.url("/big?n=12345"), timeout=5)
    assert r.status_code == 200 and r.headers["Content-Length"] == "12345" and r.content == b""


def test_request_headers_are_rewritten(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    r = requests.get(s.url("/echo"), headers={
        "X-Forwarded-For": "203.0.113.7", "Connection": "keep-alive, X-Private", "X-Private": "secret",
        "Keep-Alive": "timeout=1", "TE": "trailers", "Proxy-Authorization": "Basic x", "X-Custom": "kept",
        "Host": "www.example.com:8080"}, timeout=5)
    h = echo(r)["h"]
    assert h["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "www.example.com:8080"
    assert h["host"] == "www.example.com:8080", "preserve_host keeps the client's Host"
    assert h["x-custom"] == "kept"
    for gone in ("x-private", "keep-alive", "te", "proxy-authorization", "transfer-encoding", "upgrade"):
        assert gone not in h, gone


def test_host_set_to_the_upstream_and_strip_prefix(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec], extra_route="preserve_host = false\nstrip_prefix = true").replace('path = "/"', 'path = "/api/"'))
    h = echo(requests.get(s.url("/api/echo/x?q=1"), headers={"Host": "client.example"}, timeout=5))
    assert h["path"] == "/echo/x?q=1"
    assert h["h"]["host"] == f"127.0.0.1:{up.address}"
    assert requests.get(s.url("/elsewhere"), timeout=5).status_code == 404


def test_response_hop_by_hop_headers_are_dropped(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    r = requests.get(s.url("/hop"), timeout=5)
    assert r.text == "hop"
    assert r.headers["X-Kept"] == "yes"
    for gone in ("X-Secret", "Keep-Alive", "Proxy-Authenticate"):
        assert gone not in r.headers
    assert r.headers["Server"].startswith("evprefork/"), "the upstream's Server header is replaced"


def test_unix_socket_upstream(server, upstreams, tmp_path):
    up = upstreams("unix", tmp_path / "up.sock")
    s = server(conf([up.spec]))
    doc = echo(requests.get(s.url("/echo/unix"), timeout=5))
    assert doc["path"] == "/echo/unix"


def test_keepalive_reuses_upstream_connections(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec], extra_route="keepalive = 4"))
    before = up.stats()
    for _ in range(200):
        assert requests.get(s.url("/echo"), headers={"Connection": "close"}, timeout=5).status_code == 200
    after = up.stats()
    requests_seen = after["requests"] - before["requests"] - 1
    connections = after["connections"] - before["connections"] - 1
    assert requests_seen == 200
    assert connections <= 5, f"{connections} upstream connections for 200 requests"


def test_idle_connections_above_keepalive_are_closed_after_a_second(server, upstreams):
    """A burst needs more upstream connections than `keepalive`; they are
    reused by the next burst, and the surplus is closed once idle for a second."""
    up = upstreams()
    s = server(conf([up.spec], extra_route="keepalive = 2"))
    worker = s.wait_workers(1)[0]
    assert requests.get(s.url("/echo"), timeout=5).status_code == 200

    def fds():
        return len(os.listdir(f"/proc/{worker}/fd"))
    base = fds()
    burst = [threading.Thread(target=requests.get, args=(s.url("/sleep?s=0.3"),), kwargs={"timeout": 5})
             for _ in range(12)]
    for t in burst:
        t.start()
    for t in burst:
        t.join()
    # base has one idle upstream connection; keepalive allows two.
    assert fds() >= base + 4, "the burst's upstream connections wait, idle, for the next burst"
    wait_for(lambda: fds() <= base + 1, timeout=3, what="idle upstream connections trimmed to keepalive")
    assert up.stats()["connections"] <= 13


def test_idle_upstream_connections_close_after_read_timeout(server, upstreams):
    """As nginx's keepalive_timeout: a pooled connection idle for read_timeout is closed."""
    up = upstreams()
    s = server(conf([up.spec], read_timeout=1))
    worker = s.wait_workers(1)[0]

    def fds():
        return len(os.listdir(f"/proc/{worker}/fd"))
    base = fds()
    assert requests.get(s.url("/echo"), headers={"Connection": "close"}, timeout=5).status_code == 200
    wait_for(lambda: fds() == base + 1, timeout=0.5, what="the upstream connection waits in the pool")
    t0 = time.monotonic()
    wait_for(lambda: fds() == base, timeout=3, what="the idle upstream connection closed")
    assert 0.5 < time.monotonic() - t0 < 2.5
    before = up.stats()["connections"]
    assert requests.get(s.url("/echo"), timeout=5).status_code == 200
    assert up.stats()["connections"] == before + 2, "a new connection (and the stats request's own)"


def test_churn_through_an_upstream_restart_leaks_no_descriptors(server, upstreams):
    """Keep-alive and closing clients, eight at once, then the upstream dies
    (502s) and comes back on the same port: the worker ends with its
    descriptors back at the start plus the pooled connections."""
    up = upstreams()
    s = server(conf([up.spec], extra_route="keepalive = 4"))
    worker = s.wait_workers(1)[0]

    def fds():
        return len(os.listdir(f"/proc/{worker}/fd"))
    base = fds()

    def client(close):
        with requests.Session() as session:
            for _ in range(60):
                headers = {"Connection": "close"} if close else {}
                assert session.get(s.url("/echo"), headers=headers, timeout=5).status_code == 200
    threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    port = up.address
    up.stop()
    for _ in range(20):
        assert requests.get(s.url("/echo"), headers={"Connection": "close"}, timeout=5).status_code == 502
    upstreams(address=port)
    for _ in range(20):
        assert requests.get(s.url("/echo"), headers={"Connection": "close"}, timeout=5).status_code == 200
    # Idle connections above keepalive close after a second; the clients' are gone.
    wait_for(lambda: fds() <= base + 4, timeout=4, what=f"descriptors back to {base} + 4 pooled (now {fds()})")


def test_keepalive_zero_opens_one_connection_per_request(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec], extra_route="keepalive = 0"))
    before = up.stats()
    for _ in range(20):
        requests.get(s.url("/echo"), timeout=5)
    assert up.stats()["connections"] - before["connections"] - 1 >= 20


def test_502_when_nothing_listens(server):
    s = server(conf([f"127.0.0.1:{free_port()}"]))
    r = requests.get(s.url("/x"), timeout=5)
    assert r.status_code == 502
    assert "502 Bad Gateway" in r.text
    assert requests.get(s.url("/status"), timeout=5).status_code == 200, "the worker lives on"


def test_504_when_the_upstream_is_slow(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    t0 = time.monotonic()
    r = requests.get(s.url("/sleep?s=4"), timeout=10)
    assert r.status_code == 504
    assert 1.8 < time.monotonic() - t0 < 3.5


def test_one_of_two_upstreams_down_is_invisible(server, upstreams):
    up = upstreams(name="alive")
    s = server(conf([f"127.0.0.1:{free_port()}", up.spec], extra_route='fail_timeout = "30s"'))
    for _ in range(50):
        r = requests.get(s.url("/echo"), timeout=5)
        assert r.status_code == 200
        assert r.headers["X-Upstream"] == "alive"
    assert "marked down" in s.log()


def test_post_is_retried_only_when_nothing_was_sent(server, upstreams):
    up = upstreams()
    # The first upstream refuses: nothing was sent, so even a POST moves on.
    s = server(conf([f"127.0.0.1:{free_port()}", up.spec]))
    for _ in range(4):
        assert requests.post(s.url("/echo"), data=b"x", timeout=5).status_code == 201


def test_upstream_dying_mid_body_breaks_the_response(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        r = requests.get(s.url("/die?n=50000"), timeout=5)
        r.content  # noqa: B018 — reading the body is what must fail
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    conn.request("GET", "/die?n=1000")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Length") == "2000"
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    # The head alone, then the upstream closes: the client still gets the head, then the close.
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    conn.request("GET", "/die?n=0&promise=10")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Length") == "10"
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    assert requests.get(s.url("/echo"), timeout=5).status_code == 200


def test_chunked_responses(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    r = requests.get(s.url("/chunked"), timeout=5)
    assert r.text == "one,two,three"
    assert r.headers.get("Transfer-Encoding") == "chunked"
    big = requests.get(s.url("/big?n=3000000&chunked=1"), timeout=10).content
    assert len(big) == 3000000
    assert big[:512] == bytes(range(256)) * 2
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    conn._http_vsn, conn._http_vsn_str = 10, "HTTP/1.0"
    conn.request("GET", "/chunked")
    resp = conn.getresponse()
    assert resp.read() == b"one,two,three", "an HTTP/1.0 client gets the body delimited by close"


def _read_until_close(sock):
    data = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece


def test_http10_keepalive_client_and_a_body_of_unknown_length(server, upstreams):
    """The body can only end with the connection: the answer says so, with no length at all."""
    up = upstreams()
    s = server(conf([up.spec]))
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        c.sendall(b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head, _, body = _read_until_close(c).partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    assert b"connection: close" in lines
    assert not any(h.startswith((b"content-length", b"transfer-encoding")) for h in lines), head
    assert body == b"one,two,three"


def test_http10_keepalive_client_keeps_its_connection_for_known_lengths(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec]))
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        for n in (5, 7):
            c.sendall(b"GET /big?n=%d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % n)
            data = b""
            while not data.endswith(bytes(range(n))):
                data += c.recv(65536)
            head = data.split(b"\r\n\r\n")[0].lower().split(b"\r\n")
            assert b"connection: keep-alive" in head and b"content-length: %d" % n in head


@pytest.mark.parametrize("code", [204, 304])
def test_bodiless_answers_and_head_keep_the_connection(server, upstreams, code):
    up = upstreams()
    s = server(conf([up.spec]))
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    conn.request("GET", f"/code?c={code}")
    r = conn.getresponse()
    assert r.status == code and r.read() == b""
    assert r.getheader("Transfer-Encoding") is None and r.getheader("ETag") == '"v1"'
    conn.request("HEAD", "/big?n=100")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Length") == "100" and r.read() == b""
    conn.request("GET", "/big?n=3")
    r = conn.getresponse()
    assert r.read() == bytes(range(3)), "the same connection serves on"
    conn.close()


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_256_mib_streams_with_flat_worker_memory(server, upstreams, chunked):
    up = upstreams()
    s = server(conf([up.spec], read_timeout=30))
    worker = s.wait_workers(1)[0]
    requests.get(s.url("/echo"), timeout=5)
    base = _rss_kib(worker)
    peak = base
    total = 0
    size = 256 << 20
    with requests.get(s.url(f"/big?n={size}{'&chunked=1' if chunked else ''}"), stream=True, timeout=30) as r:
        for piece in r.iter_content(1 << 20):
            total += len(piece)
            peak = max(peak, _rss_kib(worker))
    assert total == size
    assert peak - base < 10 * 1024, f"worker RSS grew {(peak - base) // 1024} MiB"


def test_a_slow_client_does_not_make_the_worker_buffer(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec], read_timeout=30))
    worker = s.wait_workers(1)[0]
    requests.get(s.url("/echo"), timeout=5)
    base = _rss_kib(worker)
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    sock.sendall(b"GET /big?n=104857600 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(2)  # read nothing: the upstream must be paused, not drained into memory
    grown = _rss_kib(worker) - base
    got = 0
    sock.settimeout(10)
    while got < 2 << 20:
        got += len(sock.recv(1 << 16))
    sock.close()
    assert grown < 10 * 1024, f"worker RSS grew {grown // 1024} MiB for a stalled client"
    assert requests.get(s.url("/echo"), timeout=5).status_code == 200


def test_nginx_as_upstream(server, tmp_path):
    port = free_port()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "hello.txt").write_text("hello from nginx\n")
    nconf = tmp_path / "nginx.conf"
    nconf.write_text(f"""
worker_processes 1;
user root;
error_log {tmp_path}/nginx-error.log;
pid {tmp_path}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port};
        root {tmp_path}/www;
        location /headers {{ return 200 "xff=$http_x_forwarded_for host=$host\\n"; }}
    }}
}}
""")
    nginx = subprocess.Popen(["/usr/sbin/nginx", "-p", str(tmp_path), "-c", str(nconf), "-g", "daemon off;"])
    try:
        wait_for(lambda: _connectable(port), 5, what="nginx")
        s = server(conf([f"127.0.0.1:{port}"]))
        r = requests.get(s.url("/hello.txt"), timeout=5)
        assert r.status_code == 200 and r.text == "hello from nginx\n"
        assert r.headers["Content-Type"] == "text/plain"
        assert "ETag" in r.headers
        assert requests.get(s.url("/missing"), timeout=5).status_code == 404
        assert requests.get(s.url("/headers"), headers={"Host": "a.example"}, timeout=5).text == "xff=127.0.0.1 host=a.example\n"
        r = requests.get(s.url("/hello.txt"), headers={"Range": "bytes=0-4"}, timeout=5)
        assert r.status_code == 206 and r.text == "hello"
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=5)


def _connectable(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def ws_upstream():
    proc = subprocess.Popen([sys.executable, str(HERE / "wsecho.py"), "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    assert line and line[0] == "ready", line
    yield int(line[1])
    proc.kill()
    proc.wait(timeout=5)


def test_websocket_through_the_proxy(server, ws_upstream):
    s = server(conf([f"127.0.0.1:{ws_upstream}"]))

    async def talk():
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/chat", max_size=None) as ws:
            for msg in ["hello", "", "ü" * 1000, b"\x00\x01\x02", bytes(300000)]:
                await ws.send(msg)
                assert await ws.recv() == msg
            await ws.close(code=1000, reason="bye")
            return ws.close_code
    assert asyncio.run(talk()) == 1000
    # Many at once, and the worker still serves plain requests.
    async def many():
        async def one(i):
            async with websockets.connect(f"ws://127.0.0.1:{s.port}/m") as ws:
                await ws.send(f"m{i}")
                return await ws.recv()
        return await asyncio.gather(*(one(i) for i in range(20)))
    assert asyncio.run(many()) == [f"m{i}" for i in range(20)]


def test_websocket_tunnel_idles_out(server, ws_upstream):
    s = server(conf([f"127.0.0.1:{ws_upstream}"]))

    async def idle():
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/idle", ping_interval=None) as ws:
            t0 = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return time.monotonic() - t0
    assert 2.5 < asyncio.run(idle()) < 5


def test_websocket_upstream_closing_propagates(server, ws_upstream):
    s = server(conf([f"127.0.0.1:{ws_upstream}"]))
    worker = s.wait_workers(1)[0]
    fds_before = len(os.listdir(f"/proc/{worker}/fd"))

    async def cycle():
        for _ in range(50):
            async with websockets.connect(f"ws://127.0.0.1:{s.port}/c") as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
    asyncio.run(cycle())
    wait_for(lambda: len(os.listdir(f"/proc/{worker}/fd")) <= fds_before + 4, 5, what="tunnel fds released")


def test_connect_timeout_moves_on_then_502(server, upstreams):
    # A listener whose accept queue is full drops SYNs: connecting hangs.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    port = full.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.2)
    try:
        s = server(conf([f"127.0.0.1:{port}"]))
        t0 = time.monotonic()
        r = requests.get(s.url("/x"), timeout=10)
        assert r.status_code == 502
        assert 0.8 < time.monotonic() - t0 < 3
        s.stop()
        up = upstreams(name="second")
        s.rewrite(conf([f"127.0.0.1:{port}", up.spec]))
        s.start()
        t0 = time.monotonic()
        r = requests.get(s.url("/echo"), timeout=10)
        assert r.status_code == 200 and r.headers["X-Upstream"] == "second"
        assert 0.8 < time.monotonic() - t0 < 3, "one connect_timeout, then the next upstream"
    finally:
        for c in fillers:
            c.close()
        full.close()


def test_a_down_upstream_comes_back_after_fail_timeout(server, upstreams):
    port = free_port()
    alive = upstreams(name="b")
    s = server(conf([f"127.0.0.1:{port}", alive.spec], extra_route='fail_timeout = "1s"'))
    for _ in range(6):
        assert requests.get(s.url("/echo"), timeout=5).headers["X-Upstream"] == "b"
    back = upstreams(address=port, name="a")
    time.sleep(1.2)
    seen = {requests.get(s.url("/echo"), timeout=5).headers["X-Upstream"] for _ in range(10)}
    assert seen == {"a", "b"}, "round-robin over both once the first is back"
    assert back.address == str(port)


def test_strip_prefix_follows_the_normalised_path(server, upstreams):
    up = upstreams()
    s = server(conf([up.spec], extra_route="strip_prefix = true").replace('path = "/"', 'path = "/api/"'))
    assert echo(requests.get(s.url("/%61pi/x%20y?q=1"), timeout=5))["path"] == "/x%20y?q=1"
    assert echo(requests.get(s.url("/api/./b/../c"), timeout=5))["path"] == "/c"
