#!/usr/bin/env python3
"""Property-based fuzzing of a running Tern server over HTTP (hypothesis).

Every property sends generated (mostly hostile) requests and asserts, for every response:
  - the status is below 500, except 503 with a Retry-After header (the store cannot write) and
    502/504 from the gateway endpoints (upstream failures);
  - a 4xx (or allowed 5xx) body is JSON with an error object: Tern's {"error": {"code", "message"}},
    OpenAI's {"error": {"message", "type", ...}} under /v1/, Anthropic's
    {"type": "error", "error": {"type", "message"}} for /v1/messages (web pages under /ui/ are HTML);
  - a JSON body is strict JSON (no NaN or Infinity, valid UTF-8);
and after each property GET /healthz answers 200. Ingest and OTLP also check that nothing is half
written: what a 2xx answer says was stored can be read back, and what was refused created nothing.
Generated requests are mostly valid with up to two hostile fields (so hostile values that the server accepts
reach storage, queries, metrics and rollups); inputs that once broke the server are explicit examples
(@example) that run before the search.

Environment:
  TERN_URL             the server, e.g. http://127.0.0.1:7777
  TERN_KEY             an admin API key of the project (default "default")
  TERN_VIEWER_KEY      optional: a viewer key of the same project (writes must be refused, storing nothing)
  TERN_GATEWAY_MODEL   optional: a logical model the gateway serves (through a stub upstream); without it
                       the gateway properties are skipped
  TERN_LOCAL_MODEL     1 when the built-in embedding model all-minilm-l6-v2 is installed: gateway requests name it too
  TERN_COOKIE          optional: a web session cookie ("tern_session=..."); with it the UI pages are fuzzed too
  TERN_PROJECT         the project's slug, for the UI pages (default "default")
  TERN_FUZZ_SEED       hypothesis seed (default 20261207)
  TERN_FUZZ_EXAMPLES   examples per property (default 200: about 3,300 requests, well under a minute against a debug build)
  TERN_FUZZ_MAX_BODY   the server's server.max_body_bytes (default 65536, the test harness's); hostile
                       bodies stay under it, gzip bombs inflate past it
  TERN_FUZZ_ONLY       optional: comma-separated property names to run (see PROPERTIES)
  TERN_FUZZ_SHRINK     1 to let hypothesis shrink a failing example (off by default: a crashed server
                       cannot be shrunk against)
  TERN_FUZZ_SETTLE     seconds to keep checking /healthz at the end, so background jobs (metric rollups)
                       run over the fuzzed data (default 12)
  TERN_FUZZ_LOG        optional: a file that gets every request and its status, one line each

Prints one line per property (requests and statuses seen), then "fuzz: all properties passed (N requests)";
exits 1 with the failing request and example on any failure.
"""
from __future__ import annotations

import base64
import collections
import datetime
import gzip
import http.client
import itertools
import json
import os
import socket
import struct
import sys
import time
import traceback
import urllib.parse
import warnings
import zlib

try:
    from hypothesis import HealthCheck, Phase, example, given, seed, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisWarning

    warnings.filterwarnings("ignore", category=HypothesisWarning)  # "overly large repr": printed examples are cut anyway
except ImportError:  # pragma: no cover
    print("fuzz: the hypothesis package does not import (pip install hypothesis)", file=sys.stderr)
    sys.exit(2)

URL = os.environ.get("TERN_URL", "http://127.0.0.1:7777").rstrip("/")
KEY = os.environ.get("TERN_KEY", "")
VIEWER_KEY = os.environ.get("TERN_VIEWER_KEY") or None
GATEWAY_MODEL = os.environ.get("TERN_GATEWAY_MODEL") or None
COOKIE = os.environ.get("TERN_COOKIE") or None
PROJECT = os.environ.get("TERN_PROJECT", "default")
SEED = int(os.environ.get("TERN_FUZZ_SEED", "20261207"))
EXAMPLES = int(os.environ.get("TERN_FUZZ_EXAMPLES", "200"))
MAX_BODY = int(os.environ.get("TERN_FUZZ_MAX_BODY", "65536"))
ONLY = [name.strip() for name in os.environ.get("TERN_FUZZ_ONLY", "").split(",") if name.strip()]
SHRINK = os.environ.get("TERN_FUZZ_SHRINK") == "1"
SETTLE = float(os.environ.get("TERN_FUZZ_SETTLE", "12"))
TIMEOUT = float(os.environ.get("TERN_FUZZ_TIMEOUT", "30"))
# The built-in local embedding model, when it is installed (TERN_LOCAL_MODEL=1): the gateway runs it in process.
LOCAL_MODELS = ["all-minilm-l6-v2"] if os.environ.get("TERN_LOCAL_MODEL") == "1" else []
LOG = open(os.environ["TERN_FUZZ_LOG"], "w", encoding="utf-8", errors="backslashreplace") if os.environ.get("TERN_FUZZ_LOG") else None

NOW = int(time.time())
RUN = "%08x" % (int.from_bytes(os.urandom(4), "big"))
_counter = itertools.count(1)


def fresh(prefix: str = "f") -> str:
    """An id unique to this run (the fuzzed server may keep data of earlier runs)."""
    return f"fz{prefix}-{RUN}-{next(_counter):07d}"  # fixed width: a replayed example keeps its length


def fresh_bytes(length: int) -> bytes:
    """A non-zero OTLP id of `length` bytes, unique to this run."""
    tail = next(_counter).to_bytes(length - 4, "big")
    return bytes.fromhex(RUN) + tail


# ---------------------------------------------------------------------------------------------------
# JSON with literal tokens (1e999, NaN, 10**400 digits...) that Python's json module will not write.


class Raw:
    """Literal JSON text, written as is."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:80]!r}{'...' if len(self.text) > 80 else ''})"


def dumps(value) -> bytes:
    out: list[str] = []
    _dump(value, out)
    return "".join(out).encode("utf-8", "surrogatepass")


def _dump(value, out: list[str]) -> None:
    if isinstance(value, Raw):
        out.append(value.text)
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _dump(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _dump(item, out)
        out.append("]")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=any(0xD800 <= ord(c) <= 0xDFFF for c in value)))
    elif isinstance(value, bytes):
        out.append(json.dumps(base64.b64encode(value).decode()))
    else:  # None, bool, int (exact digits), float (NaN and Infinity as Python writes them: not JSON)
        out.append(json.dumps(value))


def strict_json(data: bytes):
    def refuse(token):
        raise ValueError(f"non-JSON token {token}")

    return json.loads(data.decode("utf-8"), parse_constant=refuse)


# ---------------------------------------------------------------------------------------------------
# HTTP


class ServerDied(Exception):
    pass


class PropertyFailed(AssertionError):
    pass


FIRST_FAILURE: list[str] = []


def fail(message: str) -> None:
    if not FIRST_FAILURE:
        FIRST_FAILURE.append(message)
    raise PropertyFailed(message)


def short(data, limit: int = 1500) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    text = repr(data[:limit])
    return text + (f"... ({len(data)} bytes)" if len(data) > limit else "")


class Reply:
    def __init__(self, method: str, path: str, status: int, headers: dict, body: bytes, request: str):
        self.method, self.path, self.status, self.headers, self.body, self.request = method, path, status, headers, body, request
        self._json = None

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]

    def json(self):
        if self._json is None:
            try:
                self._json = strict_json(self.body)
            except Exception:
                self._json = {}
        return self._json

    def describe(self) -> str:
        return f"{self.request}\n  -> {self.status} {short(self.body, 800)}"


class Client:
    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn: http.client.HTTPConnection | None = None
        self.total = 0
        self.statuses: collections.Counter = collections.Counter()
        self.recent: collections.deque = collections.deque(maxlen=8)
        self.dead: str | None = None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def alive(self) -> bool:
        for _ in range(4):
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    return True
            except Exception:
                pass
            time.sleep(0.4)
        return False

    def request(self, method: str, path: str, body=None, headers: dict | None = None, key: str | None = "admin",
                timeout: float = TIMEOUT) -> Reply:
        if self.dead:
            raise ServerDied(self.dead)
        sent: dict[str, str] = {}
        if key == "admin":
            sent["Authorization"] = f"Bearer {KEY}"
        elif key == "viewer" and VIEWER_KEY:
            sent["Authorization"] = f"Bearer {VIEWER_KEY}"
        elif key not in (None, "admin", "viewer"):
            sent["Authorization"] = key
        if headers:
            for name, value in headers.items():
                if value is None:
                    sent.pop(name, None)
                else:
                    sent[name] = value
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        shown = {k: ("Bearer <%s key>" % key if k == "Authorization" and key in ("admin", "viewer") else v) for k, v in sent.items()}
        description = f"{method} {path[:600]}{'...' if len(path) > 600 else ''} headers={shown} body={short(body)}"
        self.recent.append(description)
        for attempt in range(2):
            reused = self.conn is not None
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                self.conn.timeout = timeout
                if self.conn.sock is not None:
                    self.conn.sock.settimeout(timeout)
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
                status = response.status
                received = {name.lower(): value for name, value in response.getheaders()}
                if response.will_close:
                    self.close()
                break
            except socket.timeout:
                self.close()
                if not self.alive():
                    self.dead = f"the server died (no answer within {timeout:.0f}s, then /healthz failed) during:\n  {description}\n{self.history()}"
                    raise ServerDied(self.dead)
                fail(f"no answer within {timeout:.0f}s to:\n  {description}")
            except (http.client.HTTPException, OSError) as error:
                self.close()
                if attempt == 0 and reused:
                    continue  # a kept-alive connection the server had closed: send again on a new one
                if not self.alive():
                    self.dead = f"the server died ({error!r}, then /healthz failed) during:\n  {description}\n{self.history()}"
                    raise ServerDied(self.dead)
                fail(f"the connection closed without an answer ({error!r}) to:\n  {description}")
        self.total += 1
        self.statuses[status] += 1
        if LOG:
            LOG.write(f"{status} {description[:4000]} -> {short(data, 400)}\n")
        reply = Reply(method, path, status, received, data, description)
        check_reply(reply)
        return reply

    def history(self) -> str:
        return "  requests just before (oldest first):\n" + "\n".join("    " + line[:700] for line in list(self.recent)[:-1])


client = Client(URL)

GATEWAY_ROUTES = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages"}


def check_reply(reply: Reply) -> None:
    status, route = reply.status, reply.route
    if status >= 500:
        if status == 503 and "retry-after" in reply.headers:
            pass
        elif status in (502, 504) and route in GATEWAY_ROUTES:
            pass
        else:
            fail(f"server error {status}:\n  {reply.describe()}")
    content_type = reply.headers.get("content-type", "")
    if "json" in content_type and reply.body:
        try:
            strict_json(reply.body)
        except Exception as error:
            fail(f"the JSON answer does not parse as JSON ({error}):\n  {reply.describe()}")
    if status >= 400 and not route.startswith("/ui/"):
        try:
            body = strict_json(reply.body)
        except Exception as error:
            fail(f"a {status} answer whose body is not JSON ({error}):\n  {reply.describe()}")
        error = body.get("error") if isinstance(body, dict) else None
        if route.startswith("/v1/messages"):
            ok = body.get("type") == "error" and isinstance(error, dict) and isinstance(error.get("type"), str) \
                and isinstance(error.get("message"), str)
            shape = '{"type": "error", "error": {"type", "message"}} (Anthropic)'
        elif route.startswith("/v1/"):
            ok = isinstance(error, dict) and isinstance(error.get("message"), str) and isinstance(error.get("type"), str)
            shape = '{"error": {"message", "type", ...}} (OpenAI)'
        else:
            ok = isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
            shape = '{"error": {"code", "message"}}'
        if not ok:
            fail(f"a {status} answer not in the error shape {shape}:\n  {reply.describe()}")


def expect(condition: bool, message: str, reply: Reply | None = None) -> None:
    if not condition:
        fail(message + (f"\n  {reply.describe()}" if reply is not None else ""))


def q(text: str) -> str:
    """Percent-encodes all of `text` (lone surrogates become the bytes of their UTF-8-like encoding)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


# ---------------------------------------------------------------------------------------------------
# Shared value pools and strategies


def weighted(*pairs):
    """One of the strategies, chosen with the given integer weights."""
    return st.one_of(*[strategy for weight, strategy in pairs for _ in range(weight)])


JUNK_VALUES = [None, True, False, [], {}, [1, "a"], {"a": {"b": []}}, 0, "", "x", -1]
JUNK = st.sampled_from(JUNK_VALUES)
BIG_INTS = [2**31, -(2**31) - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64,
            9999999999999999999, 10**30, -(10**30), 8990000000000000, 8999999999999999, 9300000000000000]
NASTY_FLOATS = [1e300, -1e300, 1.7e308, -1.7e308, 1.7976931348623157e308, 9.3e15, -9.3e15, 8.99e15, 9.007199254740993e15,
                1e16, 1e18, 1e19, 1e11, 1e12, 1.5e12, 4102444800.0, 253402300799.0, 253402300800.0, 1e14, -62135596800.0,
                -62135596801.0, -1e12, -1.0, -0.5, 0.5, 5e-324, 1e-300, 3.4e38, -0.0, 1e22]
