"""Static routes: what the nginx differential cannot show. Validator formats,
cache_control, autoindex escaping and order, symlinks that leave the root,
routing by prefix and host, keep-alive after zero-copy answers, and memory:
a worker streaming a 512 MiB file (or stalled by a slow reader) stays flat."""
import email.utils
import gzip
import os
import re
import socket
import threading
import time

import pytest

from evp import wait_for
from statichttp import read_response, request


def conf(routes, workers=1):
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = {workers}

{routes}
"""


def serve(server, routes):
    """Starts evprefork with `routes` and waits for its worker, so that stopping it never races a fork."""
    s = server(conf(routes))
    s.wait_workers(1)
    return s


def static(path, root, extra=""):
    return f"""
[[route]]
path = "{path}"
type = "static"
root = "{root}"
{extra}
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "dir").mkdir(parents=True)
    (root / "dir" / "index.html").write_text("<h1>dir</h1>\n")
    (root / "hello.txt").write_text("hello, world\n")
    (root / "app.js").write_text("let x = 1;\n" * 50)
    (root / "app.js.gz").write_bytes(gzip.compress(b"let x = 1;\n" * 50))
    return root


def test_etag_and_last_modified_are_nginx_formats(server, site):
    s = serve(server, static("/", site))
    path = site / "hello.txt"
    os.utime(path, (1_600_000_000, 1_600_000_000))
    r = request(s.port, "GET", "/hello.txt")
    assert r.status == 200
    st = os.stat(path)
    assert r.header("etag") == f'"{int(st.st_mtime):x}-{st.st_size:x}"' == '"5f5e1000-d"'
    assert r.header("last-modified") == email.utils.formatdate(st.st_mtime, usegmt=True) \
        == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert r.header("accept-ranges") == "bytes"
    assert r.header("content-type") == "text/plain"
    assert r.header("content-length") == "13"
    # A changed file is a new representation: new validators, old ones no longer match.
    path.write_text("hello, world, again\n")
    os.utime(path, (1_600_000_100, 1_600_000_100))
    r2 = request(s.port, "GET", "/hello.txt", [("If-None-Match", r.header("etag"))])
    assert r2.status == 200 and r2.header("etag") == '"5f5e1064-14"'
    assert request(s.port, "GET", "/hello.txt", [("If-None-Match", r2.header("etag"))]).status == 304


def test_cache_control_on_successful_answers_only(server, site):
    s = serve(server, static("/", site, 'cache_control = "public, max-age=3600"')
              + static("/list/", site, 'autoindex = true\ncache_control = "no-cache"'))
    ok = request(s.port, "GET", "/hello.txt")
    assert ok.header("cache-control") == "public, max-age=3600"
    assert request(s.port, "GET", "/hello.txt", [("Range", "bytes=0-1")]).header("cache-control") == "public, max-age=3600"
    not_modified = request(s.port, "GET", "/hello.txt", [("If-None-Match", ok.header("etag"))])
    assert not_modified.status == 304 and not_modified.header("cache-control") == "public, max-age=3600"
    assert request(s.port, "GET", "/app.js", [("Accept-Encoding", "gzip")]).header("cache-control") == "public, max-age=3600"
    assert request(s.port, "GET", "/list/").header("cache-control") == "no-cache"
    for target in ["/missing.txt", "/hello.txt/"]:
        assert request(s.port, "GET", target).header("cache-control") is None
    assert request(s.port, "GET", "/hello.txt", [("Range", "bytes=99-")]).header("cache-control") is None
    # Without the setting, no header at all.
    s.stop()
    s2 = serve(server, static("/", site))
    assert request(s2.port, "GET", "/hello.txt").header("cache-control") is None


