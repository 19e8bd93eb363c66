"""The status route in Prometheus text format: parsed by prometheus_client, counters checked against what was sent."""
import asyncio
import os
import signal
import socket

import requests
import websockets
from prometheus_client.parser import text_string_to_metric_families

from evp import FAST, wait_for


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def conf(workers=2):
    return f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = {workers}
accept_mutex = false
{FAST}

[[route]]
path = "/"
type = "return"
status = 200
body = "twelve bytes"

[[route]]
path = "/metrics"
type = "status"

[[route]]
path = "/missing"
type = "return"
status = 404
body = "no"

[[route]]
path = "/dead"
type = "proxy"
upstream = ["127.0.0.1:{free_port()}"]

[[route]]
path = "/ws"
type = "websocket"
mode = "echo"
"""


def scrape(s, how="query"):
    if how == "query":
        r = requests.get(s.url("/metrics?format=prometheus"), timeout=5)
    else:
        r = requests.get(s.url("/metrics"), headers={"Accept": "text/plain; version=0.0.4"}, timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            key = sample.name + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


def test_prometheus_text_parses_and_has_every_family(server):
    s = server(conf())
    s.wait_workers(2)
    for how in ("query", "accept"):
        m = scrape(s, how)
        for name in ("evprefork_requests_total{class=2xx}", "evprefork_connections_open", "evprefork_connections_accepted_total",
                     "evprefork_bytes_sent_total", "evprefork_worker_restarts_total{reason=crashed}",
                     "evprefork_upstream_failures_total", "evprefork_websocket_connections_open",
                     "evprefork_websocket_connections_total", "evprefork_workers", "evprefork_generation",
                     "evprefork_uptime_seconds"):
            assert name in m, name
        assert any(k.startswith("evprefork_worker_heartbeat_age_seconds{pid=") for k in m)
    assert requests.get(s.url("/metrics"), timeout=5).headers["Content-Type"] == "application/json"


def test_counters_match_and_survive_a_killed_worker(server):
    s = server(conf())
    workers = s.wait_workers(2)
    for _ in range(30):
        assert requests.get(s.url("/missing"), headers={"Connection": "close"}, timeout=5).status_code == 404
    for _ in range(20):
        requests.get(s.url("/"), headers={"Connection": "close"}, timeout=5)
    m = wait_for(lambda: (lambda m: m if m["evprefork_requests_total{class=4xx}"] == 30 else None)(scrape(s)), 5,
                 what="30 4xx counted")
    assert m["evprefork_requests_total{class=2xx}"] >= 20
    assert m["evprefork_bytes_sent_total"] >= 20 * 12 + 30 * 2
    assert m["evprefork_connections_accepted_total"] >= 50
    # Both workers served some; kill one after its counts reached the manager.
    os.kill(workers[0], signal.SIGKILL)
    wait_for(lambda: len(s.workers()) == 2 and workers[0] not in s.workers(), 5, what="the replacement")
    m = wait_for(lambda: (lambda m: m if m["evprefork_worker_restarts_total{reason=crashed}"] == 1 else None)(scrape(s)), 5,
                 what="the restart counted")
    assert m["evprefork_requests_total{class=4xx}"] == 30, "a dead worker's counts are kept"
    for _ in range(5):
        requests.get(s.url("/missing"), headers={"Connection": "close"}, timeout=5)
    wait_for(lambda: scrape(s)["evprefork_requests_total{class=4xx}"] == 35, 5, what="35 after the restart")


def test_upstream_failures_and_websockets(server):
    s = server(conf(workers=1))
    s.wait_workers(1)
    assert requests.get(s.url("/dead/x"), timeout=5).status_code == 502
    wait_for(lambda: scrape(s)["evprefork_upstream_failures_total"] >= 1, 5, what="the upstream failure")
    assert scrape(s)["evprefork_requests_total{class=5xx}"] == 1

    async def hold():
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/ws") as ws:
            await ws.send("x")
            await ws.recv()
            m = await asyncio.to_thread(scrape, s)
            assert m["evprefork_websocket_connections_open"] == 1
            assert m["evprefork_websocket_connections_total"] == 1
    asyncio.run(hold())
    wait_for(lambda: scrape(s)["evprefork_websocket_connections_open"] == 0, 5, what="the socket closed")