NASTY_NUMBERS = st.sampled_from(BIG_INTS + NASTY_FLOATS)
# Valid JSON that parsers turn into infinities, huge or tiny numbers.
RAW_VALID = st.sampled_from([Raw("1e999"), Raw("-1e999"), Raw("1E+400"), Raw("1" + "0" * 400), Raw("-" + "9" * 330),
                             Raw("0." + "0" * 400 + "1"), Raw("1e-999"), Raw("-0"), Raw("123456789012345678901234567890.5")])
# Not JSON at all: the whole body must be refused with a 400.
RAW_INVALID = st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("01"), Raw("1."), Raw(".5"), Raw("+1"),
                               Raw("0x10"), Raw("1_000"), Raw("nul"), Raw("'x'")])
NUMERIC_STRINGS = st.sampled_from(["", " ", "0", "-1", "1e300", "-1e300", "NaN", "nan", "inf", "-inf", "Infinity", "1e999",
                                   "9999999999999999999", "1000000000000000000000000000000", "8.99e15", "8990000000000000",
                                   "0x10", "1,5", "½", "١٢٣", "12abc"])
TIME_STRINGS = st.sampled_from([
    "", " ", "now", "NaN", "1e300", "9999999999999999999", "1000000000000000000000000000000",
    "2026-12-07T10:00:00Z", "2026-12-07T10:00:00.123456Z", "2026-12-07T10:00:00.123456789123Z", "2026-12-07 10:00:00",
    "2026-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
    "+275760-09-13T00:00:00Z", "-000001-01-01T00:00:00Z", "99999-01-01T00:00:00Z", "2026-12-07T25:61:61Z",
    "2026-12-07T10:00:00+99:99", "2026-12-07T10:00:00-23:59", "2026-12-07", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
    "1677-09-21T00:12:43Z", "2262-04-11T23:47:16Z", "\x00", "💥", "2026-12-07T10:00:00Z\x00junk",
])
NASTY_TEXT = st.sampled_from([
    "", " ", "\x00", "\x00\x01\x7f", "💥", "é", "e\u0301", "👩‍👩‍👧‍👦", "\u202e", "\ufeff", "\ud800", "\udfff", "null",
    "<script>alert(1)</script>", "'; DROP TABLE traces;--", "%00", "%", "../../etc/passwd", "a" * 2000, "ü" * 3000,
    "{{ x }}", "{{", "}}", "{{ }}", "{{ a.b }}", "\\", "\n\r\t", "NaN",
])
TEXT = weighted((4, st.text(max_size=30)), (2, NASTY_TEXT))
MODELS = st.sampled_from(["gpt-4o-mini", "gpt-4o", "gpt-4o-mini-2024-07-18", "claude-3-5-haiku-latest", "text-embedding-3-small",
                          "o1", "unknown-model", "", "GPT-4O-MINI", "gpt-4o-mini\x00"])
ODD_IDS = weighted(
    (3, st.text(min_size=1, max_size=20).map(lambda text: text + "-" + fresh("o"))),
    (2, st.sampled_from(["/", "a/b", "a?b", "a#b", "a%2Fb", "..", ".", " ", " lead", "trail ", "é", "e\u0301", "💥", "%",
                         "a+b", "a;b", "\\", "\t"]).map(lambda text: text + fresh("o"))),
    (1, st.sampled_from(["", "x" * 201, "👍" * 201, "\x00"])),
    (1, st.integers(0, 200).map(lambda n: (fresh("l") + "z" * 200)[:max(n, 1)])),
)


def recent_seconds():
    return st.integers(NOW - 3 * 86400, NOW + 30)


def iso(seconds: int, fraction: int = 0, offset: str = "Z") -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += ".%06d" % fraction
    return text + offset


VALID_TIME = st.one_of(
    recent_seconds().map(iso),
    st.tuples(recent_seconds(), st.integers(1, 999999)).map(lambda pair: iso(*pair)),
    recent_seconds(),
    recent_seconds().map(lambda s: s + 0.25),
    recent_seconds().map(lambda s: s * 1000),
)
# Times a server may accept but that sit at the edges: the epoch, the last second of year 9999, milliseconds.
EDGE_TIMES = st.sampled_from([0, 253402300799, 253402300799.999, 1e11, 1e11 + 1, 253402300799000, 1, "1970-01-01T00:00:00Z",
                              "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999Z", "2000-02-29T00:00:00Z",
                              "2026-12-07T10:00:00+14:00", "2026-12-07T10:00:00-12:00"])
HOSTILE_TIME = weighted(
    (3, NASTY_NUMBERS), (2, TIME_STRINGS), (1, st.floats(allow_nan=False, allow_infinity=False)),
    (1, st.integers(-(2**70), 2**70)), (1, JUNK), (1, RAW_VALID), (1, st.sampled_from([253402300800, -1, -0.5, 253402300800000])),
)
TIMESTAMP = weighted((6, VALID_TIME), (1, EDGE_TIMES))
TOKENS = weighted((6, st.integers(0, 5000)), (1, st.sampled_from([0, 10**9, 10**9 - 1, 10**6])))
HOSTILE_TOKENS = weighted(
    (4, st.sampled_from([8.99e15, 8990000000000000, 8999999999999999, -1, 1e300, 2**63, -(2**63), 1.5, 10**9 + 1,
                         2**53 + 1, 9.3e15, 1e19, 2**31, 2**32])),
    (1, NUMERIC_STRINGS), (1, JUNK), (1, RAW_VALID),
)
COST = weighted((6, st.floats(0, 10)), (1, st.sampled_from([0, 1e6, 999999.99, 5e-324, 1e-300, 0.1 + 0.2])))
HOSTILE_COST = weighted(
    (4, st.sampled_from([1.7e308, -5, 1e300, -1e300, 9.3e15, 1.7976931348623157e308, 1e6 + 1, -1e-300, 8.99e15])),
    (1, NUMERIC_STRINGS), (1, JUNK), (1, RAW_VALID),
)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT, NASTY_NUMBERS,
                 RAW_VALID)
JSON_VALUE = st.recursive(LEAF, lambda children: st.one_of(st.lists(children, max_size=4),
                                                          st.dictionaries(TEXT, children, max_size=4)), max_leaves=10)
DEEP = st.sampled_from([64, 200, 1000, 5000]).flatmap(
    lambda depth: st.sampled_from([Raw("[" * depth + "]" * depth), Raw('{"a":' * depth + "1" + "}" * depth)]))
SEGMENT_KEYS = st.sampled_from(["task", "language", "lang", "domain", "tags", "session_id", "experiment_id", "x", "tern.task"])
METADATA = st.dictionaries(SEGMENT_KEYS, weighted((4, st.sampled_from(["faq", "en", "de", "EN", "support", "", "zz", "x" * 300])),
                                                  (2, TEXT), (1, JSON_VALUE)), max_size=4)
HOSTILE_METADATA = weighted((3, st.dictionaries(TEXT, JSON_VALUE, max_size=5)), (1, JSON_VALUE), (1, DEEP), (1, JUNK))


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()  # a hostile "value" that leaves a required field out
HOSTILE = weighted((3, JUNK), (2, NASTY_NUMBERS), (1, RAW_VALID), (1, NASTY_TEXT), (1, st.just(ABSENT)))
HOSTILE_TEXT = weighted((3, NASTY_TEXT), (2, JUNK), (1, NASTY_NUMBERS), (1, st.just(ABSENT)))


def fill(draw, target: dict, fields, corrupt_max: int = 2, extra_chance: int = 4) -> set:
    """Fills target from fields, a list of (name, valid strategy, hostile strategy, presence %): every field valid
    (present with its chance) but up to corrupt_max of them, chosen at random, which get hostile values (possibly
    ABSENT). Sometimes adds an unknown key. Returns the names corrupted."""
    names = [field[0] for field in fields]
    corrupt = draw(st.sets(st.sampled_from(names), max_size=corrupt_max)) if names else set()
    for name, valid, hostile, presence in fields:
        if name in corrupt:
            value = draw(hostile)
            if value is not ABSENT:
                target[name] = value
        elif presence >= 100 or draw(st.integers(0, 99)) < presence:
            target[name] = draw(valid)
    if extra_chance and rarely(draw, extra_chance):
        target[draw(TEXT)] = draw(JSON_VALUE)
    return corrupt


def position(draw, length: int) -> int:
    """An index 0 ... length-1 (0 when length is 0), drawn with bounds that do not depend on the length, so replays
    of an example stay consistent when generated ids differ in length."""
    return draw(st.integers(0, 2**20)) * max(0, length) // (2**20 + 1)


def rarely(draw, percent: int) -> bool:
    """True in about percent% of the draws. The simplest draw (0, which hypothesis favours and shrinks to) is False,
    so rare hostile branches stay rare."""
    return draw(st.integers(0, 99)) >= 100 - percent


def W(*pairs):
    """Weighted choices, drawn by pick() (cheaper than building a weighted() strategy inside a composite)."""
    return pairs


def pick(draw, *pairs):
    """Draws from one of the (weight, strategy) pairs, chosen by weight."""
    roll = draw(st.integers(0, sum(weight for weight, _ in pairs) - 1))
    for weight, strategy in pairs:
        if roll < weight:
            return draw(strategy)
        roll -= weight
    raise AssertionError("unreachable")


def one_of_list(draw, items: list, fallback):
    """An element of a list that grows during the run (drawn as a plain integer, so replays stay consistent)."""
    index = draw(st.integers(0, 2**16))
    return items[index % len(items)] if items else fallback


def maybe(draw, target: dict, name: str, strategy, chance: int = 50) -> None:
    """Sets target[name] in about chance% of the examples, from a strategy or W(...) choices."""
    if draw(st.integers(0, 99)) < chance:
        target[name] = pick(draw, *strategy) if isinstance(strategy, tuple) else draw(strategy)


# ---------------------------------------------------------------------------------------------------
# Ingest

OBSERVATION_TYPES = ("observation-create", "span-create", "generation-create", "event-create")
EVENT_TYPES = weighted(
    (3, st.just("trace-create")), (3, st.just("generation-create")), (2, st.just("span-create")), (1, st.just("event-create")),
    (1, st.just("observation-create")), (2, st.just("score-create")), (1, st.just("trace-update")),
)
HOSTILE_EVENT_TYPES = st.sampled_from(["sdk-log", "", "TRACE-CREATE", "trace_create", 5, None, ["trace-create"], ABSENT])
SCORE_NAMES = st.sampled_from(["quality", "label", "correct", "fz-score"])
HOSTILE_SCORE_NAMES = st.sampled_from(["", "💥", "x" * 300, " quality", "QUALITY", 1, None, ABSENT])
MODEL_PARAMETERS = st.fixed_dictionaries({}, optional={
    "temperature": weighted((4, st.floats(0, 2)), (1, NASTY_NUMBERS), (1, RAW_VALID)),
    "max_tokens": weighted((4, TOKENS), (1, HOSTILE_TOKENS)), "top_p": weighted((3, st.floats(0, 1)), (1, NASTY_NUMBERS)),
    "stop": JSON_VALUE})