def test_autoindex_escapes_names_and_sorts_directories_first(server, tmp_path):
    root = tmp_path / "list"
    outside = tmp_path / "outside"
    for d in ["Zdir", "a dir", ".hidden-dir", "sub"]:
        (root / d).mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    names = {"b.txt": 1, "A.txt": 22, "<img src=x onerror=alert(1)>.txt": 3, "x&y.txt": 4444,
             'q"t.txt': 5, ".secret": 6, "caf\u00e9.txt": 7}
    for name, size in names.items():
        (root / name).write_bytes(b"x" * size)
        os.utime(root / name, (1_700_000_000, 1_700_000_000))
    os.utime(root / "Zdir", (1_700_000_060, 1_700_000_060))
    os.symlink("b.txt", root / "link-in")
    os.symlink(outside / "secret.txt", root / "link-out")
    os.symlink(outside, root / "dir-out")
    s = serve(server, static("/", root, "autoindex = true"))
    r = request(s.port, "GET", "/")
    assert r.status == 200 and r.header("content-type") == "text/html"
    page = r.body.decode()
    assert page.startswith("<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n<h1>Index of /</h1>"
                           "<hr><pre><a href=\"../\">../</a>\r\n")
    assert page.endswith("</pre><hr></body>\r\n</html>\r\n")
    hrefs = re.findall(r'<a href="([^"]*)">', page)
    # Directories first, then files; each group ordered by name, byte for byte.
    assert hrefs == ["../", "Zdir/", "a%20dir/", "sub/",
                     "%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt", "A.txt", "b.txt", "caf%C3%A9.txt",
                     "link-in", "q%22t.txt", "x%26y.txt"]
    # Names are HTML-escaped; dot-files and symlinks leaving the root are not listed.
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;.txt</a>" in page
    assert "x&amp;y.txt</a>" in page and "q&quot;t.txt</a>" in page
    assert "secret" not in page and "hidden" not in page and "link-out" not in page and "dir-out" not in page
    # Exact size, right-aligned in 19 columns; "-" for directories; UTC times.
    assert re.search(r'<a href="x%26y.txt">x&amp;y.txt</a> +14-Nov-2023 22:13 +4444\r\n', page)
    line = next(l for l in page.split("\r\n") if l.startswith('<a href="Zdir/">'))
    assert line == '<a href="Zdir/">Zdir/</a>' + " " * 45 + " 14-Nov-2023 22:14 " + " " * 18 + "-"
    # HEAD: the same length, no body.
    head = request(s.port, "HEAD", "/")
    assert head.header("content-length") == str(len(r.body)) and head.body == b""


