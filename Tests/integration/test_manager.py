"""The manager and its workers: start, replacement, signals, reload, upgrade, accept mutex."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from evp import FAST, HELLO_APP, alive, children, raw_request, wait_for


def conf(workers=2, body="one", extra="", listen='"http://127.0.0.1:0"'):
    return f"""
[server]
listen = [{listen}]
workers = {workers}
{FAST}
{extra}

[[route]]
path = "/"
type = "return"
status = 200
body = "{body}"

[[route]]
path = "/status"
type = "status"
"""


def test_starts_the_configured_workers(server):
    s = server(conf(workers=3))
    pids = s.wait_workers(3)
    st = wait_for(lambda: (lambda j: j if len(j["workers"]) == 3 and all(w["heartbeat_age"] >= 0 for w in j["workers"]) else None)(s.status()),
                  what="3 workers in status")
    assert sorted(w["pid"] for w in st["workers"]) == pids
    assert st["manager"]["pid"] == s.pid
    assert st["manager"]["generation"] == 1
    assert all(w["state"] == "running" for w in st["workers"])
    assert s.get("/") == (200, "one")
    assert int(s.pid_file.read_text()) == s.pid
    assert re.search(r"evprefork: listening on http://127\.0\.0\.1:\d+", s.stdout_path.read_text())


def test_killed_worker_is_replaced_within_a_second(server):
    s = server(conf(workers=2))
    before = s.wait_workers(2)
    os.kill(before[0], signal.SIGKILL)
    t0 = time.monotonic()
    after = wait_for(lambda: (lambda w: w if len(w) == 2 and before[0] not in w else None)(s.workers()), 1.0,
                     what="a replacement worker")
    assert time.monotonic() - t0 < 1.0
    assert before[1] in after
    assert s.get("/")[0] == 200


def test_stopped_worker_is_replaced_after_heartbeat_timeout(server):
    s = server(conf(workers=2))
    before = s.wait_workers(2)
    os.kill(before[0], signal.SIGSTOP)
    # interval 0.2 + timeout 1, then QUIT; still frozen after graceful_timeout (3) → KILL.
    s.wait_log(rf"worker {before[0]} sent no heartbeat", timeout=5)
    wait_for(lambda: not alive(before[0]), 8, what="the frozen worker to be killed")
    wait_for(lambda: len(s.workers()) == 2, 5, what="two workers again")
    assert before[0] not in s.workers()
    assert s.get("/")[0] == 200


def test_ttin_and_ttou_change_the_count(server):
    s = server(conf(workers=2))
    s.wait_workers(2)
    s.signal(signal.SIGTTIN)
    s.wait_workers(3)
    s.signal(signal.SIGTTIN)
    s.wait_workers(4)
    s.signal(signal.SIGTTOU)
    s.wait_workers(3)
    s.signal(signal.SIGTTOU)  # signals of one kind coalesce: wait between them
    s.wait_workers(2)
    s.signal(signal.SIGTTOU)
    s.wait_workers(1)
    s.signal(signal.SIGTTOU)  # one is the floor
    s.wait_log("TTOU ignored")
    assert len(s.workers()) == 1
    assert s.get("/")[0] == 200


def test_quit_lets_a_request_in_flight_finish(server):
    s = server(conf(workers=1))
    s.wait_workers(1)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
    time.sleep(0.3)
    s.signal(signal.SIGQUIT)
    time.sleep(0.5)
    assert s.proc.poll() is None, "the manager must wait for the request"
    sock.sendall(b"67890")
    reply = b""
    while True:
        b = sock.recv(4096)
        if not b:
            break
        reply += b
    sock.close()
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" in reply
    assert reply.endswith(b"one")
    assert s.wait_exit(10) == 0
    assert not s.pid_file.exists()


def test_quit_waits_for_a_slow_handler(server):
    s = server(conf(workers=1), binary=HELLO_APP)
    s.wait_workers(1)
    result = {}

    def slow():
        result["r"] = requests.get(s.url("/slow?ms=1500"), timeout=10)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)
    s.signal(signal.SIGQUIT)
    t.join()
    assert result["r"].status_code == 200
    assert result["r"].text == "slept 1500ms\n"
    assert s.wait_exit(10) == 0
    assert "hook: finish graceful=true" in s.stdout_path.read_text()
    assert not s.pid_file.exists()


def test_term_exits_within_a_second(server):
    s = server(conf(workers=3))
    workers = s.wait_workers(3)
    t0 = time.monotonic()
    s.signal(signal.SIGTERM)
    assert s.wait_exit(2) == 0
    assert time.monotonic() - t0 < 1.0
    for w in workers:
        wait_for(lambda: not alive(w), 1, what=f"worker {w} to exit")
    assert not s.pid_file.exists()


def test_int_is_a_fast_stop_too(server):
    s = server(conf(workers=2))
    s.wait_workers(2)
    s.signal(signal.SIGINT)
    assert s.wait_exit(2) == 0


def test_hup_reloads_body_and_worker_count(server):
    s = server(conf(workers=2, body="one"))
    old = s.wait_workers(2)
    assert s.get("/")[1] == "one"
    s.rewrite(conf(workers=3, body="two"))
    s.signal(signal.SIGHUP)
    wait_for(lambda: s.get("/")[1] == "two", 10, what="the new answer")
    # The old generation drains while the new one serves: wait for it to go.
    new = wait_for(lambda: (lambda w: w if len(w) == 3 and not set(old) & set(w) else None)(s.workers()), 10,
                   what="three new workers and no old one")
    assert s.status()["manager"]["generation"] == 2
    assert all(not alive(p) for p in old)


def test_hup_with_a_broken_config_keeps_the_old_one(server):
    s = server(conf(workers=2, body="one"))
    old = s.wait_workers(2)
    s.rewrite(conf(workers=2, body="two") + "\n[server.oops]\nwokers = 1\n")
    s.signal(signal.SIGHUP)
    s.wait_log(r"reload failed")
    assert re.search(r"reload failed: .*server\.conf:\d+:\d+: error: ", s.log())
    assert s.get("/")[1] == "one"
    assert s.workers() == old
    s.rewrite(conf(workers=2, body="wrong") + '\n[[route]]\npath = "/x"\ntype = "nope"\n')
    s.signal(signal.SIGHUP)
    wait_for(lambda: s.log().count("still serving the previous configuration") >= 2, 5, what="second failure")
    assert 'invalid value for "type"' in s.log()
    assert s.get("/")[1] == "one"


class Load:
    """Several keep-alive clients hammering the server; counts every failure."""

    def __init__(self, url, clients=4):
        self.url = url
        self.ok = 0
        self.failed = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(clients)]
        self.bodies = set()

    def run(self):
        session = requests.Session()
        while not self.stopping.is_set():
            try:
                r = session.get(self.url, timeout=10)
                if r.status_code == 200:
                    self.ok += 1
                    self.bodies.add(r.text)
                else:
                    self.failed.append(r.status_code)
            except requests.RequestException as e:
                self.failed.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join()

    def wait_for(self, n, timeout=60):
        wait_for(lambda: self.ok >= n, timeout, what=f"{n} requests")


def test_no_request_fails_across_hup(server):
    s = server(conf(workers=2, body="one"))
    s.wait_workers(2)
    with Load(s.url("/")) as load:
        load.wait_for(300)
        for i in range(3):
            s.rewrite(conf(workers=2, body=f"gen{i + 2}"))
            s.signal(signal.SIGHUP)
            wait_for(lambda: f"gen{i + 2}" in load.bodies, 10, what=f"generation {i + 2}")
            load.wait_for(load.ok + 400)
        load.wait_for(2000)
    assert load.failed == []
    assert load.ok >= 2000


def test_no_request_fails_across_usr2_upgrade(server):
    s = server(conf(workers=2, body="one"))
    s.wait_workers(2)
    old_pid = s.pid
    with Load(s.url("/")) as load:
        load.wait_for(500)
        s.signal(signal.SIGUSR2)
        new_pid = wait_for(lambda: (lambda p: p if p and p != old_pid else None)(_read_pid(s.pid_file)), 10,
                           what="the new manager's pid file")
        s.extra_pids.add(new_pid)
        assert s.wait_exit(15) == 0, s.log()
        load.wait_for(load.ok + 1500)
    assert load.failed == []
    assert load.ok >= 2000
    assert alive(new_pid)
    assert _read_pid(s.pid_file) == new_pid
    assert not (s.dir / "evprefork.pid.oldbin").exists()
    assert len(children(new_pid)) == 2
    assert s.status()["manager"]["pid"] == new_pid
    os.kill(new_pid, signal.SIGTERM)
    wait_for(lambda: not alive(new_pid), 5, what="the new manager to stop")
    assert not s.pid_file.exists()


def test_failed_upgrade_keeps_the_old_manager(server, tmp_path):
    fake = tmp_path / "broken-evprefork"
    # The binary evprefork re-execs is resolved at start-up: run a copy we can break.
    import shutil
    from evp import EVPREFORK
    shutil.copy(EVPREFORK, fake)
    s = server(conf(workers=1), binary=str(fake))
    s.wait_workers(1)
    fake.unlink()
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    s.signal(signal.SIGUSR2)
    s.wait_log(r"upgrade failed: the new manager .* exited \(exit 3\)")
    wait_for(lambda: _read_pid(s.pid_file) == s.pid, 5, what="pid file restored")
    assert not (s.dir / "evprefork.pid.oldbin").exists()
    assert s.get("/")[0] == 200


def _read_pid(path):
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _lock_holder_pids(ino):
    held = set()
    with open("/proc/locks") as f:
        for line in f:
            if "->" in line:
                continue
            parts = line.split()
            if parts[1] == "FLOCK" and parts[5].endswith(f":{ino}"):
                held.add(parts[4])
    return held


def _lock_holders(lock_path):
    """flock holders (not waiters) of the lock file, from /proc/locks. The file
    is not one atomic snapshot: a hand-over can show the old and the new
    holder in one read. A real double hold lasts a whole turn, so two holders
    count only if a second read a moment later still shows both."""
    ino = os.stat(lock_path).st_ino
    first = _lock_holder_pids(ino)
    if len(first) < 2:
        return len(first)
    time.sleep(0.002)
    return len(first & _lock_holder_pids(ino))


def test_accept_mutex_spreads_load_and_is_exclusive(server, tmp_path):
    lock = tmp_path / "accept.lock"
    s = server(conf(workers=4, extra=f'lock_file = "{lock}"\naccept_interval = "10ms"'))
    s.wait_workers(4)
    wait_for(lambda: lock.exists(), what="lock file")
    most = 0
    # New connections each time, so accepting (not keep-alive) is what is spread.
    with Load(s.url("/"), clients=6) as load:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            most = max(most, _lock_holders(lock))
            time.sleep(0.005)
    assert load.failed == []
    assert most == 1

    def served():
        st = s.status()
        return st if len(st["workers"]) == 4 and all(w["accepted"] > 0 for w in st["workers"]) else None
    wait_for(served, 5, what="every worker to have accepted")
    # Counters arrive with heartbeats: wait for the last ones.
    wait_for(lambda: sum(w["requests"] for w in s.status()["workers"]) >= load.ok, 5,
             what="the request counters to catch up")


@pytest.mark.parametrize("multi_accept", [1, 50])
def test_the_mutex_does_not_hold_back_new_connections(server, multi_accept):
    # A turn that accepted used to be followed by a whole accept_interval out
    # of the lock for that worker, and often for all: with multi_accept = 1
    # a new connection waited its turn, ~40 connections a second in all.
    # The lock now passes on within a millisecond. 300 connections one after
    # another, one request each, take well under a second; the bound is 10x that.
    s = server(conf(workers=2, extra=f"multi_accept = {multi_accept}"))
    s.wait_workers(2)
    t0 = time.monotonic()
    slowest = 0.0
    for _ in range(300):
        t = time.monotonic()
        status, body = raw_request_status(s.port)
        assert (status, body) == (200, b"one")
        slowest = max(slowest, time.monotonic() - t)
    elapsed = time.monotonic() - t0
    assert elapsed < 6, (elapsed, slowest)

    def both_accepted():
        workers = s.status()["workers"]
        return len(workers) == 2 and all(w["accepted"] > 0 for w in workers)
    # Both workers take turns (the heartbeats carry the counts).
    wait_for(both_accepted, 5, what="both workers to have accepted")


def test_concurrent_short_connections_are_not_held_back(server):
    # Eight clients, each opening connection after connection, one request
    # each: every worker's clients come and go within a loop turn or two.
    # A worker that ends its turn because it holds more connections than
    # another sits out until that changes; once sitting out waited for its
    # next look even after its own clients had gone, both workers sat out at
    # once, and 150 connections a second got in where 23,000 do (wrk, issue
    # 8). 800 connections take under half a second; the bound is 10x that
    # (the fault took 5.7 s).
    s = server(conf(workers=2))
    s.wait_workers(2)
    failures = []

    def client():
        for _ in range(100):
            try:
                if raw_request_status(s.port) != (200, b"one"):
                    failures.append("status")
            except OSError as e:
                failures.append(repr(e))
    threads = [threading.Thread(target=client) for _ in range(8)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert failures == []
    assert elapsed < 4, elapsed


def test_a_burst_of_connections_is_spread_over_the_workers(server):
    # 200 clients connect at once and stay, while two busy loops keep the
    # cores taken (as a load generator does). The worker holding the lock
    # takes multi_accept (50) of them, then waits a moment before it tries
    # again, so the other worker, woken by the release, gets a core and the
    # lock; a retry on the very next loop turn let one worker take them all.
    s = server(conf(workers=2, extra="keep_alive_timeout = 30"))
    s.wait_workers(2)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    socks = []
    try:
        time.sleep(0.2)
        for _ in range(200):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", s.port))
            socks.append(sock)
        for sock in socks:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        for sock in socks:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for b in burners:
            b.kill()
            b.wait()
    try:
        def counts():
            n = sorted(w["connections"] for w in s.status()["workers"])
            return n if len(n) == 2 and sum(n) >= 200 else None
        n = wait_for(counts, 5, what="the heartbeats to count 200 connections")
        assert n[0] >= 20, n   # all 200 on one worker was the failure; an even split is not promised
    finally:
        for sock in socks:
            sock.close()


def _open_sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def test_new_connections_go_to_the_worker_with_fewer(server):
    # Connections that arrive one at a time and stay. Nothing used to favour
    # the worker with fewer: the holder lets the lock go at the end of each
    # turn and takes it back on its next loop turn, while the other worker
    # tries once per accept_interval, so the holder kept 37 of 40. Under
    # wrk, which reconnects every keep_alive_requests, splits drifted to
    # 60/6 and 63/3. Now a worker with clearly more sits out.
    s = server(conf(workers=2, extra="keep_alive_timeout = 30"))
    s.wait_workers(2)
    pids = s.workers()
    base = {pid: _open_sockets(pid) for pid in pids}
    socks = []
    try:
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            socks.append(sock)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(0.04)   # longer than a turn (accept_interval, 25 ms)
        counts = sorted(_open_sockets(pid) - base[pid] for pid in pids)
        assert sum(counts) == 40, counts
        assert counts[0] >= 16, counts   # 20/20 would be even
    finally:
        for sock in socks:
            sock.close()


def test_an_idle_server_sleeps(server, tmp_path):
    # Once its clients are gone, a worker has nothing to wake for: the lock
    # holder keeps the accept mutex (handing an unused lock over every
    # accept_interval woke both workers 40 times a second, 0.4-0.8% of a
    # core where nginx uses none), the other waits on it lock_timeout at a
    # time, and the connection sweeper stops with the last connection.
    from test_read_path import Strace
    s = server(conf(workers=2, extra="multi_accept = 1"))
    s.wait_workers(2)
    for _ in range(40):
        assert raw_request_status(s.port) == (200, b"one")
    with requests.Session() as session:
        for _ in range(20):
            assert session.get(s.url("/")).text == "one"
    time.sleep(0.6)  # the sweeper's last turn (a quarter second) finds no connection
    traces = [Strace(pid, tmp_path / f"strace.{pid}") for pid in s.workers()]
    time.sleep(3)
    counts = [t.stop() for t in traces]
    assert sum(c["epoll_ctl"] for c in counts) == 0, counts   # nobody starts or stops listening
    for c in counts:
        # Wake-ups beside the heartbeats (a write each, every 0.2 s here): for
        # the waiter one per lock_timeout (0.5 s), for the holder none.
        assert c["epoll_wait"] <= c["write"] + 8, counts
        assert c["flock"] <= 10, counts
    # And it still answers at once, whichever worker holds the lock.
    t = time.monotonic()
    assert raw_request_status(s.port) == (200, b"one")
    assert time.monotonic() - t < 0.5


def raw_request_status(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_without_the_mutex_all_workers_accept(server):
    s = server(conf(workers=3, extra="accept_mutex = false"))
    s.wait_workers(3)

    def spread():
        for _ in range(60):
            requests.get(s.url("/"), headers={"Connection": "close"}, timeout=5)
        st = s.status()
        return all(w["accepted"] > 0 for w in st["workers"]) and len(st["workers"]) == 3
    wait_for(spread, 20, what="all three workers to accept")
    assert not list((s.dir).glob("*.lock"))


def test_workers_retire_after_accepts(server):
    s = server(conf(workers=2, extra="accepts = 10"))
    first = set(s.wait_workers(2))
    failures = 0
    for _ in range(200):
        try:
            r = requests.get(s.url("/"), headers={"Connection": "close"}, timeout=5)
            failures += r.status_code != 200
        except requests.RequestException:
            failures += 1
    assert failures == 0
    s.wait_log(r"retiring")
    wait_for(lambda: not first & set(s.workers()), 10, what="the first workers to retire")
    assert len(s.workers()) in (2, 3, 4)


def test_pid_file_conflict(server, evprefork_bin):
    s = server(conf(workers=1))
    r = subprocess.run([evprefork_bin, "-c", str(s.conf)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert f"another evprefork (pid {s.pid}) is running with pid file {s.pid_file}" in r.stderr
    assert s.get("/")[0] == 200


def test_stale_pid_file_is_ignored(server, tmp_path):
    (tmp_path / "evprefork.pid").write_text("999999\n")
    s = server(conf(workers=1))
    assert int(s.pid_file.read_text()) == s.pid


def test_signal_without_a_server(cli, tmp_path):
    (tmp_path / "server.conf").write_text(conf())
    r = cli("-s", "stop", "-c", str(tmp_path / "server.conf"))
    assert r.returncode == 1
    assert "no running server" in r.stderr
    (tmp_path / "evprefork.pid").write_text("999999\n")
    r = cli("-s", "reload", "-c", str(tmp_path / "server.conf"))
    assert r.returncode == 1
    assert "pid 999999" in r.stderr


def test_daemon_then_signal_stop(cli, tmp_path):
    c = tmp_path / "server.conf"
    c.write_text(conf(workers=1) + f'\n[log]\nerror_log = "{tmp_path}/error.log"\n')
    r = cli("-d", "-c", str(c))
    assert r.returncode == 0, r.stderr
    port = int(re.search(r"127\.0\.0\.1:(\d+)", r.stdout).group(1))
    pid = int((tmp_path / "evprefork.pid").read_text())
    try:
        assert pid != os.getpid()
        assert os.getsid(pid) != os.getsid(0), "the daemon left our session"
        assert os.getppid() != pid
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "one"
        for name in ("reopen", "ttin"):
            assert cli("-s", name, "-c", str(c)).returncode == 0
        wait_for(lambda: len(children(pid)) == 2, 5, what="ttin via -s")
        r = cli("-s", "stop", "-c", str(c))
        assert r.returncode == 0, r.stderr
        wait_for(lambda: not alive(pid), 5, what="the daemon to stop")
        assert not (tmp_path / "evprefork.pid").exists()
        assert "manager started" in (tmp_path / "error.log").read_text()
    finally:
        if alive(pid):
            for p in [pid, *children(pid)]:
                os.kill(p, signal.SIGKILL)


def test_usr1_reopens_the_error_log(server, tmp_path):
    log = tmp_path / "error.log"
    s = server(conf(workers=1) + f'\n[log]\nerror_log = "{log}"\n')
    s.wait_workers(1)
    wait_for(lambda: "manager started" in log.read_text(), what="first log line")
    log.rename(tmp_path / "error.log.1")
    s.signal(signal.SIGUSR1)
    wait_for(lambda: log.exists(), 5, what="the reopened file")
    s.signal(signal.SIGTTIN)
    wait_for(lambda: log.exists() and "workers: 2" in log.read_text(), 5, what="a line in the new file")
    assert "reopening logs" in (tmp_path / "error.log.1").read_text()


def test_unix_and_ipv6_listeners(server, tmp_path):
    sock_path = tmp_path / "evp.sock"
    s = server(conf(workers=1, listen=f'"http://127.0.0.1:0", "http://[::1]:0", "unix:{sock_path}"'))
    assert any(u.startswith("http://[::1]:") for u in s.urls)
    assert f"unix:{sock_path}" in s.urls
    v6 = int(re.search(r"http://\[::1\]:(\d+)", "\n".join(s.urls)).group(1))
    reply = raw_request(v6, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", host="::1")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"one")
    u = socket.socket(socket.AF_UNIX)
    u.connect(str(sock_path))
    u.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := u.recv(4096):
        data += chunk
    u.close()
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"one")
    s.signal(signal.SIGTERM)
    assert s.wait_exit(5) == 0
    assert not sock_path.exists(), "the manager removes its unix socket on exit"


def test_stale_unix_socket_is_replaced_and_a_live_one_refused(server, tmp_path, cli):
    sock_path = tmp_path / "evp.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock_path))
    stale.close()  # a socket file nobody listens on
    s = server(conf(workers=1, listen=f'"unix:{sock_path}"'))
    assert f"unix:{sock_path}" in s.urls
    other = tmp_path / "other"
    other.mkdir()
    (other / "server.conf").write_text(conf(workers=1, listen=f'"unix:{sock_path}"'))
    r = cli("-c", str(other / "server.conf"), timeout=10)
    assert r.returncode == 1
    assert "another server is listening there" in r.stderr


def test_bind_failure_exits_1(server, cli, tmp_path):
    s = server(conf(workers=1))
    other = tmp_path / "other"
    other.mkdir()
    (other / "server.conf").write_text(conf(workers=1, listen=f'"http://127.0.0.1:{s.port}"'))
    r = cli("-c", str(other / "server.conf"), timeout=10)
    assert r.returncode == 1
    assert f"cannot listen on http://127.0.0.1:{s.port}: Address already in use" in r.stderr


def test_crash_loop_is_backed_off(server, tmp_path):
    # A worker that cannot start (its user does not exist at run time is
    # caught by -t, so use an unwritable lock file instead) dies before its
    # first heartbeat, again and again: the manager must slow down.
    s = server(conf(workers=1, extra='lock_file = "/proc/evprefork-cannot-create.lock"'))
    time.sleep(2.5)
    deaths = len(re.findall(r"died before its first heartbeat", s.log()))
    assert 3 <= deaths <= 12, s.log()
    assert "next spawn in" in s.log()


def test_worker_fds_do_not_leak(server):
    s = server(conf(workers=1, extra="accepts = 0"))
    worker = s.wait_workers(1)[0]
    requests.get(s.url("/"), timeout=5)
    before = len(os.listdir(f"/proc/{worker}/fd"))
    for _ in range(500):
        raw_request(s.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    for _ in range(200):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.close()
    session = requests.Session()
    for _ in range(300):
        session.get(s.url("/"), timeout=5)
    session.close()
    wait_for(lambda: len(os.listdir(f"/proc/{worker}/fd")) <= before, 5,
             what=f"worker fds back to {before}")
    wait_for(lambda: s.status()["workers"][0]["accepted"] >= 702, 5, what="the accepted counter")


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_workers_drop_privileges(server):
    s = server(conf(workers=2, extra='user = "nobody"\ngroup = "nogroup"'))
    workers = s.wait_workers(2)

    def ids(pid):
        with open(f"/proc/{pid}/status") as f:
            lines = dict(l.split(":", 1) for l in f if ":" in l)
        return int(lines["Uid"].split()[0]), int(lines["Gid"].split()[0])
    import pwd
    import grp
    nobody, nogroup = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    wait_for(lambda: all(ids(p) == (nobody, nogroup) for p in s.workers()), 5, what="workers as nobody")
    assert ids(s.pid)[0] == 0, "the manager keeps root to bind on reload"
    # They can still take the accept mutex and serve.
    for _ in range(20):
        assert s.get("/")[0] == 200
    assert set(workers) == set(s.workers()), "no worker crashed"


def test_unknown_user_is_an_error_at_t(cli, tmp_path):
    (tmp_path / "server.conf").write_text(conf(extra='user = "no-such-evp-user"'))
    r = cli("-t", "-c", str(tmp_path / "server.conf"))
    assert r.returncode == 2
    assert 'unknown user "no-such-evp-user"' in r.stderr


def test_evpreforkctl(server, tmp_path, evprefork_bin):
    from evp import REPO
    ctl = str(REPO / "tools" / "evpreforkctl")
    env = {**os.environ, "EVPREFORK": evprefork_bin}
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    s = server(conf(workers=2, listen=f'"http://127.0.0.1:{port}"'))  # a known port: ctl reads it from the config
    s.wait_workers(2)
    r = subprocess.run([ctl, "-c", str(s.conf), "status"], capture_output=True, text=True, env=env, timeout=10)
    assert r.returncode == 0, r.stderr
    assert f"manager pid {s.pid}" in r.stdout
    assert "workers (2)" in r.stdout
    wait_for(lambda: "generation 1" in subprocess.run([ctl, "-c", str(s.conf), "status"], capture_output=True,
                                                        text=True, env=env, timeout=10).stdout, 5, what="status table")
    assert subprocess.run([ctl, "-c", str(s.conf), "ttin"], env=env, timeout=10).returncode == 0
    s.wait_workers(3)
    assert subprocess.run([ctl, "-c", str(s.conf), "quit"], env=env, timeout=10).returncode == 0
    assert s.wait_exit(10) == 0
    r = subprocess.run([ctl, "-c", str(s.conf), "status"], capture_output=True, text=True, env=env, timeout=10)
    assert r.returncode == 1
    assert "not running" in r.stdout
    r = subprocess.run([ctl, "-c", str(s.conf), "bogus"], capture_output=True, text=True, env=env, timeout=10)
    assert r.returncode == 2


def _socket_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out


def _listening_inodes():
    """Inodes of listening TCP sockets, from /proc/net/tcp (state 0A)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                parts = line.split()
                if parts[3] == "0A":
                    out.add(f"socket:[{parts[9]}]")
    return out