USAGE = weighted(
    (6, st.fixed_dictionaries({"input": TOKENS, "output": TOKENS}, optional={"cached": TOKENS, "reasoning": TOKENS})),
    (2, st.fixed_dictionaries({"prompt_tokens": TOKENS, "completion_tokens": TOKENS})),
    (1, st.fixed_dictionaries({"input_tokens": TOKENS, "output_tokens": TOKENS})),
)
HOSTILE_USAGE = weighted(
    (6, st.fixed_dictionaries({}, optional={"input": HOSTILE_TOKENS, "output": weighted((1, TOKENS), (1, HOSTILE_TOKENS)),
                                            "cached": HOSTILE_TOKENS, "reasoning": HOSTILE_TOKENS})),
    (2, st.fixed_dictionaries({"prompt_tokens": HOSTILE_TOKENS, "completion_tokens": HOSTILE_TOKENS})),
    (1, st.just({})), (2, JUNK),
)
TRACE_FIELDS = [
    ("name", st.sampled_from(["seed", "chat", "agent run"]) | TEXT, HOSTILE_TEXT, 60),
    ("user_id", st.sampled_from(["u1", "u2", "ü", "user with spaces"]), HOSTILE_TEXT, 50),
    ("session_id", st.sampled_from(["s1", "s2", "fz-session"]), HOSTILE_TEXT, 40),
    ("tags", st.lists(st.sampled_from(["seed", "beta", "a,b", ""]) | TEXT, max_size=4),
     weighted((2, JUNK), (1, st.lists(JSON_VALUE, min_size=1, max_size=3))), 30),
    ("metadata", METADATA, HOSTILE_METADATA, 40),
    ("release", TEXT, HOSTILE_TEXT, 20),
    ("environment", st.sampled_from(["prod", "staging"]) | TEXT, HOSTILE_TEXT, 20),
    ("input", JSON_VALUE, weighted((1, DEEP), (1, st.just("x" * 20000))), 50),
    ("output", JSON_VALUE, weighted((1, DEEP), (1, st.just("y" * 20000))), 50),
    ("timestamp", TIMESTAMP, HOSTILE_TIME, 10),
    ("start_time", TIMESTAMP, HOSTILE_TIME, 50),
    ("end_time", TIMESTAMP, HOSTILE_TIME, 50),
]
OBSERVATION_FIELDS = [
    ("type", st.sampled_from(["span", "generation", "event", "GENERATION", "tool", "retrieval", "embedding"]), HOSTILE_TEXT, 15),
    ("name", TEXT, HOSTILE_TEXT, 50),
    ("start_time", TIMESTAMP, HOSTILE_TIME, 70),
    ("end_time", TIMESTAMP, HOSTILE_TIME, 60),
    ("completion_start_time", TIMESTAMP, HOSTILE_TIME, 30),
    ("model", MODELS, HOSTILE_TEXT, 70),
    ("provider", st.sampled_from(["openai", "anthropic"]), HOSTILE_TEXT, 20),
    ("model_parameters", MODEL_PARAMETERS, weighted((2, JUNK), (1, JSON_VALUE), (1, DEEP)), 30),
    ("input", JSON_VALUE, weighted((1, DEEP), (1, st.just("x" * 20000))), 40),
    ("output", JSON_VALUE, weighted((1, DEEP), (1, st.just("y" * 20000))), 40),
    ("usage", USAGE, HOSTILE_USAGE, 70),
    ("cost", COST, HOSTILE_COST, 40),
    ("level", st.sampled_from(["DEBUG", "DEFAULT", "WARNING", "ERROR", "error"]), HOSTILE_TEXT, 40),
    ("status_message", TEXT, HOSTILE_TEXT, 20),
    ("metadata", METADATA, HOSTILE_METADATA, 30),
]
SCORE_FIELDS = [
    ("name", SCORE_NAMES, HOSTILE_SCORE_NAMES, 100),
    ("value", weighted((4, st.floats(0, 1)), (2, st.sampled_from(["a", "b", True, False, 1e12, -1e12, 0])), (1, st.floats(-1e12, 1e12))),
     weighted((3, NASTY_NUMBERS), (1, RAW_VALID), (1, JSON_VALUE), (1, st.sampled_from(["c", "", "true", 1e12 + 1, ABSENT]))), 100),
    ("data_type", st.sampled_from(["numeric", "categorical", "boolean", "NUMERIC"]), HOSTILE_TEXT, 30),
    ("source", st.sampled_from(["human", "model", "rule", "api"]), HOSTILE_TEXT, 20),
    ("comment", TEXT, HOSTILE_TEXT, 20),
    ("author", TEXT, HOSTILE_TEXT, 10),
    ("timestamp", TIMESTAMP, HOSTILE_TIME, 30),
]


@st.composite
def ingest_event(draw, traces: list[str], observations: list[str]):
    """An event: valid but for up to two corrupted fields (of the event or its body), so most are stored with
    values at the edges and reach queries, metrics and rollups."""
    if rarely(draw, 2):
        return draw(JUNK)  # not an event object at all
    event_type = draw(EVENT_TYPES)
    hostile_event = rarely(draw, 10)  # the event itself is hostile (id, type, timestamp, body)
    event: dict = {"id": fresh("ev"), "type": event_type}
    if rarely(draw, 30):
        event["timestamp"] = draw(TIMESTAMP)
    part = None
    if hostile_event:
        part = draw(st.sampled_from(["id", "type", "timestamp", "body"]))
        if part == "id":
            event["id"] = pick(draw, (2, ODD_IDS), (1, JUNK), (1, st.just(ABSENT)))
        elif part == "type":
            event["type"] = draw(HOSTILE_EVENT_TYPES)
        elif part == "timestamp":
            event["timestamp"] = draw(HOSTILE_TIME)
    if event["id"] is ABSENT:
        del event["id"]
    if event["type"] is ABSENT:
        del event["type"]
    trace_ref = W((12, st.sampled_from(traces)), (1, ODD_IDS), (1, JUNK))
    body: dict = {}
    kind = event.get("type")
    if kind in ("trace-create", "trace-update"):
        maybe(draw, body, "id", W((4, st.sampled_from(traces)), (1, ODD_IDS), (1, JUNK)), 70)
        fill(draw, body, TRACE_FIELDS)
    elif kind in OBSERVATION_TYPES:
        body["trace_id"] = pick(draw, *trace_ref)
        maybe(draw, body, "id", W((8, st.builds(fresh, st.just("ob"))), (1, ODD_IDS), (1, JUNK)), 60)
        if isinstance(body.get("id"), str):
            observations.append(body["id"])
        maybe(draw, body, "parent_observation_id", W((3, st.sampled_from(observations or ["none"])), (1, ODD_IDS), (1, JUNK)), 30)
        fill(draw, body, OBSERVATION_FIELDS)
    elif kind == "score-create":
        body["trace_id"] = pick(draw, *trace_ref)
        maybe(draw, body, "id", W((8, st.builds(fresh, st.just("sc"))), (1, ODD_IDS), (1, JUNK)), 50)
        maybe(draw, body, "observation_id", W((3, st.sampled_from(observations or ["none"])), (1, ODD_IDS), (1, JUNK)), 20)
        fill(draw, body, SCORE_FIELDS)
    else:
        body = draw(st.dictionaries(TEXT, JSON_VALUE, max_size=3))
    event["body"] = body
    if part == "body":
        event["body"] = draw(st.sampled_from([None, [], "x", 1, Raw('{"id": 1, "id": "dup"}'), ABSENT]))
        if event["body"] is ABSENT:
            del event["body"]
    return event


@st.composite
def ingest_batches(draw):
    """(root to send, the events list or None, the batch's fresh trace ids)."""
    traces = [fresh("tr") for _ in range(draw(st.integers(1, 3)))]
    observations: list[str] = []
    events = draw(st.lists(ingest_event(traces, observations), max_size=8))
    shape = pick(draw, (24, st.just("plain")), (1, st.just("extra")), (1, st.just("junk")), (1, st.just("array")),
                          (1, st.just("too_many")), (1, st.just("raw_invalid")))
    if shape == "plain":
        return {"batch": events}, events, traces
    if shape == "extra":
        return {"batch": events, "metadata": draw(JSON_VALUE)}, events, traces
    if shape == "junk":
        return {"batch": draw(st.one_of(JUNK, JSON_VALUE))}, [], traces
    if shape == "array":
        return events, [], traces
    if shape == "raw_invalid":
        if events and isinstance(events[0], dict):
            events[0]["timestamp"] = draw(RAW_INVALID)
        else:
            events = [{"id": fresh("ev"), "type": "trace-create", "timestamp": draw(RAW_INVALID), "body": {"id": traces[0]}}]
        return {"batch": events}, events, traces
    many = [{"id": fresh("m"), "type": "trace-create", "body": {}} for _ in range(1001)]
    return {"batch": many}, many, traces + [many[0]["id"], many[-1]["id"]]


KNOWN: set[str] = set()  # trace ids that a successful request may have created
EXISTING: list[str] = []  # trace ids known to exist (for scores, datasets, the UI)


def fresh_to_run(trace_id) -> bool:
    """Whether only this run can have made the id (older runs, the gateway's x-tern-trace-id... make other ids)."""
    return isinstance(trace_id, str) and RUN in trace_id and trace_id not in KNOWN


def id_status(value):
    """True when the server takes `value` as an id (1-200 characters), False when it refuses it, None when unsure."""
    if not isinstance(value, str) or value == "":
        return False
    if len(value) <= 200:
        return True
    return None  # Swift counts grapheme clusters, Python code points


def entity_trace_id(event):
    """The trace id an ingest event writes (or would write), when it can be told."""
    if not isinstance(event, dict) or not isinstance(event.get("body"), dict):
        return None
    body, kind = event["body"], event.get("type")
    if kind in ("trace-create", "trace-update"):
        value = body.get("id", None)
        if value is None:
            value = event.get("id")
        return value if id_status(value) else None
    if kind in OBSERVATION_TYPES or kind == "score-create":
        value = body.get("trace_id")
        return value if id_status(value) else None
    return None


def own_id(event):
    """The id of the observation or score an event creates."""
    body = event.get("body") if isinstance(event, dict) else None
    if not isinstance(body, dict):
        return None
    value = body.get("id", None)
    if value is None:
        value = event.get("id")
    return value if id_status(value) else None


def get_trace(trace_id: str) -> Reply:
    reply = client.request("GET", f"/api/v1/traces/{q(trace_id)}")
    expect(reply.status in (200, 404), f"reading trace {trace_id!r} answered {reply.status}", reply)
    if COOKIE and reply.status == 200:
        client.request("GET", f"/ui/{PROJECT}/traces/{q(trace_id)}", key=None, headers={"Cookie": COOKIE})
    return reply


def verify_ingest(events: list, reply: Reply, context: str) -> None:
    answer = reply.json()
    expect(isinstance(answer, dict) and isinstance(answer.get("successes"), list) and isinstance(answer.get("errors"), list),
           "a 207 ingest answer without successes and errors lists", reply)
    successes = [entry.get("id") for entry in answer["successes"] if isinstance(entry, dict)]
    failures = [entry.get("id") for entry in answer["errors"] if isinstance(entry, dict)]
    expect(len(successes) + len(failures) == len(events),
           f"{len(events)} events but {len(successes)} successes and {len(failures)} errors", reply)
    for entry in answer["successes"]:
        expect(entry.get("status") in (200, 201), f"a success with status {entry.get('status')}", reply)
    for entry in answer["errors"]:
        expect(isinstance(entry.get("status"), int) and 400 <= entry["status"] < 500 and isinstance(entry.get("message"), str),
               f"an error entry without a 4xx status and message: {entry}", reply)
    outcome_ids = [event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else f"batch[{index}]"
                   for index, event in enumerate(events)]
    counts = collections.Counter(outcome_ids)
    succeeded, failed = set(successes), set(failures)
    tracked = []  # (event, succeeded?, trace id, type) of the events whose outcome can be told
    references = collections.defaultdict(list)  # trace id -> outcome of each event naming it (None: cannot be told)
    for event, outcome in zip(events, outcome_ids):
        trace_id = entity_trace_id(event)
        kind = event.get("type") if isinstance(event, dict) else None
        if counts[outcome] != 1 or (outcome in succeeded and outcome in failed):
            if trace_id:
                references[trace_id].append(None)
            continue
        expect(outcome in succeeded or outcome in failed, f"event {outcome!r} is neither in successes nor in errors", reply)
        ok = outcome in succeeded
        if trace_id:
            # a stored score does not create its trace, but is not counted on either way
            references[trace_id].append(False if not ok else (None if kind == "score-create" else True))
        tracked.append((event, ok, trace_id, kind))
    created = {trace_id for _, ok, trace_id, kind in tracked if ok and trace_id and kind != "score-create"}
    maybe_created = {entity_trace_id(event) for event in events} - {None}
    details: dict[str, Reply] = {}

    def detail(trace_id: str) -> Reply:
        if trace_id not in details:
            details[trace_id] = get_trace(trace_id)
        return details[trace_id]

    for event, ok, trace_id, kind in tracked:
        if not trace_id:
            continue
        if ok and kind in ("trace-create", "trace-update"):
            got = detail(trace_id)
            expect(got.status == 200, f"{context}: trace-create {event.get('id')!r} was answered as a success, "
                                      f"but its trace {trace_id!r} cannot be read", got)
        elif ok and kind in OBSERVATION_TYPES:
            got = detail(trace_id)
            expect(got.status == 200, f"{context}: observation event {event.get('id')!r} was answered as a success, "
                                      f"but its trace {trace_id!r} cannot be read", got)
            observation = own_id(event)
            if observation and observation not in KNOWN_OBSERVATIONS and sum(1 for e in events if own_id(e) == observation) == 1:
                # (an observation id that existed before is left alone: it may belong to another trace)
                ids = [o.get("id") for o in got.json().get("observations", []) if isinstance(o, dict)]
                expect(observation in ids, f"{context}: observation {observation!r} was answered as a success but is not "
                                           f"in trace {trace_id!r}", got)
        elif ok and kind == "score-create" and trace_id in created:
            score = own_id(event)
            if score and score not in KNOWN_SCORES and sum(1 for e in events if own_id(e) == score) == 1:
                got = detail(trace_id)
                ids = [s.get("id") for s in got.json().get("scores", []) if isinstance(s, dict)]
                expect(score in ids, f"{context}: score {score!r} was answered as a success but trace {trace_id!r} "
                                     f"does not list it", got)
        elif not ok and fresh_to_run(trace_id) and all(outcome is False for outcome in references[trace_id]):
            got = detail(trace_id)
            expect(got.status == 404, f"{context}: event {event.get('id')!r} was refused (and no other event names "
                                      f"its trace), yet trace {trace_id!r} exists", got)
    KNOWN.update(maybe_created)
    for event in events:
        if isinstance(event, dict) and event.get("type") != "trace-create":
            identifier = own_id(event)
            if identifier:
                (KNOWN_SCORES if event.get("type") == "score-create" else KNOWN_OBSERVATIONS).add(identifier)
    for trace_id in created:
        if trace_id.startswith("fztr-") and len(EXISTING) < 200:
            EXISTING.append(trace_id)


KNOWN_OBSERVATIONS: set[str] = set()
KNOWN_SCORES: set[str] = set()


