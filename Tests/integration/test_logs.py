"""Access and error logs: combined format, levels, and rotation by USR1 without losing a line."""
import os
import re
import signal
import threading

import requests

from evp import FAST, raw_request, wait_for

COMBINED = re.compile(
    r'^(?P<remote>\S+) - - \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" '
    r'(?P<seconds>\d+\.\d{3})$')


def conf(tmp_path, level="info", extra_log="", workers=1):
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = {workers}
{FAST}

[log]
level = "{level}"
error_log = "{tmp_path}/error.log"
access_log = "{tmp_path}/access.log"
{extra_log}

[[route]]
path = "/"
type = "return"
status = 200
body = "hello"

[[route]]
path = "/status"
type = "status"

[[route]]
path = "/gone"
type = "return"
status = 301
location = "/there"
"""


def lines(path):
    try:
        return [l for l in path.read_text().splitlines() if l]
    except FileNotFoundError:
        return []


def test_access_log_is_combined_format_with_request_time(server, tmp_path):
    s = server(conf(tmp_path))
    access = tmp_path / "access.log"
    requests.get(s.url("/a?b=c"), headers={"Referer": "http://ref.example/", "User-Agent": 'agent "quoted"'}, timeout=5)
    requests.head(s.url("/"), timeout=5)
    requests.get(s.url("/gone"), allow_redirects=False, timeout=5)
    raw_request(s.port, b"GET / HTTP/1.0\r\n\r\n")
    got = wait_for(lambda: (lambda l: l if len(l) == 4 else None)(lines(access)), 5, what="four access lines")
    parsed = [COMBINED.match(l) for l in got]
    assert all(parsed), got
    a, head, redirect, old = parsed
    assert a["remote"] == "127.0.0.1"
    assert a["request"] == "GET /a?b=c HTTP/1.1"
    assert (a["status"], a["bytes"]) == ("200", "5")
    assert a["referer"] == "http://ref.example/"
    assert a["agent"] == r"agent \x22quoted\x22"
    assert float(a["seconds"]) < 1
    assert (head["request"], head["status"], head["bytes"]) == ("HEAD / HTTP/1.1", "200", "0")
    assert redirect["status"] == "301"
    assert (old["request"], old["agent"]) == ("GET / HTTP/1.0", "-")


def test_error_log_level(server, tmp_path):
    s = server(conf(tmp_path, level="warn", workers=2))
    s.wait_workers(2)
    error = tmp_path / "error.log"
    s.signal(signal.SIGTTOU)
    s.wait_workers(1)
    s.signal(signal.SIGTTOU)  # refused at one worker: a warning
    wait_for(lambda: "TTOU ignored" in error.read_text(), 5, what="the warning")
    text = error.read_text()
    assert "[warn]" in text
    assert "[info]" not in text and "manager started" not in text


def test_debug_level_shows_spawns(server, tmp_path):
    s = server(conf(tmp_path, level="debug"))
    s.wait_workers(1)
    wait_for(lambda: "[debug]" in (tmp_path / "error.log").read_text() and "spawned worker" in (tmp_path / "error.log").read_text(),
             5, what="a debug line")


def test_usr1_rotation_loses_no_line(server, tmp_path):
    s = server(conf(tmp_path, workers=2))
    s.wait_workers(2)
    access = tmp_path / "access.log"
    error = tmp_path / "error.log"
    sent = [0]
    failed = []
    stop = threading.Event()

    def client():
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.get(s.url("/"), timeout=5)
                if r.status_code == 200:
                    sent[0] += 1
                else:
                    failed.append(r.status_code)
            except requests.RequestException as e:
                failed.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: sent[0] >= 300, 20, what="traffic before rotation")
        os.rename(access, tmp_path / "access.log.1")
        os.rename(error, tmp_path / "error.log.1")
        s.signal(signal.SIGUSR1)
        wait_for(lambda: len(lines(access)) >= 300, 20, what="lines in the new access log")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failed == []
    total = sent[0]
    old, new = lines(tmp_path / "access.log.1"), []
    new = wait_for(lambda: (lambda n: n if len(old) + len(n) == total else None)(lines(access)), 5,
                   what=f"{total} lines across both files")
    assert all(COMBINED.match(l) for l in old + new)
    assert "reopening logs" in (tmp_path / "error.log.1").read_text()
    s.signal(signal.SIGTTIN)  # something for the manager to log after the reopen
    wait_for(lambda: error.exists() and "workers: 3" in error.read_text(), 5, what="manager line in the new error log")


def test_every_response_has_date_and_server(server, tmp_path):
    s = server(conf(tmp_path))
    for path, code in (("/", 200), ("/status", 200), ("/gone", 301)):
        r = requests.get(s.url(path), allow_redirects=False, timeout=5)
        assert r.status_code == code
        assert r.headers["Server"].startswith("evprefork/")
        assert re.match(r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$", r.headers["Date"])
