"""Raw HTTP/1.x for the static-file suites: exact request bytes out (odd paths,
encodings and methods that http clients would "fix"), parsed responses back."""
import socket


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-cased name -> list of values
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def __repr__(self):
        return f"<{self.status} {dict(self.headers)} {self.body[:80]!r}>"


def request(port, method, target, headers=(), version="1.1", host="default", body=b"", timeout=10):
    """Sends one request on a fresh connection (Connection: close) and reads the whole answer."""
    lines = [f"{method} {target} HTTP/{version}".encode("latin-1") if isinstance(target, str)
             else method.encode() + b" " + target + f" HTTP/{version}".encode()]
    if host == "default":
        host = f"127.0.0.1:{port}"
    if host is not None:
        lines.append(b"Host: " + host.encode("latin-1"))
    for name, value in headers:
        lines.append(f"{name}: {value}".encode("latin-1"))
    if body:
        lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
    return parse(b"".join(chunks), head_only=(method == "HEAD"))


def parse(raw, head_only=False):
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"no complete response head in {raw[:200]!r}")
    lines = head.split(b"\r\n")
    version, status, reason = (lines[0].split(b" ", 2) + [b""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().decode("latin-1").lower(), []).append(value.strip().decode("latin-1"))
    body = b"" if head_only else rest
    if not head_only and "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        body = dechunk(rest)
    return Response(int(status), reason.decode("latin-1"), headers, body, head)


def dechunk(data):
    out = bytearray()
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2:]


def read_response(sock, head_only=False):
    """Reads exactly one response (Content-Length framed) from a keep-alive socket."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = sock.recv(65536)
        if not b:
            raise AssertionError(f"connection closed mid-head: {buf!r}")
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    r = parse(head + b"\r\n\r\n", head_only=True)
    length = 0 if head_only or r.status in (204, 304) else int(r.header("content-length") or 0)
    while len(rest) < length:
        b = sock.recv(65536)
        if not b:
            raise AssertionError("connection closed mid-body")
        rest += b
    r.body = rest[:length]
    return r, rest[length:]