def verify_nothing_stored(trace_ids, reply: Reply, context: str) -> None:
    for trace_id in list(dict.fromkeys(trace_ids))[:4]:
        if trace_id and id_status(trace_id) and fresh_to_run(trace_id):
            got = get_trace(trace_id)
            expect(got.status == 404, f"{context}: the request was refused with {reply.status}, yet trace {trace_id!r} "
                                      f"(named only in it) exists\n  refused: {reply.describe()}", got)


PROPERTY_SETTINGS = dict(
    deadline=None, database=None, derandomize=False, print_blob=False, report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.large_base_example],
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else []),
)


def fuzz_settings(scale: float = 1.0):
    return settings(max_examples=max(1, int(EXAMPLES * scale)), **PROPERTY_SETTINGS)


def _known_batch(*events_of, prefix: str = "") -> tuple:
    """An explicit ingest case: events_of(trace id) -> events."""
    trace_id = prefix + fresh("tr")
    events = [event for make in events_of for event in make(trace_id)]
    return {"batch": events}, events, [trace_id]


def _generation(**body):
    return lambda trace_id: [{"id": fresh("ev"), "type": "generation-create",
                              "body": {"trace_id": trace_id, "model": "gpt-4o-mini", "start_time": NOW - 5, **body}}]


def _trace(**event):
    return lambda trace_id: [{"id": fresh("ev"), "type": "trace-create", "body": {"id": trace_id}, **event}]


# Inputs that crashed the server once (regressions): they run first, whatever the search finds.
@example(_known_batch(_trace(timestamp=1e300)))
@example(_known_batch(_trace(timestamp=-1e300), _generation(start_time=9.3e15, completion_start_time=1.7e308)))
@example(_known_batch(_trace(), _generation(usage={"input": 8.99e15, "output": 8.99e15}),
                      _generation(usage={"input": 8990000000000000, "output": 8990000000000000})))
@example(_known_batch(_trace(), _generation(cost=1.7e308), _generation(cost=1.7e308)))
@example(_known_batch(_trace(), prefix="a/b é?#% "))  # an id that only a percent-encoded URL can name
@seed(SEED)
@fuzz_settings(1.0)
@given(ingest_batches())
def ingest_events(case):
    root, events, traces = case
    reply = client.request("POST", "/api/v1/ingest", body=dumps(root), headers={"Content-Type": "application/json"})
    if reply.status == 207:
        expect(isinstance(root, dict) and isinstance(root.get("batch"), list), "a batch that is not a list was answered 207", reply)
        verify_ingest(root["batch"], reply, "ingest")
    elif 400 <= reply.status < 500:
        referenced = traces + [entity_trace_id(event) for event in (events or [])]
        verify_nothing_stored(referenced, reply, "ingest")
    else:
        expect(reply.status == 503, f"ingest answered {reply.status}", reply)


# Raw bytes: a valid batch, then mutated (truncated, invalid UTF-8, deep nesting...), with odd headers and keys.


