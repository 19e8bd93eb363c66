"""WebSocket routes (RFC 6455) driven over raw sockets: framing, pings, reserved bits, opcodes,
fragmentation, UTF-8, close handling and limits (the Autobahn|Testsuite categories 1-7 and 9,
hand-written here). Every case asserts the exact echo or the exact close code, then checks that the
worker still serves and is the same process."""
import os
import random
import struct

import pytest

from evp import FAST, Server
from wsraw import BINARY, CLOSE, CONT, TEXT, Conn, binary, close, cont, fragments, frame, ping, pong, text

CONFIG = f"""
[server]
listen = ["http://127.0.0.1:0"]
workers = 1
accepts = 0
websocket_timeout = 60
{FAST}

[[route]]
path = "/ws/echo"
type = "websocket"
mode = "echo"

[[route]]
path = "/ws/small"
type = "websocket"
mode = "echo"
max_message_size = "64KB"
"""

SMALL = 64 * 1024
DEFAULT_MAX = 1024 * 1024
FAST_FAIL = 2.0  # seconds a fail-fast close may take (the rest of the message is never sent)


@pytest.fixture(scope="module")
def ws_server(tmp_path_factory, evprefork_bin):
    s = Server(tmp_path_factory.mktemp("wsraw"), CONFIG, binary=evprefork_bin).start()
    try:
        s.worker = s.wait_workers(1)[0]
        yield s
    finally:
        s.stop()


# ---------------------------------------------------------------- the little case language

class Chop:
    """Send `data` in writes of `size` bytes, `pause` seconds apart."""
    def __init__(self, data, size, pause=0.0):
        self.data, self.size, self.pause = data, size, pause


class Msg:
    """Expect a whole data message of this kind and payload (the server may fragment it)."""
    def __init__(self, kind, payload):
        self.kind = kind
        self.payload = payload.encode() if isinstance(payload, str) else payload


class Msgs:
    """Expect `n` messages in order, message i being payload(i)."""
    def __init__(self, kind, n, payload):
        self.kind, self.n, self.payload = kind, n, payload


class Pong:
    def __init__(self, payload=b""):
        self.payload = payload.encode() if isinstance(payload, str) else payload


class Pongs:
    def __init__(self, n, payload):
        self.n, self.payload = n, payload


class Close:
    """Expect a close frame with `code` (None: empty payload) within `timeout`, then the TCP close."""
    def __init__(self, code, timeout=None):
        self.code, self.timeout = code, timeout


def fast(code):
    return Close(code, FAST_FAIL)


class Case:
    def __init__(self, cid, steps, path="/ws/echo"):
        self.id, self.steps, self.path = cid, steps, path


def run_steps(conn, steps):
    for st in steps:
        if isinstance(st, (bytes, bytearray)):
            conn.send(st)
        elif isinstance(st, Chop):
            conn.send_chunked(st.data, st.size, st.pause)
        elif isinstance(st, Msg):
            kind, got = conn.read_message()
            if kind in ("text", "binary"):
                assert (kind, len(got)) == (st.kind, len(st.payload)), f"expected {st.kind} of {len(st.payload)} bytes, got {kind} of {len(got)}"
                assert got == st.payload, "echoed payload differs"
            else:
                raise AssertionError(f"expected a {st.kind} message, got {kind} {got}")
        elif isinstance(st, Msgs):
            for i in range(st.n):
                run_steps(conn, [Msg(st.kind, st.payload(i))])
        elif isinstance(st, Pong):
            kind, f = conn.read_message()
            assert kind == "pong", f"expected a pong, got {kind} {f}"
            assert f.payload == st.payload
        elif isinstance(st, Pongs):
            for i in range(st.n):
                run_steps(conn, [Pong(st.payload(i))])
        elif isinstance(st, Close):
            conn.expect_close(st.code, timeout=st.timeout)
        else:
            raise TypeError(st)