def test_reuse_port_gives_each_worker_its_own_socket(server):
    s = server(conf(workers=3, extra="reuse_port = true"))
    workers = s.wait_workers(3)
    listening = _listening_inodes()
    own = [(_socket_inodes(w) & listening) for w in workers]
    assert all(len(o) == 1 for o in own), own
    assert len(set().union(*own)) == 3, "three different listening sockets"
    assert not (_socket_inodes(s.pid) & listening), "the manager's socket only holds the port"
    assert not list(s.dir.glob("*.lock"))

    def spread():
        for _ in range(60):
            requests.get(s.url("/"), headers={"Connection": "close"}, timeout=5)
        st = s.status()
        return len(st["workers"]) == 3 and all(w["accepted"] > 0 for w in st["workers"])
    wait_for(spread, 20, what="the kernel to spread connections")
    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: len(s.workers()) == 3 and workers[0] not in s.workers(), 2, what="a replacement")
    for _ in range(30):
        assert requests.get(s.url("/"), headers={"Connection": "close"}, timeout=5).status_code == 200


def test_clients_limits_connections_per_worker(server):
    s = server(conf(workers=1, extra="clients = 2\naccept_mutex = false"))
    s.wait_workers(1)
    idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
    time.sleep(0.3)
    third = socket.create_connection(("127.0.0.1", s.port), timeout=1.0)
    third.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(socket.timeout):
        third.recv(100)  # waits in the backlog: the worker is full
    idle[0].close()
    third.settimeout(5)
    reply = third.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200")
    third.close()
    idle[1].close()


