"""Start the real evprefork binary on loopback and drive it like an operator."""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
EVPREFORK = os.environ.get("EVPREFORK_BIN", str(REPO / ".build" / "release" / "evprefork"))
HELLO_APP = os.environ.get("HELLO_APP_BIN", str(pathlib.Path(EVPREFORK).parent / "hello-app"))

FAST = """
heartbeat_interval = 0.2
heartbeat_timeout = 1
graceful_timeout = 3
upgrade_timeout = 10
"""


def children(pid):
    """Pids whose parent is `pid`, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Server:
    """One evprefork manager started by a test, with its config in tmp_path."""

    def __init__(self, tmp_path, config, binary=EVPREFORK, name="server.conf", args=()):
        self.dir = pathlib.Path(tmp_path)
        self.conf = self.dir / name
        self.conf.write_text(config)
        self.binary = binary
        self.args = list(args)
        self.pid_file = self.dir / "evprefork.pid"
        self.stderr_path = self.dir / "stderr.log"
        self.stdout_path = self.dir / "stdout.log"
        self.proc = None
        self.port = None
        self.urls = []
        self.extra_pids = set()

    def start(self, timeout=10):
        self._err = open(self.stderr_path, "ab")
        self._out = open(self.stdout_path, "wb")  # each start prints its own listening lines
        self.port = None
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf), *self.args],
                                     stdout=self._out, stderr=self._err, cwd=self.dir)
        self.urls = wait_for(self._listening, timeout, what="listening lines")
        for u in self.urls:
            m = re.match(r"http://[^ ]*:(\d+)$", u)
            if m and self.port is None:
                self.port = int(m.group(1))
        wait_for(lambda: self.pid_file.exists(), timeout, what="pid file")
        return self

    def _listening(self):
        text = self.stdout_path.read_text() if self.stdout_path.exists() else ""
        urls = re.findall(r"^evprefork: listening on (\S+)$", text, re.M)
        if self.proc.poll() is not None:
            raise AssertionError(f"evprefork exited {self.proc.returncode}: {self.log()}")
        n = self.conf.read_text().count("http://") + self.conf.read_text().count("unix:")
        return urls if urls and len(urls) >= 1 else None

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path="/", timeout=5, headers=None):
        req = urllib.request.Request(self.url(path), headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def status(self):
        code, body = self.get("/status")
        assert code == 200, body
        return json.loads(body)

    def workers(self):
        return children(self.pid)

    def wait_workers(self, n, timeout=10):
        return wait_for(lambda: (lambda w: w if len(w) == n else None)(self.workers()), timeout,
                        what=f"{n} workers")

    def signal(self, sig):
        os.kill(self.pid, sig)

    def log(self):
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def wait_log(self, pattern, timeout=10):
        return wait_for(lambda: re.search(pattern, self.log()), timeout, what=f"log /{pattern}/")

    def wait_exit(self, timeout=10):
        return self.proc.wait(timeout=timeout)

    def rewrite(self, config):
        self.conf.write_text(config)

    def stop(self):
        """Stops the manager and every process it or its upgrades started."""
        pids = set(self.extra_pids)
        if self.proc and self.proc.poll() is None:
            pids.add(self.proc.pid)
        try:
            pids.add(int(self.pid_file.read_text()))
        except (OSError, ValueError):
            pass
        family = set()
        for p in pids:
            family.add(p)
            family.update(children(p))
        for p in family:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for p in family:
            wait_for(lambda: not alive(p), 5, what=f"pid {p} to go")
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f:
                f.close()


def raw_request(port, data, timeout=5, host="127.0.0.1"):
    """Sends bytes, returns everything the server sent until it closed or went quiet."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except socket.timeout:
            pass
        return b"".join(chunks)
