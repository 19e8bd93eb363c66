"""Raw-socket WebSocket (RFC 6455) client helpers for the tests.

Nothing here is clever on purpose: frames are built byte by byte so a test can
send anything (RSV bits, reserved opcodes, unmasked frames, non-minimal or 64-bit
lengths, a header that promises more payload than is sent), and server frames are
parsed strictly (a server frame must be unmasked, RSV 0, control frames <= 125
bytes and unfragmented).
"""
import base64
import hashlib
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OPNAMES = {CONT: "cont", TEXT: "text", BINARY: "binary", CLOSE: "close", PING: "ping", PONG: "pong"}


def accept_for(key):
    """The Sec-WebSocket-Accept value for a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def handshake_request(path="/ws/echo", host="127.0.0.1", key=None, version="13", method="GET",
                      http="HTTP/1.1", upgrade="websocket", connection="Upgrade", origin=None,
                      extra=(), omit=()):
    """Bytes of an opening handshake. A header whose value is None, or whose name is in `omit`, is left out."""
    headers = [("Host", host), ("Upgrade", upgrade), ("Connection", connection),
               ("Sec-WebSocket-Key", new_key() if key is None else key), ("Sec-WebSocket-Version", version)]
    if origin is not None:
        headers.append(("Origin", origin))
    headers.extend(extra)
    lines = [f"{method} {path} {http}"]
    lines += [f"{k}: {v}" for k, v in headers if v is not None and k not in omit]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# ---------------------------------------------------------------- frames

def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None, length=None, length_bytes=None):
    """One frame's bytes.

    rsv: 3-bit value (4 = RSV1, 2 = RSV2, 1 = RSV3).
    mask: mask the payload (client frames must be masked); mask_key: 4 bytes (random by default).
    length: the length written in the header (default len(payload)); lets a test announce more
            (or less) than it sends.
    length_bytes: force the length encoding: 0 (7-bit), 2 (16-bit, code 126) or 8 (64-bit, code 127);
            default is the minimal one.
    """
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    if length_bytes is None:
        length_bytes = 0 if n <= 125 else 2 if n <= 0xFFFF else 8
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    m = 0x80 if mask else 0
    if length_bytes == 0:
        assert n <= 125
        head = struct.pack("!BB", b0, m | n)
    elif length_bytes == 2:
        head = struct.pack("!BBH", b0, m | 126, n)
    elif length_bytes == 8:
        head = struct.pack("!BBQ", b0, m | 127, n)
    else:
        raise ValueError(length_bytes)
    if not mask:
        return head + payload
    key = os.urandom(4) if mask_key is None else mask_key
    return head + key + apply_mask(key, payload)


def apply_mask(key, data):
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def text(payload, **kw):
    return frame(TEXT, payload, **kw)


def binary(payload, **kw):
    return frame(BINARY, payload, **kw)


def cont(payload, fin=True, **kw):
    return frame(CONT, payload, fin=fin, **kw)


def ping(payload=b"", **kw):
    return frame(PING, payload, **kw)


def pong(payload=b"", **kw):
    return frame(PONG, payload, **kw)


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


def close(code=None, reason=b"", **kw):
    return frame(CLOSE, close_payload(code, reason), **kw)


def fragments(opcode, pieces, **kw):
    """A message as a run of frames: the first with `opcode`, then continuations, FIN on the last."""
    out = []
    for i, p in enumerate(pieces):
        out.append(frame(opcode if i == 0 else CONT, p, fin=i == len(pieces) - 1, **kw))
    return b"".join(out)


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "payload")

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload

    @property
    def close_code(self):
        assert self.opcode == CLOSE
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self):
        return self.payload[2:]

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"...(%d bytes)" % len(self.payload)
        return f"Frame({OPNAMES.get(self.opcode, hex(self.opcode))}, fin={self.fin}, rsv={self.rsv}, {p!r})"


class Closed(Exception):
    """The server closed the TCP connection (EOF or reset)."""


class Response:
    def __init__(self, status, reason, headers, raw):
        self.status, self.reason, self.headers, self.raw = status, reason, headers, raw

    def header(self, name):
        """The value of a header (names compared case-insensitively); None if absent."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"Response({self.status} {self.reason}, {self.headers})"


