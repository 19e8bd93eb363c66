"""Helpers for the differential TOML tests: run `toml-decode`, turn its
toml-test tagged JSON into Python values, and compare them with what Python's
`tomllib` (the reference) makes of the same bytes.

The reference is tomllib with one correction: TOML 1.0 integers are 64-bit
(``-2**63 .. 2**63-1``) while tomllib accepts integers of any size, so a
document holding an out-of-range integer counts as rejected.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = HERE / "toml_corpus"

INT_MIN, INT_MAX = -(2**63), 2**63 - 1

# `<stdin>:LINE:COL: error: MESSAGE`
ERROR_RE = re.compile(r"^<stdin>:(\d+):(\d+): error: .+")


def decoder_path() -> str:
    return os.environ.get("TOML_DECODE") or str(REPO / ".build" / "release" / "toml-decode")


# --------------------------------------------------------------------------
# Running the binary


@dataclass
class Decoded:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def error_position(self) -> tuple[int, int] | None:
        m = ERROR_RE.match(self.stderr_text)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def value(self) -> Any:
        """The decoded document as Python values (raises on malformed output)."""
        return from_tagged_json(self.stdout)

    def describe(self) -> str:
        return (f"exit {self.returncode}\nstdout: {self.stdout[:2000]!r}\n"
                f"stderr: {self.stderr[:2000]!r}")


def run_decode(data: bytes, timeout: float = 10.0) -> Decoded:
    p = subprocess.run([decoder_path()], input=data, capture_output=True, timeout=timeout)
    return Decoded(p.returncode, p.stdout, p.stderr)


class Pending:
    """toml-decode processes started on some documents, not yet waited for."""

    def __init__(self, docs: list[bytes]):
        self.docs = docs
        self.procs = [subprocess.Popen([decoder_path()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE) for _ in docs]

    def results(self, timeout: float = 10.0) -> list[Decoded]:
        out = []
        for p, data in zip(self.procs, self.docs):
            stdout, stderr = p.communicate(data, timeout=timeout)
            out.append(Decoded(p.returncode, stdout, stderr))
        return out


def run_decode_many(docs: list[bytes]) -> list[Decoded]:
    """Runs one toml-decode per document, all at once."""
    return Pending(docs).results()


# --------------------------------------------------------------------------
# The reference


@dataclass
class Reference:
    ok: bool
    value: Any = None
    reason: str = ""


def out_of_range_int(v: Any) -> int | None:
    """The first integer in `v` outside the 64-bit range, if any."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if not (INT_MIN <= v <= INT_MAX) else None
    if isinstance(v, dict):
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = out_of_range_int(x)
            if r is not None:
                return r
    return None


