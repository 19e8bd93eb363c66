"""A small upstream for the proxy tests: `python upstream.py tcp|unix ADDRESS`.

Prints "ready PORT" (or "ready PATH") once listening. Endpoints:
  /echo...      JSON of method, path, headers and body (base64-free: latin-1 text)
  /big?n=N[&chunked=1]   N bytes of a repeating pattern, by Content-Length or chunked
  /sleep?s=S    answers after S seconds
  /die?n=N[&promise=P]  promises N*2 (or P) bytes, sends N, then closes
  /chunked      a chunked answer in three pieces
  /stats        connections and requests seen so far
  /hop          answers with hop-by-hop headers the proxy must drop
  /code?c=N     status N with no body and no Content-Length (204, 304)
"""
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse

STATS = {"connections": 0, "requests": 0}
LOCK = threading.Lock()
PATTERN = bytes(range(256)) * 256  # 64 KiB


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with LOCK:
            STATS["connections"] += 1

    def log_message(self, *args):
        pass

    def _send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one(self):
        with LOCK:
            STATS["requests"] += 1
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if url.path.startswith("/big"):
            size = int(q.get("n", "0"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if q.get("chunked"):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                left = size
                while left:
                    piece = PATTERN[:min(left, len(PATTERN))]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    left -= len(piece)
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(size))
                self.end_headers()
                left = size if self.command != "HEAD" else 0
                while left:
                    piece = PATTERN[:min(left, len(PATTERN))]
                    self.wfile.write(piece)
                    left -= len(piece)
            return
        if url.path.startswith("/sleep"):
            time.sleep(float(q.get("s", "1")))
            return self._send(200, b"slept")
        if url.path.startswith("/die"):
            size = int(q.get("n", "1000"))
            self.send_response(200)
            self.send_header("Content-Length", q.get("promise", str(size * 2)))
            self.end_headers()
            self.wfile.write(PATTERN[:size])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if url.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for piece in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
            return
        if url.path.startswith("/stats"):
            with LOCK:
                return self._send(200, json.dumps(STATS).encode(), [("Content-Type", "application/json")])
        if url.path.startswith("/code"):
            self.send_response(int(q.get("c", "204")))
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        if url.path.startswith("/hop"):
            return self._send(200, b"hop", [("Connection", "X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "timeout=5"),
                                            ("Proxy-Authenticate", "Basic"), ("X-Kept", "yes"), ("Server", "upstream")])
        doc = {"method": self.command, "path": self.path, "headers": [[k, v] for k, v in self.headers.items()],
               "body": body.decode("latin-1"), "pid": os.getpid()}
        self._send(200 if self.command != "POST" else 201, json.dumps(doc).encode(),
                   [("Content-Type", "application/json"), ("X-Upstream", os.environ.get("UPSTREAM_NAME", "up"))])

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_one


class TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("unix", 0)


def main():
    kind, address = sys.argv[1], sys.argv[2]
    if kind == "tcp":
        srv = TCPServer(("127.0.0.1", int(address)), Handler)
        print("ready", srv.server_address[1], flush=True)
    else:
        if os.path.exists(address):
            os.unlink(address)
        srv = UnixServer(address, Handler)
        print("ready", address, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
