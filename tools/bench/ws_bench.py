#!/usr/bin/env python3
"""WebSocket echo throughput for `make bench`.

Opens CONNS connections to URL (spread over PROCS client processes), and on
each one sends a text message and waits for its echo, again and again, for
DURATION seconds after every connection is open. Every echo is compared with
what was sent. Prints one JSON object: round trips, messages per second (one
round trip = one message echoed), failures, and the CPU the client used.

Two clients:
  --client raw         (default) asyncio transports speaking RFC 6455 directly:
                       the handshake is checked (101 and Sec-WebSocket-Accept),
                       the masked frame is encoded once, and each echo must be
                       exactly the server's unmasked frame of the same text.
                       Cheaper than the library, yet still about three times
                       the CPU per message of the C client that `make bench`
                       uses (tools/bench/ws-client/ws_bench.c).
  --client websockets  the `websockets` library: a full client, but its cost
                       per message is about that of the servers measured.

    ws_bench.py ws://127.0.0.1:8080/ws/echo --conns 64 --duration 10
"""
import argparse
import asyncio
import base64
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import time
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def client_frame(payload: bytes, mask: bytes) -> bytes:
    """A masked text frame (FIN set) as a client must send it."""
    n = len(payload)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def server_frame(payload: bytes) -> bytes:
    """The unmasked text frame a server sends back with the same payload."""
    n = len(payload)
    if n < 126:
        return bytes([0x81, n]) + payload
    if n < 65536:
        return bytes([0x81, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x81, 127]) + n.to_bytes(8, "big") + payload


class RawEcho(asyncio.Protocol):
    def __init__(self, host, path, frame, expect, window, start_at, stop_at, finished):
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.frame, self.expect = frame, expect
        self.start_at, self.stop_at = start_at, stop_at
        self.finished = finished
        self.buf = bytearray()
        self.open = False
        self.count = 0
        self.error = None
        self.window = window
        self.stopping = False
        self.inflight = 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def fail(self, why):
        if self.error is None and not self.finished.done():
            self.error = why
            self.transport.abort()
            self.finished.set_result(self)

    def finish(self):
        if not self.finished.done():
            # a masked close frame with status 1000
            self.transport.write(bytes([0x88, 0x82, 0, 0, 0, 0]) + (1000).to_bytes(2, "big"))
            self.transport.close()
            self.finished.set_result(self)

    def begin(self):
        self.transport.write(self.frame * self.window)

    def data_received(self, data):
        if not self.open:
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            accept = base64.b64encode(hashlib.sha1((self.key + GUID).encode()).digest()).decode()
            fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in head[1:] if ":" in l}
            if " 101 " not in head[0] + " " or fields.get("sec-websocket-accept") != accept:
                return self.fail(f"bad handshake answer: {head[0]!r}")
            self.open = True
            del self.buf[:end + 4]
            loop = asyncio.get_running_loop()
            loop.call_at(max(loop.time(), self.start_at), self.begin)
            if not self.buf:
                return
            data = b""
        # Echoes come back in order, in any chunking: each must be exactly `expect`.
        buf = self.buf
        buf += data
        n = len(self.expect)
        k = len(buf) // n
        if k == 0:
            return
        if buf[:k * n] != self.expect * k:
            return self.fail(f"unexpected bytes from the server: {bytes(buf[:40])!r}")
        del buf[:k * n]
        self.count += k
        if self.stopping:
            self.inflight -= k
            if self.inflight == 0:
                self.finish()
        elif asyncio.get_running_loop().time() < self.stop_at:
            self.transport.write(self.frame * k)
        else:
            self.stopping = True
            self.inflight = self.window - k
            if self.inflight == 0:
                self.finish()

    def connection_lost(self, exc):
        if not self.finished.done():
            self.error = f"connection lost: {exc}"
            self.finished.set_result(self)


async def raw_client(url, conns, size, window, start_at, stop_at):
    u = urllib.parse.urlsplit(url)
    payload = (b"x" * size)
    frame, expect = client_frame(payload, os.urandom(4)), server_frame(payload)
    loop = asyncio.get_running_loop()
    # wall-clock start/stop (monotonic, shared by every process) to loop time
    offset = loop.time() - time.monotonic()
    protos = []
    for _ in range(conns):
        fut = loop.create_future()
        try:
            _, proto = await loop.create_connection(
                lambda: RawEcho(u.netloc, u.path or "/", frame, expect, window, start_at + offset, stop_at + offset, fut),
                u.hostname, u.port or 80)
            protos.append(proto)
        except OSError as exc:
            return [], [f"connect: {exc}"]
    await asyncio.wait_for(asyncio.gather(*(p.finished for p in protos)), stop_at - time.monotonic() + 30)
    return [p.count for p in protos if p.error is None], [p.error for p in protos if p.error]


async def websockets_client(url, conns, size, window, start_at, stop_at):
    from websockets.asyncio.client import connect
    message = "x" * size
    counts, errors = [], []

    async def one():
        try:
            async with connect(url, compression=None, ping_interval=None, max_size=None,
                               open_timeout=10, close_timeout=2) as ws:
                delay = start_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                n = 0
                while time.monotonic() < stop_at:
                    await ws.send(message)
                    if await ws.recv() != message:
                        errors.append("echo differs from the message sent")
                        return
                    n += 1
                counts.append(n)
        except Exception as exc:  # a refused, reset or closed connection is a failure to report
            errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(one() for _ in range(conns)))
    return counts, errors


def child(kind, url, conns, size, window, start_at, duration, queue):
    run = raw_client if kind == "raw" else websockets_client
    try:
        counts, errors = asyncio.run(run(url, conns, size, window, start_at, start_at + duration))
    except Exception as exc:
        counts, errors = [], [f"{type(exc).__name__}: {exc}"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put({"round_trips": sum(counts), "errors": errors, "cpu_s": usage.ru_utime + usage.ru_stime})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--size", type=int, default=64, help="message size in bytes (text)")
    ap.add_argument("--client", choices=["raw", "websockets"], default="raw")
    ap.add_argument("--start-at", type=float, default=None,
                    help="CLOCK_MONOTONIC second at which the load starts (default: once connected)")
    ap.add_argument("--window", type=int, default=1,
                    help="messages in flight per connection (raw client; 1 = strict round trips)")
    args = ap.parse_args()

    procs = max(1, min(args.procs, args.conns))
    share = [args.conns // procs + (1 if i < args.conns % procs else 0) for i in range(procs)]
    # Every process connects first; the clock starts for all at once.
    start_at = args.start_at or time.monotonic() + 1.0 + 0.02 * args.conns
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=child, args=(args.client, args.url, n, args.size, args.window, start_at, args.duration, queue))
               for n in share]
    for w in workers:
        w.start()
    results = [queue.get(timeout=args.duration + 90) for _ in workers]
    for w in workers:
        w.join(timeout=10)
    trips = sum(r["round_trips"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    out = {
        "url": args.url,
        "client": args.client,
        "window": args.window if args.client == "raw" else 1,
        "connections": args.conns,
        "client_processes": procs,
        "message_bytes": args.size,
        "duration_s": args.duration,
        "round_trips": trips,
        "messages_per_s": trips / args.duration,
        "failed_connections": len(errors),
        "errors": errors[:5],
        "client_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
