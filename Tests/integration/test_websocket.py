"""WebSocket routes (RFC 6455) with the `websockets` client as the real peer: echo from 0 bytes to
16 MiB, fragmented messages, pings, close codes, handshake refusals, the idle timeout, graceful QUIT,
a frame pipelined behind the handshake, and 10,000 connect/message/close cycles without fd or memory
growth in the worker."""
import asyncio
import os
import random
import signal
import socket
import struct
import threading
import time

import pytest
import requests
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wsraw
from evp import FAST, Server, alive, wait_for
from wsraw import Conn, accept_for, handshake_request

MiB = 1024 * 1024


def conf(extra_server="", workers=1, websocket_timeout=60):
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = {workers}
accepts = 0
websocket_timeout = {websocket_timeout}
{FAST}
{extra_server}

[[route]]
path = "/ws/echo"
type = "websocket"
mode = "echo"
max_message_size = "32MB"

[[route]]
path = "/ws/small"
type = "websocket"
mode = "echo"
max_message_size = "64KB"

[[route]]
path = "/ws/origin"
type = "websocket"
mode = "echo"
origins = ["https://Example.com", "http://localhost:8080"]

[[route]]
path = "/plain"
type = "return"
status = 200
body = "plain"
"""


@pytest.fixture(scope="module")
def ws_server(tmp_path_factory, evprefork_bin):
    s = Server(tmp_path_factory.mktemp("ws"), conf(), binary=evprefork_bin).start()
    try:
        s.worker = s.wait_workers(1)[0]
        yield s
    finally:
        s.stop()


def connect(s, path="/ws/echo", **kw):
    kw.setdefault("max_size", None)
    kw.setdefault("ping_interval", None)
    kw.setdefault("proxy", None)
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 5)
    return websockets.connect(f"ws://127.0.0.1:{s.port}{path}", **kw)


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def still_serves(s):
    async def one():
        async with connect(s) as ws:
            await ws.send("ping?")
            assert await ws.recv() == "ping?"
    run(one())
    assert s.workers() == [s.worker], "the worker was replaced (crashed?)"


def text_of(n, seed=0):
    """Exactly n bytes of UTF-8 with 1-, 2-, 3- and 4-byte characters."""
    r = random.Random(seed)
    alphabet = ["a", "b", " ", "é", "ß", "€", "語", "𝄞", "😀"]
    parts, size = [], 0
    while size < n:
        c = r.choice(alphabet)
        if size + len(c.encode()) > n:
            c = "x"
        parts.append(c)
        size += len(c.encode())
    s = "".join(parts)
    assert len(s.encode()) == n
    return s


# ---------------------------------------------------------------- echo

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, MiB, 4 * MiB + 3, 16 * MiB]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_echo(ws_server, kind, n):
    msg = text_of(n, seed=n) if kind == "text" else random.Random(n).randbytes(n)

    async def talk():
        async with connect(ws_server) as ws:
            await ws.send(msg)
            got = await ws.recv()
            assert type(got) is type(msg)
            assert len(got) == len(msg) and got == msg
            await ws.close()
            return ws.close_code
    assert run(talk()) == 1000


def test_many_messages_on_one_connection(ws_server):
    async def talk():
        async with connect(ws_server) as ws:
            msgs = [f"msg {i} " + "é" * (i % 50) if i % 2 else bytes([i % 256]) * i for i in range(500)]
            for m in msgs:          # all sent before reading: the server must keep their order
                await ws.send(m)
            for m in msgs:
                assert await ws.recv() == m
    run(talk())


def test_concurrent_connections(ws_server):
    async def one(i):
        async with connect(ws_server) as ws:
            for j in range(20):
                await ws.send(f"{i}:{j}")
                assert await ws.recv() == f"{i}:{j}"
    async def all_of_them():
        await asyncio.gather(*(one(i) for i in range(100)))
    run(all_of_them())
    still_serves(ws_server)


def test_over_max_message_size_closes_1009(ws_server):
    async def talk():
        async with connect(ws_server, "/ws/small") as ws:
            await ws.send("x" * (64 * 1024))
            assert await ws.recv() == "x" * (64 * 1024)
            try:
                await ws.send(b"y" * (64 * 1024 + 1))
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
            except ConnectionClosed:
                pass
            return ws.close_code
    assert run(talk()) == 1009
    still_serves(ws_server)


# ---------------------------------------------------------------- fragments, pings, close

def test_fragmented_text_and_binary(ws_server):
    async def talk():
        async with connect(ws_server) as ws:
            await ws.send(["frag", "men", "ted ", "κόσμε", "𝄞"])
            assert await ws.recv() == "fragmented κόσμε𝄞"
            await ws.send([b"\x00\x01", b"", b"\x02", b"\xff" * 70000])
            assert await ws.recv() == b"\x00\x01\x02" + b"\xff" * 70000

            async def pieces():
                for i in range(100):
                    yield f"{i},"
            await ws.send(pieces())
            assert await ws.recv() == "".join(f"{i}," for i in range(100))
            big = [random.Random(i).randbytes(MiB) for i in range(8)]
            await ws.send(big)
            assert await ws.recv() == b"".join(big)
            await ws.send(["€", ""])
            assert await ws.recv() == "€"
    run(talk())


def test_multibyte_character_split_across_fragments(ws_server):
    # The client library only sends whole str fragments, so cut the bytes with the raw client.
    data = "a€b𝄞c".encode()
    for cut in range(1, len(data)):
        with Conn(ws_server.port) as c:
            c.open()
            c.send(wsraw.fragments(wsraw.TEXT, [data[:cut], data[cut:]]))
            assert c.read_message() == ("text", data)


def test_ping_pong(ws_server):
    async def talk():
        async with connect(ws_server) as ws:
            latency = await ws.ping(b"")
            await asyncio.wait_for(latency, 5)
            waiters = [await ws.ping(f"p{i}".encode()) for i in range(10)]
            await asyncio.wait_for(asyncio.gather(*waiters), 5)
            w = await ws.ping(bytes(range(125)))
            await asyncio.wait_for(w, 5)
            # Pings in between messages do not disturb them.
            await ws.send("before")
            w = await ws.ping(b"middle")
            await ws.send("after")
            assert await ws.recv() == "before"
            assert await ws.recv() == "after"
            await asyncio.wait_for(w, 5)
            # An unsolicited pong is ignored.
            await ws.pong(b"unsolicited")
            await ws.send("still here")
            assert await ws.recv() == "still here"
    run(talk())


@pytest.mark.parametrize("code,reason", [(1000, ""), (1000, "bye"), (1001, "going"), (3000, "app"),
                                         (4000, "κόσμε"), (4999, "x" * 123)])
def test_clean_close_echoes_the_code(ws_server, code, reason):
    async def talk():
        async with connect(ws_server) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.close(code, reason)
            await ws.wait_closed()
            return ws.close_code, ws.protocol.close_sent.code
    assert run(talk()) == (code, code)


def test_server_closes_tcp_after_close_handshake(ws_server):
    with Conn(ws_server.port) as c:
        c.open()
        c.send(wsraw.close(1000, "done"))
        t0 = time.monotonic()
        c.expect_close(1000)
        assert time.monotonic() - t0 < 2


# ---------------------------------------------------------------- handshake

def raw_handshake(s, **kw):
    with Conn(s.port) as c:
        r = c.handshake(**kw)
        if r.status != 101 and kw.get("method") != "HEAD":
            c.read_body(timeout=2)
        return r, c.request


@pytest.mark.parametrize("variant", [
    dict(),
    dict(connection="keep-alive, Upgrade"),
    dict(connection="Upgrade, keep-alive"),
    dict(connection="UPGRADE"),
    dict(connection="keep-alive,upgrade"),
    dict(upgrade="WebSocket"),
    dict(upgrade="WEBSOCKET"),
    dict(key="dGhlIHNhbXBsZSBub25jZQ=="),     # RFC 6455's own example key
    dict(extra=[("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]),
], ids=["plain", "keep-alive-upgrade", "upgrade-keep-alive", "CONNECTION-CAPS", "no-space",
        "Upgrade-WebSocket", "UPGRADE-CAPS", "rfc-example-key", "extension-offered"])
def test_handshake_accepted(ws_server, variant):
    r, req = raw_handshake(ws_server, **variant)
    wsraw.check_101(r, req)
    if "key" in variant:
        assert r.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake_header_names_any_case(ws_server):
    key = wsraw.new_key()
    req = ("GET /ws/echo HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nCONNECTION: upgrade\r\n"
           f"sec-websocket-key: {key}\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n").encode()
    with Conn(ws_server.port) as c:
        r = c.handshake(request=req)
        assert r.status == 101
        assert r.header("Sec-WebSocket-Accept") == accept_for(key)
        c.echo("case-insensitive")


def test_handshake_in_tiny_pieces(ws_server):
    req = handshake_request()
    with Conn(ws_server.port) as c:
        c.send_chunked(req + wsraw.text("after a slow handshake"), 7, pause=0.002)
        wsraw.check_101(c.read_response(), req)
        assert c.read_message() == ("text", b"after a slow handshake")


def test_upgrade_after_a_keep_alive_request(ws_server):
    with Conn(ws_server.port) as c:
        c.send(b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and c.read_body() == b"plain"
        r = c.handshake()
        wsraw.check_101(r, c.request)
        c.echo("upgraded on a reused connection")


@pytest.mark.parametrize("version", [None, "8", "12", "14", "", "thirteen"])
def test_wrong_version_is_426(ws_server, version):
    r, _ = raw_handshake(ws_server, version=version)
    assert r.status == 426, r
    assert r.header("Sec-WebSocket-Version") == "13", r


def test_plain_get_is_426(ws_server):
    r = requests.get(ws_server.url("/ws/echo"), timeout=5)
    assert r.status_code == 426
    assert r.headers.get("Upgrade", "").lower() == "websocket"


@pytest.mark.parametrize("variant", [dict(upgrade=None), dict(connection=None), dict(connection="keep-alive"),
                                     dict(upgrade="h2c"), dict(connection="upgrades")],
                         ids=["no-upgrade", "no-connection", "connection-keep-alive", "upgrade-h2c",
                              "connection-upgrades-not-a-token"])
def test_missing_upgrade_is_426(ws_server, variant):
    r, _ = raw_handshake(ws_server, **variant)
    assert r.status == 426, r
    assert (r.header("Upgrade") or "").lower() == "websocket", r


@pytest.mark.parametrize("key", [None, "", "not base64!", "AAAAAAAAAAAAAAAAAAAA",  # 15 bytes
                                 "AAAAAAAAAAAAAAAAAAAAAAA=",  # 17 bytes
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # 24 bytes
                                 "dGhlIHNhbXBsZSBub25jZQ"],  # 16 bytes but unpadded
                         ids=["missing", "empty", "not-base64", "15-bytes", "17-bytes", "24-bytes", "unpadded"])
def test_bad_key_is_400(ws_server, key):
    kw = dict(omit=("Sec-WebSocket-Key",)) if key is None else dict(key=key)
    r, _ = raw_handshake(ws_server, **kw)
    assert r.status == 400, r


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_other_method_is_405(ws_server, method):
    r, _ = raw_handshake(ws_server, method=method, extra=[("Content-Length", "0")])
    assert r.status == 405, r


def test_plain_post_is_405(ws_server):
    assert requests.post(ws_server.url("/ws/echo"), data=b"x", timeout=5).status_code == 405


def test_http10_is_400(ws_server):
    r, _ = raw_handshake(ws_server, http="HTTP/1.0")
    assert r.status == 400, r


@pytest.mark.parametrize("origin", ["https://example.com", "HTTPS://EXAMPLE.COM", "https://Example.com",
                                    "http://localhost:8080"])
def test_origin_allowed(ws_server, origin):
    async def talk():
        async with connect(ws_server, "/ws/origin", origin=origin) as ws:
            await ws.send("from " + origin)
            return await ws.recv()
    assert run(talk()) == "from " + origin


@pytest.mark.parametrize("origin", ["https://evil.example", "https://example.com.evil.example",
                                    "https://example.com:443", "http://example.com", "null",
                                    "http://localhost:8081"])
def test_origin_refused_is_403(ws_server, origin):
    async def talk():
        with pytest.raises(InvalidStatus) as e:
            async with connect(ws_server, "/ws/origin", origin=origin):
                pass
        return e.value.response.status_code
    assert run(talk()) == 403
    r, _ = raw_handshake(ws_server, path="/ws/origin", origin=origin)
    assert r.status == 403


def test_refusals_leave_the_worker_serving(ws_server):
    for kw in (dict(version="8"), dict(key="short"), dict(method="POST"), dict(http="HTTP/1.0")):
        raw_handshake(ws_server, **kw)
    assert ws_server.get("/plain") == (200, "plain")
    still_serves(ws_server)


# ---------------------------------------------------------------- bytes right behind the handshake

def test_frame_pipelined_behind_handshake(ws_server):
    with Conn(ws_server.port) as c:
        c.open(after=wsraw.text("right behind the handshake"))
        assert c.read_message() == ("text", b"right behind the handshake")


def test_several_frames_pipelined_behind_handshake(ws_server):
    big = os.urandom(100000)
    after = (wsraw.text("one") + wsraw.ping("p") + wsraw.fragments(wsraw.BINARY, [b"tw", b"o"])
             + wsraw.binary(big) + wsraw.close(1000))
    with Conn(ws_server.port) as c:
        c.open(after=after)
        assert c.read_message() == ("text", b"one")
        kind, f = c.read_message()
        assert kind == "pong" and f.payload == b"p"
        assert c.read_message() == ("binary", b"two")
        assert c.read_message() == ("binary", big)
        c.expect_close(1000)


def test_partial_frame_behind_handshake_completed_later(ws_server):
    frame_ = wsraw.text("split between the handshake segment and the next")
    with Conn(ws_server.port) as c:
        c.open(after=frame_[:5])
        time.sleep(0.1)
        c.send(frame_[5:])
        assert c.read_message() == ("text", b"split between the handshake segment and the next")


def test_protocol_error_behind_handshake(ws_server):
    with Conn(ws_server.port) as c:
        c.open(after=wsraw.text("unmasked", mask=False))
        c.expect_close(1002)
    still_serves(ws_server)


# ---------------------------------------------------------------- idle timeout and graceful stop

def test_idle_timeout_closes_1001(server):
    s = server(conf(websocket_timeout=1))

    async def talk():
        async with connect(s) as ws:
            # Activity keeps it open past the timeout...
            for i in range(5):
                await asyncio.sleep(0.5)
                await ws.send(f"keep {i}")
                assert await ws.recv() == f"keep {i}"
            # ...then silence closes it.
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return time.monotonic() - t0, ws.close_code
    elapsed, code = run(talk())
    assert code == 1001
    assert 0.8 < elapsed < 1.5 + 0.5, elapsed   # websocket_timeout = 1, measured from the last echo


def test_idle_timeout_raw_close_handshake(server):
    s = server(conf(websocket_timeout=1))
    with Conn(s.port) as polite, Conn(s.port) as silent:
        polite.open()
        silent.open()
        t0 = time.monotonic()
        polite.expect_close(1001, timeout=3, tcp=False)
        assert time.monotonic() - t0 < 1.6
        # A client that answers the Close gets its TCP connection closed at once...
        polite.send(wsraw.close(1001))
        t1 = time.monotonic()
        polite.expect_closed(timeout=3)
        assert time.monotonic() - t1 < 0.5
        # ...one that never answers is closed anyway, after a bounded wait for its Close.
        silent.expect_close(1001, timeout=3, tcp=False)
        silent.expect_closed(timeout=10)
    with Conn(s.port) as c:   # and the worker still serves
        c.open()
        c.echo("after the timeout")


def test_quit_closes_websockets_1001_and_manager_exits_0(server):
    s = server(conf(workers=2))
    s.wait_workers(2)

    async def talk():
        socks = [await connect(s).__aenter__() for _ in range(6)]
        for i, ws in enumerate(socks):
            await ws.send(f"hi {i}")
            assert await ws.recv() == f"hi {i}"
        s.signal(signal.SIGQUIT)

        async def closed(ws):
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code
        return await asyncio.gather(*(closed(ws) for ws in socks))
    t0 = time.monotonic()
    assert run(talk()) == [1001] * 6
    assert s.wait_exit(10) == 0
    assert time.monotonic() - t0 < 5   # well before graceful_timeout would have had to kill anyone


def test_no_subprotocol_is_chosen_by_echo(ws_server):
    async def talk():
        async with connect(ws_server, subprotocols=["chat", "superchat"]) as ws:
            assert ws.subprotocol is None
            await ws.send("x")
            return await ws.recv()
    assert run(talk()) == "x"
    r, _ = raw_handshake(ws_server, extra=[("Sec-WebSocket-Protocol", "chat")])
    assert r.status == 101 and r.header("Sec-WebSocket-Protocol") is None


def test_query_string_is_ignored_by_the_route(ws_server):
    async def talk():
        async with connect(ws_server, "/ws/echo?room=1&x=%20") as ws:
            await ws.send("q")
            return await ws.recv()
    assert run(talk()) == "q"


def test_hup_reload_drains_old_worker_websockets_with_1001(server):
    s = server(conf(workers=1))
    old = s.wait_workers(1)

    async def talk():
        socks = [await connect(s).__aenter__() for _ in range(4)]
        for ws in socks:
            await ws.send("before reload")
            assert await ws.recv() == "before reload"
        s.signal(signal.SIGHUP)

        async def closed(ws):
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code
        codes = await asyncio.gather(*(closed(ws) for ws in socks))
        async with connect(s) as ws:
            await ws.send("after reload")
            assert await ws.recv() == "after reload"
        return codes
    assert run(talk()) == [1001] * 4
    wait_for(lambda: all(not alive(p) for p in old), 10, what="the old worker to exit")
    new = s.wait_workers(1)
    assert new != old


def test_backpressure_large_stream_both_ways(ws_server):
    """64 MiB of 1 MiB messages written as fast as possible while another thread reads the echoes."""
    msgs = [struct.pack("!I", i) * (MiB // 4) for i in range(64)]
    with Conn(ws_server.port, timeout=30) as c:
        c.open()
        errors = []

        def writer():
            try:
                for m in msgs:
                    c.sock.sendall(wsraw.binary(m))
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        t = threading.Thread(target=writer)
        t.start()
        for i, m in enumerate(msgs):
            kind, got = c.read_message(timeout=30)
            assert kind == "binary" and got == m, f"message {i}"
        t.join(30)
        assert not errors
        c.send(wsraw.close(1000))
        c.expect_close(1000)
    still_serves(ws_server)


def _nasty(port, i):
    """One badly behaved client; which kind depends on i."""
    kind = i % 8
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        if kind == 0:      # half a handshake, then gone
            sock.sendall(handshake_request()[:30])
        elif kind == 1:    # handshake, then a reset
            sock.sendall(handshake_request())
            sock.recv(4096)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == 2:    # handshake, half a frame, then gone
            sock.sendall(handshake_request() + wsraw.text("x" * 1000)[:300])
        elif kind == 3:    # protocol error, answer never read
            sock.sendall(handshake_request() + wsraw.frame(5, b"bad"))
        elif kind == 4:    # a 1 MiB message whose echo is never read, then a reset
            sock.sendall(handshake_request() + wsraw.binary(bytes(MiB)))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == 5:    # refused handshake
            sock.sendall(handshake_request(version="8"))
            sock.recv(4096)
        elif kind == 6:    # too big for /ws/small, declared in the header only
            sock.sendall(handshake_request(path="/ws/small") + wsraw.frame(wsraw.BINARY, b"", length=1 << 20))
            sock.recv(4096)
        else:              # a polite close that never waits for the answer
            sock.sendall(handshake_request() + wsraw.text("hi") + wsraw.close(1000))
    except OSError:
        pass
    finally:
        sock.close()


def test_badly_behaved_clients_leak_no_fds(server):
    s = server(conf(workers=1))
    worker = s.wait_workers(1)[0]
    for i in range(16):
        _nasty(s.port, i)
    still = Conn(s.port)
    still.open().echo("warm")
    still.close_socket()
    wait_for(lambda: fd_count(worker) <= 12, 10, what="warm-up connections closed")
    time.sleep(0.3)
    fds0, rss0 = fd_count(worker), rss_kib(worker)

    def lane(k):
        for i in range(k, 2000, 8):
            _nasty(s.port, i)
    threads = [threading.Thread(target=lane, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    # Every client closed or reset its end, so the worker must have let go of every one of them.
    wait_for(lambda: fd_count(worker) <= fds0, 10, what=f"worker fds back to {fds0} (now {fd_count(worker)})")
    assert s.workers() == [worker]
    assert rss_kib(worker) - rss0 < 8 * 1024
    with Conn(s.port) as c:
        c.open()
        c.echo("survived")


# ---------------------------------------------------------------- no leaks

def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_10000_cycles_no_fd_or_memory_growth(server):
    s = server(conf(workers=1))
    worker = s.wait_workers(1)[0]

    async def cycles(n, concurrency=64):
        counter = iter(range(n))

        async def lane():
            for i in counter:
                async with connect(s, compression=None) as ws:
                    msg = f"cycle {i}" if i % 2 else f"cycle {i}".encode()
                    await ws.send(msg)
                    assert await ws.recv() == msg
        await asyncio.gather(*(lane() for _ in range(concurrency)))

    run(cycles(1000), timeout=60)      # warm up: buffers, allocator arenas
    time.sleep(0.3)
    fds0, rss0 = fd_count(worker), rss_kib(worker)
    t0 = time.monotonic()
    run(cycles(10000), timeout=180)
    elapsed = time.monotonic() - t0
    # Every connection is closed by now on our side; give the worker a moment to finish its closes.
    wait_for(lambda: fd_count(worker) <= fds0, 5, what=f"worker fds back to {fds0} (now {fd_count(worker)})")
    rss1 = rss_kib(worker)
    assert s.workers() == [worker]
    assert rss1 - rss0 < 5 * 1024, f"VmRSS grew {rss0} -> {rss1} KiB over 10,000 cycles"
    print(f"10,000 cycles in {elapsed:.1f}s; fds {fds0} -> {fd_count(worker)}; VmRSS {rss0} -> {rss1} KiB")