# ---------------------------------------------------------------- payload makers

def ascii_text(n):
    return (b"abcdefghijklmnopqrstuvwxyz0123456789 " * (n // 37 + 1))[:n]


def some_bytes(n, seed=0):
    """Deterministic pseudo-random bytes (the same n and seed give the same bytes)."""
    return random.Random(seed * 1_000_003 + n).randbytes(n)


CASES = []


def case(cid, *steps, path="/ws/echo"):
    CASES.append(Case(cid, list(steps), path))


# ---------------------------------------------------------------- 1 framing

for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 1_000_000):
    p = ascii_text(n)
    case(f"1.1-text-{n}", text(p), Msg("text", p))
for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 1_000_000):
    p = some_bytes(n)
    case(f"1.2-binary-{n}", binary(p), Msg("binary", p))
_p = os.urandom(DEFAULT_MAX)
case("1.2-binary-exactly-max_message_size", binary(_p), Msg("binary", _p))
_p = ascii_text(65536)
case("1.1-text-65536-in-997-byte-chops", Chop(text(_p), 997), Msg("text", _p))
_p = ascii_text(300)
case("1.1-text-300-one-byte-writes", Chop(text(_p), 1), Msg("text", _p))
case("1.1-mask-key-zero", text("masked with zeros", mask_key=b"\0\0\0\0"), Msg("text", "masked with zeros"))
case("1.1-two-messages-one-write", text("one") + binary(b"two"), Msg("text", "one"), Msg("binary", b"two"))
case("1.3-unmasked-text", text("not masked", mask=False), Close(1002))
case("1.3-unmasked-binary", binary(b"\x01\x02", mask=False), Close(1002))
case("1.3-unmasked-empty-text", text(b"", mask=False), Close(1002))
# RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
case("1.4-non-minimal-16-bit-length", text(b"abc", length_bytes=2), Close(1002))
case("1.4-non-minimal-64-bit-length", binary(b"abc", length_bytes=8), Close(1002))
case("1.4-non-minimal-64-bit-length-for-65535", binary(bytes(65535), length_bytes=8), Close(1002))
case("1.3-unmasked-after-good", text("good") + text("bad", mask=False), Msg("text", "good"), Close(1002))
case("1.4-64bit-length-high-bit", frame(BINARY, b"", length=1 << 63, length_bytes=8), fast(1002))
case("1.4-64bit-length-all-ones", frame(TEXT, b"", length=(1 << 64) - 1, length_bytes=8), fast(1002))

# ---------------------------------------------------------------- 2 pings and pongs

case("2.1-ping-empty", ping(), Pong())
case("2.2-ping-text-payload", ping("Hello, world!"), Pong("Hello, world!"))
case("2.3-ping-binary-payload", ping(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), Pong(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))
case("2.4-ping-125", ping(some_bytes(125)), Pong(some_bytes(125)))
case("2.5-ping-126", ping(some_bytes(126)), Close(1002))
case("2.5-ping-65535", ping(some_bytes(65535)), Close(1002))
case("2.6-ping-125-one-byte-writes", Chop(ping(some_bytes(125)), 1), Pong(some_bytes(125)))
case("2.7-unsolicited-pong-empty", pong(), text("after pong"), Msg("text", "after pong"))
case("2.8-unsolicited-pong-payload", pong("unsolicited"), text("after pong"), Msg("text", "after pong"))
case("2.8-unsolicited-pong-125-then-ping", pong(some_bytes(125)), ping("p"), Pong("p"))
case("2.9-pong-126", pong(some_bytes(126)), Close(1002))
case("2.10-ten-pings", b"".join(ping(f"ping-{i}") for i in range(10)), Pongs(10, lambda i: f"ping-{i}"))
case("2.11-ten-pings-one-byte-writes", Chop(b"".join(ping(f"ping-{i}") for i in range(10)), 1),
     Pongs(10, lambda i: f"ping-{i}"))
