"""The direct path (HTTPServer+Direct.swift): bodyless GET and HEAD requests for
return, static and status routes are answered before evhttp parses them.

These tests mix direct answers with requests evhttp carries (proxy routes,
bodies, upgrades, heads split across reads) on one connection and check that
every answer comes whole, in order, with the right keep-alive decision, and
that what the client sends after a closing answer is never answered.
"""
import os
import re
import signal
import socket
import time

import pytest
import requests

from evp import FAST, wait_for
from test_proxy import Upstream

BIG = 3 << 20  # larger than any socket buffer here: its answer is queued, not sent at once


def conf(up, root, extra_server=""):
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = 1
max_body_size = "1MB"
{FAST}
{extra_server}

[log]
access_log = "{root.parent / 'access.log'}"

[[route]]
path = "/fixed"
type = "return"
status = 200
body = "hello world\\n"

[[route]]
path = "/gone"
type = "return"
status = 301
location = "/there"

[[route]]
path = "/typed"
type = "return"
status = 201
body = "{{\\"ok\\": true}}"
content_type = "application/json"

[[route]]
path = "/empty"
type = "return"
status = 204

[[route]]
path = "/files/"
type = "static"
root = "{root}"

[[route]]
path = "/up/"
type = "proxy"
upstream = ["{up.spec}"]
strip_prefix = true
"""


@pytest.fixture
def site(tmp_path, server):
    root = tmp_path / "www"
    root.mkdir()
    (root / "small.txt").write_bytes(b"s" * 100)
    (root / "big.bin").write_bytes(os.urandom(BIG))
    up = Upstream("tcp", 0)
    s = server(conf(up, root))
    yield s, root, up
    up.stop()


class Reader:
    """Reads HTTP/1.1 responses one after another off a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0]
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        status = int(status_line.split()[1])
        if head_request or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            body = b""
        return status_line, headers, body

    def closed(self, timeout=3):
        """True when the server closes without sending anything more."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return self.buf == b""
                self.buf += chunk
        except socket.timeout:
            return False


def connect(s):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    return sock, Reader(sock)


def get(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


def test_a_pipelined_mix_of_direct_and_evhttp_requests_answers_in_order(site):
    s, root, up = site
    sock, r = connect(s)
    burst = (get("/fixed") + get("/up/echo/1") + get("/files/small.txt")
             + b"POST /up/echo/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
             + b"HEAD /fixed HTTP/1.1\r\nHost: t\r\n\r\n" + get("/files/big.bin") + get("/fixed")
             + get("/nowhere"))
    sock.sendall(burst)
    status, h, body = r.response()
    assert (status, body) == ("HTTP/1.1 200 OK", b"hello world\n")
    status, h, body = r.response()
    assert status.endswith("200 OK") and b'"path": "/echo/1"' in body
    status, h, body = r.response()
    assert body == b"s" * 100 and h["content-length"] == "100"
    status, h, body = r.response()
    assert b"hello" in body and b"POST" in body
    status, h, body = r.response(head_request=True)
    assert status == "HTTP/1.1 200 OK" and h["content-length"] == "12"
    status, h, body = r.response()
    assert body == (root / "big.bin").read_bytes()
    status, h, body = r.response()
    assert body == b"hello world\n"
    status, h, body = r.response()
    assert status == "HTTP/1.1 404 Not Found"
    sock.close()


def test_a_queued_large_file_keeps_later_answers_behind_it(site):
    """The client reads nothing for a while: the big answer waits in the
    output buffer, and the direct answers after it must wait behind it."""
    s, root, up = site
    sock, r = connect(s)
    sock.sendall(get("/files/big.bin") + get("/fixed") + get("/files/small.txt"))
    time.sleep(0.5)
    sock.sendall(get("/up/echo/x") + get("/fixed"))
    time.sleep(0.3)
    assert r.response()[2] == (root / "big.bin").read_bytes()
    assert r.response()[2] == b"hello world\n"
    assert r.response()[2] == b"s" * 100
    assert b"/echo/x" in r.response()[2]
    assert r.response()[2] == b"hello world\n"
    # The connection is still good for more.
    sock.sendall(get("/fixed"))
    assert r.response()[2] == b"hello world\n"
    sock.close()


@pytest.mark.parametrize("proxied", ["/up/echo/x", "/up/code?c=204", "/up/chunked"])
def test_a_proxied_answer_behind_a_queued_download(site, proxied):
    """A download larger than both sockets' buffers still waits in the output
    buffer when a proxied answer comes behind it: that answer must end (and
    the connection serve on) once the download is out."""
    s, root, up = site
    huge = root / "huge.bin"
    with open(huge, "wb") as f:
        f.truncate(24 << 20)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)  # before connect: no autotuning past it
    sock.settimeout(10)
    sock.connect(("127.0.0.1", s.port))
    r = Reader(sock)
    sock.sendall(get("/files/huge.bin"))
    time.sleep(0.3)
    sock.sendall(get(proxied) + get("/fixed"))
    time.sleep(0.3)
    line, _, body = r.response()
    assert line == "HTTP/1.1 200 OK" and len(body) == 24 << 20
    line, _, body = r.response()
    assert line.split()[1] == ("204" if "code" in proxied else "200")
    if "chunked" in proxied:
        assert body == b"one,two,three"
    assert r.response()[2] == b"hello world\n"
    sock.sendall(get("/fixed"))
    assert r.response()[2] == b"hello world\n"
    sock.close()


def test_connection_close_ends_the_connection_and_drops_what_follows(site):
    s, root, up = site
    sock, r = connect(s)
    sock.sendall(get("/fixed", b"Connection: close\r\n") + get("/fixed"))
    status, h, body = r.response()
    assert body == b"hello world\n" and h["connection"] == "close"
    assert r.closed()
    sock.close()


def test_a_closing_large_answer_is_sent_whole_before_the_close(site):
    s, root, up = site
    sock, r = connect(s)
    sock.sendall(get("/files/big.bin", b"Connection: close\r\n") + get("/fixed"))
    time.sleep(0.3)
    status, h, body = r.response()
    assert h["connection"] == "close" and body == (root / "big.bin").read_bytes()
    assert r.closed()
    sock.close()


def test_http10_gets_an_http11_status_line_and_closes_unless_kept_alive(site):
    s, root, up = site
    sock, r = connect(s)
    sock.sendall(b"GET /fixed HTTP/1.0\r\n\r\n")
    status, h, body = r.response()
    assert status == "HTTP/1.1 200 OK" and h["connection"] == "close" and body == b"hello world\n"
    assert r.closed()
    sock.close()

    sock, r = connect(s)
    for _ in range(3):
        sock.sendall(b"GET /files/small.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        status, h, body = r.response()
        assert h["connection"] == "keep-alive" and body == b"s" * 100
    sock.close()


def test_requests_split_across_reads_are_answered(site):
    """A head that arrives in pieces is left to evhttp (which may take its
    first line); whole requests after it are direct again."""
    s, root, up = site
    sock, r = connect(s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for piece in [b"GET /fi", b"xed HTTP/1.1\r\nHo", b"st: t\r\n", b"\r\n"]:
        sock.sendall(piece)
        time.sleep(0.05)
    assert r.response()[2] == b"hello world\n"
    # A whole request followed by the start of another in one packet.
    sock.sendall(get("/fixed") + b"GET /files/sm")
    assert r.response()[2] == b"hello world\n"
    time.sleep(0.05)
    sock.sendall(b"all.txt HTTP/1.1\r\nHost: t\r\n\r\n")
    assert r.response()[2] == b"s" * 100
    for _ in range(3):
        sock.sendall(get("/fixed"))
        assert r.response()[2] == b"hello world\n"
    sock.close()


def test_keep_alive_requests_ends_the_connection_after_that_many(tmp_path, server):
    root = tmp_path / "www"
    root.mkdir()
    up = Upstream("tcp", 0)
    try:
        s = server(conf(up, root, extra_server="keep_alive_requests = 3"))
        sock, r = connect(s)
        sock.sendall(get("/fixed") * 4)
        assert "connection" not in r.response()[1]
        assert "connection" not in r.response()[1]
        status, h, body = r.response()
        assert h["connection"] == "close" and body == b"hello world\n"
        assert r.closed()
        sock.close()
    finally:
        up.stop()


def test_a_bad_request_after_direct_ones_is_refused_after_their_answers(site):
    s, root, up = site
    sock, r = connect(s)
    sock.sendall(get("/fixed") + get("/files/small.txt")
                 + b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + get("/fixed"))
    assert r.response()[2] == b"hello world\n"
    assert r.response()[2] == b"s" * 100
    status, h, body = r.response()
    assert status == "HTTP/1.1 400 Bad Request" and h["connection"] == "close"
    assert r.closed()
    sock.close()


def test_a_websocket_upgrade_after_direct_requests(site):
    """An upgrade request is evhttp's (here a proxy route to a plain HTTP
    upstream that refuses it); direct answers before and after it stay in order."""
    s, root, up = site
    sock, r = connect(s)
    sock.sendall(get("/fixed") + get("/up/echo/u", b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                     b"Sec-WebSocket-Version: 13\r\n"))
    assert r.response()[2] == b"hello world\n"
    status, h, body = r.response()
    assert b"/echo/u" in body
    sock.sendall(get("/fixed"))
    assert r.response()[2] == b"hello world\n"
    sock.close()


def test_direct_answers_are_logged_and_counted(site):
    s, root, up = site
    for _ in range(5):
        assert requests.get(s.url("/fixed"), timeout=5).text == "hello world\n"
    sock, r = connect(s)
    sock.sendall(b"HEAD /files/small.txt HTTP/1.1\r\nHost: t\r\nUser-Agent: probe/1\r\nReferer: http://r/\r\n\r\n")
    r.response(head_request=True)
    sock.close()
    log = root.parent / "access.log"
    wait_for(lambda: log.exists() and "probe/1" in log.read_text(), what="the access log line")
    lines = log.read_text().splitlines()
    assert sum('"GET /fixed HTTP/1.1" 200 12 ' in line for line in lines) == 5
    assert any(re.search(r'"HEAD /files/small.txt HTTP/1.1" 200 0 "http://r/" "probe/1"', line) for line in lines)


def test_draining_lets_a_queued_download_finish(site):
    """QUIT while a direct answer still waits in the output buffer: it is
    written whole, then the connection closes and the worker exits."""
    s, root, up = site
    worker = s.wait_workers(1)[0]
    sock, r = connect(s)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(get("/files/big.bin"))
    time.sleep(0.3)
    os.kill(worker, signal.SIGQUIT)
    time.sleep(0.5)
    status, h, body = r.response()
    assert body == (root / "big.bin").read_bytes()
    assert r.closed(timeout=5)
    sock.close()
    wait_for(lambda: worker not in s.workers(), what="the drained worker to exit")


def test_fds_stay_flat_over_many_direct_connections(site):
    s, root, up = site
    worker = s.wait_workers(1)[0]

    def fds():
        return len(os.listdir(f"/proc/{worker}/fd"))
    for _ in range(20):
        requests.get(s.url("/fixed"), timeout=5)
    before = fds()
    for i in range(400):
        sock, r = connect(s)
        path = "/files/big.bin" if i % 50 == 0 else "/fixed"
        extra = b"Connection: close\r\n" if i % 2 else b""
        sock.sendall(get(path, extra))
        r.response()
        sock.close()
    wait_for(lambda: fds() <= before, timeout=5, what="fds back to the idle count")


@pytest.mark.parametrize("path", ["/fixed", "/gone", "/typed", "/empty"])
def test_a_return_route_answers_alike_directly_and_through_evhttp(site, path):
    """A return route's answer is prepared once at set-up for the direct path;
    evhttp (a request with a body) must get the same status, headers and body."""
    s, _, _ = site
    sock, r = connect(s)
    answers = []
    for request, head in [(get(path), False), (get(path, b"Content-Length: 3\r\n") + b"abc", False),
                          (get(path).replace(b"GET", b"HEAD", 1), True)]:
        sock.sendall(request)
        status_line, headers, body = r.response(head_request=head)
        assert headers.pop("date")
        answers.append((status_line, headers, body))
    sock.close()
    (direct, via_evhttp, head) = answers
    assert direct == via_evhttp
    assert head == (direct[0], direct[1], b"")
    status = int(direct[0].split()[1])
    expected = {"/fixed": (200, "text/plain; charset=utf-8", b"hello world\n"),
                "/gone": (301, "text/html", None), "/typed": (201, "application/json", b'{"ok": true}'),
                "/empty": (204, None, b"")}[path]
    assert status == expected[0]
    assert direct[1].get("content-type") == expected[1]
    if path == "/gone":
        assert direct[1]["location"] == "/there" and b"<h1>301 Moved Permanently</h1>" in direct[2]
    else:
        assert direct[2] == expected[2]
    if status != 204:
        assert direct[1]["content-length"] == str(len(direct[2]))

