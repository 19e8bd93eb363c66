#!/usr/bin/env python3
"""`make bench`: evprefork beside nginx, hypnotoad and a plain C evhttp server.

Starts every server with 2 workers on loopback ports of its own, checks that
each answers each scenario correctly, then measures with wrk in interleaved
rounds (each round runs every server once, the order rotated, so noise hits all
alike) and keeps the median. Also: WebSocket echo messages per second, failed
requests across reloads and upgrades under load, idle RSS and idle CPU.
Writes bench/results/latest.{md,json,png} and a timestamped JSON; prints the
table and the issue's goals. The goals are information: the exit code is 0
whenever the harness itself ran.

BENCH_QUICK=1  one short round of everything (results go to bench/results/tmp/)
BENCH_ONLY=a,b only these parts: fixed fixed-c256 fixed-close static-1k static-64k static-1m
               proxy ws idle reload (results go to bench/results/tmp/partial-*)
BENCH_EVPREFORK_SERVER  extra TOML lines for evprefork's [server] table
"""
import argparse
import ctypes
import datetime
import http.client
import json
import math
import os
import pathlib
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
STATS_LUA = HERE / "wrk" / "stats.lua"
COUNT_LUA = HERE / "wrk" / "count.lua"
APP_PL = HERE / "hypnotoad" / "app.pl"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

FIXED = b"hello world\n"
FILES = {"1k.bin": 1 << 10, "64k.bin": 64 << 10, "1m.bin": 1 << 20}
WORKERS = 2
SERVERS = ["evprefork", "nginx", "c-evhttp", "hypnotoad"]

# name, path, connections, servers, rounds in a full run
SCENARIOS = [
    ("fixed", "/fixed", 64, SERVERS, 5),      # the closest race: more rounds for a steadier median
    ("fixed-c256", "/fixed", 256, SERVERS, 3),
    ("fixed-close", "/fixed", 64, SERVERS, 2),
    ("static-1k", "/static/1k.bin", 64, SERVERS, 3),
    ("static-64k", "/static/64k.bin", 64, SERVERS, 2),
    ("static-1m", "/static/1m.bin", 64, SERVERS, 3),
    ("proxy", "/proxy/hello", 64, ["evprefork", "nginx", "hypnotoad"], 3),
]
# Rounds of evprefork and nginx alone after the full rounds, where the two are
# within the machine's noise of each other (one server moves 10-30% between
# rounds here): the median of their per-round ratios needs more pairs than the
# other servers need rounds. The order alternates.
PAIR_ROUNDS = {"fixed": 4, "fixed-c256": 4}
PAIR = ["evprefork", "nginx"]
# Request headers wrk adds in a scenario: "fixed-close" opens a new connection per
# request, as clients without keep-alive do (and nginx's proxy by default).
HEADERS = {"fixed-close": ["Connection: close"]}
TITLES = {
    "fixed": "fixed 12 B, 64 conns", "fixed-c256": "fixed 12 B, 256 conns",
    "fixed-close": "fixed 12 B, new connection each",
    "static-1k": "static 1 KiB", "static-64k": "static 64 KiB", "static-1m": "static 1 MiB",
    "proxy": "proxy (12 B upstream)", "ws": "WebSocket echo, round trips (msg/s)",
    "ws-pipelined": "WebSocket echo, 8 in flight (msg/s)",
}
BUSY_CORES = 0.25   # median CPU used outside server and client above which a scenario is flagged
WS_MODES = [("ws", 1), ("ws-pipelined", 8)]   # messages in flight per connection
PARTS = [s[0] for s in SCENARIOS] + ["ws", "idle", "reload"]

T0 = time.monotonic()