@st.composite
def raw_ingest_cases(draw):
    trace = fresh("tr")
    events = [{"id": fresh("ev"), "type": "trace-create", "body": {"id": trace, "name": "raw", "input": draw(TEXT)}},
              {"id": fresh("ev"), "type": "generation-create", "timestamp": NOW,
               "body": {"trace_id": trace, "model": "gpt-4o-mini", "usage": {"input": 3, "output": 4}}}]
    data = dumps({"batch": events})
    mutation = draw(st.sampled_from(["none", "truncate", "flip", "insert", "invalid_utf8", "surrogate", "deep", "deep_object",
                                     "bom", "trailing", "leading", "nul", "empty", "dup_keys", "whitespace", "utf16", "lone_bracket",
                                     "huge_number", "nested_batch"]))
    if mutation == "truncate":
        data = data[:position(draw, len(data))]
    elif mutation == "flip":
        at = position(draw, len(data))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    elif mutation == "insert":
        at = position(draw, len(data) + 1)
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif mutation == "invalid_utf8":
        junk = draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"]))
        data = data.replace(b'"raw"', b'"r' + junk + b'w"', 1)
    elif mutation == "surrogate":
        data = data.replace(b'"raw"', draw(st.sampled_from([b'"\\ud800"', b'"\\udc00x"', b'"\\ud800\\ud800"', b'"\\u0000"',
                                                           b'"\\uZZZZ"', b'"\\u12"'])), 1)
    elif mutation in ("deep", "deep_object"):
        per_level = 2 if mutation == "deep" else 6
        depth = draw(st.sampled_from([100, 1000, 10000, (MAX_BODY - 1000) // per_level]))
        depth = min(depth, (MAX_BODY - 1000) // per_level)  # under the body limit: the parser must see it
        inner = ("[" * depth + "]" * depth) if mutation == "deep" else ('{"a":' * depth + "0" + "}" * depth)
        data = data.replace(b'"raw"', inner.encode(), 1) if draw(st.booleans()) else inner.encode()
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "trailing":
        data = data + draw(st.sampled_from([b" ", b"\n", b"x", b"{}", b"\x00", b",", b"]"]))
    elif mutation == "leading":
        data = draw(st.sampled_from([b" ", b"\n\t", b"\x00", b"//c\n"])) + data
    elif mutation == "nul":
        data = data.replace(b'"raw"', b'"r\x00w"', 1)
    elif mutation == "empty":
        data = b""
    elif mutation == "dup_keys":
        data = b'{"batch": [], ' + data[1:]
    elif mutation == "whitespace":
        data = data.replace(b",", b" ,\n\t ")
    elif mutation == "utf16":
        data = data.decode().encode("utf-16")
    elif mutation == "lone_bracket":
        data = draw(st.sampled_from([b"{", b"[", b'{"batch":', b'{"batch":[', b'"', b"nul", b"{}", b"[]", b"null", b"0", b'""']))
    elif mutation == "huge_number":
        data = data.replace(b'"timestamp":' + str(NOW).encode(), b'"timestamp":' + draw(st.sampled_from(
            [b"1e999", b"1" + b"0" * 5000, b"-1e999", b"0." + b"0" * 5000 + b"1", b"1e-99999", b"1e+99999999999999999999"])), 1)
    elif mutation == "nested_batch":
        data = b'{"batch": [' + data + b"]}"
    key = pick(draw, (10, st.just("admin")), (1, st.just("viewer")), (1, st.just(None)),
                        (1, st.sampled_from(["Bearer tern_junk", "Bearer ", "Basic dXNlcjpwYXNz", "tern_x", "Bearer " + "x" * 5000,
                                             "Bearer tern_\u00ff\u00e9", "bearer tern_x", "Bearer  tern_x"])))
    content_type = pick(draw, (8, st.just("application/json")), (1, st.sampled_from(
        [None, "text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x", "application/x-protobuf",
         "application/x-www-form-urlencoded"])))
    return data, key, content_type, mutation, [trace]


@seed(SEED)
@fuzz_settings(0.8)
@given(raw_ingest_cases())
def ingest_raw_bytes(case):
    data, key, content_type, mutation, traces = case
    if key == "viewer" and not VIEWER_KEY:
        key = None
    reply = client.request("POST", "/api/v1/ingest", body=data, key=key, headers={"Content-Type": content_type})
    if key != "admin":
        expect(reply.status in (401, 403, 413), f"an ingest without a member key answered {reply.status}", reply)
    if 400 <= reply.status < 500:
        verify_nothing_stored(traces, reply, f"ingest ({mutation})")
    elif reply.status == 207:
        KNOWN.update(traces)
        if mutation in ("none", "whitespace", "bom"):
            verify_ingest(json.loads(data.decode("utf-8-sig"))["batch"], reply, f"ingest ({mutation})")


# ---------------------------------------------------------------------------------------------------
# OTLP: one span model, written as OTLP/JSON or protobuf, plain or gzip.

GENAI_KEYS = [
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.request.temperature", "gen_ai.request.max_tokens", "gen_ai.request.top_p",
    "gen_ai.request.stop_sequences", "gen_ai.response.finish_reasons", "gen_ai.input.messages", "gen_ai.output.messages",
    "gen_ai.system_instructions", "gen_ai.conversation.id", "gen_ai.response.id", "user.id", "enduser.id", "session.id",
    "tern.task", "task", "tern.language", "language", "tern.domain", "domain", "llm.model_name", "llm.token_count.prompt",
    "llm.token_count.completion", "llm.token_count.prompt_details.cache_read", "openinference.span.kind", "input.value",
    "output.value", "llm.provider", "llm.system",
]
TOKEN_KEYS = {k for k in GENAI_KEYS if "token" in k}
RESOURCE_KEYS = ["service.name", "service.version", "deployment.environment.name", "deployment.environment"]
OTLP_INTS = weighted((5, st.integers(0, 5000)), (4, st.sampled_from([8990000000000000, 8999999999999999, 2**63 - 1, -(2**63), -1, 2**53 + 1,
                                                                    9300000000000000, 10**19, 10**30, 0])),
                     (1, st.integers(-(2**63), 2**63 - 1)))
OTLP_DOUBLES = weighted((3, st.floats(allow_nan=False, allow_infinity=False)), (2, st.sampled_from(
    [float("nan"), float("inf"), float("-inf"), 1e300, -1e300, 1.7e308, 8.99e15, 5e-324, -0.0])))


# An OTLP AnyValue as a tagged tuple: ("s", text), ("b", bool), ("i", int), ("d", float), ("a", [values]),
# ("kv", [(key, value)]), ("y", bytes), ("x", strindex), ("none",) or ("junk", JSON).
ANY_VALUE = st.recursive(
    st.one_of(st.tuples(st.just("s"), TEXT), st.tuples(st.just("b"), st.booleans()), st.tuples(st.just("i"), OTLP_INTS),
              st.tuples(st.just("d"), OTLP_DOUBLES), st.tuples(st.just("y"), st.binary(max_size=16)),
              st.tuples(st.just("x"), st.integers(-5, 5)), st.just(("none",)), st.tuples(st.just("junk"), JSON_VALUE)),
    lambda children: st.one_of(st.tuples(st.just("a"), st.lists(children, max_size=3)),
                               st.tuples(st.just("kv"), st.lists(st.tuples(TEXT, children), max_size=3))),
    max_leaves=6)


TOKEN_VALUE = weighted((6, st.tuples(st.just("i"), OTLP_INTS)), (1, st.tuples(st.just("d"), OTLP_DOUBLES)),
                       (1, st.tuples(st.just("s"), NUMERIC_STRINGS)), (1, st.tuples(st.just("junk"), JSON_VALUE)))
MODEL_VALUE = st.tuples(st.just("s"), MODELS)


@st.composite
def attribute(draw, keys=GENAI_KEYS):
    key = pick(draw, (6, st.sampled_from(keys)), (1, TEXT))
    if key in TOKEN_KEYS:
        return key, draw(TOKEN_VALUE)
    if key.endswith(".model") or key == "llm.model_name":
        return key, pick(draw, (3, MODEL_VALUE), (1, ANY_VALUE))
    if key == "gen_ai.operation.name":
        return key, pick(draw, (3, st.tuples(st.just("s"), st.sampled_from(["chat", "embeddings", "execute_tool", "invoke_agent",
                                                                                 "create_agent", "text_completion"]))), (1, ANY_VALUE))
    return key, draw(ANY_VALUE)


NANOS = weighted(
    (6, recent_seconds().map(lambda s: s * 1_000_000_000 + 123)),
    (4, st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64 - 1, 10**30, -1, -(2**63), 1e300, 1.5e18, 1e19, -1e300,
                         "1000000000000000000000000000000", "-1", "1e300", "abc", "", " 1", "0x10", "18446744073709551616",
                         "18446744073709551615", "9223372036854775808", "1.5e18", "NaN", None, True, {"a": 1}])),
    (1, st.integers(0, 2**64 - 1)),
)


@st.composite
def id_value(draw, length: int, pool: list[bytes] | None = None):
    """bytes (possibly of the wrong length), or a JSON-only junk value (str/other)."""
    choice = draw(st.integers(0, 99))
    if choice < 80:
        return draw(st.sampled_from(pool)) if pool else fresh_bytes(length)
    if choice < 88:
        return draw(st.sampled_from([b"", b"\x00" * length, fresh_bytes(length)[:-1], fresh_bytes(length) + b"\x01",
                                     fresh_bytes(length * 2), b"\x00" * (length - 1) + b"\x01"]))
    if choice < 96:
        good = fresh_bytes(length).hex()
        return draw(st.sampled_from([good.upper(), good[:-1], good + "0", "zz" + good[2:], "0x" + good[2:],
                                     base64.b64encode(bytes.fromhex(good)).decode(),
                                     "".join(chr(0xFF10 + int(c, 16)) if c.isdigit() else c for c in good), "-" * (length * 2), " " + good[1:]]))
    return draw(JUNK)


@st.composite
def otlp_requests(draw):
    """A list of resourceSpans: (resource attrs, [scope spans: [span dict]])."""
    traces = [fresh_bytes(16) for _ in range(draw(st.integers(1, 2)))]
    span_ids: list = []
    resources = []
    for _ in range(draw(st.integers(0 if rarely(draw, 5) else 1, 2))):
        resource = draw(st.lists(attribute(RESOURCE_KEYS + ["service.name"]), max_size=3))
        scopes = []
        for _ in range(draw(st.integers(0, 2))):
            spans = []
            for _ in range(draw(st.integers(0, 3))):
                span_id = draw(id_value(8))
                span = {
                    "trace_id": draw(id_value(16, traces)), "span_id": span_id,
                    "parent": pick(draw, (4, st.none()), (2, st.sampled_from(span_ids or [b""])), (1, id_value(8))),
                    "name": draw(TEXT), "start": draw(NANOS), "end": draw(NANOS), "kind": draw(st.integers(-1, 9)),
                    "attributes": draw(st.lists(attribute(), max_size=8)),
                    "status": draw(st.one_of(st.none(), st.tuples(st.integers(-1, 4), st.one_of(st.none(), TEXT)))),
                }
                span_ids.append(span_id)
                spans.append(span)
            scopes.append(spans)
        resources.append((resource, scopes))
    return resources, traces


def json_any(value, draw):
    tag = value[0]
    if tag == "s":
        return {"stringValue": value[1]}
    if tag == "b":
        return {"boolValue": value[1]}
    if tag == "i":
        return draw(st.sampled_from([{"intValue": str(value[1])}, {"intValue": value[1]}]))
    if tag == "d":
        number = value[1]
        if number != number or number in (float("inf"), float("-inf")):
            text = "NaN" if number != number else ("Infinity" if number > 0 else "-Infinity")
            return draw(st.sampled_from([{"doubleValue": text}, {"doubleValue": Raw("1e999" if number > 0 else "-1e999")}]))
        return draw(st.sampled_from([{"doubleValue": number}, {"doubleValue": repr(number)}]))
    if tag == "a":
        return {"arrayValue": {"values": [json_any(item, draw) for item in value[1]]}}
    if tag == "kv":
        return {"kvlistValue": {"values": [{"key": k, "value": json_any(v, draw)} for k, v in value[1]]}}
    if tag == "y":
        return {"bytesValue": base64.b64encode(value[1]).decode()}
    if tag == "x":
        return {"stringValueStrindex": value[1]}
    if tag == "none":
        return {}
    return value[1]  # junk


def json_id(value):
    return value.hex() if isinstance(value, bytes) else value


def otlp_json(model, draw) -> dict:
    resources, _ = model
    resource_spans = []
    for attributes, scopes in resources:
        scope_spans = []
        for spans in scopes:
            rendered = []
            for span in spans:
                item = {"traceId": json_id(span["trace_id"]), "spanId": json_id(span["span_id"]), "name": span["name"],
                        "kind": span["kind"], "attributes": [{"key": k, "value": json_any(v, draw)} for k, v in span["attributes"]]}
                if span["parent"] is not None:
                    item["parentSpanId"] = json_id(span["parent"])
                for name, value in (("startTimeUnixNano", span["start"]), ("endTimeUnixNano", span["end"])):
                    if isinstance(value, int) and not isinstance(value, bool) and draw(st.booleans()):
                        value = str(value)  # the OTLP/JSON encoding of a fixed64: a decimal string
                    item[name] = value
                if span["status"] is not None:
                    item["status"] = {"code": span["status"][0]}
                    if span["status"][1] is not None:
                        item["status"]["message"] = span["status"][1]
                rendered.append(item)
            scope_spans.append({"scope": {"name": "fuzz", "version": "1"}, "spans": rendered})
        resource_spans.append({"resource": {"attributes": [{"key": k, "value": json_any(v, draw)} for k, v in attributes]},
                               "scopeSpans": scope_spans})
    return {"resourceSpans": resource_spans}


# A protobuf writer (just what OTLP needs).
def pb_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_key(field: int, wire: int) -> bytes:
    return pb_varint((field << 3) | wire)


def pb_len(field: int, data: bytes) -> bytes:
    return pb_key(field, 2) + pb_varint(len(data)) + data


def pb_str(field: int, text: str) -> bytes:
    return pb_len(field, text.encode("utf-8", "surrogatepass"))


def pb_fixed64(field: int, value: int) -> bytes:
    return pb_key(field, 1) + struct.pack("<Q", value & ((1 << 64) - 1))


def pb_any(value) -> bytes:
    tag = value[0]
    if tag == "s":
        return pb_str(1, value[1])
    if tag == "b":
        return pb_key(2, 0) + pb_varint(int(value[1]))
    if tag == "i":
        return pb_key(3, 0) + pb_varint(value[1])
    if tag == "d":
        return pb_key(4, 1) + struct.pack("<d", value[1])
    if tag == "a":
        return pb_len(5, b"".join(pb_len(1, pb_any(item)) for item in value[1]))
    if tag == "kv":
        return pb_len(6, b"".join(pb_len(1, pb_keyvalue(k, v)) for k, v in value[1]))
    if tag == "y":
        return pb_len(7, value[1])
    if tag == "x":
        return pb_key(8, 0) + pb_varint(value[1])
    if tag == "none":
        return b""
    if tag == "encoded":
        return value[1]
    return pb_str(1, json.dumps(value[1], default=repr))  # junk: as a string


def pb_keyvalue(key: str, value) -> bytes:
    return pb_str(1, key) + pb_len(2, pb_any(value))


def pb_id(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b""


def pb_nanos(value) -> int:
    """A fixed64 for a NANOS value (those only JSON can carry become their nearest 64-bit pattern)."""
    if isinstance(value, bool) or value is None:
        return int(bool(value))
    if isinstance(value, (int, float)):
        return int(value) if value == value and abs(value) < 2**80 else 2**64 - 1
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def otlp_protobuf(model) -> bytes:
    resources, _ = model
    out = bytearray()
    for attributes, scopes in resources:
        resource = pb_len(1, b"".join(pb_len(1, pb_keyvalue(k, v)) for k, v in attributes))
        body = bytearray(resource)
        for spans in scopes:
            scope = bytearray(pb_len(1, pb_str(1, "fuzz")))
            for span in spans:
                encoded = bytearray()
                encoded += pb_len(1, pb_id(span["trace_id"])) + pb_len(2, pb_id(span["span_id"]))
                if span["parent"] is not None:
                    encoded += pb_len(4, pb_id(span["parent"]))
                encoded += pb_str(5, span["name"]) + pb_key(6, 0) + pb_varint(span["kind"])
                encoded += pb_fixed64(7, pb_nanos(span["start"])) + pb_fixed64(8, pb_nanos(span["end"]))
                for k, v in span["attributes"]:
                    encoded += pb_len(9, pb_keyvalue(k, v))
                if span["status"] is not None:
                    status = pb_key(3, 0) + pb_varint(span["status"][0])
                    if span["status"][1] is not None:
                        status = pb_str(2, span["status"][1]) + status
                    encoded += pb_len(15, status)
                scope += pb_len(2, bytes(encoded))
            body += pb_len(2, bytes(scope))
        out += pb_len(1, bytes(body))
    return bytes(out)


_BOMBS: dict[int, bytes] = {}


def gzip_bomb(size: int) -> bytes:
    """gzip of `size` zero bytes (about a thousandth of it compressed)."""
    if size not in _BOMBS:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b"\x00" * (1 << 20)
        parts, left = [], size
        while left > 0:
            parts.append(compressor.compress(chunk[:min(left, len(chunk))]))
            left -= min(left, len(chunk))
        parts.append(compressor.flush())
        _BOMBS[size] = b"".join(parts)
    return _BOMBS[size]


ENCODINGS = weighted((12, st.just("identity")), (4, st.just("gzip")), (1, st.sampled_from(
    ["gzip-truncated", "gzip-garbage", "gzip-twice", "deflate", "br", "GZIP", "gzip, identity", "x-gzip", "identity-header", "bomb"])))


@st.composite
def otlp_cases(draw, protobuf: bool):
    model = draw(otlp_requests())
    traces = model[1]
    if protobuf:
        form = pick(draw, (8, st.just("valid")), (2, st.just("mutated")), (1, st.just("random")), (1, st.just("special")))
        data = otlp_protobuf(model)
        if form == "mutated" and data:
            for _ in range(draw(st.integers(1, 3))):
                operation = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "append"]))
                at = position(draw, len(data))
                if operation == "truncate":
                    data = data[:at]
                elif operation == "flip" and data:
                    data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
                elif operation == "insert":
                    data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
                elif operation == "delete":
                    data = data[:at] + data[at + draw(st.integers(1, 4)):]
                else:
                    data = data + draw(st.binary(min_size=1, max_size=12))
        elif form == "random":
            data = draw(st.binary(max_size=300))
        elif form == "special":
            depth = draw(st.sampled_from([50, 99, 100, 101, 1000, 5000]))
            kind = draw(st.sampled_from(["groups", "any_array", "kvlist", "length_overflow", "varint_overflow", "wrong_wire",
                                         "huge_length", "unknown_fields"]))
            if kind == "groups":  # nested unknown groups (field 99, start/end group)
                data = pb_key(99, 3) * depth + pb_key(99, 4) * depth
            elif kind in ("any_array", "kvlist"):
                encoded = pb_any(("s", "leaf"))  # built inside out (a recursive writer would exhaust Python's stack)
                for _ in range(depth):
                    if len(encoded) > MAX_BODY - 200:
                        break
                    encoded = pb_len(5, pb_len(1, encoded)) if kind == "any_array" else \
                        pb_len(6, pb_len(1, pb_str(1, "k") + pb_len(2, encoded)))
                span = {"trace_id": fresh_bytes(16), "span_id": fresh_bytes(8), "parent": None, "name": "deep", "start": NOW * 10**9,
                        "end": 0, "kind": 1, "attributes": [("deep", ("encoded", encoded))], "status": None}
                traces = [span["trace_id"]]
                data = otlp_protobuf(([([], [[span]])], traces))
            elif kind == "length_overflow":
                data = pb_key(1, 2) + pb_varint(2**63) + b"\x00" * 10
            elif kind == "varint_overflow":
                data = pb_key(1, 0) + b"\xff" * 11 + b"\x01"
            elif kind == "wrong_wire":
                data = pb_key(1, 5) + b"\x00\x00\x00\x00" + pb_key(1, 1) + b"\x00" * 8
            elif kind == "huge_length":
                data = pb_key(1, 2) + pb_varint(0xFFFFFFFF) + b"\x00"
            else:
                data = pb_key(2000, 0) + pb_varint(1) + pb_key(536870911, 2) + pb_varint(3) + b"abc" + data
        content_type = pick(draw, (10, st.just("application/x-protobuf")), (1, st.sampled_from(
            ["application/protobuf", "application/x-protobuf; charset=binary", "APPLICATION/X-PROTOBUF"])))
    else:
        form = pick(draw, (10, st.just("valid")), (1, st.just("root_junk")), (1, st.just("deep")), (1, st.just("raw")))
        root = otlp_json(model, draw)
        if form == "root_junk":
            root = draw(st.sampled_from([{"resourceSpans": None}, {"resourceSpans": {}}, {"resource_spans": root["resourceSpans"]},
                                         {}, [], None, {"resourceSpans": [None, 1, "x"]},
                                         {"resourceSpans": [{"scopeSpans": [{"spans": [None, 1, [], "x"]}]}]},
                                         {"resourceSpans": [{"scopeSpans": None}]}]))
        elif form == "deep":
            depth = min(draw(st.sampled_from([100, 1000, 10000])), (MAX_BODY - 2000) // 46)  # stays under the body limit
            deep = Raw('{"kvlistValue":{"values":[{"key":"k","value":' * depth + '{"stringValue":"x"}' + "}]}}" * depth)
            root = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": fresh_bytes(16).hex(), "spanId": fresh_bytes(8).hex(),
                                                                   "name": "deep", "startTimeUnixNano": str(NOW * 10**9),
                                                                   "attributes": [{"key": "deep", "value": deep}]}]}]}]}
        data = dumps(root)
        if form == "raw":
            data = data[:position(draw, len(data))] + draw(st.sampled_from([b"", b"\xff", b"\x00", b"}}}"]))
        content_type = pick(draw, (10, st.just("application/json")), (1, st.sampled_from(
            [None, "application/json; charset=utf-8", "text/plain", "application/jsonl", "application/grpc"])))
    encoding = draw(ENCODINGS)
    headers = {"Content-Type": content_type}
    if encoding == "gzip":
        data, headers["Content-Encoding"] = gzip.compress(data, mtime=0), "gzip"
    elif encoding == "gzip-truncated":
        compressed = gzip.compress(data, mtime=0)
        data, headers["Content-Encoding"] = compressed[:position(draw, len(compressed))], "gzip"
    elif encoding == "gzip-garbage":
        data, headers["Content-Encoding"] = data, "gzip"
    elif encoding == "gzip-twice":
        data, headers["Content-Encoding"] = gzip.compress(gzip.compress(data, mtime=0), mtime=0), "gzip"
    elif encoding == "bomb":
        size = draw(st.sampled_from([MAX_BODY + 1, MAX_BODY * 4, 16 * 1024 * 1024, 48 * 1024 * 1024]))
        data, headers["Content-Encoding"] = gzip_bomb(size), "gzip"
    elif encoding == "identity-header":
        headers["Content-Encoding"] = "identity"
    elif encoding != "identity":
        data, headers["Content-Encoding"] = gzip.compress(data, mtime=0), encoding
    return data, headers, traces, form, encoding


