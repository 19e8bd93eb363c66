"""Limits and timeouts with real clients: 431, 413, 414, request_timeout
(slowloris), keep_alive_timeout, keep_alive_requests, and refused requests in
the access log. One server for the module."""
import http.client
import re
import socket
import time

import pytest
import requests

from evp import FAST, Server, wait_for

REQUEST_TIMEOUT = 1.5
KEEP_ALIVE_TIMEOUT = 1.0
# The sweeper checks deadlines every min(0.25, shortest timeout / 4) seconds.
TICK = 0.25
SLACK = 0.5  # scheduling on a loaded 2-core machine

CONF = f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = 1
max_header_size = "2KB"
max_body_size = "1KB"
request_timeout = {REQUEST_TIMEOUT}
keep_alive_timeout = {KEEP_ALIVE_TIMEOUT}
keep_alive_requests = 3
{FAST}

[log]
access_log = "access.log"

[[route]]
path = "/"
type = "return"
status = 200
body = "ok"
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory, evprefork_bin):
    s = Server(tmp_path_factory.mktemp("limits"), CONF)
    try:
        s.start()
        s.wait_workers(1)
        yield s
    finally:
        s.stop()


def access_log(srv):
    path = srv.dir / "access.log"
    return path.read_text() if path.exists() else ""


def wait_access(srv, pattern):
    return wait_for(lambda: re.search(pattern, access_log(srv), re.M), 5, what=f"access log /{pattern}/")


def assert_error_page(r, status):
    assert r.status_code == status
    assert r.headers["Server"].startswith("evprefork/")
    assert "Date" in r.headers
    assert r.headers["Content-Type"].startswith("text/html")
    assert f"<title>{status} " in r.text
    assert r.headers.get("Connection", "").lower() == "close"


def test_big_header_is_431(srv):
    r = requests.get(srv.url("/"), headers={"X-Big": "b" * 3000}, timeout=5)
    assert_error_page(r, 431)
    r = requests.get(srv.url("/"), headers={f"X-H{i}": "v" * 40 for i in range(60)}, timeout=5)
    assert_error_page(r, 431)
    assert requests.get(srv.url("/"), headers={"X-Fits": "f" * 1500}, timeout=5).status_code == 200


def test_big_body_is_413_and_the_upload_is_drained(srv):
    # The answer comes after the head; the body the client still sends is
    # read and dropped (lingering close), so the client sees the 413, not a reset.
    r = requests.post(srv.url("/upload"), data=b"x" * 200_000, timeout=5)
    assert_error_page(r, 413)

    def chunks():
        for _ in range(40):
            yield b"y" * 100
    r = requests.post(srv.url("/upload"), data=chunks(), timeout=5)  # chunked, 4000 bytes
    assert_error_page(r, 413)
    assert requests.post(srv.url("/upload"), data=b"z" * 1024, timeout=5).status_code == 200