def reference_load(data: bytes) -> Reference:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return Reference(False, reason=f"invalid UTF-8: {e}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return Reference(False, reason=str(e))
    big = out_of_range_int(doc)
    if big is not None:
        return Reference(False, value=doc, reason=f"integer {big} out of 64-bit range (tomllib accepts it)")
    return Reference(True, value=doc)


# --------------------------------------------------------------------------
# Tagged JSON -> Python values

SCALAR_TYPES = {"string", "integer", "float", "bool", "datetime",
                "datetime-local", "date-local", "time-local"}

_DATE = r"(\d{4})-(\d{2})-(\d{2})"
_TIME = r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
DATETIME_RE = re.compile(rf"^{_DATE}T{_TIME}(Z|[+-]\d{{2}}:\d{{2}})$")
DATETIME_LOCAL_RE = re.compile(rf"^{_DATE}T{_TIME}$")
DATE_RE = re.compile(rf"^{_DATE}$")
TIME_RE = re.compile(rf"^{_TIME}$")
INTEGER_RE = re.compile(r"^-?(0|[1-9][0-9]*)$")
FLOAT_RE = re.compile(r"^-?(\d+(\.\d+)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$")


class TaggedJSONError(ValueError):
    pass


def _micros(fraction: str | None) -> int:
    # tomllib keeps the first six digits and drops the rest (truncation, not
    # rounding): `int(micros_str.ljust(6, "0"))` over `[0-9]{1,6}` + `[0-9]*`.
    return int(fraction[:6].ljust(6, "0")) if fraction else 0


def _time_parts(h: str, mi: str, s: str, frac: str | None) -> tuple[int, int, int, int]:
    return int(h), int(mi), int(s), _micros(frac)


def _offset(text: str) -> dt.tzinfo:
    if text == "Z":
        return dt.timezone.utc
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise TaggedJSONError(f"offset out of range: {text!r}")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def scalar_from_tagged(kind: str, value: str) -> Any:
    try:
        if kind == "string":
            return value
        if kind == "integer":
            if not INTEGER_RE.match(value):
                raise TaggedJSONError(f"integer not in decimal: {value!r}")
            n = int(value)
            if not INT_MIN <= n <= INT_MAX:
                raise TaggedJSONError(f"integer out of range: {value!r}")
            return n
        if kind == "float":
            if value in ("inf", "-inf", "nan"):
                return float(value)
            if not FLOAT_RE.match(value):
                raise TaggedJSONError(f"float not a plain decimal repr: {value!r}")
            f = float(value)
            if math.isinf(f):
                raise TaggedJSONError(f"finite float spelled as overflowing literal: {value!r}")
            return f
        if kind == "bool":
            if value not in ("true", "false"):
                raise TaggedJSONError(f"bool value {value!r}")
            return value == "true"
        if kind == "datetime":
            m = DATETIME_RE.match(value)
            if not m:
                raise TaggedJSONError(f"offset date-time not RFC 3339 with 'T' and 'Z'/±HH:MM: {value!r}")
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            return dt.datetime(y, mo, d, *_time_parts(m[4], m[5], m[6], m[7]), tzinfo=_offset(m[8]))
        if kind == "datetime-local":
            m = DATETIME_LOCAL_RE.match(value)
            if not m:
                raise TaggedJSONError(f"local date-time not 'YYYY-MM-DDTHH:MM:SS[.f]': {value!r}")
            return dt.datetime(int(m[1]), int(m[2]), int(m[3]), *_time_parts(m[4], m[5], m[6], m[7]))
        if kind == "date-local":
            m = DATE_RE.match(value)
            if not m:
                raise TaggedJSONError(f"local date not 'YYYY-MM-DD': {value!r}")
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if kind == "time-local":
            m = TIME_RE.match(value)
            if not m:
                raise TaggedJSONError(f"local time not 'HH:MM:SS[.f]': {value!r}")
            return dt.time(*_time_parts(m[1], m[2], m[3], m[4]))
    except TaggedJSONError:
        raise
    except ValueError as e:  # datetime() range errors
        raise TaggedJSONError(f"{kind} {value!r}: {e}") from None
    raise TaggedJSONError(f"unknown type tag {kind!r}")


def _is_scalar_tag(obj: dict) -> bool:
    return (set(obj) == {"type", "value"} and isinstance(obj["type"], str)
            and isinstance(obj["value"], str))


def from_tagged(obj: Any) -> Any:
    if isinstance(obj, list):
        return [from_tagged(x) for x in obj]
    if isinstance(obj, dict):
        if _is_scalar_tag(obj):
            return scalar_from_tagged(obj["type"], obj["value"])
        return {k: from_tagged(v) for k, v in obj.items()}
    raise TaggedJSONError(f"bare JSON scalar in tagged output: {obj!r}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    d: dict = {}
    for k, v in pairs:
        if k in d:
            raise TaggedJSONError(f"duplicate JSON key {k!r}")
        d[k] = v
    return d


def from_tagged_json(data: bytes | str) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf-8")  # JSON output must be valid UTF-8
    obj = json.loads(data, object_pairs_hook=_no_duplicates)
    if not isinstance(obj, dict):
        raise TaggedJSONError("top level of the output is not a JSON object")
    return from_tagged(obj)


# --------------------------------------------------------------------------
# Comparison


def difference(a: Any, b: Any, path: str = "$") -> str | None:
    """None if `a` (toml-decode) and `b` (tomllib) mean the same, else where
    and how they differ. Types are compared exactly (bool is not int, a
    datetime is not a date), nan equals nan, -0.0 differs from 0.0, and
    offset date-times must agree on the offset, not just the instant."""
    if type(a) is not type(b):
        return f"{path}: type {type(a).__name__} {a!r} != {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        if set(a) != set(b):
            return (f"{path}: keys differ: only in toml-decode {sorted(set(a) - set(b))!r}, "
                    f"only in tomllib {sorted(set(b) - set(a))!r}")
        for k in a:
            d = difference(a[k], b[k], f"{path}[{k!r}]")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: array length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, float):
        if math.isnan(a) and math.isnan(b):
            return None
        if a == b and math.copysign(1.0, a) == math.copysign(1.0, b):
            return None
        return f"{path}: float {a!r} != {b!r}"
    if isinstance(a, dt.datetime):
        if a.replace(tzinfo=None) != b.replace(tzinfo=None) or a.utcoffset() != b.utcoffset():
            return f"{path}: {a!r} != {b!r}"
        return None
    if isinstance(a, dt.time):
        if a != b or a.tzinfo is not None or b.tzinfo is not None:
            return f"{path}: {a!r} != {b!r}"
        return None
    if a != b:
        return f"{path}: {a!r} != {b!r}"
    return None


# --------------------------------------------------------------------------
# One differential check


class Disagreement(AssertionError):
    pass


YEAR_ZERO_RE = re.compile(rb'"value"\s*:\s*"0000-\d\d-\d\d')


def tomllib_cannot_represent(ref: Reference, got: Decoded) -> bool:
    """TOML allows the year 0000 (RFC 3339 `date-fullyear = 4DIGIT`) but
    Python's datetime starts at year 1, so tomllib rejects such a document
    ("Invalid date or datetime"). Accepting it is not a disagreement."""
    return "Invalid date or datetime" in ref.reason and bool(YEAR_ZERO_RE.search(got.stdout))


def check_agreement(data: bytes) -> tuple[Reference, Decoded]:
    """Run both parsers on `data` and raise Disagreement unless both accept
    with equal meaning or both reject (toml-decode with a well-formed error)."""
    return check_agreement_many([data])[0]


def check_agreement_many(docs: list[bytes], labels: list[str] | None = None,
                         pending: Pending | None = None,
                         refs: dict[int, Reference] | None = None) -> list[tuple[Reference, Decoded]]:
    """check_agreement for several documents, their toml-decode processes
    running side by side (and beside tomllib). `pending`: processes already
    started on `docs`; `refs`: tomllib results already computed, by index."""
    pending = pending or Pending(docs)
    refs = dict(refs or {})
    for n, data in enumerate(docs):
        if n not in refs:
            refs[n] = reference_load(data)
    results = pending.results()
    checked = []
    for n, (data, got) in enumerate(zip(docs, results)):
        label = f"{labels[n]}: " if labels else ""
        try:
            _judge(data, refs[n], got)
        except Disagreement as e:
            raise Disagreement(label + str(e)) from None
        checked.append((refs[n], got))
    return checked


def _judge(data: bytes, ref: Reference, got: Decoded) -> None:
    where = f"\ndocument: {data!r}\ntomllib: {'accepts' if ref.ok else 'rejects: ' + ref.reason}\ntoml-decode: {got.describe()}"
    if ref.ok:
        if got.returncode != 0:
            raise Disagreement("toml-decode rejects a document tomllib accepts" + where)
        try:
            value = got.value()
        except (TaggedJSONError, ValueError) as e:
            raise Disagreement(f"malformed tagged JSON: {e}" + where) from None
        diff = difference(value, ref.value)
        if diff:
            raise Disagreement(f"meaning differs: {diff}" + where)
    else:
        if got.returncode == 0 and tomllib_cannot_represent(ref, got):
            return
        if got.returncode != 1:
            raise Disagreement("toml-decode does not reject (exit 1) a document tomllib rejects" + where)
        if not ERROR_RE.match(got.stderr_text):
            raise Disagreement("error message not '<stdin>:LINE:COL: error: ...'" + where)