def run_otlp(case) -> None:
    data, headers, traces, form, encoding = case
    if len(data) > MAX_BODY:
        data = data[:MAX_BODY]  # stay under the body limit: the request is refused as malformed instead
        form = "clipped"
    reply = client.request("POST", "/v1/traces", body=data, headers=headers)
    hex_ids = [trace.hex() for trace in traces]
    if encoding == "bomb":
        expect(reply.status in (400, 413), f"a gzip bomb was answered {reply.status} (expected 413 or 400)", reply)
    if reply.status == 200:
        KNOWN.update(hex_ids)
        expect(headers.get("Content-Encoding") in (None, "gzip", "identity", "GZIP"),
               f"a body in Content-Encoding {headers.get('Content-Encoding')!r} was accepted", reply)
        if form == "valid" and encoding in ("identity", "gzip", "identity-header"):
            for trace_id in list(dict.fromkeys(span_traces(data, headers)))[:3]:
                got = get_trace(trace_id)
                expect(got.status == 200, f"OTLP was answered 200 but trace {trace_id} cannot be read", got)
                if trace_id.startswith(RUN) and len(EXISTING) < 200:
                    EXISTING.append(trace_id)
    elif 400 <= reply.status < 500:
        verify_nothing_stored(hex_ids, reply, f"OTLP ({form}, {encoding})")


def span_traces(data: bytes, headers: dict) -> list[str]:
    """The lowercase trace ids of a valid request (read back from the JSON we sent; protobuf: from the model)."""
    if headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    if "json" in (headers.get("Content-Type") or "application/json"):
        try:
            root = json.loads(data.decode("utf-8"))
        except Exception:
            return []
        found = []
        for resource in root.get("resourceSpans") or []:
            for scope in (resource or {}).get("scopeSpans") or []:
                for span in (scope or {}).get("spans") or []:
                    if isinstance(span, dict) and isinstance(span.get("traceId"), str):
                        found.append(span["traceId"].lower())
        return found
    return _pb_trace_ids(data)


def _pb_trace_ids(data: bytes) -> list[str]:
    """Trace ids of a protobuf ExportTraceServiceRequest (a minimal reader of the fields we write)."""
    def fields(buffer: bytes):
        position = 0
        while position < len(buffer):
            key, position = _read_varint(buffer, position)
            field, wire = key >> 3, key & 7
            if wire == 0:
                _, position = _read_varint(buffer, position)
                yield field, None
            elif wire == 1:
                position += 8
                yield field, None
            elif wire == 2:
                length, position = _read_varint(buffer, position)
                yield field, buffer[position:position + length]
                position += length
            elif wire == 5:
                position += 4
                yield field, None
            else:
                return

    found = []
    try:
        for field, resource in fields(data):
            if field != 1 or resource is None:
                continue
            for field2, scope in fields(resource):
                if field2 != 2 or scope is None:
                    continue
                for field3, span in fields(scope):
                    if field3 != 2 or span is None:
                        continue
                    for field4, value in fields(span):
                        if field4 == 1 and value is not None:
                            found.append(value.hex())
    except IndexError:
        return []
    return found


def _read_varint(buffer: bytes, position: int):
    result, shift = 0, 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, position


def _known_otlp(start, tokens, fullwidth: bool = False) -> tuple:
    trace = fresh_bytes(16)
    trace_id = "".join(chr(0xFF10 + int(c)) if fullwidth and c.isdigit() else c for c in trace.hex())
    span = {"traceId": trace_id, "spanId": fresh_bytes(8).hex(), "name": "known", "startTimeUnixNano": start,
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                           {"key": "gen_ai.usage.input_tokens", "value": {"intValue": tokens}}]}
    return dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}), {"Content-Type": "application/json"}, [trace], "valid", \
        "identity"


@example(_known_otlp(str(NOW * 10**9), "10", fullwidth=True))  # "hex" digits that are not ASCII
@example(_known_otlp("1000000000000000000000000000000", "10"))
@example(_known_otlp(1e300, "10"))
@example(_known_otlp(str(NOW * 10**9), "8990000000000000"))
@seed(SEED)
@fuzz_settings(1.0)
@given(otlp_cases(protobuf=False))
def otlp_json_spans(case):
    run_otlp(case)


@seed(SEED)
@fuzz_settings(1.0)
@given(otlp_cases(protobuf=True))
def otlp_protobuf_spans(case):
    run_otlp(case)


# ---------------------------------------------------------------------------------------------------
# Query parameters of the trace list, sessions, metrics (and the UI pages).

FILTER_KEYS = ["from", "to", "user_id", "session_id", "tag", "model", "name", "status", "min_latency_ms", "max_latency_ms", "min_cost",
               "max_cost", "task", "language", "domain", "environment", "release", "prompt", "deployment", "variant", "q"]
LIST_KEYS = ["sort", "order", "limit", "cursor"]
METRIC_KEYS = ["bucket", "group_by", "group_limit"]
QUERY_VALUES = st.sampled_from([
    "1e300", "-1e300", "1.7e308", "-1.7e308", "nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "9999999999999999999",
    "-9999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "8.99e15", "9.3e15", "1e16", "1e-300",
    "", " ", "0", "-0", "-1", "1", "2", "100", "101", "500", "501", "2000", "2001", "1e3", "0x10", "1.5",
    "2026-12-07", "2026-02-30", "0000-00-00", "0000-01-01", "9999-12-31", "99999-12-31", "1970-01-01T00:00:00Z",
    "2026-12-07T10:00:00Z", "2026-12-07T10:00:00.123456789Z", "+275760-09-13T00:00:00Z", "253402300799", "253402300800",
    "-62135596800", "-62135596801", "4102444800", "1e11", "1e12", "1e13", "1e15", "1e18", str(NOW), str(NOW - 86400), str(NOW * 1000),
    "minute", "hour", "day", "week", "month", "year", "MINUTE", "model", "prompt", "deployment", "variant", "user", "tag", "task",
    "language", "domain", "environment", "name", "asc", "desc", "ASC", "time", "latency", "cost", "ok", "error", "ERROR",
    "p@1", "p@-1", "p@0", "p@99999999999999999999", "p@9223372036854775807", "@", "@1", "name@", "a@b@3", "%", "_", "%_%", "\\",
    "'", "\"", "💥", "ü", "e\u0301", "\x00", "a" * 3000, "gpt-4o-mini", "u1", "s1", "1d", "24h", "7d", "30d", "90d", "0d", "-1d",
    "99999d", "1e300d",
])
HOSTILE_QUERY = weighted((10, QUERY_VALUES), (2, TEXT), (1, st.floats().map(repr)), (1, st.integers().map(str)))
QUERY_TIMES = weighted((4, recent_seconds().map(str)), (3, recent_seconds().map(iso)), (1, recent_seconds().map(lambda t: iso(t)[:10])),
                       (1, st.sampled_from(["0", "1970-01-01", "9999-12-31", "9999-12-31T23:59:59Z", "253402300799", "2000-01-01",
                                            str(NOW - 400 * 86400), str(NOW + 86400)])))
QUERY_NUMBERS = weighted((4, st.integers(0, 5000).map(str)), (1, st.floats(0, 10).map(repr)),
                         (1, st.sampled_from(["0", "1e6", "1e12", "9e12", "0.0001"])))
QUERY_VALID = {
    "from": QUERY_TIMES, "to": QUERY_TIMES, "user_id": st.sampled_from(["u1", "u2", "ü"]), "session_id": st.sampled_from(["s1", "s2"]),
    "tag": st.sampled_from(["seed", "beta", "a,b"]), "model": MODELS.filter(lambda m: "\x00" not in m), "name": st.sampled_from(["seed", "raw"]),
    "status": st.sampled_from(["ok", "error", "OK"]), "min_latency_ms": QUERY_NUMBERS, "max_latency_ms": QUERY_NUMBERS,
    "min_cost": QUERY_NUMBERS, "max_cost": QUERY_NUMBERS, "task": st.sampled_from(["faq", "support"]),
    "language": st.sampled_from(["en", "de", "EN"]), "domain": st.sampled_from(["retail", "x"]), "environment": st.sampled_from(["prod"]),
    "release": st.sampled_from(["1.0"]), "prompt": st.sampled_from(["fz-chat", "fz-chat@1", "fz-text@2", "fz-chat@"]),
    "deployment": st.sampled_from(["small", "haiku"]), "variant": st.sampled_from(["small"]), "q": TEXT,
    "sort": st.sampled_from(["time", "latency", "cost"]), "order": st.sampled_from(["asc", "desc"]),
    "limit": st.integers(1, 500).map(str), "cursor": st.just("CURSOR"),
    "bucket": st.sampled_from(["minute", "hour", "day", "week", "month"]),
    "group_by": st.sampled_from(["model", "prompt", "deployment", "variant", "user", "tag", "task", "language", "domain", "environment",
                                 "name"]),
    "group_limit": st.integers(1, 100).map(str), "range": st.sampled_from(["1h", "24h", "7d", "30d", "90d"]),
    "segment": st.sampled_from(["language", "task", "domain", "model", "user"]),
    "metadata.task": st.sampled_from(["faq", "1", "true"]), "metadata.x": TEXT, "score.quality.min": st.sampled_from(["0", "0.5", "-1e12"]),
    "score.quality.max": st.sampled_from(["1", "1e12"]), "score.quality": st.sampled_from(["0.5", "1"]),
    "score.label": st.sampled_from(["a", "b"]), "score.correct": st.sampled_from(["true", "false", "1"]),
}
ENDPOINT_KEYS = {
    "/api/v1/traces": FILTER_KEYS + LIST_KEYS + ["metadata.task", "metadata.x", "score.quality.min", "score.quality", "score.label"],
    "/api/v1/sessions": FILTER_KEYS + ["limit", "metadata.task", "score.quality.min"],
    "/api/v1/metrics": FILTER_KEYS + METRIC_KEYS + ["metadata.task", "score.quality.max", "score.correct"],
    "/ui/{project}/traces": FILTER_KEYS + LIST_KEYS + ["metadata.task", "score.quality.min"],
    "/ui/{project}/dashboard": ["range", "bucket", "segment"],
    "/ui/{project}/sessions": ["range", "user_id"],
    "/ui/{project}/users": ["range"],
}
HOSTILE_KEYS = weighted((3, TEXT), (2, st.sampled_from(["metadata.", "score.", "score..min", "score.x.min.max", "metadata.\"", "FROM",
                                                        "from ", "project", "score.💥.min", "metadata.a.b"])))
RAW_QUERY_PARTS = st.sampled_from(["%zz", "%", "a=%ff%fe", "from=%00", "&&", "=x", "from", "limit=1&limit=2", "a=b=c", "tag=%E2%28%A1",
                                   "q=%C0%AF", "from=1%20", "from=%2B1", "bucket=hour&bucket=day", "from=1&from=2", ";", "+=+"])
CURSORS: list[str] = []


@st.composite
def query_cases(draw):
    """A trace list, sessions or metrics query (or a UI page with filters): valid parameters, up to two hostile values."""
    endpoints = [e for e in ENDPOINT_KEYS if not e.startswith("/ui/") or COOKIE]
    template = draw(st.sampled_from(endpoints))
    endpoint = template.replace("{project}", PROJECT)
    keys = draw(st.lists(st.sampled_from(ENDPOINT_KEYS[template]), max_size=5, unique=True))
    pairs = [[key, draw(QUERY_VALID[key])] for key in keys]
    for pair in pairs:
        if pair[1] == "CURSOR":
            pair[1] = one_of_list(draw, CURSORS, "eyJ4IjoxfQ")
    if pairs:
        for index in draw(st.sets(st.integers(0, len(pairs) - 1), max_size=2)):
            if pairs[index][0] == "cursor":
                cursor = one_of_list(draw, CURSORS, "eyJ4IjoxfQ")
                pairs[index][1] = draw(st.sampled_from([cursor[:-2], cursor + "x", cursor[::-1], cursor.swapcase(), "",
                                                        base64.b64encode(b'{"t":1e300,"id":"x"}').decode()]))
            else:
                pairs[index][1] = draw(HOSTILE_QUERY)
    if rarely(draw, 5):
        pairs.append([draw(HOSTILE_KEYS), draw(HOSTILE_QUERY)])
    parts = [f"{q(key)}={q(value)}" for key, value in pairs]
    if rarely(draw, 5):
        parts.insert(position(draw, len(parts) + 1), draw(RAW_QUERY_PARTS))
    return endpoint, endpoint + ("?" + "&".join(parts) if parts else "")


@example(("/api/v1/traces", "/api/v1/traces?from=1e300"))
@example(("/api/v1/metrics", "/api/v1/metrics?from=-1e300"))
@example(("/api/v1/sessions", "/api/v1/sessions?to=1e300"))
@example(("/api/v1/traces", "/api/v1/traces?max_latency_ms=2.8e148"))
@example(("/api/v1/metrics", f"/api/v1/metrics?from={NOW - 86400}&bucket=minute&group_by=model"))
@seed(SEED)
@fuzz_settings(2.0)
@given(query_cases())
def trace_queries(case):
    endpoint, path = case
    if endpoint.startswith("/ui/"):
        client.request("GET", path, key=None, headers={"Cookie": COOKIE})
        return
    reply = client.request("GET", path)
    if reply.status == 200 and endpoint == "/api/v1/traces":
        cursor = reply.json().get("next_cursor")
        if isinstance(cursor, str) and len(CURSORS) < 50:
            CURSORS.append(cursor)