def log(msg):
    print(f"[bench {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, ppid, utime+stime ticks) or None when the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[11]) + int(fields[12])


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[1] == pid and st[0] not in ("Z", "X"):
                out.append(int(name))
    return sorted(out)


def descendants(pid):
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def status_kib(pid, key, path="status"):
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def read_pid(path):
    try:
        return int(pathlib.Path(path).read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, path, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def closes_unannounced(port, path, timeout=5.0):
    """Whether the server answers a `Connection: close` request and then closes
    without saying `Connection: close` in its answer (RFC 9112 §9.6: it SHOULD).
    wrk then takes the connection for kept alive, sends its next request on it
    and counts the close as a read error, once per answer: errors of the
    client's making, not failed answers. A server that does not close, or
    fails the probe, is not excused anything."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:   # refused, reset, or still open after `timeout` (socket.timeout is an OSError)
        return False
    head = data.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
    return data.startswith(b"HTTP/1.1 200") and not any(
        line.startswith(b"connection:") and b"close" in line for line in head[1:])


# ---------------------------------------------------------------- processes

class Processes:
    """Every process the bench starts, stopped by pid at the end."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.popens = {}    # pid -> Popen
        self.managers = {}  # name -> pid of the live manager (changes on upgrades)
        self.extra = set()  # pids we did not fork ourselves (new managers after USR2)
        libc = ctypes.CDLL(None, use_errno=True)
        # Orphans (a re-exec'd manager whose parent exited) are re-parented to
        # us, so they can be reaped and none is left behind.
        self.subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER

    def start(self, name, argv, env=None, cwd=None):
        logf = open(self.tmp / f"{name}.out", "ab")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd, start_new_session=True)
        logf.close()
        self.popens[p.pid] = p
        self.managers[name] = p.pid
        return p

    def track(self, name, pid):
        self.managers[name] = pid
        if pid not in self.popens:
            self.extra.add(pid)

    def reap(self):
        for pid, p in list(self.popens.items()):
            p.poll()
        for pid in list(self.extra):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    self.extra.discard(pid)
            except ChildProcessError:
                if not alive(pid):
                    self.extra.discard(pid)

    def gone(self, pid):
        self.reap()
        return not alive(pid)

    def log_tail(self, name, lines=15):
        try:
            text = (self.tmp / f"{name}.out").read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self):
        pids = [p for p in set(self.popens) | self.extra if alive(p)]
        tree = set(pids)
        for pid in pids:
            tree.update(descendants(pid))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(not self.gone(p) for p in tree):
            time.sleep(0.1)
        for pid in tree:
            if alive(pid):
                log(f"killing pid {pid}, still running after TERM")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.2)
        self.reap()
        # Anything else of ours still running (a wrk or a client cut short by an
        # interrupt, an orphan re-parented to us) is stopped and reaped here, so
        # nothing outlives the bench, not even as a zombie.
        me = os.getpid()
        for pid in children(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    if not children(me):
                        break
                    time.sleep(0.05)
            except ChildProcessError:
                break


# ---------------------------------------------------------------- configs

def write_files(tmp):
    www = tmp / "www" / "static"
    www.mkdir(parents=True)
    for name, size in FILES.items():
        (www / name).write_bytes(os.urandom(size))
    for d in (tmp, tmp / "www", www):
        d.chmod(0o755)
    for name in FILES:
        (www / name).chmod(0o644)
    return tmp / "www"


def evprefork_conf(tmp, port, upstream_port, www):
    d = tmp / "evprefork"
    d.mkdir()
    extra = os.environ.get("BENCH_EVPREFORK_SERVER", "").strip()
    text = f'''# written by tools/bench/run.py
[server]
listen  = ["http://127.0.0.1:{port}"]
workers = {WORKERS}
accepts = 0                  # never retire a worker (as nginx; hypnotoad is set alike)
keep_alive_requests = 1000   # nginx's default keepalive_requests
graceful_timeout = "10s"
pid_file  = "{d}/evprefork.pid"
lock_file = "{d}/accept.lock"
{extra}

[log]
level      = "warn"
error_log  = "{d}/error.log"
access_log = "off"

[[route]]
path   = "/fixed"
type   = "return"
status = 200
body   = "hello world\\n"

[[route]]
path = "/static/"
type = "static"
root = "{www}/static"
gzip_static = false          # as the nginx measured beside it: plain files, no .gz lookup

[[route]]
path     = "/proxy/"
type     = "proxy"
upstream = ["127.0.0.1:{upstream_port}"]
keepalive = 16

[[route]]
path = "/ws/echo"
type = "websocket"
mode = "echo"
'''
    conf = d / "evprefork.conf"
    conf.write_text(text)
    return conf


NGINX_COMMON = '''
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
'''

NGINX_TEMP = '''
    client_body_temp_path {d}/tmp-body;
    proxy_temp_path {d}/tmp-proxy;
    fastcgi_temp_path {d}/tmp-fastcgi;
    uwsgi_temp_path {d}/tmp-uwsgi;
    scgi_temp_path {d}/tmp-scgi;
'''


def nginx_conf(tmp, port, upstream_port, www):
    d = tmp / "nginx"
    (d / "logs").mkdir(parents=True)
    text = f"# written by tools/bench/run.py\nworker_processes {WORKERS};\n" + NGINX_COMMON.format(d=d) + f'''
http {{
{NGINX_TEMP.format(d=d)}
    access_log off;
    sendfile on;               # as Debian's nginx.conf
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000;
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;

    upstream backend {{
        server 127.0.0.1:{upstream_port};
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};
        location = /fixed {{
            default_type text/plain;
            return 200 "hello world\\n";
        }}
        location /static/ {{
            root {www};
        }}
        location /proxy/ {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
'''
    conf = d / "nginx.conf"
    conf.write_text(text)
    return d, conf


def upstream_conf(tmp, port):
    d = tmp / "upstream"
    (d / "logs").mkdir(parents=True)
    text = "# written by tools/bench/run.py: the common upstream of the proxy scenario\n" \
        "worker_processes 1;\n" + NGINX_COMMON.format(d=d) + f'''
http {{
{NGINX_TEMP.format(d=d)}
    access_log off;
    keepalive_timeout 300;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type text/plain;
            return 200 "hello world\\n";
        }}
    }}
}}
'''
    conf = d / "nginx.conf"
    conf.write_text(text)
    return d, conf


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.only = set(args.only) if args.only else set(PARTS)
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="evprefork-bench-"))
        self.procs = Processes(self.tmp)
        self.ports = {}
        self.pid_files = {}
        self.results = {
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "quick": self.quick,
            "workers": WORKERS,
            "machine": machine_info(),
            "loadavg_start": loadavg(),
            "versions": {},
            "settings": {},
            "scenarios": {},
            "websocket": {},
            "idle": {},
            "reload": {},
            "notes": [],
        }
        self.dead = {}  # server -> why it is not measured

    # ------------------------------------------------------------ start-up

    def start_servers(self):
        www = write_files(self.tmp)
        up = free_port()
        self.ports = {name: free_port() for name in SERVERS}
        self.ports["upstream"] = up

        d, conf = upstream_conf(self.tmp, up)
        self.procs.start("upstream", [NGINX, "-p", str(d), "-c", str(conf), "-g", "daemon off;"])

        conf = evprefork_conf(self.tmp, self.ports["evprefork"], up, www)
        self.pid_files["evprefork"] = self.tmp / "evprefork" / "evprefork.pid"
        test = subprocess.run([self.args.evprefork, "-c", str(conf), "-t"], capture_output=True, text=True)
        if test.returncode != 0:
            self.dead["evprefork"] = "config rejected: " + (test.stdout + test.stderr).strip()
            log("evprefork -t failed:\n" + test.stdout + test.stderr)
        else:
            self.procs.start("evprefork", [self.args.evprefork, "-c", str(conf)])

        d, conf = nginx_conf(self.tmp, self.ports["nginx"], up, www)
        self.procs.start("nginx", [NGINX, "-p", str(d), "-c", str(conf), "-g", "daemon off;"])

        self.procs.start("c-evhttp", [self.args.c_evhttp, str(self.ports["c-evhttp"]), str(WORKERS), str(www)])

        if "ws" in self.only:
            self.ports["ws-ceiling"] = free_port()
            self.procs.start("ws-ceiling", [self.args.ws_ceiling, str(self.ports["ws-ceiling"]), str(WORKERS)])

        hd = self.tmp / "hypnotoad"
        hd.mkdir()
        self.pid_files["hypnotoad"] = hd / "hypnotoad.pid"
        env = dict(os.environ, BENCH_LISTEN=f"http://127.0.0.1:{self.ports['hypnotoad']}",
                   BENCH_ROOT=str(www), BENCH_UPSTREAM=f"127.0.0.1:{up}",
                   BENCH_PID=str(self.pid_files["hypnotoad"]))
        self.procs.start("hypnotoad", ["hypnotoad", "-f", str(APP_PL)], env=env, cwd=str(hd))

        for name in ["upstream"] + SERVERS:
            if name in self.dead:
                continue
            why = self.wait_ready(name, "/fixed" if name != "upstream" else "/")
            if why:
                if name == "upstream":
                    raise SystemExit("the proxy upstream (nginx) did not start:\n" + why)
                self.dead[name] = why
                log(f"{name} did not start: {why}")
        if "ws-ceiling" in self.ports:
            why = self.wait_ws_ready("ws-ceiling")
            if why:
                self.dead["ws-ceiling"] = why
                log(f"ws-ceiling did not start: {why}")
        self.results["settings"] = {
            "wrk": "wrk -t2 -cN -dDs --latency (N=64, 256 for fixed-c256; -H \"Connection: close\" for fixed-close)",
            "duration_s": self.duration,
            "ports": self.ports,
            "upstream": "nginx 1.22, 1 worker, return 200 \"hello world\\n\" (the same for every proxy)",
            "evprefork_conf": (self.tmp / "evprefork" / "evprefork.conf").read_text(),
            "nginx_conf": (self.tmp / "nginx" / "nginx.conf").read_text(),
            "hypnotoad_app": APP_PL.read_text(),
            "c_evhttp": "tools/bench/c-evhttp/server.c: changelist on, TCP_NODELAY, "
                        "max_single_write 1 MiB, evbuffer_add_file, no accept mutex",
        }

    def wait_ready(self, name, path, timeout=30):
        def answers():
            status, _ = fetch(self.ports[name], path, timeout=2)
            return None if status == 200 and (name not in self.pid_files or read_pid(self.pid_files[name])) \
                else f"status {status}"
        return self.wait_until(name, answers, 1 if name == "upstream" else WORKERS, timeout)

    def wait_ws_ready(self, name, timeout=10):
        return self.wait_until(name, lambda: ws_check(f"ws://127.0.0.1:{self.ports[name]}/ws/echo"),
                               WORKERS, timeout)

    def wait_until(self, name, problem, workers, timeout):
        """Until `problem()` says nothing is wrong and the server has its
        workers; or why not, after `timeout` seconds."""
        pid = self.procs.managers[name]
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.procs.gone(pid):
                return f"exited at start-up:\n{self.procs.log_tail(name)}"
            try:
                last = problem()
                if not last and len(children(pid)) >= workers:
                    return None
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        return f"not ready after {timeout}s ({last or 'workers not started'}):\n{self.procs.log_tail(name)}"

    def cpu_snapshot(self, name, client_pid):
        client = [client_pid] + descendants(client_pid)
        return {"server": self.tree_ticks(name), "busy": busy_ticks(),
                "client": sum((proc_stat(q) or (0, 0, 0))[2] for q in client)}

    def tree_ticks(self, name):
        m = self.manager(name)
        return sum((proc_stat(p) or (0, 0, 0))[2] for p in [m] + children(m))

    def add_cpu(self, run, name, ticks_before, client_before, busy_before, upstream_before=None):
        """CPU the server (manager and workers), the client and the proxy upstream
        used, in cores, and what the rest of the machine used meanwhile ("other":
        kernel network work not charged to a process, anything else running)."""
        secs = run.get("duration_us", 0) / 1e6 or self.duration
        tck = os.sysconf("SC_CLK_TCK")
        run["server_cores"] = round((self.tree_ticks(name) - ticks_before) / tck / secs, 2)
        run["client_cores"] = round((children_cpu() - client_before) / secs, 2)
        busy = (busy_ticks() - busy_before) / tck / secs - run["server_cores"] - run["client_cores"]
        if upstream_before is not None:
            run["upstream_cores"] = round((self.tree_ticks("upstream") - upstream_before) / tck / secs, 2)
            busy -= run["upstream_cores"]
        run["other_cores"] = round(max(0.0, busy), 2)

    def manager(self, name):
        """The live manager pid (a pid file names the new one after an upgrade)."""
        if name in self.pid_files:
            pid = read_pid(self.pid_files[name])
            if pid and alive(pid):
                if pid != self.procs.managers.get(name):
                    self.procs.track(name, pid)
                return pid
        return self.procs.managers[name]

    # ------------------------------------------------------------ checks

    def check(self, name, path, want):
        """One request before measuring: the right status and the right bytes."""
        try:
            status, body = fetch(self.ports[name], path)
        except OSError as exc:
            return f"no answer: {exc}"
        if status != 200:
            return f"status {status} for GET {path}"
        if body != want:
            return f"body of {len(body)} bytes for GET {path}, expected {len(want)} bytes" + \
                ("" if len(body) != len(want) else " (different content)")
        return None

    # ------------------------------------------------------------ wrk

    @property
    def duration(self):
        return 3 if self.quick else 10

    def wrk(self, port, path, conns, duration, script=STATS_LUA, threads=2, headers=()):
        argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", "-s", str(script),
                *[a for h in headers for a in ("-H", h)], f"http://127.0.0.1:{port}{path}"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
        return parse_wrk(p.stdout, p.stderr)

    def run_scenarios(self):
        for name, path, conns, servers, rounds in SCENARIOS:
            if name not in self.only:
                continue
            want = FIXED if path in ("/fixed", "/proxy/hello") else \
                (self.tmp / "www" / path.lstrip("/")).read_bytes()
            rounds = 1 if self.quick else rounds
            pair_rounds = 0 if self.quick else PAIR_ROUNDS.get(name, 0)
            res = self.results["scenarios"][name] = {
                "path": path, "connections": conns, "rounds": rounds, "pair_rounds": pair_rounds,
                "duration_s": self.duration, "servers": {}}
            live = []
            for s in servers:
                entry = res["servers"][s] = {"runs": []}
                why = self.dead.get(s) or self.check(s, path, want)
                if why:
                    entry.update(ok=False, error=why)
                    log(f"{name}: {s} not measured: {why.splitlines()[0]}")
                else:
                    live.append(s)
                    if "Connection: close" in HEADERS.get(name, ()) and closes_unannounced(self.ports[s], path):
                        entry["closes_unannounced"] = True
            # A short warm-up of each server, then interleaved rounds.
            headers = HEADERS.get(name, ())
            for s in live:
                self.wrk(self.ports[s], path, conns, 1, headers=headers)
            pair = [s for s in PAIR if s in live]
            plan = [(r, live[r % len(live):] + live[:r % len(live)]) for r in range(rounds)] if live else []
            if len(pair) == 2:
                plan += [(rounds + r, pair if r % 2 else pair[::-1]) for r in range(pair_rounds)]
            for r, order in plan:
                for s in order:
                    up0 = self.tree_ticks("upstream") if name == "proxy" else None
                    cpu0, wrk0, busy0 = self.tree_ticks(s), children_cpu(), busy_ticks()
                    run = self.wrk(self.ports[s], path, conns, self.duration, headers=headers)
                    self.add_cpu(run, s, cpu0, wrk0, busy0, up0)
                    run["bytes_per_response"] = run["bytes"] / run["requests"] if run["requests"] else 0
                    res["servers"][s]["runs"].append(run)
                    log(f"{name} round {r + 1}/{len(plan)} {s:10s} {run['rps']:10.0f} req/s  "
                        f"p99 {run['p99_ms']:7.2f} ms  errors {run['errors']}  "
                        f"CPU cores: server {run['server_cores']}, wrk {run['client_cores']}, "
                        f"other {run['other_cores']}")
                    time.sleep(0.5)
            for s in live:
                summarize(res["servers"][s], len(want))
            res["ratios"] = round_ratios(res["servers"], "rps")

    # ------------------------------------------------------------ websocket

    def run_ws(self):
        """Echo with 64 connections: strict round trips (one message in flight per
        connection), then pipelined (8 in flight), with the C client
        (tools/bench/ws-client/ws_bench.c; ws_bench.py's raw mode cost more CPU
        than the server it measured)."""
        servers = [s for s in ("evprefork", "hypnotoad", "ws-ceiling") if s not in self.dead]
        rounds = 1 if self.quick else 3
        live = []
        checks = {}
        for s in servers:
            checks[s] = ws_check(f"ws://127.0.0.1:{self.ports[s]}/ws/echo")
            if checks[s]:
                log(f"ws: {s} not measured: {checks[s]}")
            else:
                live.append(s)
        for mode, window in WS_MODES:
            out = self.results["websocket"][mode] = {
                "connections": 64, "message_bytes": 64, "window": window, "rounds": rounds,
                "duration_s": self.duration, "client": "tools/bench/ws-client/ws_bench.c (C, 2 processes, epoll, "
                "every echo checked byte for byte)",
                "servers": {s: ({"runs": []} if s in live else {"ok": False, "error": checks[s]})
                            for s in servers}}
            for r in range(rounds):
                order = live[r % len(live):] + live[:r % len(live)] if live else []
                for s in order:
                    url = f"ws://127.0.0.1:{self.ports[s]}/ws/echo"
                    # The client connects first and starts at start_at; CPU is sampled
                    # inside the load phase only, client included (its processes' ticks).
                    start_at = time.monotonic() + 1.5 + 0.02 * 64
                    p = subprocess.Popen([self.args.ws_client, url, "--conns", "64", "--procs", "2",
                                          "--duration", str(self.duration), "--size", "64",
                                          "--window", str(window), "--start-at", repr(start_at)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    try:
                        time.sleep(max(0.0, start_at + 0.2 - time.monotonic()))
                        t1, before = time.monotonic(), self.cpu_snapshot(s, p.pid)
                        time.sleep(max(0.0, start_at + self.duration - 0.2 - time.monotonic()))
                        t2, after = time.monotonic(), self.cpu_snapshot(s, p.pid)
                        stdout, stderr = p.communicate(timeout=self.duration + 150)
                    finally:
                        if p.poll() is None:
                            p.kill()
                            p.wait()
                    try:
                        run = json.loads(stdout.strip().splitlines()[-1])
                    except (ValueError, IndexError):
                        run = {"messages_per_s": 0, "failed_connections": -1, "errors": [stderr[-500:]]}
                    tck = os.sysconf("SC_CLK_TCK")
                    cores = {k: (after[k] - before[k]) / tck / (t2 - t1) for k in before}
                    run["server_cores"] = round(cores["server"], 2)
                    run["client_cores"] = round(cores["client"], 2)
                    run["other_cores"] = round(max(0.0, cores["busy"] - cores["server"] - cores["client"]), 2)
                    out["servers"][s]["runs"].append(run)
                    log(f"{mode} round {r + 1}/{rounds} {s:10s} {run['messages_per_s']:10.0f} msg/s  "
                        f"failed connections {run['failed_connections']}  "
                        f"CPU cores: server {run['server_cores']}, client {run['client_cores']}, "
                        f"other {run['other_cores']}")
                    time.sleep(0.5)
            for s in live:
                e = out["servers"][s]
                e["messages_per_s"] = statistics.median(r["messages_per_s"] for r in e["runs"])
                e["failed_connections"] = sum(max(0, r["failed_connections"]) for r in e["runs"])
                e["ok"] = all(r["failed_connections"] == 0 for r in e["runs"])
                if not e["ok"]:
                    e["error"] = "; ".join(x for r in e["runs"] for x in r.get("errors", []))[:300]
                e["server_cores"] = statistics.median(r["server_cores"] for r in e["runs"])
                e["client_cores"] = statistics.median(r["client_cores"] for r in e["runs"])
                e["other_cores"] = statistics.median(r["other_cores"] for r in e["runs"])
            out["ratios"] = round_ratios(out["servers"], "messages_per_s")

    # ------------------------------------------------------------ idle

    def measure_idle(self, label, seconds):
        time.sleep(2)
        tck = os.sysconf("SC_CLK_TCK")
        names = [s for s in SERVERS if s not in self.dead]
        trees = {}
        for s in names:
            m = self.manager(s)
            trees[s] = (m, children(m))
        t1 = time.monotonic()
        before = {s: sum((proc_stat(p) or (0, 0, 0))[2] for p in [m] + w) for s, (m, w) in trees.items()}
        time.sleep(seconds)
        t2 = time.monotonic()
        out = {}
        for s, (m, workers) in trees.items():
            after = sum((proc_stat(p) or (0, 0, 0))[2] for p in [m] + workers)
            rss = [status_kib(p, "VmRSS") for p in workers]
            pss = [status_kib(p, "Pss", "smaps_rollup") for p in workers]
            out[s] = {
                "manager_pid": m, "worker_pids": workers,
                "worker_rss_mib": round(sum(rss) / len(rss) / 1024, 2) if rss else None,
                "worker_pss_mib": round(sum(pss) / len(pss) / 1024, 2) if pss else None,
                "manager_rss_mib": round(status_kib(m, "VmRSS") / 1024, 2),
                "total_rss_mib": round((sum(rss) + status_kib(m, "VmRSS")) / 1024, 2),
                "cpu_percent": round((after - before[s]) / tck / (t2 - t1) * 100, 2),
                "seconds": round(t2 - t1, 1),
            }
            log(f"idle ({label}) {s:10s} worker RSS {out[s]['worker_rss_mib']} MiB, "
                f"PSS {out[s]['worker_pss_mib']} MiB, manager {out[s]['manager_rss_mib']} MiB, "
                f"CPU {out[s]['cpu_percent']}%")
        self.results["idle"][label] = out

    # ------------------------------------------------------------ reloads

    def wait_for(self, cond, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return True
            time.sleep(0.05)
        return False

    def hup(self, name):
        """HUP; done when every old worker is gone and a full new generation runs."""
        m = self.manager(name)
        old = set(children(m))
        t = time.monotonic()
        os.kill(m, signal.SIGHUP)
        ok = self.wait_for(lambda: (lambda kids: len(kids) >= WORKERS and not (old & set(kids)))(
            set(children(m))), 40)
        return {"signal": "HUP", "ok": ok, "seconds": round(time.monotonic() - t, 2)}

    def usr2(self, name):
        """USR2; done when a new manager owns the pid file, the old one has exited,
        and the new one has its workers."""
        old = self.manager(name)
        t = time.monotonic()
        os.kill(old, signal.SIGUSR2)

        def done():
            new = read_pid(self.pid_files[name])
            if not new or new == old or not alive(new):
                return False
            self.procs.track(name, new)
            return self.procs.gone(old) and len(children(new)) >= WORKERS
        ok = self.wait_for(done, 90)
        return {"signal": "USR2", "ok": ok, "seconds": round(time.monotonic() - t, 2),
                "old_pid": old, "new_pid": read_pid(self.pid_files[name])}

    def under_load(self, name, actions):
        """Runs wrk (counting every non-200 and socket error) while actions run."""
        port = self.ports[name]
        argv = ["wrk", "-t2", "-c32", "-d600s", "--latency", "-s", str(COUNT_LUA),
                f"http://127.0.0.1:{port}/fixed"]
        w = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        steps = []
        try:
            time.sleep(1)
            for act in actions:
                step = act()
                steps.append(step)
                log(f"reload {name}: {step['signal']} took {step['seconds']} s{'' if step['ok'] else ' (NOT DONE)'}")
                time.sleep(0.5)
            time.sleep(1)
        finally:
            os.kill(w.pid, signal.SIGINT)
            try:
                out, err = w.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(w.pid, signal.SIGKILL)
                out, err = w.communicate()
        run = parse_wrk(out, err)
        failed = run.get("non200", 0) + run["socket_errors"]
        after = self.check(name, "/fixed", FIXED)
        return {"steps": steps, "wrk": run, "requests": run["requests"], "failed": failed,
                "non200": run.get("non200", 0), "socket_errors": run["socket_errors"],
                "all_done": all(s["ok"] for s in steps), "serving_after": after is None,
                "after_error": after}

    def run_reload(self):
        hups, usr2s = (10, 3)
        out = self.results["reload"]
        if "evprefork" not in self.dead:
            acts = [lambda: self.hup("evprefork")] * hups + [lambda: self.usr2("evprefork")] * usr2s
            out["evprefork"] = dict(self.under_load("evprefork", acts), hups=hups, usr2s=usr2s)
            r = out["evprefork"]
            log(f"reload evprefork: {r['failed']} failed of {r['requests']} requests "
                f"({r['non200']} non-200, {r['socket_errors']} socket errors)")
        if "hypnotoad" not in self.dead:
            acts = [lambda: self.usr2("hypnotoad")] * usr2s
            out["hypnotoad"] = dict(self.under_load("hypnotoad", acts), hups=0, usr2s=usr2s)
            r = out["hypnotoad"]
            log(f"reload hypnotoad: {r['failed']} failed of {r['requests']} requests "
                f"({r['non200']} non-200, {r['socket_errors']} socket errors)")

    # ------------------------------------------------------------ all

    def run(self):
        self.results["versions"] = versions(self.args.evprefork)
        log(f"temp dir {self.tmp}; {'QUICK' if self.quick else 'full'} run; parts: {','.join(p for p in PARTS if p in self.only)}")
        self.start_servers()
        if "idle" in self.only:
            self.measure_idle("fresh", 2 if self.quick else 5)
        self.run_scenarios()
        if "ws" in self.only:
            self.run_ws()
        if "idle" in self.only:
            self.measure_idle("after_load", 2 if self.quick else 5)
        if "reload" in self.only:
            self.run_reload()
        for s, why in self.dead.items():
            self.results["notes"].append(f"{s} was not measured: {why}")

    def cleanup(self):
        self.procs.stop_all()
        if self.args.keep_tmp:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- helpers

def parse_wrk(stdout, stderr):
    line = next((l for l in stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if line is None:
        return {"requests": 0, "rps": 0.0, "p99_ms": 0.0, "errors": -1, "socket_errors": -1, "bytes": 0,
                "status": 0, "raw": (stdout + stderr)[-800:]}
    d = json.loads(line[len("BENCH_JSON "):])
    secs = d["duration_us"] / 1e6 or 1
    d["socket_errors"] = d["connect"] + d["read"] + d["write"] + d["timeout"]
    d["errors"] = d["socket_errors"] + d["status"]
    d["rps"] = (d["requests"] - d["status"]) / secs     # only answers below 400 count as speed
    d["p99_ms"] = d["lat_p99_us"] / 1000
    return d


def summarize(entry, body_len):
    runs = entry["runs"]
    entry["rps"] = statistics.median(r["rps"] for r in runs)
    entry["p99_ms"] = statistics.median(r["p99_ms"] for r in runs)
    entry["errors"] = sum(max(0, r["errors"]) for r in runs)
    entry["non2xx"] = sum(r["status"] for r in runs)
    entry["requests"] = sum(r["requests"] for r in runs)
    entry["server_cores"] = statistics.median(r.get("server_cores", 0) for r in runs)
    entry["client_cores"] = statistics.median(r.get("client_cores", 0) for r in runs)
    entry["other_cores"] = statistics.median(r.get("other_cores", 0) for r in runs)
    if any("upstream_cores" in r for r in runs):
        entry["upstream_cores"] = statistics.median(r.get("upstream_cores", 0) for r in runs)
    # A server that closes without announcing it costs wrk a read error per
    # answer (closes_unannounced): those are excused, and nothing else is.
    excused = (lambda r: min(r["read"], r["requests"] + 256)) if entry.get("closes_unannounced") else (lambda r: 0)
    bad = [r for r in runs if r["errors"] < 0 or r["status"] > 0 or
           r["socket_errors"] - excused(r) > max(10, r["requests"] // 1000) or
           (r["requests"] and r["bytes_per_response"] < body_len)]
    entry["ok"] = not bad
    if bad:
        r = bad[0]
        if r["errors"] < 0:
            entry["error"] = "wrk failed: " + r.get("raw", "")
        elif r["status"] or r["socket_errors"] - excused(r) > max(10, r["requests"] // 1000):
            entry["error"] = f"{entry['non2xx']} responses >= 400 and " \
                f"{sum(x['socket_errors'] for x in runs)} socket errors of {entry['requests']} requests"
        else:
            entry["error"] = f"responses averaged {r['bytes_per_response']:.0f} bytes with headers, " \
                f"less than the {body_len}-byte body"


def busy_ticks():
    """CPU ticks the whole machine spent busy (every CPU, from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]   # all but idle and iowait


def children_cpu():
    t = os.times()
    return t.children_user + t.children_system


def loadavg():
    try:
        return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def ws_check(url):
    try:
        from websockets.sync.client import connect
        with connect(url, compression=None, open_timeout=5, close_timeout=2) as ws:
            ws.send("check " * 10)
            got = ws.recv(timeout=5)
            return None if got == "check " * 10 else f"echo differs: {got!r:.60}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def cmd_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unknown"


def versions(evprefork):
    commit = cmd_out(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "diff-index", "--quiet", "HEAD", "--"],
                           capture_output=True).returncode != 0
    return {
        "evprefork": cmd_out([evprefork, "--version"]),
        "commit": commit + ("+uncommitted changes" if dirty else ""),
        "nginx": cmd_out([NGINX, "-v"]),
        "mojolicious": cmd_out(["perl", "-MMojolicious", "-MEV", "-e",
                                "print qq{Mojolicious $Mojolicious::VERSION, EV $EV::VERSION}"]),
        "libevent": cmd_out(["pkg-config", "--modversion", "libevent"]),
        "wrk": cmd_out(["wrk", "-v"]),
        "python_websockets": __import__("websockets").__version__,
    }


def machine_info():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "kernel": platform.release()}


# ---------------------------------------------------------------- report

def round_ratios(servers, key):
    """evprefork ÷ each other server, per round (the two ran minutes apart at
    most, under the same conditions), and the median of those ratios: steadier
    than a ratio of medians when the machine's load drifts during the run."""
    a = servers.get("evprefork")
    out = {}
    for name, b in servers.items():
        if name == "evprefork" or not a or not a.get("ok") or not b.get("ok"):
            continue
        per = [x[key] / y[key] for x, y in zip(a["runs"], b["runs"]) if y.get(key)]
        if per:
            out[name] = {"per_round": [round(v, 3) for v in per], "median": statistics.median(per)}
    return out


def median_interval(values, resamples=4000):
    """A 95% bootstrap interval of the median: how far this run's noise lets
    the median of the per-round ratios move. Seeded, so a report is reproducible."""
    rng = random.Random(8)
    n = len(values)
    meds = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    return meds[int(0.025 * resamples)], meds[int(0.975 * resamples) - 1]


def ratio_entry(res, scenario, anchor):
    """evprefork ÷ `anchor` in a scenario: {"per_round": [...], "median": ...}, or None."""
    return res["scenarios"].get(scenario, {}).get("ratios", {}).get(anchor)


def ratio(res, scenario, anchor):
    r = ratio_entry(res, scenario, anchor)
    return r["median"] if r else None


def ws_ratio(res, mode, anchor="hypnotoad"):
    r = res.get("websocket", {}).get(mode, {}).get("ratios", {}).get(anchor)
    return r["median"] if r else None


def goals(res):
    out = []

    def line(text, value, need, missing, reach=None, rounds=None):
        """`reach`: for a goal against hypnotoad, (the rate the goal needs, the
        fastest any server reached here, which): shown when the goal is missed,
        so a goal beyond this machine is told from one evprefork falls short of.
        `rounds`: the per-round ratios, whose spread is shown."""
        if value is None:
            out.append({"goal": text, "status": "n/a", "detail": missing})
            return
        detail = f"{value:.2f}×"
        if rounds and len(rounds) > 1:
            above = sum(1 for x in rounds if x >= need)
            detail += f", per round {min(rounds):.2f}–{max(rounds):.2f}, {above} of {len(rounds)} at or above"
            if len(rounds) >= 5:
                low, high = median_interval(rounds)
                detail += f", 95% interval of the median {low:.2f}–{high:.2f}"
        if value < need and reach:
            needed, best, who = reach
            detail += f"; {need:g}× hypnotoad is {needed:,.0f}/s, the fastest server here reached " \
                      f"{best:,.0f}/s ({who})" + (": beyond this machine" if best < needed else "")
        out.append({"goal": text, "status": "holds" if value >= need else "MISSED", "detail": detail})

    def reach(group, key, need):
        # Only runs that passed: a failed run's rate says nothing of what the machine carries.
        servers = {n: e for n, e in group.get("servers", {}).items() if e.get(key) and e.get("ok")}
        if "hypnotoad" not in servers:
            return None
        who = max(servers, key=lambda n: servers[n][key])
        return need * servers["hypnotoad"][key], servers[who][key], who

    def why(scenario, anchor):
        sc = res["scenarios"].get(scenario)
        if not sc:
            return "not run"
        bad = [f"{s}: {e.get('error', '').splitlines()[0]}" for s, e in sc["servers"].items()
               if s in ("evprefork", anchor) and not e.get("ok")]
        return "; ".join(bad) or "not measured"

    def against_nginx(text, sc, need):
        r = ratio_entry(res, sc, "nginx")
        line(text, r["median"] if r else None, need, why(sc, "nginx"), rounds=r["per_round"] if r else None)

    for sc, label in (("fixed", "fixed answer"), ("fixed-c256", "fixed answer, 256 connections")):
        line(f"{label} ≥ 0.95× C evhttp", ratio(res, sc, "c-evhttp"), 0.95, why(sc, "c-evhttp"))
        against_nginx(f"{label} ≥ 1.0× nginx", sc, 1.0)
    against_nginx("static 1 KiB ≥ 1.0× nginx", "static-1k", 1.0)
    against_nginx("static 1 MiB ≥ 0.9× nginx", "static-1m", 0.9)
    against_nginx("proxy ≥ 1.0× nginx", "proxy", 1.0)
    for sc, _, _, servers, _ in SCENARIOS:
        if "hypnotoad" in servers:
            line(f"{TITLES[sc]} ≥ 5× hypnotoad", ratio(res, sc, "hypnotoad"), 5.0, why(sc, "hypnotoad"),
                 reach(res["scenarios"].get(sc, {}), "rps", 5.0))
    for mode, _ in WS_MODES:
        line(f"{TITLES[mode].replace(' (msg/s)', '')} ≥ 5× hypnotoad", ws_ratio(res, mode), 5.0,
             "not run" if not res.get("websocket") else "not measured (see the WebSocket table)",
             reach(res.get("websocket", {}).get(mode, {}), "messages_per_s", 5.0))
    r = res.get("reload", {}).get("evprefork")
    if r is None:
        out.append({"goal": "zero failed requests across 10 HUPs and 3 USR2s", "status": "n/a", "detail": "not run"})
    else:
        ok = r["failed"] == 0 and r["all_done"] and r["serving_after"]
        detail = f"{r['failed']} failed of {r['requests']}"
        if not r["all_done"]:
            detail += "; a reload or upgrade did not complete"
        if not r["serving_after"]:
            detail += f"; not serving afterwards ({r['after_error']})"
        out.append({"goal": "zero failed requests across 10 HUPs and 3 USR2s",
                    "status": "holds" if ok else "MISSED", "detail": detail})
    idle = res.get("idle", {})
    ev = [idle[k]["evprefork"]["worker_rss_mib"] for k in ("fresh", "after_load")
          if "evprefork" in idle.get(k, {}) and idle[k]["evprefork"]["worker_rss_mib"] is not None]
    if ev:
        worst = max(ev)
        out.append({"goal": "idle worker RSS ≤ 12 MiB", "status": "holds" if worst <= 12 else "MISSED",
                    "detail": f"{worst:.1f} MiB (the larger of fresh and after load)"})
    else:
        out.append({"goal": "idle worker RSS ≤ 12 MiB", "status": "n/a", "detail": "not measured"})
    return out


def fmt_rate(v):
    return f"{v:,.0f}"


def markdown(res):
    L = []
    v = res["versions"]
    L.append(f"# make bench — {res['started']}{' (QUICK: one short round)' if res['quick'] else ''}")
    L.append("")
    L.append(f"{v.get('evprefork')} at {v.get('commit')}; {v.get('nginx')}; {v.get('mojolicious')}; "
             f"libevent {v.get('libevent')}; {res['machine']['cpus']} CPUs ({res['machine']['cpu']}), "
             f"Linux {res['machine']['kernel']}. Every server has {res['workers']} workers; wrk and the "
             f"servers share the CPUs. wrk -t2 -c64 (-c256 where said) "
             f"-d{res['settings'].get('duration_s', '?')}s --latency; rounds interleaved (each round runs every "
             "server once, the order rotated); req/s and p99 are medians over the rounds; a ratio is the "
             "median of the per-round ratios. The fixed answer adds rounds of evprefork and nginx alone "
             f"({', '.join(f'{k}: {v}' for k, v in PAIR_ROUNDS.items())}), the two being within noise of "
             "each other. "
             "Command: `make bench`.")
    L.append("")
    measured = {**res["scenarios"], **res.get("websocket", {})}
    others = [r.get("other_cores", 0) for sc in measured.values() for e in sc["servers"].values()
              for r in e.get("runs", [])]
    L.append(f"Load average (1, 5, 15 min) at the start: {res.get('loadavg_start')}, at the end: "
             f"{res.get('loadavg_end')}. CPU used outside the server, wrk and the proxy upstream during the "
             f"runs: median {statistics.median(others) if others else 0:.2f}, max {max(others, default=0):.2f} "
             "cores — near 0 on a quiet machine (some is loopback network work the kernel charges to no "
             "process); anything else running skews the figures.")
    if res["scenarios"]:
        L.append("")
        L.append("| scenario | server | req/s | p99 ms | errors | CPU cores server / client / other "
                 "| evprefork ÷ server |")
        L.append("|---|---|---:|---:|---:|---:|---:|")
    unannounced = []
    for sc, _, _, servers, _ in SCENARIOS:
        s = res["scenarios"].get(sc)
        if not s:
            continue
        for name in servers:
            e = s["servers"].get(name, {})
            if "rps" not in e:
                L.append(f"| {TITLES[sc]} | {name} | — | — | not measured: {e.get('error', '?').splitlines()[0]} | | |")
                continue
            r = ratio(res, sc, name) if name != "evprefork" else None
            err = str(e["errors"]) if e.get("ok") else f"**{e['errors']}** ({e.get('error', '')})"
            if e.get("ok") and e.get("closes_unannounced") and e["errors"]:
                err += " (wrk's reads after the server's unannounced closes, see below)"
                unannounced.append(name)
            cpu = f"{e['server_cores']:.2f} / {e['client_cores']:.2f} / {e.get('other_cores', 0):.2f}"
            if "upstream_cores" in e:
                cpu += f" (+{e['upstream_cores']:.2f} upstream)"
            L.append(f"| {TITLES[sc]} | {name} | {fmt_rate(e['rps'])} | {e['p99_ms']:.2f} | {err} | {cpu} | "
                     f"{'' if r is None else f'{r:.2f}×'} |")
    if unannounced:
        L.append("")
        L.append(f"{', '.join(sorted(set(unannounced)))}: answers a `Connection: close` request and then "
                 "closes without saying `Connection: close` (RFC 9112 §9.6 says it should; checked with one "
                 "request before the rounds). wrk takes the connection for kept alive, writes its next "
                 "request into the closed connection and counts a read error: one per answer. Its "
                 "answers are whole and counted; no other error is excused.")
    busy = []
    for sc, m in measured.items():
        o = [r.get("other_cores", 0) for e in m["servers"].values() for r in e.get("runs", [])]
        if o and statistics.median(o) > BUSY_CORES:
            busy.append(f"{TITLES[sc].replace(' (msg/s)', '')} ({statistics.median(o):.2f})")
    if busy:
        L.append("")
        L.append(f"⚠ Something else used more than {BUSY_CORES} cores (median) during: {', '.join(busy)}. "
                 "Those figures are unreliable: run `make bench` again on a quiet machine.")
    ws = res.get("websocket")
    if ws:
        L.append("")
        L.append("WebSocket echo: 64 connections, 64-byte text messages; a raw RFC 6455 client in C "
                 "(tools/bench/ws-client/ws_bench.c, 2 processes, epoll) checks every echo byte for byte. "
                 "\"round trips\": one message in flight per connection; \"8 in flight\": eight. "
                 "ws-ceiling is a minimal C echo server (tools/bench/ws-ceiling/ws_echo.c: epoll, no "
                 "checks a real server makes): what this machine carries at most.")
        L.append("")
        L.append("| mode | server | messages/s | failed connections | CPU cores server / client / other | evprefork ÷ server |")
        L.append("|---|---|---:|---:|---:|---:|")
        for mode, m in ws.items():
            for name, e in m["servers"].items():
                title = TITLES[mode].replace("WebSocket echo, ", "").replace(" (msg/s)", "")
                if "messages_per_s" not in e:
                    L.append(f"| {title} | {name} | — | not measured: {e.get('error', '?')} | | |")
                    continue
                r = ws_ratio(res, mode, name) if name != "evprefork" else None
                fails = str(e["failed_connections"]) if e["ok"] else f"**{e['failed_connections']}** ({e.get('error', '')})"
                L.append(f"| {title} | {name} | {fmt_rate(e['messages_per_s'])} | {fails} | "
                         f"{e['server_cores']:.2f} / {e['client_cores']:.2f} / {e.get('other_cores', 0):.2f} | "
                     f"{'' if r is None else f'{r:.2f}×'} |")
    rl = res.get("reload")
    if rl:
        L.append("")
        L.append("Reloads and upgrades under load (wrk -t2 -c32 on the fixed answer; every non-200 and every "
                 "socket error counts as failed; each signal is sent once the previous one took effect):")
        L.append("")
        L.append("| server | signals | requests | failed | non-200 | socket errors | seconds per signal |")
        L.append("|---|---|---:|---:|---:|---:|---|")
        for name, r in rl.items():
            sig = (f"{r['hups']} HUP + " if r['hups'] else "") + f"{r['usr2s']} USR2"
            secs = ", ".join(f"{s['seconds']:.1f}{'' if s['ok'] else '!'}" for s in r["steps"])
            L.append(f"| {name} | {sig} | {r['requests']:,} | {r['failed']} | {r['non200']} | "
                     f"{r['socket_errors']} | {secs} |")
    idle = res.get("idle")
    if idle:
        L.append("")
        secs = next(iter(next(iter(idle.values())).values()), {}).get("seconds", "?")
        L.append(f"Idle: after 2 s quiet, CPU of manager + workers over the next {secs} s; RSS = VmRSS, "
                 "PSS counts each shared page once per sharer; \"fresh\" is right after start-up, "
                 "\"after load\" after the scenarios above:")
        L.append("")
        L.append("| server | when | RSS per worker MiB | PSS per worker MiB | manager RSS MiB | idle CPU % of a core |")
        L.append("|---|---|---:|---:|---:|---:|")
        for when, servers in idle.items():
            for name, e in servers.items():
                L.append(f"| {name} | {when.replace('_', ' ')} | {e['worker_rss_mib']} | {e['worker_pss_mib']} | "
                         f"{e['manager_rss_mib']} | {e['cpu_percent']} |")
    L.append("")
    L.append("Goals of issue 8 (information, not a pass/fail test):")
    L.append("")
    for g in res["goals"]:
        L.append(f"- {'✅' if g['status'] == 'holds' else ('❌' if g['status'] == 'MISSED' else '➖')} "
                 f"{g['goal']}: **{g['status']}** ({g['detail']})")
    if res["notes"]:
        L.append("")
        L.append("Notes:")
        L.append("")
        for n in res["notes"]:
            L.append(f"- {n}")
    return "\n".join(L) + "\n"


def chart(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is missing: no chart (pip install -r tools/requirements-bench.txt)")
        return False
    groups = [sc for sc, *_ in SCENARIOS if sc in res["scenarios"]]
    groups += [mode for mode, _ in WS_MODES if mode in res.get("websocket", {})]
    if not groups:
        return False
    colors = {"evprefork": "#d9480f", "nginx": "#2f9e44", "c-evhttp": "#1971c2", "hypnotoad": "#7048e8"}
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    width = 0.2
    for i, server in enumerate(SERVERS):
        xs, ys, labels = [], [], []
        for g, sc in enumerate(groups):
            ws = sc.startswith("ws")
            # The C ceilings share a colour: c-evhttp for HTTP, ws-ceiling for WebSocket.
            shown = "ws-ceiling" if ws and server == "c-evhttp" else server
            e = (res["websocket"][sc] if ws else res["scenarios"][sc])["servers"].get(shown)
            if e is None:
                continue
            x = g + (i - 1.5) * width
            value = e.get("messages_per_s" if ws else "rps")
            if value and e.get("ok"):
                xs.append(x)
                ys.append(value)
                labels.append(f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}")
            else:
                ax.text(x, 0.02, "failed" if value is not None else "not measured", rotation=90,
                        ha="center", va="bottom", fontsize=7, color=colors[server],
                        transform=ax.get_xaxis_transform())
        label = "C ceiling (c-evhttp; ws-ceiling)" if server == "c-evhttp" else server
        bars = ax.bar(xs, ys, width, label=label, color=colors[server])
        for bar, text in zip(bars, labels):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() * 1.05, text, ha="center",
                    va="bottom", fontsize=7, rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([TITLES[g].replace(", ", "\n").replace(" (msg/s)", "\n(msg/s)") for g in groups],
                       fontsize=8)
    ax.set_ylabel("requests per second (WebSocket: messages per second), log scale")
    ax.set_title(f"make bench {res['started'][:10]}: {WORKERS} workers each, wrk and servers on "
                 f"{res['machine']['cpus']} shared CPUs" + (" (QUICK)" if res["quick"] else ""), fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", which="major", alpha=0.3)
    heights = [b.get_height() for b in ax.patches if b.get_height() > 0] or [10]
    bottom = 10 ** math.floor(math.log10(min(heights) / 3))
    ax.set_ylim(bottom, max(heights) * 8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


# ---------------------------------------------------------------- main

class Stopped(Exception):
    """SIGTERM: stop measuring, stop every server, write nothing."""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evprefork", default=str(REPO / ".build" / "release" / "evprefork"))
    ap.add_argument("--c-evhttp", default=str(REPO / ".build" / "c-evhttp"))
    ap.add_argument("--ws-ceiling", default=str(REPO / ".build" / "ws-ceiling"),
                    help="the C WebSocket echo server measured as the ceiling (tools/bench/ws-ceiling)")
    ap.add_argument("--ws-client", default=str(REPO / ".build" / "ws-bench"),
                    help="the WebSocket echo client built from tools/bench/ws-client/ws_bench.c")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated parts: " + " ".join(PARTS))
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.only) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    for tool in ("wrk", NGINX, "hypnotoad"):
        if not shutil.which(tool):
            ap.error(f"{tool} is not installed (make bench installs it)")
    for path in (args.evprefork, args.c_evhttp) + \
            ((args.ws_client, args.ws_ceiling) if not args.only or "ws" in args.only else ()):
        if not os.access(path, os.X_OK):
            ap.error(f"{path} is not built (make bench builds it)")

    bench = Bench(args)

    def stop(*_):
        raise Stopped
    signal.signal(signal.SIGTERM, stop)   # e.g. a time limit: unwind through cleanup
    try:
        bench.run()
    except (KeyboardInterrupt, Stopped):
        log("interrupted: stopping every server")
        return 130
    finally:
        bench.cleanup()
    res = bench.results
    res["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    res["seconds"] = round(time.monotonic() - T0, 1)
    res["loadavg_end"] = loadavg()
    res["notes"] += [
        "evprefork and hypnotoad are set to never retire workers (accepts = 0) and to 1000 requests per "
        "keep-alive connection, as nginx's defaults; nginx has sendfile on as in Debian's nginx.conf. "
        "evprefork's static route has gzip_static off (its default is on), as nginx's location has none: "
        "both serve the plain file without looking for a .gz sibling.",
        "Proxy: every server forwards to one common upstream, an nginx with 1 worker answering "
        "\"hello world\\n\"; nginx and evprefork keep 16 idle upstream connections per worker, hypnotoad "
        "uses Mojolicious' proxy helper (its user agent's connection cache).",
        "The C server has no proxy and no WebSocket: it is the ceiling for the fixed answer and static files; "
        "ws-ceiling is the WebSocket one.",
    ]
    res["goals"] = goals(res)

    # Only a full run stands for the README's figures: a quick or partial
    # one (BENCH_ONLY) goes beside, where it cannot replace latest.*.
    out = pathlib.Path(args.out)
    if res["quick"] or args.only:
        out = out / "tmp"
        prefix = "quick-" if res["quick"] else "partial-"
    else:
        prefix = ""
    out.mkdir(parents=True, exist_ok=True)
    md = markdown(res)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"{prefix}{stamp}.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / f"{prefix}latest.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / f"{prefix}latest.md").write_text(md)
    drew = chart(res, out / f"{prefix}latest.png")
    print(md)
    log(f"wrote {out}/{prefix}latest.md, {prefix}latest.json, {prefix}{stamp}.json"
        + (f", {prefix}latest.png" if drew else "") + f" in {res['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