def test_long_uri_is_414(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("GET", "/" + "u" * 9000)
    r = conn.getresponse()
    body = r.read().decode()
    assert r.status == 414
    assert r.getheader("Server").startswith("evprefork/")
    assert r.getheader("Date")
    assert "<title>414 URI Too Long</title>" in body
    conn.close()
    # Longer than max_header_size (2KB) is too long as well.
    assert requests.get(srv.url("/" + "u" * 2100), timeout=5).status_code == 414
    assert requests.get(srv.url("/" + "u" * 1900), timeout=5).status_code == 200


def read_until_closed(sock, limit):
    """Reads until the peer closes; returns (bytes, seconds waited)."""
    t0 = time.monotonic()
    data = b""
    sock.settimeout(limit)
    try:
        while True:
            b = sock.recv(4096)
            if not b:
                break
            data += b
    except ConnectionResetError:
        pass
    return data, time.monotonic() - t0


@pytest.mark.parametrize("start", [b"GET / HTTP/1.1\r\nHost: a\r\n", b"GET /"],
                         ids=["in-the-headers", "in-the-request-line"])
def test_slowloris_is_cut_off_at_request_timeout(srv, start):
    """Trickling inside the request line matters too: evhttp has taken
    nothing yet, and a GET may still become a direct request."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    t0 = time.monotonic()
    sock.sendall(start)
    closed_at = None
    try:
        # One header byte every 0.2 s: each resets evhttp's own idle timer,
        # never the total deadline.
        for _ in range(int((REQUEST_TIMEOUT + TICK + SLACK) / 0.2) + 5):
            time.sleep(0.2)
            sock.sendall(b"X")
            sock.settimeout(0.001)
            try:
                if sock.recv(4096) == b"":
                    closed_at = time.monotonic()
                    break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        closed_at = time.monotonic()
    sock.close()
    assert closed_at is not None, "the slow client was never cut off"
    elapsed = closed_at - t0
    assert REQUEST_TIMEOUT - 0.1 <= elapsed <= REQUEST_TIMEOUT + TICK + SLACK, elapsed
    # Like nginx: closed without an answer, logged as 408.
    wait_access(srv, r'"-" 408 0 ')
    assert requests.get(srv.url("/"), timeout=5).status_code == 200


def test_slow_body_is_cut_off_at_request_timeout(srv):
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nabc")
    data, waited = read_until_closed(sock, REQUEST_TIMEOUT + TICK + SLACK + 2)
    sock.close()
    assert data == b""
    assert REQUEST_TIMEOUT - 0.1 <= waited <= REQUEST_TIMEOUT + TICK + SLACK, waited


def test_idle_keep_alive_connection_is_closed_after_keep_alive_timeout(srv):
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    first = b""
    while not first.endswith(b"ok"):
        first += sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" not in first
    data, waited = read_until_closed(sock, KEEP_ALIVE_TIMEOUT + TICK + SLACK + 2)
    sock.close()
    assert data == b""
    assert KEEP_ALIVE_TIMEOUT - 0.1 <= waited <= KEEP_ALIVE_TIMEOUT + TICK + SLACK, waited


def test_a_connection_in_use_outlives_keep_alive_timeout(srv):
    # Requests 0.6 s apart for 1.8 s: each gap is shorter than keep_alive_timeout.
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for _ in range(2):
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.read() == b"ok"
        time.sleep(0.6)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"ok"
    conn.close()


def test_keep_alive_requests_ends_the_connection(srv):
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    answers = []
    for i in range(3):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        data = b""
        while not data.endswith(b"ok"):
            data += sock.recv(4096)
        answers.append(data)
    assert all(a.startswith(b"HTTP/1.1 200 OK") for a in answers)
    assert b"Connection: close" not in answers[0] and b"Connection: close" not in answers[1]
    assert b"Connection: close" in answers[2]
    data, waited = read_until_closed(sock, 2)
    assert data == b"" and waited < 1
    sock.close()
    # The same through a client library: the third answer says close.
    with requests.Session() as session:
        replies = [session.get(srv.url("/"), timeout=5) for _ in range(3)]
    assert [r.headers.get("Connection") for r in replies][2] == "close"


def test_refused_requests_are_logged(srv):
    requests.post(srv.url("/upload?big=1"), data=b"x" * 2000, timeout=5)
    wait_access(srv, r'^127\.0\.0\.1 - - \[[^]]+\] "POST /upload\?big=1 HTTP/1\.1" 413 \d+ "-" "-" \d+\.\d{3}$')
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n")
    data, _ = read_until_closed(sock, 5)
    sock.close()
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # A request line that never parsed is logged as "-", as nginx logs its 400s.
    wait_access(srv, r'^127\.0\.0\.1 - - \[[^]]+\] "-" 400 \d+ "-" "-" \d+\.\d{3}$')
    assert "request refused with 400" in srv.log()