def test_symlinks_leaving_the_root_are_refused(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET\n")
    (outside / "index.html").write_text("TOP SECRET index\n")
    root = tmp_path / "root"
    (root / "in").mkdir(parents=True)
    (root / "in" / "ok.txt").write_text("fine\n")
    os.symlink(outside / "secret.txt", root / "file-out")
    os.symlink(outside, root / "dir-out")
    os.symlink("../../outside/secret.txt", root / "in" / "relative-out")
    os.symlink("ok.txt", root / "in" / "link-in")
    os.symlink("../in", root / "in" / "loop-back")
    os.symlink("relative-out", root / "in" / "chain-out")  # inside, pointing at a link that leaves
    os.symlink("/etc/passwd", root / "passwd")
    s = serve(server, static("/", root, "autoindex = true"))
    for target in ["/file-out", "/dir-out/secret.txt", "/dir-out/", "/dir-out", "/in/relative-out",
                   "/in/chain-out", "/passwd", "/in/loop-back/../../dir-out/secret.txt"]:
        r = request(s.port, "GET", target)
        assert r.status in (403, 404), (target, r)
        assert b"SECRET" not in r.body and b"root:" not in r.body, target
    assert request(s.port, "GET", "/in/link-in").body == b"fine\n"
    assert request(s.port, "GET", "/in/loop-back/ok.txt").body == b"fine\n"
    # The same with the route under a prefix, and encoded.
    s.stop()
    s2 = serve(server, static("/pub/", root))
    for target in ["/pub/file-out", "/pub/%64ir-out/secret.txt", "/pub/in/%2e%2e/dir-out/secret.txt",
                   "/pub/..%2f..%2foutside/secret.txt", "/pub/in/..%2F..%2F..%2Foutside%2Fsecret.txt"]:
        r = request(s2.port, "GET", target)
        assert r.status in (403, 404), (target, r)
        assert b"SECRET" not in r.body


def test_a_symlinked_root_follows_its_link(server, tmp_path):
    """Deploys often point `root` at a symlink and swap it: the new tree is served, never refused."""
    for release, text in [("r1", "one\n"), ("r2", "two\n")]:
        (tmp_path / release).mkdir()
        (tmp_path / release / "v.txt").write_text(text)
    current = tmp_path / "current"
    os.symlink(tmp_path / "r1", current)
    s = serve(server, static("/", current))
    assert request(s.port, "GET", "/v.txt").body == b"one\n"
    os.symlink(tmp_path / "r2", tmp_path / "next")
    os.replace(tmp_path / "next", current)
    assert request(s.port, "GET", "/v.txt").body == b"two\n"


def test_longest_prefix_and_host_routing(server, tmp_path):
    roots = {}
    for name in "ABC":
        roots[name] = tmp_path / name
        roots[name].mkdir()
        (roots[name] / "who.txt").write_text(name)
    routes = (static("/", roots["A"]) + static("/static/", roots["B"])
              + static("/static/", roots["C"], 'host = "example.com"')
              + '[[route]]\npath = "/static/deep/"\ntype = "return"\nstatus = 200\nbody = "deep"\n')
    s = serve(server, routes)

    def who(target, host="default"):
        r = request(s.port, "GET", target, host=host)
        return r.status, r.body.decode()

    assert who("/who.txt") == (200, "A")
    assert who("/static/who.txt") == (200, "B")
    assert who("/static/who.txt", host="example.com") == (200, "C")
    assert who("/static/who.txt", host="EXAMPLE.com:8080") == (200, "C")
    assert who("/static/who.txt", host="other.example.com") == (200, "B")
    assert who("/who.txt", host="example.com") == (200, "A")  # no host-specific "/": the any-host one
    assert who("/static/deep/anything") == (200, "deep")
    # Routes match the normalised path: decoded, dot segments resolved.
    assert who("/%73tatic/who.txt") == (200, "B")
    assert who("/static/../who.txt") == (200, "A")
    assert who("/x/../static/who.txt", host="example.com") == (200, "C")
    assert who("//static//who.txt") == (200, "B")
    assert who("/static/%2e%2e/static/deep/x") == (200, "deep")


def test_no_matching_route_is_404(server, site):
    s = serve(server, static("/static/", site))
    assert request(s.port, "GET", "/static/hello.txt").status == 200
    for target in ["/", "/other", "/stat", "/static"]:
        r = request(s.port, "GET", target)
        assert r.status == 404 and r.header("content-type") == "text/html", target
    # Paths that cannot be normalised are answered whatever the routes.
    assert request(s.port, "GET", "/static/%zz").status == 400
    assert request(s.port, "GET", "/static/../../x").status == 403
    assert request(s.port, "GET", "/static/a%00b").status == 404


def test_prefix_without_slash_ends_at_a_segment(server, tmp_path, site):
    (tmp_path / "site-sibling").mkdir()
    (tmp_path / "site-sibling" / "x.txt").write_text("sibling\n")
    s = serve(server, static("/files", site))
    assert request(s.port, "GET", "/files/hello.txt").body == b"hello, world\n"
    assert request(s.port, "GET", "/files/dir/").body == b"<h1>dir</h1>\n"
    # "/filesX" is not under "/files": never a sibling of the root (nginx alias's old trap).
    assert request(s.port, "GET", "/files-sibling/x.txt").status == 404
    assert request(s.port, "GET", "/files..%2fsite-sibling/x.txt").status == 404
    r = request(s.port, "GET", "/files")
    assert r.status == 301 and r.header("location") == f"http://127.0.0.1:{s.port}/files/"


def test_redirect_location_is_escaped(server, tmp_path):
    root = tmp_path / "r"
    (root / "a b?c#d%e").mkdir(parents=True)
    s = serve(server, static("/", root))
    r = request(s.port, "GET", "/a%20b%3Fc%23d%25e?q=1")
    assert r.status == 301
    assert r.header("location") == f"http://127.0.0.1:{s.port}/a%20b%3Fc%23d%25e/?q=1"
    assert request(s.port, "GET", "/a%20b%3Fc%23d%25e/").status == 403  # no index, no autoindex


def test_methods_and_head(server, site):
    s = serve(server, static("/", site))
    for method in ["PUT", "DELETE", "OPTIONS", "PATCH", "POST"]:
        r = request(s.port, method, "/hello.txt")
        assert r.status == 405 and r.header("allow") == "GET, HEAD", method
    get = request(s.port, "GET", "/hello.txt", [("Range", "bytes=1-3")])
    head = request(s.port, "HEAD", "/hello.txt", [("Range", "bytes=1-3")])
    assert head.status == get.status == 206
    assert head.body == b"" and get.body == b"ell"
    same = lambda r: {k: v for k, v in r.headers.items() if k != "date"}  # noqa: E731
    assert same(head) == same(get)


def test_index_names_are_tried_in_order(server, tmp_path):
    root = tmp_path / "r"
    (root / "both").mkdir(parents=True)
    (root / "second").mkdir()
    (root / "both" / "start.htm").write_text("start\n")
    (root / "both" / "index.html").write_text("index\n")
    (root / "second" / "index.html").write_text("second\n")
    s = serve(server, static("/", root, 'index = ["start.htm", "index.html"]'))
    assert request(s.port, "GET", "/both/").body == b"start\n"
    assert request(s.port, "GET", "/second/").body == b"second\n"
    assert request(s.port, "GET", "/both/").header("content-type") == "text/html"


def test_gzip_static_can_be_turned_off(server, site):
    s = serve(server, static("/", site, "gzip_static = false"))
    r = request(s.port, "GET", "/app.js", [("Accept-Encoding", "gzip")])
    assert r.status == 200 and r.header("content-encoding") is None and r.header("vary") is None
    assert r.body == b"let x = 1;\n" * 50
    s.stop()
    s2 = serve(server, static("/", site))
    r2 = request(s2.port, "GET", "/app.js", [("Accept-Encoding", "gzip")])
    assert r2.header("content-encoding") == "gzip" and r2.header("vary") == "Accept-Encoding"
    assert gzip.decompress(r2.body) == b"let x = 1;\n" * 50


def test_a_fifo_in_the_root_does_not_hang_the_worker(server, site):
    os.mkfifo(site / "pipe")
    s = serve(server, static("/", site))
    t0 = time.monotonic()
    assert request(s.port, "GET", "/pipe", timeout=3).status == 404
    assert time.monotonic() - t0 < 2
    assert request(s.port, "GET", "/hello.txt").status == 200


def test_keep_alive_and_pipelining_after_file_answers(server, site):
    (site / "quarter.bin").write_bytes(os.urandom(256 << 10))
    s = serve(server, static("/", site))
    etag = request(s.port, "GET", "/hello.txt").header("etag")
    plan = [("GET", "/quarter.bin", ""), ("GET", "/hello.txt", f"If-None-Match: {etag}\r\n"),
            ("GET", "/quarter.bin", "Range: bytes=0-9,100-109\r\n"), ("HEAD", "/quarter.bin", ""),
            ("GET", "/missing", ""), ("GET", "/app.js", "Accept-Encoding: gzip\r\n"), ("GET", "/hello.txt", "")]
    expected = [200, 304, 206, 200, 404, 200, 200]
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        # One at a time on one connection, then all at once (pipelined).
        rest = b""
        for (method, target, extra), status in zip(plan, expected):
            sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
            r, rest = read_response(sock, head_only=(method == "HEAD"))
            assert r.status == status and rest == b"", (target, r)
        sock.sendall(b"".join(f"{m} {t} HTTP/1.1\r\nHost: x\r\n{e}\r\n".encode() for m, t, e in plan))
        for (method, target, _), status in zip(plan, expected):
            r, rest = read_response_buffered(sock, rest, head_only=(method == "HEAD"))
            assert r.status == status, (target, r)
            if target == "/quarter.bin" and method == "GET" and status == 200:
                assert r.body == (site / "quarter.bin").read_bytes()
        assert rest == b""


def read_response_buffered(sock, pending, head_only=False):
    """read_response for pipelining: starts from bytes already received."""
    class Replay:
        def __init__(self, first):
            self.first = first

        def recv(self, n):
            if self.first:
                b, self.first = self.first, b""
                return b
            return sock.recv(n)
    return read_response(Replay(pending), head_only=head_only)


def big_sparse_file(root, size=512 << 20):
    path = root / "big.bin"
    with open(path, "wb") as f:
        f.truncate(size)
    return path, size


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.samples.append(rss_kib(self.pid))
            time.sleep(self.interval)


def warm_up(port):
    for _ in range(20):
        request(port, "GET", "/hello.txt")
        request(port, "GET", "/big.bin", [("Range", "bytes=0-99999")])


def test_streaming_512_mib_keeps_worker_memory_flat(server, site):
    path, size = big_sparse_file(site)
    s = serve(server, static("/", site))
    (worker,) = s.workers()
    warm_up(s.port)
    before = rss_kib(worker)
    sampler = RssSampler(worker)
    sampler.start()
    received = 0
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 10)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        head, _, body = head.partition(b"\r\n\r\n")
        assert b"200 OK" in head and f"Content-Length: {size}".encode() in head
        received = len(body)
        # A moderate pace: about 256 MiB/s at most, so the stream lasts a couple of seconds.
        budget = 256 << 20
        while True:
            b = sock.recv(1 << 20)
            if not b:
                break
            received += len(b)
            ahead = received / budget - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    sampler.stop.set()
    sampler.join()
    assert received == size
    peak = max(sampler.samples)
    growth = peak - before
    print(f"\nworker RSS before {before} KiB, peak {peak} KiB, growth {growth} KiB "
          f"over {len(sampler.samples)} samples, {time.monotonic() - t0:.1f}s")
    assert growth < 10 << 10, f"worker RSS grew by {growth} KiB while streaming {size >> 20} MiB"


def test_a_slow_reader_does_not_make_the_worker_buffer_the_file(server, site):
    path, size = big_sparse_file(site)
    s = serve(server, static("/", site))
    (worker,) = s.workers()
    warm_up(s.port)
    before = rss_kib(worker)
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        got = 0
        while got < 1 << 20:
            got += len(sock.recv(65536))
        # The reader stalls: the worker must neither buffer the rest nor stop serving others.
        samples = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            samples.append(rss_kib(worker))
            t0 = time.monotonic()
            assert request(s.port, "GET", "/hello.txt").status == 200
            assert time.monotonic() - t0 < 1
            time.sleep(0.2)
        growth = max(samples) - before
        print(f"\nslow reader: worker RSS before {before} KiB, peak {max(samples)} KiB")
        assert growth < 10 << 10, f"worker RSS grew by {growth} KiB behind a stalled reader"
        # Still a valid stream when reading resumes.
        sock.settimeout(5)
        more = 0
        while more < 8 << 20:
            b = sock.recv(1 << 20)
            assert b
            more += len(b)