case("2.12-pings-between-messages", text("a") + ping("1") + binary(b"b") + ping("2"),
     Msg("text", "a"), Pong("1"), Msg("binary", b"b"), Pong("2"))
case("2.13-unmasked-ping", ping("x", mask=False), Close(1002))
case("2.14-ping-then-close", ping("last") + close(1000), Pong("last"), Close(1000))

# ---------------------------------------------------------------- 3 reserved bits

for rsv in range(1, 8):
    case(f"3.1-text-rsv{rsv}", text("reserved", rsv=rsv), Close(1002))
for rsv in (4, 2, 1):
    case(f"3.2-binary-rsv{rsv}", binary(b"\x00\x01", rsv=rsv), Close(1002))
    case(f"3.3-ping-rsv{rsv}", ping("p", rsv=rsv), Close(1002))
    case(f"3.4-close-rsv{rsv}", close(1000, rsv=rsv), Close(1002))
case("3.5-pong-rsv1", pong("p", rsv=4), Close(1002))
case("3.6-continuation-rsv1", text("frag", fin=False) + cont("ment", rsv=4), Close(1002))
case("3.7-text-then-rsv-then-ping", text("fine") + text("bad", rsv=2) + ping("never"),
     Msg("text", "fine"), Close(1002))

# ---------------------------------------------------------------- 4 opcodes

for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
    case(f"4.1-opcode-{op:x}-empty", frame(op, b""), Close(1002))
    case(f"4.2-opcode-{op:x}-payload", frame(op, b"reserved opcode"), Close(1002))
case("4.3-text-then-opcode-5-then-ping", text("fine") + frame(5, b"x") + ping("never"),
     Msg("text", "fine"), Close(1002))
case("4.4-opcode-b-inside-fragmented", text("a", fin=False) + frame(0xB, b"") + cont("b"), Close(1002))
case("4.5-opcode-4-as-continuation", text("a", fin=False) + frame(4, b"b"), Close(1002))

# ---------------------------------------------------------------- 5 fragmentation

case("5.1-fragmented-ping", ping("frag", fin=False) + cont("ment"), Close(1002))
case("5.2-fragmented-pong", pong("frag", fin=False) + cont("ment"), Close(1002))
case("5.3-text-two-fragments", fragments(TEXT, [b"frag", b"ment"]), Msg("text", "fragment"))
case("5.4-binary-two-fragments", fragments(BINARY, [b"\x00\x01", b"\x02\x03"]), Msg("binary", b"\x00\x01\x02\x03"))
case("5.5-text-two-fragments-one-byte-writes", Chop(fragments(TEXT, [b"frag", b"ment"]), 1), Msg("text", "fragment"))
case("5.6-text-fragments-ping-between", text("frag", fin=False) + ping("in between") + cont("ment"),
     Pong("in between"), Msg("text", "fragment"))
case("5.7-binary-fragments-ping-between-chopped",
     Chop(binary(b"frag", fin=False) + ping("in between") + cont(b"ment"), 1),
     Pong("in between"), Msg("binary", b"fragment"))
case("5.8-fragments-pings-pongs-between",
     text("a", fin=False) + ping("1") + cont("b", fin=False) + pong("unsolicited") + cont("c", fin=False)
     + ping("2") + cont("d"),
     Pong("1"), Pong("2"), Msg("text", "abcd"))
case("5.9-continuation-no-start-fin", cont("nothing to continue"), Close(1002))
case("5.10-continuation-no-start-nofin", cont("nothing to continue", fin=False), Close(1002))
case("5.11-continuation-no-start-one-byte-writes", Chop(cont("nothing", fin=False) + cont("more"), 1), Close(1002))
case("5.12-continuation-after-complete-message", text("done") + cont("stray"), Msg("text", "done"), Close(1002))
case("5.13-text-inside-fragmented-text", text("a", fin=False) + text("b"), Close(1002))
case("5.14-binary-inside-fragmented-binary", binary(b"a", fin=False) + binary(b"b", fin=False), Close(1002))
case("5.15-binary-inside-fragmented-text", text("a", fin=False) + binary(b"b") + cont("c"), Close(1002))
case("5.16-message-then-stray-continuation-then-text",
     fragments(TEXT, [b"frag", b"ment"]) + cont("stray", fin=False) + text("never"),
     Msg("text", "fragment"), Close(1002))