# ---------------------------------------------------------------------------------------------------
# Datasets from traces, scores, score configs, prompts.

@st.composite
def filter_object(draw):
    """A trace filter as from-traces takes it: mostly valid keys and values, up to two hostile ones."""
    keys = draw(st.lists(st.sampled_from(FILTER_KEYS + ["metadata.task", "score.quality.min", "score.label"]), max_size=4, unique=True))
    out: dict = {key: draw(QUERY_VALID[key]) for key in keys}
    for key in keys:
        if key in ("min_latency_ms", "max_latency_ms", "min_cost", "max_cost", "limit") and draw(st.booleans()):
            out[key] = float(out[key]) if "." in out[key] or "e" in out[key] else int(out[key])  # as JSON numbers
    if keys:
        for key in draw(st.sets(st.sampled_from(keys), max_size=2)):
            out[key] = pick(draw, (4, QUERY_VALUES), (2, NASTY_NUMBERS), (1, RAW_VALID), (1, st.lists(QUERY_VALUES, max_size=3)),
                            (1, JSON_VALUE), (1, JUNK))
    if rarely(draw, 7):
        out[draw(HOSTILE_KEYS)] = draw(JSON_VALUE)
    return out


EXISTING_TRACE = st.builds(lambda n: EXISTING[n % len(EXISTING)] if EXISTING else "none", st.integers(0, 2**16))
FROM_TRACES_FIELDS = [
    ("filter", filter_object(), weighted((2, JUNK), (1, JSON_VALUE), (1, st.just(ABSENT))), 85),
    ("limit", st.integers(1, 50), weighted((2, st.sampled_from([0, -1, -5, 10**9, 2**63, 1e300, 1.5, -1e300])), (1, RAW_VALID), (1, JUNK)),
     50),
    ("trace_ids", st.lists(EXISTING_TRACE, max_size=3), weighted((2, st.lists(ODD_IDS, max_size=3)), (1, JUNK),
                                                                  (1, st.lists(JSON_VALUE, max_size=2))), 25),
    ("message", TEXT, HOSTILE_TEXT, 20),
]


@st.composite
def from_traces_cases(draw):
    name = draw(weighted((12, st.just("fuzz-ds")), (1, st.sampled_from(["missing-ds", "💥", "a b", "..", "%2F", "x" * 300]))))
    body: dict = {}
    fill(draw, body, FROM_TRACES_FIELDS, corrupt_max=1)
    return name, body


@seed(SEED)
@fuzz_settings(0.8)
@given(from_traces_cases())
def dataset_from_traces(case):
    name, body = case
    client.request("POST", f"/api/v1/datasets/{q(name)}/from-traces", body=dumps(body), headers={"Content-Type": "application/json"})


SCORE_API_FIELDS = [
    ("trace_id", EXISTING_TRACE, weighted((2, ODD_IDS), (1, JUNK), (1, st.just(ABSENT))), 100),
    ("observation_id", st.sampled_from(["none"]) | st.builds(fresh, st.just("ob")), weighted((2, ODD_IDS), (1, JUNK)), 15),
    ("id", st.builds(fresh, st.just("sc")), weighted((2, ODD_IDS), (1, JUNK)), 30),
] + [field for field in SCORE_FIELDS if field[0] in ("name", "value", "data_type", "source", "comment")]
CONFIG_FIELDS = [
    ("name", st.sampled_from(["quality", "label", "correct"]).map(lambda n: n + "-" + fresh("c")), HOSTILE_TEXT, 100),
    ("data_type", st.sampled_from(["numeric", "categorical", "boolean"]), HOSTILE_TEXT, 100),
    ("min_value", st.floats(-10, 0), weighted((3, NASTY_NUMBERS), (1, RAW_VALID), (1, JUNK)), 40),
    ("max_value", st.floats(1, 10), weighted((3, NASTY_NUMBERS), (1, RAW_VALID), (1, JUNK)), 40),
    ("categories", st.lists(st.sampled_from(["a", "b", "c"]) | TEXT, min_size=1, max_size=4),
     weighted((2, JUNK), (1, st.lists(JSON_VALUE, max_size=3)), (1, st.just([]))), 40),
    ("description", TEXT, HOSTILE_TEXT, 20),
]


@st.composite
def score_cases(draw):
    body: dict = {}
    if rarely(draw, 20):
        fill(draw, body, CONFIG_FIELDS)
        return "/api/v1/score-configs", body
    fill(draw, body, SCORE_API_FIELDS)
    return "/api/v1/scores", body


@seed(SEED)
@fuzz_settings(0.8)
@given(score_cases())
def scores_and_configs(case):
    path, body = case
    reply = client.request("POST", path, body=dumps(body), headers={"Content-Type": "application/json"})
    if reply.status == 201 and path == "/api/v1/scores" and isinstance(body.get("trace_id"), str):
        got = get_trace(body["trace_id"])
        expect(got.status == 200, "a score was stored for a trace that cannot be read", got)


PROMPT_NAME = weighted((6, st.sampled_from(["fz-chat", "fz-text", "fz-tools"])), (1, st.builds(fresh, st.just("p"))))
HOSTILE_PROMPT_NAME = st.sampled_from(["", " ", ".hidden", "a/b", "💥", "x" * 300, "..", "%2F", "latest", "a b", None, 5, ABSENT])
TEMPLATE = weighted((4, st.sampled_from(["Hello {{ name }}", "{{a}} and {{ b }}", "plain", "Hi {{name}}, {{ name }}!", "{{x}}"])),
                    (1, TEXT))
HOSTILE_TEMPLATE = st.sampled_from(["{{ }}", "{{", "}}{{", "{{ a.b }}", "{{name}}{{name}}", "{{ " + "x" * 500 + " }}", "{{ 💥 }}",
                                    "{{{{x}}}}", "{{ a }" * 300, "\x00", "", 5, None, ABSENT])
PROMPT_MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]), "content": TEMPLATE})
HOSTILE_MESSAGE = weighted((2, st.fixed_dictionaries({}, optional={
    "role": weighted((2, st.sampled_from(["tool", "", "USER", "developer"])), (1, TEXT), (1, JUNK)),
    "content": weighted((2, HOSTILE_TEMPLATE), (1, JUNK), (1, JSON_VALUE))})), (1, JUNK))
PROMPT_CONFIG = st.fixed_dictionaries({}, optional={
    "model": st.sampled_from([GATEWAY_MODEL or "support-bot", "missing-model"]), "temperature": st.floats(0, 2),
    "max_tokens": st.integers(1, 4096), "response_format": st.sampled_from([{"type": "json_object"}, {"type": "text"}])})
HOSTILE_PROMPT_CONFIG = weighted(
    (4, st.fixed_dictionaries({}, optional={
        "model": weighted((1, JUNK), (1, NASTY_TEXT)), "temperature": weighted((2, NASTY_NUMBERS), (2, RAW_VALID), (1, JUNK)),
        "max_tokens": weighted((2, NASTY_NUMBERS), (1, RAW_VALID), (1, JUNK), (1, st.sampled_from([0, -1, 10**9]))),
        "response_format": weighted((1, JSON_VALUE), (1, DEEP))})),
    (1, JUNK), (1, st.dictionaries(TEXT, JSON_VALUE, min_size=1, max_size=2)))


@st.composite
def prompt_cases(draw):
    """A prompt push (valid but for up to two hostile parts), then a read and a render with hostile variables."""
    body: dict = {"name": draw(PROMPT_NAME)}
    chat = draw(st.booleans())
    if chat:
        body["messages"] = draw(st.lists(PROMPT_MESSAGE, min_size=1, max_size=3))
    else:
        body["prompt"] = draw(TEMPLATE)
    maybe(draw, body, "variables", st.lists(st.sampled_from(["name", "a", "b", "x"]), max_size=4, unique=True), 20)
    maybe(draw, body, "config", PROMPT_CONFIG, 50)
    maybe(draw, body, "tools", st.lists(st.fixed_dictionaries({"type": st.just("function"), "function": st.fixed_dictionaries(
        {"name": st.sampled_from(["get_weather", "x"]), "parameters": st.just({"type": "object"})})}), max_size=2), 20)
    maybe(draw, body, "commit_message", TEXT, 30)
    maybe(draw, body, "labels", st.lists(st.sampled_from(["production", "staging", "ok.1", "v-2"]), max_size=2, unique=True), 30)
    for part in draw(st.sets(st.sampled_from(["name", "prompt", "messages", "message", "type", "variables", "config", "tools",
                                              "commit_message", "labels", "extra"]), max_size=2)):
        if part == "name":
            value = draw(HOSTILE_PROMPT_NAME)
        elif part == "prompt":
            value = draw(HOSTILE_TEMPLATE)
        elif part == "messages":
            value = pick(draw, (2, JUNK), (1, st.just([])), (1, st.lists(HOSTILE_MESSAGE, min_size=1, max_size=3)))
        elif part == "message":
            if isinstance(body.get("messages"), list) and body["messages"]:
                body["messages"][0] = draw(HOSTILE_MESSAGE)
            continue
        elif part == "type":
            value = pick(draw, (2, st.sampled_from(["chat", "text"])), (1, HOSTILE_TEXT))
        elif part == "variables":
            value = pick(draw, (2, JUNK), (1, st.lists(JSON_VALUE, max_size=3)), (1, st.lists(NASTY_TEXT, max_size=3)))
        elif part == "config":
            value = draw(HOSTILE_PROMPT_CONFIG)
        elif part == "tools":
            value = pick(draw, (2, JUNK), (1, st.lists(JSON_VALUE, max_size=3)), (1, DEEP))
        elif part == "labels":
            value = pick(draw, (2, st.lists(st.sampled_from(["latest", "", "a b", "x" * 65, "💥", "production "]), min_size=1, max_size=3)),
                         (1, JUNK))
        elif part == "extra":
            body[draw(TEXT)] = 1
            continue
        else:
            value = draw(HOSTILE_TEXT)
        if value is ABSENT:
            body.pop(part, None)
        else:
            body[part] = value
    read = draw(st.sampled_from(["", "?version=1", "?version=2", "?label=production", "?label=latest", "?label=staging", "HOSTILE"]))
    if read == "HOSTILE":
        read = draw(st.sampled_from(["?version=", "?label="])) + q(draw(QUERY_VALUES))
    variables = pick(draw, (4, st.dictionaries(st.sampled_from(["name", "a", "b", "x"]), TEXT, max_size=3)),
                     (1, st.dictionaries(st.sampled_from(["name", "a", "b", "x"]) | TEXT, JSON_VALUE, max_size=3)), (1, JUNK))
    return body, read, variables


@seed(SEED)
@fuzz_settings(0.8)
@given(prompt_cases())
def prompts(case):
    body, read, variables = case
    client.request("POST", "/api/v1/prompts", body=dumps(body), headers={"Content-Type": "application/json"})
    name = body.get("name")
    if isinstance(name, str) and name:
        client.request("GET", f"/api/v1/prompts/{q(name)}{read}")
        client.request("POST", f"/api/v1/prompts/{q(name)}/render{read}", body=dumps({"variables": variables}),
                       headers={"Content-Type": "application/json"})


# ---------------------------------------------------------------------------------------------------
# Gateway: chat completions, embeddings, messages.

CONTENT = weighted((6, TEXT), (1, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}), min_size=1, max_size=2)))
HOSTILE_CONTENT = weighted((2, st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", "junk",
                                                                                        "image", "tool_result"])},
                                                              optional={"text": weighted((3, TEXT), (1, JUNK)), "image_url": JSON_VALUE,
                                                                        "source": JSON_VALUE}), max_size=3)),
                           (1, JUNK), (1, JSON_VALUE), (1, st.just("x" * 30000)))
CHAT_MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": CONTENT})
HOSTILE_CHAT_MESSAGE = weighted(
    (3, st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "developer"]), "content": HOSTILE_CONTENT})),
    (2, st.fixed_dictionaries({"role": weighted((2, st.sampled_from(["tool", "function", "", "USER", "system"])), (1, TEXT), (1, JUNK))},
                              optional={"content": weighted((1, CONTENT), (1, HOSTILE_CONTENT)),
                                        "tool_call_id": weighted((1, TEXT), (1, JUNK)), "tool_calls": JSON_VALUE, "name": JSON_VALUE})),
    (1, JUNK),
)
GATEWAY_NUMBER = weighted((3, NASTY_NUMBERS), (1, RAW_VALID), (1, NUMERIC_STRINGS), (1, JUNK), (1, st.sampled_from([0, -1, 10**9])))
TOOLS = st.lists(st.fixed_dictionaries({"type": st.just("function"), "function": st.fixed_dictionaries(
    {"name": st.sampled_from(["get_weather", "lookup"]), "parameters": st.just({"type": "object", "properties": {}})})}),
    min_size=1, max_size=2)
