"""How workers read client sockets (Loop/ProbelessRead.swift): without the
ioctl(FIONREAD) libevent's bufferevent makes before every read, in reads of
up to 16 KiB, with EOF, errors and timeouts reported as libevent would.

The system-call counts are read with strace attached to the worker: one recv
and one send per keep-alive request, as nginx; no ioctl at all.
"""
import collections
import os
import re
import signal
import socket
import subprocess
import time

import json

import pytest

from evp import FAST, wait_for
from test_direct import Reader, get
from test_proxy import Upstream
import wsraw


def conf(root, up, keep_alive_requests=100000):
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = 1
keep_alive_requests = {keep_alive_requests}
max_body_size = "4MB"
{FAST}

[[route]]
path = "/fixed"
type = "return"
status = 200
body = "hello world\\n"

[[route]]
path = "/files/"
type = "static"
root = "{root}"

[[route]]
path = "/up/"
type = "proxy"
upstream = ["{up.spec}"]
strip_prefix = true

[[route]]
path = "/ws/echo"
type = "websocket"
mode = "echo"
"""


@pytest.fixture
def site(tmp_path, server):
    root = tmp_path / "www"
    root.mkdir()
    (root / "small.txt").write_bytes(b"s" * 100)
    up = Upstream("tcp", 0)
    s = server(conf(root, up))
    s.wait_workers(1)
    yield s, up
    up.stop()


class Strace:
    """strace -f on a worker, counting system calls by name until stopped."""

    def __init__(self, pid, path):
        self.path = path
        self.proc = subprocess.Popen(["strace", "-f", "-qq", "-o", str(path), "-p", str(pid)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # strace prints nothing once attached with -qq: wait until it traces a call of ours.

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        counts = collections.Counter()
        for line in self.path.read_text().splitlines():
            m = re.match(r"(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\(", line)
            if m:
                counts[m.group(1)] += 1
        return counts


def traced(s, tmp_path, sock, warmup, action):
    """Attaches strace to the only worker, waits until it sees the worker
    answer `warmup` on `sock`, runs `action`, and returns the call counts."""
    worker = s.workers()[0]
    trace = Strace(worker, tmp_path / "strace.out")
    r = Reader(sock)

    def attached():
        sock.sendall(warmup)
        r.response()
        text = (tmp_path / "strace.out").read_text() if (tmp_path / "strace.out").exists() else ""
        return "sendmsg(" in text or "sendto(" in text or "writev(" in text
    wait_for(attached, timeout=10, interval=0.1, what="strace attached to the worker")
    before = trace.path.read_text().count("\n")
    action(r)
    time.sleep(0.2)
    counts = trace.stop()
    return counts, before


def assert_one_recv_one_send_each(counts, n):
    """No ioctl at all; `n` exchanges took about `n` reads and `n` sends (the
    warm-up strace saw and a few heartbeats to the manager are the slack)."""
    assert counts["ioctl"] == 0, counts
    reads = counts["recvfrom"] + counts["read"] + counts["readv"]
    sends = counts["sendmsg"] + counts["sendto"] + counts["writev"] + counts["write"]
    assert n <= reads <= n + 40, counts
    assert n <= sends <= n + 40, counts


def test_a_keep_alive_request_costs_one_recv_and_one_send(site, tmp_path):
    s, _ = site
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    n = 300

    def requests_one_by_one(r):
        for _ in range(n):
            sock.sendall(get("/fixed"))
            status, _, body = r.response()
            assert status.endswith("200 OK") and body == b"hello world\n"
    counts, _ = traced(s, tmp_path, sock, get("/fixed"), requests_one_by_one)
    sock.close()
    assert_one_recv_one_send_each(counts, n)


def test_a_websocket_message_costs_one_recv_and_one_send(site, tmp_path):
    s, _ = site
    ws = wsraw.Conn(s.port).open()
    n = 200

    def messages(_):
        for i in range(n):
            ws.echo(f"message {i}".encode())
    http = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    counts, _ = traced(s, tmp_path, http, get("/fixed"), messages)
    ws.close_socket()
    http.close()
    assert_one_recv_one_send_each(counts, n)


def test_a_burst_larger_than_the_read_buffer_is_answered_in_order(site):
    # 4,000 pipelined requests, ~170 KiB: many reads of up to 16 KiB (max_single_read),
    # requests split across reads at every possible place.
    s, _ = site
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    r = Reader(sock)
    paths = [("/fixed", b"hello world\n"), ("/files/small.txt", b"s" * 100)]
    burst = b"".join(get(paths[i % 2][0] + f"?n={i}") for i in range(4000))
    assert len(burst) > 10 * (16 << 10)
    sock.sendall(burst)
    for i in range(4000):
        status, _, body = r.response()
        assert status.endswith("200 OK") and body == paths[i % 2][1], i
    sock.close()


def test_an_upload_in_one_send_and_in_tiny_pieces_arrives_whole(site):
    s, _ = site
    body = os.urandom(3 << 20)
    for piece in (len(body), 7):
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        head = (f"POST /up/echo/x HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        if piece == 7:
            # A slow trickle of a small body; the big one goes whole.
            small = body[:5000]
            head = head.replace(str(len(body)).encode(), str(len(small)).encode())
            sock.sendall(head)
            for i in range(0, len(small), piece):
                sock.sendall(small[i:i + piece])
            sent = small
        else:
            sock.sendall(head + body)
            sent = body
        status, _, answer = Reader(sock).response()
        assert status.split()[1] in ("200", "201"), status
        assert json.loads(answer)["body"].encode("latin-1") == sent
        sock.close()


def test_the_client_closing_mid_request_frees_the_connection(site):
    s, _ = site
    worker = s.workers()[0]
    fds = len(os.listdir(f"/proc/{worker}/fd"))
    for _ in range(200):
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        sock.sendall(b"GET /fixed HTTP/1.1\r\nHost:")
        sock.close()
    wait_for(lambda: len(os.listdir(f"/proc/{worker}/fd")) <= fds, timeout=5, what="fds back to the start")
    status, body = s.get("/fixed")
    assert status == 200 and body == "hello world\n"