case("5.17-one-byte-fragments", fragments(TEXT, [bytes([c]) for c in ascii_text(100)]), Msg("text", ascii_text(100)))
case("5.18-binary-one-byte-fragments-1000", fragments(BINARY, [bytes([i & 0xFF]) for i in range(1000)]),
     Msg("binary", bytes(i & 0xFF for i in range(1000))))
case("5.19-empty-fragments", fragments(TEXT, [b"", b"", b""]), Msg("text", ""))
case("5.20-empty-first-fragment", fragments(BINARY, [b"", b"data"]), Msg("binary", b"data"))
case("5.21-large-fragments", fragments(BINARY, [some_bytes(65536, seed=1), some_bytes(65536, seed=2)]),
     Msg("binary", some_bytes(65536, seed=1) + some_bytes(65536, seed=2)))
case("5.22-two-fragmented-messages-back-to-back",
     fragments(TEXT, [b"one", b"-", b"1"]) + fragments(BINARY, [b"two", b"-2"]),
     Msg("text", "one-1"), Msg("binary", b"two-2"))
case("5.23-fragmented-close", close(1000, fin=False), Close(1002))
case("5.24-close-inside-fragmented-message", text("half", fin=False) + close(1000), Close(1000))

# ---------------------------------------------------------------- 6 UTF-8

VALID = {
    "hello-umlauts": "Hello-µ@ßöäüàá-UTF-8!!".encode(),
    "kosme": "κόσμε".encode(),
    "4-byte-g-clef": "𝄞 clef".encode(),
    "u0000": b"\x00",
    "u007f": b"\x7f",
    "u0080": b"\xc2\x80",
    "u07ff": b"\xdf\xbf",
    "u0800": b"\xe0\xa0\x80",
    "ud7ff": b"\xed\x9f\xbf",
    "ue000": b"\xee\x80\x80",
    "ufffd": b"\xef\xbf\xbd",
    "uffff": b"\xef\xbf\xbf",
    "u10000": b"\xf0\x90\x80\x80",
    "u10ffff": b"\xf4\x8f\xbf\xbf",
    "mixed-1-2-3-4": "a\u00e9\u20ac\U0001F600z".encode(),
}
for name, p in VALID.items():
    case(f"6.1-valid-{name}", text(p), Msg("text", p))

for ch in ("é", "€", "𝄞"):
    b = ch.encode()
    whole = b"<" + b + b">"
    for cut in range(1, len(b)):
        case(f"6.2-split-{len(b)}-byte-char-at-{cut}", fragments(TEXT, [whole[:1 + cut], whole[1 + cut:]]),
             Msg("text", whole))
_k = "κόσμε𝄞€".encode()
case("6.2-kosme-one-byte-fragments", fragments(TEXT, [bytes([c]) for c in _k]), Msg("text", _k))
case("6.2-4-byte-char-over-three-fragments", fragments(TEXT, [b"\xf0\x9d", b"\x84", b"\x9e"]), Msg("text", "𝄞"))
case("6.2-valid-utf8-chopped-one-byte-writes", Chop(text(_k), 1), Msg("text", _k))