def test_hup_adds_and_removes_listeners(server):
    s = server(conf(workers=1))
    s.wait_workers(1)
    first = s.port
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    second = probe.getsockname()[1]
    probe.close()
    s.rewrite(conf(workers=1, listen=f'"http://127.0.0.1:0", "http://127.0.0.1:{second}"'))
    s.signal(signal.SIGHUP)
    s.wait_log(rf"listening on http://127\.0\.0\.1:{second}")
    wait_for(lambda: requests.get(f"http://127.0.0.1:{second}/", timeout=5).status_code == 200, 5, what="new listener")
    assert requests.get(f"http://127.0.0.1:{first}/", timeout=5).status_code == 200
    s.rewrite(conf(workers=1, listen=f'"http://127.0.0.1:{second}"'))
    s.signal(signal.SIGHUP)
    s.wait_log(r"stopped listening on http://127\.0\.0\.1:")

    def refused():
        try:
            socket.create_connection(("127.0.0.1", first), timeout=1).close()
            return False
        except ConnectionRefusedError:
            return True
    wait_for(refused, 10, what="the removed listener to close")
    assert requests.get(f"http://127.0.0.1:{second}/", timeout=5).status_code == 200


def test_upgrade_gives_up_after_upgrade_timeout(server, tmp_path):
    import shutil
    from evp import EVPREFORK
    binary = tmp_path / "evprefork-copy"
    shutil.copy(EVPREFORK, binary)
    s = server(conf(workers=1).replace("upgrade_timeout = 10", "upgrade_timeout = 1"), binary=str(binary))
    s.wait_workers(1)
    binary.unlink()
    binary.write_text("#!/bin/sh\nexec sleep 30\n")  # a new binary that never comes up
    binary.chmod(0o755)
    s.signal(signal.SIGUSR2)
    wait_for(lambda: (s.dir / "evprefork.pid.oldbin").exists(), 5, what="the .oldbin pid file")
    s.wait_log(r"upgrade timed out", timeout=5)
    wait_for(lambda: _read_pid(s.pid_file) == s.pid, 5, what="the pid file back")
    assert not (s.dir / "evprefork.pid.oldbin").exists()
    wait_for(lambda: [p for p in s.workers() if open(f"/proc/{p}/cmdline").read().startswith("sleep")] == [], 5,
             what="the hung new binary to be stopped")
    assert s.get("/")[0] == 200


def test_application_hooks_run_in_the_manager(server):
    s = server(conf(workers=2), binary=HELLO_APP)
    workers = s.wait_workers(2)
    code, body = s.get("/hello")
    assert code == 200 and body.startswith("hello from worker ")
    assert int(body.split()[-1]) in workers
    out = lambda: s.stdout_path.read_text()
    wait_for(lambda: all(f"hook: spawn {w}" in out() for w in workers), 5, what="spawn hooks")
    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: f"hook: reap {workers[0]} 9" in out(), 5, what="the reap hook")
    r = requests.post(s.url("/echo"), data=b"\x00\x01payload", timeout=5)
    assert r.content == b"\x00\x01payload"
    assert s.get("/status")[0] == 200, "config routes still served beside the app's"
    s.signal(signal.SIGTERM)
    assert s.wait_exit(5) == 0
    assert "hook: finish graceful=false" in out()

