"""Static files, differentially: Debian's nginx and evprefork serve the same
tree, get the same requests, and must give the same answers: status,
Content-Type, Content-Length, Content-Range, Location, ETag, Last-Modified,
Vary, Content-Encoding and body.

Error pages are compared by status only (nginx signs them "nginx/1.22.1" and
words some reasons differently: "405 Not Allowed", "416 Requested Range Not
Satisfiable"); multipart boundaries are normalised (both use 20 digits, so the
lengths still match). Where evprefork answers differently on purpose, the
case says why and asserts both answers."""
import gzip
import os
import random
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from evp import Server, alive, children, wait_for
from statichttp import request

NGINX = "/usr/sbin/nginx"
MTIME = 1_700_000_000  # every file and directory gets this time, so both servers see the same validators
LM = "Tue, 14 Nov 2023 22:13:20 GMT"
NOTES = b"Some notes.\nSecond line of the notes.\n" * 3


def build_tree(base):
    root = base / "root"
    outside = base / "outside"
    for d in ["docs/sub", "noindex", "listing/subdir", "listing/Adir", "listing/dir with space",
              "listing/" + "d" * 49, "listing/" + "e" * 50, "listing/.hiddendir", "caf\u00e9"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("outside the root\n")
    rnd = random.Random(5)
    files = {
        "index.html": b"<h1>home</h1>\n",
        "page.html": b"<p>page</p>\n",
        "UPPER.HTML": b"<p>upper</p>\n",
        "style.css": b"body { color: red }\n",
        "app.js": b"console.log('app');\n" * 40,
        "data.json": b'{"a": 1}\n',
        "logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        "image.png": b"\x89PNG\r\n\x1a\n" + rnd.randbytes(300),
        "photo.JPG": rnd.randbytes(200),
        "notes.txt": NOTES,
        "file.xyz": b"unknown extension\n",
        "README": b"no extension\n",
        "archive.tar.gz": rnd.randbytes(100),
        ".hidden": b"dot file\n",
        "empty.txt": b"",
        "big.bin": rnd.randbytes(1 << 20),
        "with space.txt": b"space\n",
        "unicod\u00e9.txt": b"unicode\n",
        "100%.txt": b"percent\n",
        "a&b.txt": b"ampersand\n",
        "<tag>.txt": b"angle\n",
        "q?x.txt": b"question\n",
        "docs/index.html": b"<h1>docs</h1>\n",
        "docs/guide.txt": b"guide\n",
        "docs/sub/index.html": b"<h1>sub</h1>\n",
        "noindex/file.txt": b"in a directory without index\n",
        "caf\u00e9/index.html": b"<h1>cafe</h1>\n",
        "listing/plain.txt": b"plain\n",
        "listing/with space.txt": b"s\n",
        "listing/a&b<c>.txt": b"abc\n",
        'listing/quote"d.txt': b"q\n",
        "listing/100%.txt": b"p\n",
        "listing/unicod\u00e9.txt": b"u\n",
        "listing/" + "x" * 60 + ".txt": b"long\n",
        "listing/" + "\u00e9" * 30 + ".txt": b"long multibyte\n",
        "listing/!$'()*+,;=:@.txt": b"punct\n",
        "listing/[brackets]{braces}|^`~.txt": b"more punct\n",
        "listing/.hidden.txt": b"hidden\n",
        "listing/Zebra.txt": b"z\n",
        "listing/apple.txt": b"a\n",
        "listing/empty.txt": b"",
        "listing/big.dat": rnd.randbytes(123456),
        "listing/subdir/inner.txt": b"inner\n",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    # gzip_static: a .gz beside its original, a .gz alone, an original alone.
    (root / "app.js.gz").write_bytes(gzip.compress(files["app.js"], mtime=0))
    (root / "only.txt.gz").write_bytes(gzip.compress(b"only compressed\n", mtime=0))
    (root / "index.html.gz").write_bytes(gzip.compress(files["index.html"], mtime=0))
    os.symlink("notes.txt", root / "link-inside")
    os.symlink(outside / "secret.txt", root / "link-outside")
    os.symlink(outside, root / "dir-outside")
    os.symlink("plain.txt", root / "listing" / "link-to-plain")
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + dirnames:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                os.utime(p, (MTIME, MTIME))
    os.utime(root, (MTIME, MTIME))
    return root


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """Debian's nginx over `root`, configured as evprefork's static routes are."""

    def __init__(self, prefix, root):
        self.prefix = prefix
        self.port = free_port()
        (prefix / "tmp").mkdir()
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(f"""
user root;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    etag on;
    gzip_static on;
    gzip_vary on;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
        location / {{ }}
        location /listing/ {{ autoindex on; }}
    }}
}}
""")
        self.proc = None

    def start(self):
        self.log = open(self.prefix / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(self.conf),
             "-g", f"daemon off; pid {self.prefix}/nginx.pid; error_log {self.prefix}/error.log;"],
            stdout=self.log, stderr=self.log)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited: {(self.prefix / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, what="nginx to listen")
        return self

    def stop(self):
        if not self.proc:
            return
        family = [self.proc.pid] + children(self.proc.pid)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for pid in family[1:]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not alive(pid), 5, what=f"nginx worker {pid} to go")
        self.log.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory, evprefork_bin):
    base = tmp_path_factory.mktemp("static-diff")
    root = build_tree(base)
    (base / "nginx").mkdir()
    nginx = Nginx(base / "nginx", root)
    (base / "evp").mkdir()
    evp = Server(base / "evp", f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = 1

[[route]]
path = "/"
type = "static"
root = "{root}"

[[route]]
path = "/listing/"
type = "static"
root = "{root}/listing"
autoindex = true
""", binary=evprefork_bin)
    try:
        nginx.start()
        evp.start()
        evp.wait_workers(1)
        yield nginx, evp
    finally:
        evp.stop()
        nginx.stop()


@dataclass
class Case:
    name: str
    target: object  # str, or bytes for raw non-ASCII
    method: str = "GET"
    headers: tuple = ()
    version: str = "1.1"
    host: object = "default"
    # A deliberate difference: nginx's status and ours, and why.
    nginx_status: int = 0
    our_status: int = 0
    why: str = ""
    skip_headers: tuple = field(default_factory=tuple)
    body: bytes = b""


BIG_ETAG = f'"{MTIME:x}-{1 << 20:x}"'
NOTES_ETAG = f'"{MTIME:x}-{len(NOTES):x}"'
RFC850 = "Tuesday, 14-Nov-23 22:13:20 GMT"
ASCTIME = "Tue Nov 14 22:13:20 2023"

CASES = [
    # Plain files and their types.
    Case("html", "/page.html"),
    Case("html upper-case extension", "/UPPER.HTML"),
    Case("css", "/style.css"),
    Case("js without gzip", "/app.js"),
    Case("json", "/data.json"),
    Case("svg", "/logo.svg"),
    Case("png", "/image.png"),
    Case("jpg upper-case", "/photo.JPG"),
    Case("txt", "/notes.txt"),
    Case("unknown extension", "/file.xyz"),
    Case("no extension", "/README"),
    Case("double extension", "/archive.tar.gz"),
    Case("dot file", "/.hidden"),
    Case("empty file", "/empty.txt"),
    Case("1 MiB file", "/big.bin"),
    Case("encoded space", "/with%20space.txt"),
    Case("encoded utf-8", "/unicod%C3%A9.txt"),
    Case("raw utf-8", "/unicod\u00e9.txt".encode()),
    Case("encoded percent", "/100%25.txt"),
    Case("raw ampersand", "/a&b.txt"),
    Case("encoded ampersand", "/a%26b.txt"),
    Case("encoded angle brackets", "/%3Ctag%3E.txt"),
    Case("encoded question mark is a name", "/q%3Fx.txt"),
    Case("lower-case escapes", "/with%20space%2etxt"),
    Case("query string", "/notes.txt?v=1&x=%20"),
    Case("empty query", "/notes.txt?"),
    Case("case-sensitive names", "/NOTES.TXT"),
    Case("missing file", "/nope.txt"),
    Case("file as a directory", "/notes.txt/"),
    Case("below a file", "/notes.txt/x"),
    Case("HEAD of a file", "/big.bin", method="HEAD"),
    Case("HEAD of a missing file", "/nope.txt", method="HEAD"),
    Case("HTTP/1.0", "/notes.txt", version="1.0", host=None),
    # Index files and directories.
    Case("root index", "/"),
    Case("directory index", "/docs/"),
    Case("nested index", "/docs/sub/"),
    Case("index by name", "/docs/index.html"),
    Case("unicode directory index", "/caf%C3%A9/"),
    Case("directory without slash", "/docs"),
    Case("directory without slash, query kept", "/docs?a=1&b=%20"),
    Case("nested directory without slash", "/docs/sub"),
    Case("unicode directory without slash", "/caf%C3%A9"),
    Case("redirect host from Host header", "/docs", host="Example.COM:8080"),
    Case("redirect host without Host (HTTP/1.0)", "/docs", version="1.0", host=None),
    Case("HEAD of a directory without slash", "/docs", method="HEAD"),
    Case("directory without index", "/noindex/"),
    Case("directory without index, no slash", "/noindex"),
    Case("file in directory without index", "/noindex/file.txt"),
    Case("missing directory", "/nodir/"),
    # autoindex
    Case("autoindex", "/listing/"),
    Case("autoindex without slash", "/listing"),
    Case("autoindex of an empty directory", "/listing/subdir/"),
    Case("autoindex with query", "/listing/?C=M;O=A"),
    Case("file under autoindex", "/listing/plain.txt"),
    Case("symlink under autoindex", "/listing/link-to-plain"),
    Case("HEAD of autoindex", "/listing/", method="HEAD", skip_headers=("content-length",),
         why="nginx streams listings (chunked, no Content-Length); evprefork knows the length and sends it"),
    # Conditional requests.
    Case("If-None-Match equal", "/notes.txt", headers=(("If-None-Match", NOTES_ETAG),)),
    Case("If-None-Match weak", "/notes.txt", headers=(("If-None-Match", "W/" + NOTES_ETAG),)),
    Case("If-None-Match list", "/notes.txt", headers=(("If-None-Match", '"a", ' + NOTES_ETAG + ', "b"'),)),
    Case("If-None-Match star", "/notes.txt", headers=(("If-None-Match", "*"),)),
    Case("If-None-Match other", "/notes.txt", headers=(("If-None-Match", '"other"'),)),
    Case("If-Modified-Since equal", "/notes.txt", headers=(("If-Modified-Since", LM),)),
    Case("If-Modified-Since RFC 850", "/notes.txt", headers=(("If-Modified-Since", RFC850),)),
    Case("If-Modified-Since asctime", "/notes.txt", headers=(("If-Modified-Since", ASCTIME),)),
    Case("If-Modified-Since later (exact match only)", "/notes.txt",
         headers=(("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT"),)),
    Case("If-Modified-Since earlier", "/notes.txt", headers=(("If-Modified-Since", "Mon, 13 Nov 2023 00:00:00 GMT"),)),
    Case("If-Modified-Since garbage", "/notes.txt", headers=(("If-Modified-Since", "yesterday"),)),
    Case("both validators, one stale", "/notes.txt",
         headers=(("If-Modified-Since", LM), ("If-None-Match", '"other"'))),
    Case("both validators fresh", "/notes.txt", headers=(("If-Modified-Since", LM), ("If-None-Match", NOTES_ETAG))),
    Case("If-Match other", "/notes.txt", headers=(("If-Match", '"other"'),)),
    Case("If-Match equal", "/notes.txt", headers=(("If-Match", NOTES_ETAG),)),
    Case("If-Unmodified-Since earlier", "/notes.txt",
         headers=(("If-Unmodified-Since", "Mon, 13 Nov 2023 00:00:00 GMT"),)),
    Case("304 for an index", "/docs/", headers=(("If-Modified-Since", LM),)),
    Case("HEAD 304", "/notes.txt", method="HEAD", headers=(("If-None-Match", NOTES_ETAG),)),
    # Ranges.
    Case("range first bytes", "/big.bin", headers=(("Range", "bytes=0-99"),)),
    Case("range open end", "/big.bin", headers=(("Range", "bytes=1048000-"),)),
    Case("large range from an offset", "/big.bin", headers=(("Range", "bytes=1000-500999"),)),
    Case("large open range", "/big.bin", headers=(("Range", "bytes=4096-"),)),
    Case("range suffix", "/big.bin", headers=(("Range", "bytes=-100"),)),
    Case("range one byte", "/notes.txt", headers=(("Range", "bytes=0-0"),)),
    Case("range last byte", "/notes.txt", headers=(("Range", f"bytes={len(NOTES) - 1}-"),)),
    Case("range past the end is cut", "/notes.txt", headers=(("Range", "bytes=10-100000"),)),
    Case("suffix longer than the file", "/notes.txt", headers=(("Range", "bytes=-100000"),)),
    Case("range upper-case unit", "/notes.txt", headers=(("Range", "BYTES=0-4"),)),
    Case("range with spaces", "/notes.txt", headers=(("Range", "bytes= 0 - 4 , 6 - 7"),)),
    Case("multiple ranges", "/big.bin", headers=(("Range", "bytes=0-99,200-299,-50"),)),
    Case("overlapping ranges", "/notes.txt", headers=(("Range", "bytes=0-9,5-14"),)),
    Case("ranges adding up to more than the file", "/notes.txt", headers=(("Range", "bytes=0-,0-"),)),
    Case("one good range among bad", "/notes.txt", headers=(("Range", "bytes=100000-,0-4"),)),
    Case("unsatisfiable range", "/big.bin", headers=(("Range", "bytes=2000000-"),)),
    Case("reversed range", "/notes.txt", headers=(("Range", "bytes=5-3"),)),
    Case("zero suffix", "/notes.txt", headers=(("Range", "bytes=-0"),)),
    Case("malformed range", "/notes.txt", headers=(("Range", "bytes=abc"),)),
    Case("trailing comma", "/notes.txt", headers=(("Range", "bytes=0-4,"),)),
    Case("other unit", "/notes.txt", headers=(("Range", "items=0-4"),)),
    Case("range of an empty file", "/empty.txt", headers=(("Range", "bytes=0-"),)),
    Case("If-Range equal ETag", "/big.bin", headers=(("Range", "bytes=0-9"), ("If-Range", BIG_ETAG))),
    Case("If-Range other ETag", "/big.bin", headers=(("Range", "bytes=0-9"), ("If-Range", '"other"'))),
    Case("If-Range weak ETag", "/big.bin", headers=(("Range", "bytes=0-9"), ("If-Range", "W/" + BIG_ETAG))),
    Case("If-Range equal date", "/big.bin", headers=(("Range", "bytes=0-9"), ("If-Range", LM))),
    Case("If-Range other date", "/big.bin",
         headers=(("Range", "bytes=0-9"), ("If-Range", "Mon, 13 Nov 2023 00:00:00 GMT"))),
    Case("range and If-None-Match", "/big.bin", headers=(("Range", "bytes=0-9"), ("If-None-Match", BIG_ETAG))),
    Case("HEAD with a range", "/big.bin", method="HEAD", headers=(("Range", "bytes=0-9"),)),
    Case("HEAD with ranges", "/big.bin", method="HEAD", headers=(("Range", "bytes=0-9,20-29"),)),
    # gzip_static.
    Case("gzip accepted", "/app.js", headers=(("Accept-Encoding", "gzip, deflate"),)),
    Case("gzip among others", "/app.js", headers=(("Accept-Encoding", "br;q=1.0, gzip;q=0.8"),)),
    Case("gzip refused with q=0", "/app.js", headers=(("Accept-Encoding", "gzip;q=0"),)),
    Case("x-gzip is not gzip", "/app.js", headers=(("Accept-Encoding", "x-gzip"),)),
    Case("gzip upper-case", "/app.js", headers=(("Accept-Encoding", "GZIP"),)),
    Case("gzip HEAD", "/app.js", method="HEAD", headers=(("Accept-Encoding", "gzip"),)),
    Case("gzip and a range", "/app.js", headers=(("Accept-Encoding", "gzip"), ("Range", "bytes=0-9"))),
    Case("gzip 304", "/app.js", headers=(("Accept-Encoding", "gzip"), ("If-Modified-Since", LM))),
    Case("gzip through a proxy (Via)", "/app.js", headers=(("Accept-Encoding", "gzip"), ("Via", "1.1 cache"))),
    Case("gzip over HTTP/1.0", "/app.js", version="1.0", headers=(("Accept-Encoding", "gzip"),)),
    Case("gzip without original", "/only.txt", headers=(("Accept-Encoding", "gzip"),)),
    Case("no gzip, no original", "/only.txt"),
    Case("gzip of an index", "/", headers=(("Accept-Encoding", "gzip"),)),
    Case("no .gz: no Vary", "/notes.txt", headers=(("Accept-Encoding", "gzip"),)),
    # Paths: normalisation, traversal, odd encodings.
    Case("merged slashes", "//notes.txt"),
    Case("many slashes", "/docs///guide.txt"),
    Case("dot segment", "/./notes.txt"),
    Case("dot-dot inside the root", "/docs/../notes.txt"),
    Case("encoded dot-dot inside the root", "/docs/%2e%2e/notes.txt"),
    Case("encoded slash inside the root", "/docs/..%2Fnotes.txt"),
    Case("encoded slash to an index", "/docs%2Findex.html"),
    Case("trailing dot segment", "/docs/."),
    Case("trailing dot-dot segment", "/docs/sub/.."),
    Case("encoded letters", "/%6Eotes.txt"),
    Case("bad escape", "/notes%zz.txt"),
    Case("truncated escape", "/notes.txt%2"),
    Case("lone percent", "/notes.txt%"),
    Case("raw dot-dot escape", "/../etc/passwd", nginx_status=400, our_status=403,
         why="DESIGN.md: a path that tries to leave root is 403/404 (nginx: 400)"),
    Case("deep dot-dot escape", "/docs/../../etc/passwd", nginx_status=400, our_status=403,
         why="DESIGN.md: a path that tries to leave root is 403/404 (nginx: 400)"),
    Case("encoded dot-dot escape", "/%2e%2e/etc/passwd", nginx_status=400, our_status=403,
         why="DESIGN.md: a path that tries to leave root is 403/404 (nginx: 400)"),
    Case("mixed-case encoded escape", "/%2E%2e%2Fetc%2Fpasswd", nginx_status=400, our_status=403,
         why="DESIGN.md: a path that tries to leave root is 403/404 (nginx: 400)"),
    Case("encoded slashes escape", "/docs/..%2f..%2f..%2fetc%2fpasswd", nginx_status=400, our_status=403,
         why="DESIGN.md: a path that tries to leave root is 403/404 (nginx: 400)"),
    Case("bare dot-dot", "/..", nginx_status=400, our_status=403,
         why="DESIGN.md: a path that tries to leave root is 403/404 (nginx: 400)"),
    Case("NUL byte", "/notes.txt%00.html", nginx_status=400, our_status=404,
         why="DESIGN.md: a NUL byte names no file: 403/404 (nginx: 400)"),
    Case("NUL byte alone", "/%00", nginx_status=400, our_status=404,
         why="DESIGN.md: a NUL byte names no file: 403/404 (nginx: 400)"),
    Case("symlink inside the root", "/link-inside"),
    Case("symlink leaving the root", "/link-outside", nginx_status=200, our_status=403,
         why="DESIGN.md: never a file outside root (nginx follows symlinks by default)"),
    Case("symlinked directory leaving the root", "/dir-outside/secret.txt", nginx_status=200, our_status=403,
         why="DESIGN.md: never a file outside root (nginx follows symlinks by default)"),
    # Methods.
    Case("POST to a file", "/notes.txt", method="POST"),
    Case("POST with a body", "/notes.txt", method="POST", headers=(("Content-Type", "text/plain"),), body=b"a=1&b=2"),
    Case("POST to a missing file", "/nope.txt", method="POST"),
    Case("POST to a directory without slash", "/docs", method="POST"),
    Case("POST to an index", "/docs/", method="POST"),
    Case("POST to a directory without index", "/noindex/", method="POST"),
    Case("PUT", "/notes.txt", method="PUT"),
    Case("PUT to a missing file", "/nope.txt", method="PUT"),
    Case("DELETE", "/notes.txt", method="DELETE"),
    Case("OPTIONS", "/notes.txt", method="OPTIONS"),
    Case("PATCH", "/notes.txt", method="PATCH"),
]

COMPARED = ["content-type", "content-length", "content-range", "location", "etag", "last-modified",
            "vary", "content-encoding"]


def normal_error_page(body):
    """An error page with the server's signature and reason phrase taken out: only the status is left."""
    body = re.sub(rb"<hr><center>[^<]*</center>", b"<hr><center>SERVER</center>", body)
    return re.sub(rb"(<title>|<h1>)(\d{3})[^<]*(</title>|</h1>)", rb"\1\2\3", body)


def normal(resp, port):
    headers = {h: resp.header(h) for h in COMPARED}
    body = resp.body
    if headers["location"]:
        headers["location"] = headers["location"].replace(f":{port}/", ":PORT/")
    m = re.search(r"boundary=(\d+)", headers["content-type"] or "")
    if m:
        headers["content-type"] = headers["content-type"].replace(m.group(1), "BOUNDARY")
        body = body.replace(m.group(1).encode(), b"BOUNDARY")
    if resp.status >= 300 and "text/html" in (headers["content-type"] or ""):
        body = normal_error_page(body)
        headers["content-length"] = None  # signatures and reasons differ in length
    return headers, body


def test_enough_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_answer_as_nginx(pair, case):
    nginx, evp = pair
    ours = request(evp.port, case.method, case.target, case.headers, case.version, case.host, body=case.body)
    theirs = request(nginx.port, case.method, case.target, case.headers, case.version, case.host, body=case.body)
    if ours.status >= 300 and ours.status != 304:
        # Whatever else differs, our own Content-Length is right.
        assert ours.header("content-length") == str(len(ours.body)) or case.method == "HEAD"
    if case.our_status:
        # A deliberate difference: both sides as expected, and nothing leaks.
        assert theirs.status == case.nginx_status, case.why
        assert ours.status == case.our_status, case.why
        assert b"outside the root" not in ours.body and b"root:" not in ours.body
        assert ours.header("content-type") == "text/html"
        return
    assert ours.status == theirs.status, (ours, theirs)
    (ours_h, ours_b), (theirs_h, theirs_b) = normal(ours, evp.port), normal(theirs, nginx.port)
    if theirs.header("transfer-encoding") == "chunked":
        # nginx streams autoindex pages; evprefork sends their exact length.
        assert theirs_h["content-length"] is None
        if case.method != "HEAD":
            assert ours_h["content-length"] == str(len(ours.body))
        theirs_h["content-length"] = ours_h["content-length"]
    for h in case.skip_headers:
        ours_h.pop(h), theirs_h.pop(h)
    assert ours_h == theirs_h, (ours.raw_head, theirs.raw_head)
    assert ours_b == theirs_b
    if case.method == "HEAD":
        assert ours.body == b""
    if ours.status == 405:
        assert ours.header("allow") == "GET, HEAD"  # nginx sends no Allow; RFC 9110 §15.5.6 wants one


def test_autoindex_page_is_nginx_byte_for_byte(pair):
    """The listing, shown whole on failure: names escaped for HTML and URLs, widths, sizes, order."""
    nginx, evp = pair
    ours = request(evp.port, "GET", "/listing/").body
    theirs = request(nginx.port, "GET", "/listing/").body
    assert ours.decode("latin-1").splitlines() == theirs.decode("latin-1").splitlines()
    assert b".hidden" not in ours and b"link-to-plain" in ours