INVALID = {
    "overlong-slash-2": b"\xc0\xaf",
    "overlong-slash-3": b"\xe0\x80\xaf",
    "overlong-slash-4": b"\xf0\x80\x80\xaf",
    "overlong-slash-5": b"\xf8\x80\x80\x80\xaf",
    "overlong-max-2": b"\xc1\xbf",
    "overlong-max-3": b"\xe0\x9f\xbf",
    "overlong-max-4": b"\xf0\x8f\xbf\xbf",
    "overlong-nul": b"\xc0\x80",
    "surrogate-d800": b"\xed\xa0\x80",
    "surrogate-db7f": b"\xed\xad\xbf",
    "surrogate-dc00": b"\xed\xb0\x80",
    "surrogate-dfff": b"\xed\xbf\xbf",
    "surrogate-pair": b"\xed\xa0\x80\xed\xb0\x80",
    "kosme-then-surrogate": "κόσμε".encode() + b"\xed\xa0\x80edited",
    "above-10ffff": b"\xf4\x90\x80\x80",
    "f5-lead": b"\xf5\x80\x80\x80",
    "f7-bfbfbf": b"\xf7\xbf\xbf\xbf",
    "byte-fe": b"\xfe",
    "byte-ff": b"\xff",
    "fe-fe-ff-ff": b"\xfe\xfe\xff\xff",
    "six-byte-form": b"\xfc\x84\x80\x80\x80\x80",
    "lone-continuation-80": b"\x80",
    "lone-continuation-bf": b"\xbf",
    "continuations-after-ascii": b"abc\x80\xbf\x80",
    "lead-then-space-2": b"\xc2 ",
    "lead-then-space-3": b"\xe0\xa0 ",
    "truncated-end-2": b"ab\xce",
    "truncated-end-3": b"ab\xe2\x82",
    "truncated-end-4": b"ab\xf0\x9d\x84",
}
for name, p in INVALID.items():
    case(f"6.3-invalid-{name}", text(p), Close(1007))

case("6.4-truncated-at-end-of-fragmented-message", fragments(TEXT, ["κ".encode(), b"\xe2\x82"]), Close(1007))
case("6.4-split-lead-then-bad-continuation", fragments(TEXT, [b"\xe2", b"\x28\xa1"]), Close(1007))
case("6.4-invalid-in-middle-fragment", fragments(TEXT, [b"ok", b"\xed\xa0\x80", b"ok"]), Close(1007))
case("6.4-binary-is-not-checked", binary(b"\xff\xfe\xed\xa0\x80"), Msg("binary", b"\xff\xfe\xed\xa0\x80"))
# Fail fast: the invalid byte arrives, the rest of the message never does; the close must still come.
case("6.5-fail-fast-first-fragment", text(b"hello\xff", fin=False), fast(1007))
case("6.5-fail-fast-second-of-many", text("valid start", fin=False) + cont(b"\xf4\x90\x80\x80", fin=False), fast(1007))
case("6.5-fail-fast-long-message", text(ascii_text(1000) + b"\xed\xa0\x80" + ascii_text(1000), fin=False)
     + b"".join(cont(ascii_text(1000), fin=False) for _ in range(3)), fast(1007))
case("6.5-fail-fast-split-char-then-bad", text(b"ok\xf0\x9d", fin=False) + cont(b"\xff", fin=False), fast(1007))
# A sequence that cannot become valid is invalid as soon as its first impossible byte is in, even
# though the character is not complete yet.
for name, prefix in {"c0": b"\xc0", "f5": b"\xf5", "ff": b"\xff", "e0-80-overlong": b"\xe0\x80",
                     "ed-a0-surrogate": b"\xed\xa0", "f4-90-too-big": b"\xf4\x90", "f0-80-overlong": b"\xf0\x80",
                     "c2-41-missing-continuation": b"\xc2A"}.items():
    case(f"6.5-fail-fast-impossible-prefix-{name}", text(b"ok" + prefix, fin=False), fast(1007))
case("6.5-incomplete-but-possible-prefix-is-not-an-error", text(b"ok\xf0\x9f", fin=False), ping("still fine"),
     Pong("still fine"), cont(b"\x98\x80"), Msg("text", "ok😀"))
