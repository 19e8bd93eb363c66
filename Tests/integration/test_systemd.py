"""systemd integration without systemd: socket activation through a tiny launcher, and sd_notify over a datagram socket."""
import os
import signal
import socket
import subprocess
import time

import requests

from evp import EVPREFORK, FAST, alive, children, wait_for


def conf(listen, workers=2):
    return f"""
[server]
listen = [{listen}]
workers = {workers}
{FAST}

[[route]]
path = "/"
type = "return"
status = 200
body = "activated"
"""


def launch(tmp_path, config, sockets, env=None):
    """The launcher: puts `sockets` at fds 3.. and sets LISTEN_PID to the pid that execs evprefork."""
    (tmp_path / "server.conf").write_text(config)
    fds = [s.fileno() for s in sockets]

    def setup():
        for i, fd in enumerate(fds):
            os.dup2(fd, 3 + i)
            os.set_inheritable(3 + i, True)
    # The shell's $$ is the pid evprefork will have after exec.
    launcher = f'LISTEN_PID=$$ LISTEN_FDS={len(fds)} exec "$0" -c "$1"'
    return subprocess.Popen(["sh", "-c", launcher, EVPREFORK, str(tmp_path / "server.conf")], preexec_fn=setup,
                            pass_fds=range(3, 3 + len(fds)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})}, cwd=tmp_path)


def stop(proc):
    pids = [proc.pid, *children(proc.pid)]
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=5)
    for p in pids:
        wait_for(lambda: not alive(p), 5)


def test_socket_activation_uses_the_passed_socket(tmp_path):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    sock_path = tmp_path / "act.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(sock_path))
    unix.listen(16)
    proc = launch(tmp_path, conf(f'"http://127.0.0.1:{port}", "unix:{sock_path}"'), [listener, unix])
    try:
        line = proc.stdout.readline().decode()
        assert line == f"evprefork: listening on http://127.0.0.1:{port}\n", line + proc.stderr.read1().decode()
        listener.close()  # only evprefork holds it now
        unix.close()
        wait_for(lambda: len(children(proc.pid)) == 2, 5, what="workers")
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "activated"
        c = socket.socket(socket.AF_UNIX)
        c.connect(str(sock_path))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        assert data.endswith(b"activated")
    finally:
        stop(proc)


def test_unmatched_activated_socket_is_closed_and_the_address_bound(tmp_path):
    stray = socket.socket()
    stray.bind(("127.0.0.1", 0))
    stray.listen(1)
    proc = launch(tmp_path, conf('"http://127.0.0.1:0"', workers=1), [stray])
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("evprefork: listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert port != stray.getsockname()[1]
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "activated"
    finally:
        stop(proc)


def notify_socket(tmp_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(tmp_path / "notify.sock"))
    s.settimeout(10)
    return s


def messages_until(sock, needle, seen):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = sock.recv(4096).decode()
        seen.append(msg)
        if needle in msg:
            return msg
    raise AssertionError(f"no {needle} in {seen}")


def test_sd_notify_ready_reloading_stopping(server, tmp_path, monkeypatch):
    sock = notify_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    s = server(conf('"http://127.0.0.1:0"'))
    seen = []
    ready = messages_until(sock, "READY=1", seen)
    assert f"MAINPID={s.pid}" in ready
    assert len(s.workers()) == 2, "READY only once the workers are up"
    assert "STATUS=2 workers" in ready
    s.signal(signal.SIGHUP)
    messages_until(sock, "RELOADING=1", seen)
    messages_until(sock, "READY=1", seen)
    s.rewrite(s.conf.read_text() + "\nbogus = 1\n")
    s.signal(signal.SIGHUP)
    messages_until(sock, "RELOADING=1", seen)
    messages_until(sock, "READY=1", seen)  # a failed reload still ends in READY
    s.signal(signal.SIGQUIT)
    messages_until(sock, "STOPPING=1", seen)
    assert s.wait_exit(10) == 0


def test_sd_notify_mainpid_after_upgrade(server, tmp_path, monkeypatch):
    sock = notify_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    s = server(conf('"http://127.0.0.1:0"', workers=1))
    seen = []
    messages_until(sock, "READY=1", seen)
    s.signal(signal.SIGUSR2)
    msg = messages_until(sock, "MAINPID=", seen)
    new_pid = int(msg.split("MAINPID=")[1].split()[0])
    s.extra_pids.add(new_pid)
    assert new_pid != s.pid
    assert "READY=1" in msg
    assert s.wait_exit(10) == 0
    time.sleep(0.3)
    sock.settimeout(0.5)
    later = []
    try:
        while True:
            later.append(sock.recv(4096).decode())
    except socket.timeout:
        pass
    assert not any("STOPPING=1" in m for m in later), "the old manager must not report the service stopping"
    os.kill(new_pid, signal.SIGTERM)
    wait_for(lambda: not alive(new_pid), 5)
