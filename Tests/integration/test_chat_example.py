"""The chat example: an application's own WebSocket handler, by config mode and by path."""
import asyncio
import os
import pathlib

import websockets

from evp import EVPREFORK, FAST

CHAT_APP = os.environ.get("CHAT_APP_BIN", str(pathlib.Path(EVPREFORK).parent / "chat-app"))

CONF = f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = 1
{FAST}

[[route]]
path = "/chat"
type = "websocket"
mode = "chat"
"""


def test_chat_broadcasts_to_every_socket_of_the_worker(server):
    s = server(CONF, binary=CHAT_APP)

    async def talk(path):
        url = f"ws://127.0.0.1:{s.port}{path}"
        async with websockets.connect(url, subprotocols=["chat.v1"]) as a, websockets.connect(url) as b:
            assert a.subprotocol == "chat.v1" and b.subprotocol is None
            assert (await a.recv()).startswith("* welcome")
            assert (await b.recv()).startswith("* welcome")
            assert (await a.recv()).endswith("joined")
            await a.send("/nick alice")
            await a.send("hello")
            assert await a.recv() == "alice: hello"
            assert await b.recv() == "alice: hello"
            await b.send(b"\x00")
            await b.wait_closed()
            assert b.close_code == 1003
            assert (await a.recv()).endswith("left")
    asyncio.run(talk("/chat"))
    asyncio.run(talk("/room"))


def test_unknown_mode_is_a_config_error_for_plain_evprefork(cli, tmp_path):
    (tmp_path / "server.conf").write_text(CONF)
    r = cli("-t", "-c", str(tmp_path / "server.conf"))
    assert r.returncode == 2
    assert 'unknown websocket mode "chat"' in r.stderr