case("6.4-incomplete-char-then-empty-final-fragment", fragments(TEXT, [b"a\xe2\x82", b""]), Close(1007))
# ... even inside one frame: header (2 + 2 + 4 mask bytes) and the first 4 of 1000 payload bytes only.
case("6.5-fail-fast-inside-one-frame", text(b"ok\xc0\xaf" + ascii_text(996))[:8 + 4], fast(1007))

# ---------------------------------------------------------------- 7 close handling

case("7.1-echo-then-close", text("bye"), Msg("text", "bye"), close(1000), Close(1000))
case("7.2-close-empty", close(), Close(None))
case("7.3-close-then-text-ignored", close(1000) + text("ignored"), Close(1000))
case("7.4-close-then-ping-ignored", close(1000) + ping("ignored"), Close(1000))
case("7.5-close-twice", close(1000) + close(1001), Close(1000))
case("7.6-close-one-byte-payload", frame(CLOSE, b"\x03"), Close(1002))
case("7.7-close-reason", close(1000, "Hello World!"), Close(1000))
case("7.8-close-reason-multibyte", close(1000, "κόσμε 𝄞"), Close(1000))
case("7.9-close-125-bytes", close(1000, "*" * 123), Close(1000))
case("7.10-close-126-bytes", close(1000, "*" * 124), Close(1002))
case("7.11-close-reason-invalid-utf8", close(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"),
     Close(1007))
case("7.12-close-reason-truncated-utf8", close(1000, b"ok\xe2\x82"), Close(1007))
case("7.13-close-unmasked", close(1000, mask=False), Close(1002))
case("7.14-close-chopped", Chop(close(3000, "chopped"), 1), Close(3000))
for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999):
    case(f"7.15-close-code-{code}-echoed", close(code), Close(code))
for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
    case(f"7.16-close-code-{code}-invalid", close(code), Close(1002))

# ---------------------------------------------------------------- 9 limits (/ws/small has max_message_size 64KB)