class Conn:
    """A raw TCP connection to the server speaking just enough WebSocket to test it."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.response = None

    # -- plumbing
    def close_socket(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_socket()

    def send(self, data):
        """Sends bytes; a server that already closed is not an error here (the reads will tell)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_chunked(self, data, size, pause=0.0):
        for i in range(0, len(data), size):
            if not self.send(data[i:i + size]):
                return False
            if pause:
                time.sleep(pause)
        return True

    def _fill(self, deadline):
        """Reads more bytes into buf; raises Closed on EOF/reset, socket.timeout past the deadline."""
        if self.eof:
            raise Closed("connection already closed")
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(left)
        try:
            b = self.sock.recv(1 << 20)
        except ConnectionResetError:
            self.eof = True
            raise Closed("connection reset")
        if not b:
            self.eof = True
            raise Closed("EOF")
        self.buf += b

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)

    def _take(self, n):
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    # -- handshake
    def handshake(self, request=None, path="/ws/echo", after=b"", **kw):
        """Sends an opening handshake (plus `after`, in the same write) and reads the response head.

        Returns the Response; bytes the server sent behind the head stay buffered for read_frame.
        """
        if request is None:
            request = handshake_request(path=path, **kw)
        self.request = request
        self.send(request + after)
        return self.read_response()

    def read_response(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        end = self.buf.index(b"\r\n\r\n") + 4
        head = self._take(end).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers.append((k.strip(), v.strip()))
        self.response = Response(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, head)
        return self.response

    def read_body(self, timeout=None):
        """The body of a non-101 response (Content-Length, or up to EOF)."""
        n = self.response.header("Content-Length")
        deadline = time.monotonic() + (timeout or self.timeout)
        if n is not None:
            self._need(int(n), deadline)
            return self._take(int(n))
        try:
            while True:
                self._fill(deadline)
        except (Closed, socket.timeout):
            pass
        return self._take(len(self.buf))

    def open(self, path="/ws/echo", after=b"", **kw):
        """Handshake that must succeed (101 with the right headers)."""
        r = self.handshake(path=path, after=after, **kw)
        check_101(r, self.request)
        return self

    # -- frames
    def read_frame(self, timeout=None):
        """Next server frame. Raises Closed if the TCP connection ends first, socket.timeout if none comes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._need(4, deadline)
            n = struct.unpack("!H", self.buf[2:4])[0]
            pos = 4
        elif n == 127:
            self._need(10, deadline)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            pos = 10
        masked = bool(b1 & 0x80)
        key = b""
        if masked:
            self._need(pos + 4, deadline)
            key = bytes(self.buf[pos:pos + 4])
            pos += 4
        self._need(pos + n, deadline)
        self._take(pos)
        payload = self._take(n)
        if masked:
            payload = apply_mask(key, payload)
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload)

    def read_server_frame(self, timeout=None):
        """read_frame plus the rules a server frame must follow."""
        f = self.read_frame(timeout)
        assert not f.masked, f"server frame is masked: {f}"
        assert f.rsv == 0, f"server frame has RSV bits: {f}"
        assert f.opcode in (CONT, TEXT, BINARY, CLOSE, PING, PONG), f"server frame with opcode {f.opcode:#x}"
        if f.opcode >= 8:
            assert f.fin and len(f.payload) <= 125, f"bad server control frame: {f}"
        return f

    def read_message(self, timeout=None):
        """Next event from the server: ("text"|"binary", payload) for a whole data message (reassembled),
        or ("ping"|"pong"|"close", frame) for a control frame. The echo server has no reason to put a
        control frame inside one of its own fragmented messages, so that is treated as an error."""
        f = self.read_server_frame(timeout)
        if f.opcode >= 8:
            return (OPNAMES[f.opcode], f)
        assert f.opcode in (TEXT, BINARY), f"server message starts with a continuation frame: {f}"
        kind, parts = OPNAMES[f.opcode], [f.payload]
        while not f.fin:
            f = self.read_server_frame(timeout)
            assert f.opcode == CONT, f"server interleaved {f} inside a fragmented message"
            parts.append(f.payload)
        return (kind, b"".join(parts))

    def expect_closed(self, timeout=None):
        """Asserts the server closes the TCP connection (EOF or reset) with nothing more sent."""
        deadline = time.monotonic() + (timeout or self.timeout)
        extra = b""
        try:
            while True:
                self._fill(deadline)
                extra += self._take(len(self.buf))
        except Closed:
            pass
        except socket.timeout:
            raise AssertionError(f"server did not close the TCP connection (got {extra!r} meanwhile)")
        assert not self.buf and not extra, f"bytes after the close frame: {(extra + bytes(self.buf))[:80]!r}"

    def expect_close(self, code, timeout=None, tcp=True):
        """Reads the next frame: it must be a Close with `code` (None = empty payload); then the TCP
        connection must end. Returns the close frame."""
        try:
            f = self.read_server_frame(timeout)
        except Closed as e:
            raise AssertionError(f"TCP closed ({e}) without a close frame, expected close {code}")
        except socket.timeout:
            raise AssertionError(f"no close frame within {timeout or self.timeout}s, expected close {code}")
        assert f.opcode == CLOSE, f"expected close {code}, got {f}"
        if code is None:
            assert f.payload == b"", f"expected an empty close, got code {f.close_code} {f.close_reason!r}"
        else:
            assert len(f.payload) >= 2, f"expected close {code}, got {f}"
            assert f.close_code == code, f"expected close {code}, got close {f.close_code} {f.close_reason!r}"
            f.close_reason.decode("utf-8")  # the server's reason must be valid UTF-8
        if tcp:
            self.expect_closed(timeout)
        return f

    def echo(self, payload=b"hi", opcode=TEXT, timeout=None):
        """One round trip; asserts the echo."""
        self.send(frame(opcode, payload))
        kind, got = self.read_message(timeout)
        assert (kind, got) == (OPNAMES[opcode], payload if isinstance(payload, bytes) else payload.encode())
        return got


def check_101(r, request=None):
    assert r.status == 101, f"expected 101, got {r.status} {r.reason}: {r.raw!r}"
    assert (r.header("Upgrade") or "").lower() == "websocket", r
    assert "upgrade" in [t.strip().lower() for t in (r.header("Connection") or "").split(",")], r
    if request is not None:
        key = None
        for line in request.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "sec-websocket-key":
                key = v.strip()
        assert r.header("Sec-WebSocket-Accept") == accept_for(key), r
    assert r.header("Sec-WebSocket-Extensions") is None, f"no extension was agreed to: {r}"