HOSTILE_TOOLS = weighted((2, st.lists(st.fixed_dictionaries({"type": st.sampled_from(["function", "junk"])}, optional={
    "function": st.fixed_dictionaries({}, optional={"name": weighted((2, TEXT), (1, JUNK)), "parameters": JSON_VALUE,
                                                    "description": JSON_VALUE})}), max_size=3)), (1, JUNK), (1, JSON_VALUE), (1, DEEP))
STREAM_OPTIONS = st.fixed_dictionaries({"include_usage": st.booleans()})
TERN_OPTIONS = st.fixed_dictionaries({"prompt": st.sampled_from(["fz-chat", "fz-text"])},
                                     optional={"label": st.sampled_from(["production", "staging"]), "version": st.integers(1, 3),
                                               "variables": st.dictionaries(st.sampled_from(["name", "a"]), TEXT, max_size=2)})
HOSTILE_TERN_OPTIONS = weighted((3, st.fixed_dictionaries({}, optional={
    "prompt": weighted((3, st.sampled_from(["fz-chat", "fz-text", "missing", ""])), (1, JUNK)), "label": JSON_VALUE,
    "version": GATEWAY_NUMBER, "variables": JSON_VALUE})), (1, JUNK))
HEADER_VALUE = st.sampled_from(["", "x", "💥".encode().decode("latin-1"), "a" * 300, "1e300", "-1", "fz-trace", "a,b,,c", "production",
                                "9999999999999999999", "no", "0", "fz-chat", "staging"])
GATEWAY_HEADERS = ["x-tern-trace-id", "x-tern-user", "x-tern-session", "x-tern-tags", "x-tern-task", "x-tern-prompt",
                   "x-tern-prompt-label", "x-tern-prompt-version", "x-tern-cache"]


def gateway_fields(operation: str):
    model = (GATEWAY_MODEL or "none", weighted((2, st.sampled_from(["missing-model", "", "MISSING"] + LOCAL_MODELS)), (1, JUNK),
                                               (1, st.just(ABSENT))), 100)
    common = [("model", st.just(model[0]), model[1], 100), ("user", st.sampled_from(["u1", "u2"]) | TEXT, HOSTILE_TEXT, 15),
              ("metadata", METADATA, HOSTILE_METADATA, 10)]
    if operation == "embeddings":
        return common + [
            ("input", weighted((3, TEXT), (2, st.lists(TEXT, min_size=1, max_size=4))),
             weighted((2, JUNK), (1, st.lists(st.integers(-5, 100000), max_size=5)), (1, JSON_VALUE), (1, st.just([])),
                      (1, st.just(["x" * 20000, "y" * 20000])), (1, st.just(ABSENT))), 100),
            ("encoding_format", st.sampled_from(["float", "base64"]), HOSTILE_TEXT, 20),
            ("dimensions", st.integers(1, 1536), GATEWAY_NUMBER, 10),
        ]
    fields = common + [
        ("messages", st.lists(CHAT_MESSAGE, min_size=1, max_size=3), weighted((3, st.lists(HOSTILE_CHAT_MESSAGE, min_size=1, max_size=4)),
                                                                            (1, JUNK), (1, st.just([])), (1, st.just(ABSENT))), 100),
        ("max_tokens", st.integers(1, 4096), GATEWAY_NUMBER, 100 if operation == "messages" else 30),
        ("temperature", st.floats(0, 2), weighted((2, NASTY_NUMBERS), (2, RAW_VALID), (1, JUNK)), 30),
        ("top_p", st.floats(0, 1), GATEWAY_NUMBER, 10),
        ("stream", st.booleans(), JUNK, 40),
        ("tools", TOOLS, HOSTILE_TOOLS, 15),
        ("stop", st.lists(st.sampled_from(["\n", "END"]), max_size=2), weighted((2, st.lists(TEXT, max_size=6)), (1, JUNK)), 10),
    ]
    if operation == "chat":
        fields += [
            ("n", st.integers(1, 3), GATEWAY_NUMBER, 10),
            ("stream_options", STREAM_OPTIONS, JUNK, 15),
            ("response_format", st.sampled_from([{"type": "json_object"}, {"type": "text"}]), weighted((1, JSON_VALUE), (1, JUNK)), 10),
            ("tool_choice", st.sampled_from(["auto", "none"]), JSON_VALUE, 10),
            ("logprobs", st.booleans(), JSON_VALUE, 5),
            ("tern", TERN_OPTIONS, HOSTILE_TERN_OPTIONS, 10),
        ]
    else:
        fields += [("system", TEXT, weighted((1, st.lists(JSON_VALUE, max_size=2)), (1, JUNK)), 20)]
    return fields


GATEWAY_FIELDS = {operation: gateway_fields(operation) for operation in ("chat", "embeddings", "messages")}


@st.composite
def gateway_cases(draw, operation: str):
    """A gateway request: valid for the model served through the stub but for up to two hostile fields or headers."""
    body: dict = {}
    fill(draw, body, GATEWAY_FIELDS[operation])
    headers = {"Content-Type": "application/json"}
    for name in draw(st.lists(st.sampled_from(GATEWAY_HEADERS), max_size=2, unique=True)):
        headers[name] = draw(HEADER_VALUE)
    key_style = "admin"
    if operation == "messages" and draw(st.booleans()):
        headers["x-api-key"], key_style = KEY, None
    data = dumps(body)
    if rarely(draw, 3):
        data = data[:position(draw, len(data))]
    return data, headers, key_style


def run_gateway(path: str, case) -> None:
    data, headers, key_style = case
    reply = client.request("POST", path, body=data, headers=headers, key=key_style)
    expect(reply.status < 500 or reply.status in (502, 503, 504), f"the gateway answered {reply.status}", reply)


@seed(SEED)
@fuzz_settings(0.6)
@given(gateway_cases("chat"))
def gateway_chat(case):
    run_gateway("/v1/chat/completions", case)


@seed(SEED)
@fuzz_settings(0.3)
@given(gateway_cases("embeddings"))
def gateway_embeddings(case):
    run_gateway("/v1/embeddings", case)


@seed(SEED)
@fuzz_settings(0.4)
@given(gateway_cases("messages"))
def gateway_messages(case):
    run_gateway("/v1/messages", case)


# ---------------------------------------------------------------------------------------------------


def setup() -> None:
    reply = client.request("GET", "/healthz", key=None)
    expect(reply.status == 200, "GET /healthz does not answer 200 before fuzzing", reply)
    me = client.request("GET", "/api/v1/me")
    expect(me.status == 200, "TERN_KEY is not accepted", me)
    created = client.request("POST", "/api/v1/datasets", body=dumps({"name": "fuzz-ds"}), headers={"Content-Type": "application/json"})
    expect(created.status in (201, 409), "creating the dataset fuzz-ds failed", created)
    for body in ({"name": "quality", "data_type": "numeric", "min_value": 0, "max_value": 1},
                 {"name": "label", "data_type": "categorical", "categories": ["a", "b"]},
                 {"name": "correct", "data_type": "boolean"}):
        config = client.request("POST", "/api/v1/score-configs", body=dumps(body), headers={"Content-Type": "application/json"})
        expect(config.status in (201, 409), "creating a score config failed", config)
    for name, prompt in (("fz-chat", {"messages": [{"role": "user", "content": "Hi {{ name }}"}]}), ("fz-text", {"prompt": "Hi {{name}}"})):
        pushed = client.request("POST", "/api/v1/prompts", body=dumps({"name": name, **prompt}), headers={"Content-Type": "application/json"})
        expect(pushed.status in (200, 201), "pushing a seed prompt failed", pushed)
    seed_traces = [fresh("tr") for _ in range(3)]
    events = []
    for index, trace_id in enumerate(seed_traces):
        events.append({"id": fresh("ev"), "type": "trace-create", "timestamp": NOW - 60 * index,
                       "body": {"id": trace_id, "name": "seed", "user_id": "u1", "session_id": "s1", "input": "hello", "output": "hi",
                                "metadata": {"task": "faq"}, "tags": ["seed"]}})
        events.append({"id": fresh("ev"), "type": "generation-create", "timestamp": NOW - 60 * index,
                       "body": {"trace_id": trace_id, "model": "gpt-4o-mini", "usage": {"input": 10, "output": 5},
                                "start_time": NOW - 60 * index, "end_time": NOW - 60 * index + 1.5, "level": "ERROR" if index else "DEFAULT"}})
        events.append({"id": fresh("ev"), "type": "score-create", "body": {"trace_id": trace_id, "name": "quality", "value": 0.5}})
    seeded = client.request("POST", "/api/v1/ingest", body=dumps({"batch": events}), headers={"Content-Type": "application/json"})
    expect(seeded.status == 207 and not seeded.json().get("errors"), "seeding traces failed", seeded)
    verify_ingest(events, seeded, "seed")
    EXISTING.extend(seed_traces)


PROPERTIES = [
    ("ingest_events", ingest_events, True),
    ("ingest_raw_bytes", ingest_raw_bytes, True),
    ("otlp_json_spans", otlp_json_spans, True),
    ("otlp_protobuf_spans", otlp_protobuf_spans, True),
    ("trace_queries", trace_queries, True),
    ("dataset_from_traces", dataset_from_traces, True),
    ("scores_and_configs", scores_and_configs, True),
    ("prompts", prompts, True),
    ("gateway_chat", gateway_chat, GATEWAY_MODEL is not None),
    ("gateway_embeddings", gateway_embeddings, GATEWAY_MODEL is not None),
    ("gateway_messages", gateway_messages, GATEWAY_MODEL is not None),
]


def healthy(after: str) -> None:
    reply = client.request("GET", "/healthz", key=None)
    expect(reply.status == 200, f"GET /healthz after {after} did not answer 200", reply)


def main() -> int:
    if not KEY:
        print("fuzz: set TERN_KEY to an admin API key of the project", file=sys.stderr)
        return 2
    unknown = [name for name in ONLY if name not in {name for name, _, _ in PROPERTIES} | {"settle"}]
    if unknown:
        print(f"fuzz: unknown properties {unknown}; known: {[name for name, _, _ in PROPERTIES]}", file=sys.stderr)
        return 2
    started = time.monotonic()
    print(f"fuzz: {URL}, seed {SEED}, {EXAMPLES} examples per property, run {RUN}"
          f"{'' if GATEWAY_MODEL else ' (gateway properties skipped: TERN_GATEWAY_MODEL is unset)'}"
          f"{'' if COOKIE else ' (web UI pages skipped: TERN_COOKIE is unset)'}", flush=True)
    failures = []
    try:
        setup()
    except (PropertyFailed, ServerDied) as error:
        print(f"fuzz: setup failed: {error}", flush=True)
        return 1
    for name, prop, enabled in PROPERTIES:
        if ONLY and name not in ONLY:
            continue
        if not enabled:
            print(f"{name}: skipped", flush=True)
            continue
        before_total, before = client.total, collections.Counter(client.statuses)
        FIRST_FAILURE.clear()
        begun = time.monotonic()
        error_text = None
        try:
            prop()
            healthy(name)
        except ServerDied as error:
            error_text = str(error)
            for note in getattr(error, "__notes__", []):
                error_text += "\n" + (note if len(note) <= 4000 else note[:4000] + f"... ({len(note)} characters)")
        except BaseException as error:  # hypothesis wraps, reports and re-raises the property's failure
            if isinstance(error, KeyboardInterrupt):
                raise
            error_text = FIRST_FAILURE[0] if FIRST_FAILURE else "".join(traceback.format_exception(type(error), error, error.__traceback__))
            if client.dead:
                error_text = client.dead
            for note in getattr(error, "__notes__", []):  # hypothesis's "Falsifying example: ..." (the drawn case)
                error_text += "\n" + (note if len(note) <= 4000 else note[:4000] + f"... ({len(note)} characters)")
        seen = client.statuses - before
        print(f"{name}: {client.total - before_total} requests, statuses {dict(sorted(seen.items()))}, "
              f"{time.monotonic() - begun:.1f}s{' FAILED' if error_text else ''}", flush=True)
        if error_text:
            failures.append(name)
            print(f"FAILURE in {name}:\n{error_text}\n", flush=True)
            if client.dead:
                break
    if not failures and (not ONLY or "settle" in ONLY) and SETTLE > 0:
        # Background jobs (metric rollups every few seconds) now read what was written: the server must stay up.
        deadline = time.monotonic() + SETTLE
        try:
            while time.monotonic() < deadline:
                time.sleep(1)
                healthy("waiting for background jobs")
            client.request("GET", "/api/v1/metrics?bucket=hour&group_by=model")
            client.request("GET", f"/api/v1/metrics?from={NOW - 7 * 86400}&bucket=day&group_by=user")
            print(f"settle: {SETTLE:.0f}s of background jobs, server alive", flush=True)
        except (PropertyFailed, ServerDied) as error:
            failures.append("settle")
            print(f"settle: FAILED\nFAILURE after the properties (a background job?):\n{client.dead or error}\n", flush=True)
    elapsed = time.monotonic() - started
    if failures:
        print(f"fuzz: {len(failures)} properties failed ({', '.join(failures)}); {client.total} requests, {elapsed:.0f}s "
              f"(seed {SEED})", flush=True)
        return 1
    print(f"fuzz: all properties passed ({client.total} requests, {elapsed:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