S = "/ws/small"
_t = ascii_text(SMALL)
case("9.1-text-at-max", text(_t), Msg("text", _t), path=S)
case("9.1-text-max-minus-1", text(_t[:-1]), Msg("text", _t[:-1]), path=S)
_b = some_bytes(SMALL)
case("9.2-binary-at-max", binary(_b), Msg("binary", _b), path=S)
case("9.3-text-over-max", text(ascii_text(SMALL + 1)), Close(1009), path=S)
case("9.3-binary-over-max", binary(some_bytes(SMALL + 1)), Close(1009), path=S)
case("9.3-binary-1MiB-over-small-max", binary(some_bytes(DEFAULT_MAX)), Close(1009), path=S)
# The header alone shows the message is too big: the close comes before any payload is sent.
case("9.4-declared-over-max-header-only", frame(BINARY, b"", length=SMALL + 1), fast(1009), path=S)
case("9.4-declared-4GiB-header-only", frame(BINARY, b"", length=1 << 32), fast(1009), path=S)
case("9.4-declared-2^62-header-only", frame(TEXT, b"", length=1 << 62), fast(1009), path=S)
case("9.4-default-max-declared-plus-1", frame(BINARY, b"", length=DEFAULT_MAX + 1), fast(1009))
case("9.4-default-max-declared-1TiB", frame(BINARY, b"", length=1 << 40), fast(1009))
case("9.5-fragmented-at-max", fragments(BINARY, [_b[:SMALL // 2], _b[SMALL // 2:]]), Msg("binary", _b), path=S)
case("9.5-fragmented-64x1KiB-at-max", fragments(TEXT, [_t[i:i + 1024] for i in range(0, SMALL, 1024)]),
     Msg("text", _t), path=S)
case("9.6-fragmented-over-max", fragments(BINARY, [_b[:SMALL // 2], _b[SMALL // 2:], b"!"]), Close(1009), path=S)
case("9.6-fragmented-over-max-header-only",
     binary(_b[:SMALL // 2], fin=False) + cont(_b[SMALL // 2:], fin=False) + frame(CONT, b"", length=1),
     fast(1009), path=S)
case("9.6-fragmented-each-under-total-over",
     binary(some_bytes(16384), fin=False) + b"".join(cont(some_bytes(16384), fin=False) for _ in range(3))
     + frame(CONT, b"", length=16384),
     fast(1009), path=S)
case("9.7-many-small-messages-past-max-total", b"".join(text(f"m{i:05d}") for i in range(10000)),
     Msgs("text", 10000, lambda i: f"m{i:05d}"), path=S)
case("9.8-1000-small-binary-messages", b"".join(binary(struct.pack("!I", i)) for i in range(1000)),
     Msgs("binary", 1000, lambda i: struct.pack("!I", i)))
case("9.9-500-pings", b"".join(ping(struct.pack("!I", i)) for i in range(500)),
     Pongs(500, lambda i: struct.pack("!I", i)))
case("9.10-ping-between-large-fragments", binary(_b, fin=False) + ping("mid") + cont(b"!" * 1000),
     Pong("mid"), Msg("binary", _b + b"!" * 1000))
case("9.11-ping-between-fragments-at-max", binary(_b[:1000], fin=False) + ping("mid") + cont(_b[1000:]),
     Pong("mid"), Msg("binary", _b), path=S)

# Whole messages are echoed from where recv put them and the echoes of one
# read leave together; what a read cuts off, control frames and anything odd
# go through the connection's input buffer. These mix both in one send.
_big = some_bytes(300 * 1024, seed=9)
case("9.12-small-messages-around-one-larger-than-a-read",
     b"".join(text(f"a{i}") for i in range(100)) + binary(_big) + b"".join(text(f"b{i}") for i in range(100)),
     Msgs("text", 100, lambda i: f"a{i}"), Msg("binary", _big), Msgs("text", 100, lambda i: f"b{i}"))
case("9.13-whole-messages-around-a-ping", b"".join(text(f"a{i}") for i in range(50)) + ping("mid")
     + b"".join(binary(struct.pack("!I", i)) for i in range(50)),
     Msgs("text", 50, lambda i: f"a{i}"), Pong("mid"), Msgs("binary", 50, lambda i: struct.pack("!I", i)))
case("9.14-whole-messages-then-invalid-utf8-then-more", b"".join(text(f"a{i}") for i in range(20))
     + text(b"bad \xc3\x28") + b"".join(text(f"never{i}") for i in range(20)),
     Msgs("text", 20, lambda i: f"a{i}"), fast(1007))
case("9.15-whole-messages-then-a-fragment-cut-by-the-read",
     Chop(b"".join(text(f"a{i}") for i in range(30)) + text("x" * 5000), 97, 0.002),
     Msgs("text", 30, lambda i: f"a{i}"), Msg("text", "x" * 5000))


# ---------------------------------------------------------------- running them

def _alive(s):
    """The worker is the same process and still serves a fresh WebSocket."""
    assert s.workers() == [s.worker], f"worker changed: {s.worker} -> {s.workers()} (crashed?)\n{s.log()[-2000:]}"
    with Conn(s.port, timeout=5) as c:
        c.open("/ws/echo")
        c.echo("still alive")
        c.echo(b"\x00still alive", opcode=BINARY)
        c.send(close(1000))
        c.expect_close(1000)
    assert s.workers() == [s.worker]


def test_case_list_is_big_enough():
    cats = {}
    for c in CASES:
        cats.setdefault(c.id.split(".")[0], []).append(c.id)
    assert sorted(cats) == ["1", "2", "3", "4", "5", "6", "7", "9"]
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_raw(ws_server, c):
    with Conn(ws_server.port, timeout=5) as conn:
        conn.open(c.path)
        run_steps(conn, c.steps)
    _alive(ws_server)
