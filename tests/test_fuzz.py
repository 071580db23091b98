"""Fuzzing: the reader, the whole pipeline and the body codecs on mutated and random input.

A HAR is untrusted input, and the promise is narrow: harscrub either writes valid JSON with
every entry of a valid HAR, or stops with one HarscrubError line that quotes no value. Anything
else (another exception, a hang, a second line, a value in a message, output that is not JSON)
is a bug, since the CLI turns it into exit 3 and a support engineer into someone who attaches
the raw HAR instead.

The same targets run twice: here, a few seconds each in CI (HARSCRUB_FUZZ_EXAMPLES examples per
property), and for as long as one likes through ``benchmarks/fuzz.py``, which imports TARGETS,
seeds the mutators from the real corpus and saves each failure as a reproduction. A crash found
there becomes a regression test at the bottom of this file (xfail while it is open), and a
KNOWN_BUGS entry keeps the random properties from failing CI on it meanwhile.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import copy
import io
import json
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harscrub import bodies, jsoncodec
from harscrub.api import check_stream, scrub_stream
from harscrub.engine import Scrubber
from harscrub.errors import HarscrubError
from harscrub.escapes import FORM, HTML, JSON_STRING, PATH, QUERY, Escapes
from harscrub.options import Options
from harscrub.reader import Entry, HarReader
from harscrub.reader import _shown as shown_key
from harscrub.rules import PLACES, load_ruleset
from harscrub.spans import Span, apply
from harscrub.urls import is_encoded_url, is_url, params, scrub_url

from .factories import BEARER_CANARY, CANARY, SECRET_HAR, entry, har, header

# Examples per property in CI. benchmarks/fuzz.py runs without a count, for a time instead.
EXAMPLES = int(os.environ.get("HARSCRUB_FUZZ_EXAMPLES", "150"))
# Seconds one small input may take before it counts as a hang. Inputs here are a few KB, which
# harscrub reads in milliseconds; the margin is for a loaded CI machine.
HANG_SECONDS = float(os.environ.get("HARSCRUB_FUZZ_HANG_SECONDS", "10"))

RULES = load_ruleset()  # once: a Ruleset is never changed, and loading it costs 0.1 s
KEY = b"f" * 32
NAME = "fuzz.har"
LEARNT = "Zq81kT0pLm5Wc9Xv3Rt7"  # a cookie a run has already removed: its copies are sought


def fuzz_settings(weight: float = 1.0) -> settings:
    """Settings for one CI property: random (not derandomized, so each CI run looks somewhere
    new), no example database (CI writes no .hypothesis folder), no deadline (a loaded machine
    is no bug; hangs are caught by time_limit instead)."""
    return settings(
        max_examples=max(1, round(EXAMPLES * weight)),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# --- failures ----------------------------------------------------------------------------------


class Hang(Exception):
    """Raised in the middle of a run that took longer than HANG_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Raise Hang inside the block once seconds pass (main thread only, where signals go).

    A C loop that holds on to the GIL is interrupted only when it returns; benchmarks/fuzz.py
    adds a watchdog process for that case.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"no result after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _innermost_harscrub_frame(e: BaseException) -> str:
    """'module.function' of the last frame inside harscrub: where a crash comes from."""
    where = ""
    for frame in traceback.extract_tb(e.__traceback__):
        path = Path(frame.filename)
        if path.parent.name == "harscrub":  # src/harscrub/x.py, site-packages/harscrub/x.py
            where = f"{path.stem}.{frame.name}"
    return where


# Bugs found by fuzzing and not fixed yet: each is pinned by an xfail(strict=True) regression
# test below, named here. The random properties let these through (they would fail CI at random
# otherwise); once the fix lands, the regression test passes, strict xfail fails it, and both
# the xfail mark and the entry here go.
KNOWN_BUGS: dict[str, Callable[[BaseException], bool]] = {
    # "test_regression_...": lambda e: isinstance(e, ...) and ..., while the bug is open
}


def known_bug(e: BaseException) -> str | None:
    """The regression test that tracks e, if e is a known bug."""
    return next((name for name, matches in KNOWN_BUGS.items() if matches(e)), None)


def crash_signature(e: BaseException) -> str:
    """What tells two failures apart: the exception type and where in harscrub it came from
    (for an assertion, the property's message up to its first colon)."""
    if isinstance(e, AssertionError):
        return f"AssertionError:{str(e).partition(':')[0][:80]}"
    return f"{type(e).__name__}@{_innermost_harscrub_frame(e) or '?'}"


def guarded(check: Callable[[Any], None]) -> Callable[[Any], None]:
    """check, under a time limit, with known bugs let through."""

    def run(value: Any) -> None:
        try:
            with time_limit():
                check(value)
        except Exception as e:
            if known_bug(e) is None:
                raise

    run.__name__ = check.__name__
    run.__doc__ = check.__doc__
    return run


# --- seeds: small HARs in every layout ---------------------------------------------------------


def _body(mime: str, text: str, **more: Any) -> dict[str, Any]:
    return {"size": len(text), "mimeType": mime, "text": text, **more}


def _rich_entries() -> list[dict[str, Any]]:
    """Entries holding each kind of container the codecs take apart."""
    login = entry(
        f"https://app.test/cb?code={CANARY}&state=s%20t&next=https%3A%2F%2Fx.test%2F%3Ftoken%3Dabc",
        request_headers=[
            header("Authorization", f"Bearer {BEARER_CANARY}"),
            header("Cookie", f"sid={LEARNT}; theme=dark"),
        ],
        response_headers=[header("Set-Cookie", f"sid={LEARNT}; Path=/, b=2; HttpOnly")],
        request_cookies=[{"name": "sid", "value": LEARNT}],
    )
    login["request"]["postData"] = {
        "mimeType": "application/x-www-form-urlencoded",
        "text": f"user=a%40b.test&password={CANARY}&x=%E9%ED%A0%80+y",
        "params": [{"name": "password", "value": CANARY}],
    }
    login["response"]["content"] = _body(
        "application/json; charset=utf-8",
        f'{{"access_token": "{CANARY}", "n": 12345678, "s": "\\ud83d\\ude00 \\u002e",'
        f' "items": [{{"name": "api_key", "value": "{CANARY}"}}]}}',
    )
    upload = entry("/upload;jsessionid=ABCDEF0123456789?x=1#access_token=abc&state=/d?t=1")
    upload["request"]["postData"] = {
        "mimeType": "multipart/form-data; boundary=b0",
        "text": f'pre\r\n--b0\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{CANARY}\r\n'
        "--b0\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b0--\r\n",
    }
    upload["response"]["content"] = _body(
        "text/html",
        f'<meta name="csrf-token" content="{CANARY}"><input type=hidden name=t value=\'x&amp;y\'>'
        f'<a href="https://x.test/?sig={CANARY}">&#x110000;&#0;</a><Token>{CANARY}</Token>',
    )
    script = entry("https://user:pa%3Ass@cdn.test/app.js")
    script["response"]["content"] = _body(
        "application/javascript",
        f"var apiKey = '{CANARY}'; x = {{password: \"{CANARY}\"}};\nAuthorization: Bearer "
        f"{BEARER_CANARY}\nfetch('https://a.test/?token={CANARY}')",
    )
    encoded = entry()
    encoded["response"]["content"] = _body(
        "text/plain; charset=latin-1",
        base64.b64encode(f"token={CANARY}\n".encode() * 3).decode(),
        encoding="base64",
    )
    encoded["_webSocketMessages"] = [{"type": "send", "data": f'{{"token": "{CANARY}"}}'}]
    odd = {"request": {"cookies": {"name": "a", "value": "b"}, "headers": "x"}, "response": None}
    return [login, upload, script, encoded, odd]


def _seed_docs() -> list[dict[str, Any]]:
    return [
        json.loads(SECRET_HAR),
        har(*_rich_entries(), pages=[{"id": "p", "title": "Zürich"}], comment="c"),
        har(),
        {"_before": [1, {"a": None}], "log": {"entries": [{}], "_harscrub": {"v": 1}}, "_z": 0},
    ]


def one_entry_per_line(doc: dict[str, Any]) -> bytes:
    """Each entry on a line of its own, as some proxies write them."""
    lines = ",\n".join(json.dumps(e, ensure_ascii=False) for e in doc["log"]["entries"])
    rest = {k: v for k, v in doc["log"].items() if k != "entries"}
    head = json.dumps({"log": rest}, ensure_ascii=False)[:-2]
    comma = ", " if rest else ""
    return f'{head}{comma}"entries": [\n{lines}\n]}}}}'.encode()


def layouts(doc: dict[str, Any]) -> list[bytes]:
    """doc in each layout the reader has a path for: compact, spaced, indented (spaces, tabs,
    CRLF), one entry per line, a UTF-8 BOM, UTF-16 and UTF-32 with and without a BOM."""
    text = json.dumps(doc, ensure_ascii=False)
    compact = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    indented = json.dumps(doc, ensure_ascii=False, indent=2)
    return [
        compact.encode(),
        text.encode(),
        indented.encode(),
        json.dumps(doc, indent="\t").encode(),
        indented.replace("\n", "\r\n").encode(),
        one_entry_per_line(doc),
        codecs.BOM_UTF8 + indented.encode(),
        indented.encode("utf-16"),
        compact.encode("utf-16-le"),
        compact.encode("utf-16-be"),
        compact.encode("utf-32"),
    ]


# Hand-made, in the byte forms a dump of a dict cannot give.
RAW_SEEDS = [
    b'{"log": {"entries": [{"n": 123456789012345678901234567890, "s": "a\\ud800b"}]}}',
    b'{"log":{"entries":[{"a":{"b":[1,2,{"c":"}\\"]"}]}},{"startedDateTime":"x"}]}}',
    b'{"log": {"entries": [\n    {"a": {\n    },\n    "b": "x\\n    }"\n    },\n    {"c": 2}\n]}}',
    b'\xef\xbb\xbf{"log":{"version":"1.2","entries":[],"pages":[]}}',
    b'{"log": {"entries": [{"request": {"url": "https://a.test/?x=\\u0026token=abc"}}]}}',
]

SEEDS: list[bytes] = [data for doc in _seed_docs() for data in layouts(doc)] + RAW_SEEDS

# What breaks parsers: lone surrogates (escaped and raw), non-finite and huge numbers, deep
# nesting, quotes, backslashes, NUL and control bytes, invalid UTF-8 (truncated, overlong,
# surrogates), structure in the wrong place, BOMs in the middle, JSONP.
NASTY_BYTES = [
    b"\\ud800", b"\\udfff", b"\\ud83d", b'"\\ud800"', b"\xed\xa0\x80", b"NaN", b"-Infinity",
    b"1e999", b"-1e-999", b"1" * 25, b"9" * 400, b"-" + b"9" * 4400, b"0.0" + b"1" * 30,
    b"[" * 64, b"[" * 1100, b"{\"a\":" * 600, b"]" * 8, b"}" * 8, b'"', b"\\", b'\\"', b"\\u",
    b"\x00", b"\x01", b"\x1f", b"\x7f", b"\xff", b"\xc3", b"\xc0\xaf", b"\xf4\x90\x80\x80",
    b"}{", b",,", b",", b":", b"::", b'"":', b"null", b"true", b"[]", b"{}", b'"log"',
    b'"entries"', b'"log": {"entries": [', b"\n", b"\r\n", b"\t", b" " * 70, b"\n" + b" " * 70,
    codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"\x00\x00\xfe\xff", b"cb(", b"\\/", b"\\n  }",
    b'{"startedDateTime":', b"},{", b"}, {", b"},\n", b"\n  }", b"\n    },",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A seed with a few byte-level edits: flips, insertions of nasty tokens and random
    bytes, deletions, duplications, truncation and splices of other seeds."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        span = draw(st.integers(1, 64))
        match draw(st.integers(0, 8)):
            case 0 if data:
                i = min(at, len(data) - 1)
                data[i] ^= 1 << draw(st.integers(0, 7))
            case 1:
                data[at:at] = draw(st.sampled_from(NASTY_BYTES))
            case 2:
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
            case 3:
                del data[at : at + span]
            case 4:
                piece = data[at : at + span]
                to = draw(st.integers(0, len(data)))
                data[to:to] = piece * draw(st.integers(1, 3))
            case 5:
                del data[at:]
            case 6:
                other = draw(st.sampled_from(seeds))
                start = draw(st.integers(0, len(other)))
                data[at:at] = other[start : start + span * 4]
            case 7:  # one structural byte for another
                marks = [i for i, b in enumerate(data) if b in b'{}[]",:']
                if marks:
                    i = marks[draw(st.integers(0, len(marks) - 1))]
                    data[i] = draw(st.sampled_from(b'{}[]",: '))
            case _:
                data[at : at + span] = draw(st.sampled_from(NASTY_BYTES))
    return bytes(data)


def har_inputs(seeds: Sequence[bytes] = SEEDS) -> st.SearchStrategy[bytes]:
    """Mostly mutated HARs; some random bytes, with and without a HAR's opening."""
    return st.one_of(
        mutated(seeds),
        mutated(seeds),
        mutated(seeds),
        st.binary(max_size=256),
        st.binary(max_size=256).map(lambda b: b'{"log": {"entries": [' + b),
        st.sampled_from(seeds),
    )


# --- the oracle: what a valid HAR is, by the standard library -----------------------------------


def _utf_decode(data: bytes) -> str | None:
    """data as text, by the same BOM and zero-byte rules as the reader (RFC 4627)."""
    boms = [
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ]
    encoding = next((name for bom, name in boms if data.startswith(bom)), None)
    if encoding is None and len(data) >= 4:
        zeros = tuple(b == 0 for b in data[:4])
        encoding = {
            (False, True, True, True): "utf-32-le",
            (True, True, True, False): "utf-32-be",
            (False, True, False, True): "utf-16-le",
            (True, False, True, False): "utf-16-be",
        }.get(zeros)
    try:
        return data.decode(encoding or "utf-8")
    except UnicodeDecodeError:
        return None


class _NotPlain(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise _NotPlain("a key given twice")  # harscrub refuses some, and that is fine
    return dict(pairs)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotPlain("not finite")
    return value


def _reject_constant(name: str) -> Any:
    raise _NotPlain(name)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack += ((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack += ((v, depth + 1) for v in node)
    return deepest


def expected_entries(data: bytes) -> int | None:
    """How many entries data holds if it is plainly a valid HAR by the standard library (no
    duplicate keys, no NaN or infinity, no integer past Python's 4300 digits, not deeply
    nested): then harscrub must read it. None when the oracle has no opinion."""
    text = _utf_decode(data)
    if text is None:
        return None
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_finite,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError):
        return None
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return None
    if _depth(doc) > 300:
        return None  # past what the exact (stdlib) path nests, harscrub refuses on purpose
    return len(entries)


def parse_output(data: bytes) -> Any:
    """The output decoded, if it is valid JSON (RFC 8259). orjson first; the standard library
    (refusing NaN and numbers no float holds, as JSON does) for the two things orjson refuses
    and harscrub keeps exactly (jsoncodec): lone surrogate escapes, integers past 64 bits."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data, parse_float=_finite, parse_constant=_reject_constant)


# --- messages ----------------------------------------------------------------------------------

# A string token of the input followed by ':' is a key; anything else in quotes is a value.
_QUOTED = regex.compile(rb'"((?:[^"\\]|\\.)*)"(\s*:)?', regex.DOTALL)
_ALNUM = regex.compile(r"[A-Za-z0-9]")


def _tokens(data: bytes) -> tuple[list[str], list[str]]:
    """(keys as the reader shows them in messages, values of 12+ characters) of the input."""
    text = _utf_decode(data)
    raw = text.encode("utf-8", "surrogatepass") if text is not None else data
    keys, values = [], []
    for m in _QUOTED.finditer(raw):
        if m.group(2) is None:
            if len(m.group(1)) >= 12:
                values.append(m.group(1).decode("utf-8", "replace"))
            continue
        try:
            key = json.loads(b'"' + m.group(1) + b'"')
        except ValueError:
            key = m.group(1).decode("utf-8", "replace")
        keys.append(shown_key(key))
    return keys, values


_ENTRY_PATH = regex.compile(r"log\.entries\[[0-9]+\]")


def check_message(e: HarscrubError, data: bytes) -> None:
    """One line, naming the input, quoting none of its values.

    errors.py lets a message name a key (escaped and cut to 40 characters, as reader._shown
    writes it), so keys and entry paths are taken out first. What is left must share no run of
    12 characters without a blank (a token's shape; the message's own words have blanks
    between them), 6 of them letters or digits, with any value of the input."""
    message = str(e)
    assert message, "empty error message"
    assert not regex.search(r"[\r\n]", message), f"multi-line message: {type(e).__name__}"
    assert message.startswith(NAME), f"message does not name the input: {type(e).__name__}"
    keys, values = _tokens(data)
    rest = _ENTRY_PATH.sub(" ", message[len(NAME) :])
    for key in sorted(set(keys), key=len, reverse=True):
        if key:
            rest = rest.replace(key, " ")
    windows = {rest[i : i + 12] for i in range(len(rest) - 11)}
    windows = {w for w in windows if not regex.search(r"\s", w) and len(_ALNUM.findall(w)) >= 6}
    for value in values:
        assert not any(w in value for w in windows), "message quotes a value of the input"


# --- target: the whole pipeline ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one run of scrub_stream or check_stream came to, for comparing runs."""

    error: str | None
    entries: int
    counts: dict[tuple[str, str], int]


def _run(data: bytes, *, check: bool, indent: bool) -> tuple[Outcome, bytes]:
    options = Options(key=KEY, indent=indent)
    out = io.BytesIO()
    try:
        if check:
            report = check_stream(io.BytesIO(data), name=NAME, ruleset=RULES, options=options)
        else:
            report = scrub_stream(io.BytesIO(data), out, name=NAME, ruleset=RULES, options=options)
    except HarscrubError as e:
        check_message(e, data)
        return Outcome(str(e), 0, {}), b""
    return Outcome(None, report.entries, dict(report.counts)), out.getvalue()


def check_pipeline(data: bytes) -> None:
    """scrub_stream and check_stream either succeed alike, writing valid JSON with the input's
    entries that a second run leaves as it is, or fail alike with one clean HarscrubError line;
    a valid HAR never fails."""
    expected = expected_entries(data)
    indent = len(data) % 2 == 0  # both layouts of the output, without running each twice
    scrubbed, output = _run(data, check=False, indent=indent)
    checked, _ = _run(data, check=True, indent=indent)
    assert scrubbed == checked, "check_stream disagrees with scrub_stream"
    if scrubbed.error is not None:
        assert expected is None, f"a valid HAR ({expected} entries) was refused: {scrubbed.error}"
        return
    doc = parse_output(output)
    assert isinstance(doc, dict), "output: not an object"
    assert isinstance(doc.get("log"), dict), "output: no log object"
    entries = doc["log"].get("entries")
    assert isinstance(entries, list), "output: no entries list"
    assert len(entries) == scrubbed.entries, "output: entries differ from the report's count"
    if expected is not None:
        assert len(entries) == expected, "output: entries differ from the input's"
    again, second = _run(output, check=False, indent=indent)
    assert again.error is None, f"harscrub refuses its own output: {again.error}"
    assert second == output, "scrubbing the output again changes it"  # README promises not


@given(har_inputs())
@fuzz_settings(2)
def test_pipeline_on_mutated_hars(data: bytes) -> None:
    guarded(check_pipeline)(data)


# --- target: the reader at every chunk boundary --------------------------------------------------


def _read_all(data: bytes, sizes: Sequence[int] = (), chunk_size: int = 1 << 20) -> tuple[str, Any]:
    """The reader's events, or its error message. With sizes, each read hands out at most the
    next of them (cycling), as a pipe does: short reads put chunk boundaries everywhere."""
    source = io.BytesIO(data)
    read: Callable[[int], bytes] = source.read
    if sizes:
        turn = iter(list(sizes) * (len(data) + 1))

        def read(size: int) -> bytes:
            return source.read(min(size, next(turn, 64)))

    try:
        return "events", list(HarReader(read, NAME, chunk_size=chunk_size))
    except HarscrubError as e:
        check_message(e, data)
        return "error", str(e)


READS = st.tuples(
    st.binary(max_size=0) | har_inputs(),
    st.lists(st.integers(1, 64), min_size=1, max_size=8),
    st.integers(1, 64),
)


def check_chunked_reader(case: tuple[bytes, list[int], int]) -> None:
    """Small chunks and short reads give the events (or the error) that one big read gives:
    the layout shortcuts guess from what the buffer holds, and must never guess differently."""
    data, sizes, chunk_size = case
    whole = _read_all(data)
    chunked = _read_all(data, sizes, chunk_size)
    assert whole[0] == chunked[0], f"chunked reading gives {chunked[0]}, one read {whole[0]}"
    if whole[0] == "error" and "not valid UTF-" in whole[1] + chunked[1]:
        # UTF-16/32 is decoded as it is read: how far ahead a read goes decides whether bad
        # text or bad JSON before it is met first. Either is a fair first complaint.
        return
    if whole[0] == "error":  # messages never quote input (check_message): fine to show
        assert whole == chunked, (
            f"chunked reading gives another error: {chunked[1]!r}, not {whole[1]!r}"
        )
    assert whole == chunked, "chunked reading gives other events"


@given(READS)
@fuzz_settings(2)
def test_reader_at_any_chunk_boundary(case: tuple[bytes, list[int], int]) -> None:
    guarded(check_chunked_reader)(case)


# --- target: body codecs ----------------------------------------------------------------------

MIMES = [
    "application/json", "application/json; charset=utf-8", "application/vnd.api+json",
    "application/x-ndjson", "application/x-www-form-urlencoded", "multipart/form-data",
    "multipart/form-data; boundary=b0", 'multipart/form-data; boundary="b 0"', "text/html",
    "application/xhtml+xml", "application/javascript", "text/xml", "text/plain",
    "application/graphql", "image/png", "application/octet-stream", "", ";", "/", "JSON",
]  # fmt: skip

BODY_SEEDS = [
    ("application/json", f'{{"password": "{CANARY}", "a": [1, {{"token": "{CANARY}"}}]}}'),
    ("application/json", f'[{{"name": "stateHandle", "value": "{CANARY}"}}, {{"pin": 123456}}]'),
    ("application/json", '{"s": "\\ud83d\\ude00\\u002e\\/\\"", "n": -1.5e3, "k": null}'),
    ("application/x-ndjson", f'{{"event": "login", "token": "{CANARY}"}}\n{{"page": 2}}\n'),
    ("application/x-www-form-urlencoded", f"a=1&password={CANARY}&r=https%3A%2F%2Fx%2F%3Fc%3D1"),
    (
        "multipart/form-data; boundary=b0",
        f'--b0\r\nContent-Disposition: form-data; name="password"\r\n\r\n{CANARY}\r\n--b0--\r\n',
    ),
    ("text/html", f'<input type="hidden" name="csrf" value="{CANARY}"><p>&amp;&#233;</p>'),
    ("application/javascript", f"const token = \"{CANARY}\"; api_key='{CANARY}'; x=1"),
    ("text/xml", f"<Response><SessionToken>{CANARY}</SessionToken></Response>"),
    ("text/plain", f"Authorization: Bearer {BEARER_CANARY}\nhttps://u:{CANARY}@x.test/?sig=a"),
    ("application/graphql", f'mutation {{ login(password: "{CANARY}") {{ token }} }}'),
]

NASTY_TEXT = [
    "\ud800", "\udfff", "\\ud800", "\\ud83d\\ude00", "\\u", "\\", '"', "'", "\x00", "\r\n\r\n",
    "%", "%E9", "%ED%A0%80", "%C0%AF", "%F4%90%80%80", "%%", "%2", "+", "=", "&", "==", "&&=",
    "&#x110000;", "&#0;", "&#99999999;", "&amp", "&NotEqualTilde;", "<input name=", "</", "<",
    "--b0", "--", "\r\n--b0\r\n", "[[[[", "{{{{", "]]]]", "}}}}", "}{", ",,", "NaN", "1e999",
    "9" * 30, "https://", "https%3A%2F%2F", "%2Fcb%3Fcode%3D", "?code=", "#access_token=",
    "://", "@", ";jsessionid=", "password", "token", ": ", '": "', " = '", "Bearer ",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "ghp_" + "A1b2" * 9, LEARNT, CANARY,
    "é", "\u2028", "\ufeff", "\U0001f600", "\t", "\n",
]  # fmt: skip


@st.composite
def mutated_text(draw: st.DrawFn, seeds: Sequence[str]) -> str:
    """A seed with a few edits: nasty pieces inserted or replacing a range, ranges deleted,
    duplicated or cut off, random text inserted."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(text)))
        end = at + draw(st.integers(1, 32))
        match draw(st.integers(0, 5)):
            case 0:
                text = text[:at] + draw(st.sampled_from(NASTY_TEXT)) + text[at:]
            case 1:
                text = text[:at] + draw(st.sampled_from(NASTY_TEXT)) + text[end:]
            case 2:
                text = text[:at] + text[end:]
            case 3:
                text = text[:at] + text[at:end] * draw(st.integers(2, 4)) + text[at:]
            case 4:
                text = text[:at]
            case _:
                text = text[:at] + draw(st.text(max_size=12)) + text[at:]
    return text


def texts(seeds: Sequence[str]) -> st.SearchStrategy[str]:
    """Mutated realistic text, random text, and random text over the characters that matter."""
    return st.one_of(
        mutated_text(seeds),
        mutated_text(seeds),
        st.text(max_size=200),
        st.lists(st.sampled_from(NASTY_TEXT) | st.text(max_size=4), max_size=20).map("".join),
    )


OPTIONS = st.builds(
    Options,
    placeholder=st.sampled_from(["tag", "mask", "drop"]),
    keep_jwt_claims=st.booleans(),
    allow_values=st.sampled_from([frozenset(), frozenset({CANARY})]),
    allow_names=st.sampled_from([frozenset(), frozenset({"password"})]),
    allow_hosts=st.sampled_from([frozenset(), frozenset({".x.test"})]),
    key=st.just(KEY),
)


def scanner(options: Options) -> Scrubber:
    """A Scrubber as a run has it after its first pass: it knows one removed cookie."""
    scan = Scrubber(RULES, options)
    scan.learn(entry(request_headers=[header("Cookie", f"sid={LEARNT}")]))
    return scan


def check_spans(spans: Any, text: str) -> None:
    """The Span contract: a list of Spans, sorted, disjoint, inside text, replaced by str."""
    assert isinstance(spans, list), "spans: not a list"
    end = 0
    for span in spans:
        assert isinstance(span, Span), "spans: not a Span"
        assert isinstance(span.text, str), "spans: replacement not a str"
        assert end <= span.start <= span.end <= len(text), "spans: unsorted, overlapping or out"
        end = span.end
    assert isinstance(apply(text, spans), str)


def _json_shape(text: str) -> str | None:
    """'document' or 'lines' for text orjson reads as JSON (one document, JSON lines)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        return "document"
    try:
        for line in text.splitlines():
            if line.strip():
                orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return "lines"


BODY_CASES = st.tuples(
    texts([text for _, text in BODY_SEEDS]),
    st.sampled_from(MIMES) | st.sampled_from([m for m, _ in BODY_SEEDS]) | st.text(max_size=30),
    OPTIONS,
)


def check_body(case: tuple[str, str, Options]) -> None:
    """Every codec, on any text: spans by the contract, and JSON bodies stay JSON."""
    text, mime, options = case
    scan = scanner(options)
    assert isinstance(bodies.essence(mime), str)
    assert isinstance(bodies.is_textual(mime), bool)
    assert bodies.charset(mime) is None or isinstance(bodies.charset(mime), str)
    spans = bodies.body_spans(text, mime, scan)
    check_spans(spans, text)
    if bodies.codec_for(mime) is bodies.json_body and text.lstrip()[:1] in ("{", "["):
        shape = _json_shape(text)
        if shape is not None and spans:
            assert _json_shape(apply(text, spans)) == shape, "a JSON body is no longer JSON"
    for codec in (bodies.form_body, bodies.multipart_body, bodies.html_body, bodies.json_body):
        check_spans(codec(text, mime, scan), text)
    for place in sorted(PLACES):
        found = bodies.text_spans(text, place, scan)
        if found is not None:
            check_spans(found, text)
        check_spans(bodies.text_structure(text, scan, place), text)


@given(BODY_CASES)
@fuzz_settings(1)
def test_body_codecs_on_any_text(case: tuple[str, str, Options]) -> None:
    guarded(check_body)(case)


# --- target: escapes and URLs -----------------------------------------------------------------

CODECS: dict[str, Escapes] = {
    "query": QUERY,
    "form": FORM,
    "path": PATH,
    "html": HTML,
    "json": JSON_STRING,
}

URL_SEEDS = [
    f"https://user:{CANARY}@app.test:8443/a;jsessionid={LEARNT}/b?code={CANARY}&x=%2F#t=1",
    "https%3A%2F%2Fapp.test%2Fcb%3Fcode%3Dabc%26token%3D" + CANARY,
    f"/cb?code={CANARY}&state=%E9",
    f"https://[::1]:80/#/callback?access_token={CANARY}&state=/d?tab=1",
    "x=1&&=&a==b&%ZZ=%E9%ED%A0%80&+=+",
    f'caf\\u00e9 \\\\ \\ud800 \\" &#x41;&amp &lt;{CANARY}',
]

ESCAPE_CASES = st.tuples(
    st.sampled_from(sorted(CODECS)),
    texts(URL_SEEDS),
    st.lists(st.integers(0, 300), max_size=6),
    OPTIONS,
)


def check_escapes_and_urls(case: tuple[str, str, list[int], Options]) -> None:
    """Decoding gives str; spans found in decoded text map back inside the raw text; what a
    codec encodes decodes back; URL and parameter scans keep the Span contract."""
    name, raw, cuts, options = case
    codec = CODECS[name]
    decoded = codec.decode(raw)
    assert isinstance(decoded, str)
    # Spans a scan might return: between sorted cut points in the decoded text, non-empty.
    points = sorted({min(c, len(decoded)) for c in cuts})
    wanted = [Span(a, b, "[X]", ()) for a, b in zip(points[::2], points[1::2], strict=False)]
    wanted = [s for s in wanted if s.start < s.end]
    got = codec.spans(raw, lambda text: wanted if text == decoded else [])
    assert len(got) == len(wanted), "spans: some lost in mapping back"
    for span in got:
        assert 0 <= span.start < span.end <= len(raw), "spans: mapped outside the raw text"
    # Surrogates cannot be percent-encoded (no UTF-8 for them); a replacement never holds one.
    plain = decoded.encode("utf-8", "replace").decode("utf-8")
    assert codec.decode(codec.encode(plain)) == plain, "encode, then decode, is not the identity"
    scan = scanner(options)
    assert isinstance(is_url(raw), bool)
    assert isinstance(is_encoded_url(raw), bool)
    found = scrub_url(raw, scan)
    if found is not None:
        check_spans(found, raw)
    for place in ("query", "form"):
        check_spans(params(raw, 0, scan, place, codec), raw)


@given(ESCAPE_CASES)
@fuzz_settings(1)
def test_escapes_and_urls_on_any_text(case: tuple[str, str, list[int], Options]) -> None:
    guarded(check_escapes_and_urls)(case)


# --- target: whole entries through the Scrubber ----------------------------------------------

CHARSETS = [
    "utf-8", "latin-1", "utf-16", "utf-32", "ascii", "cp1252", "shift_jis", "iso-2022-jp",
    "utf-7", "idna", "punycode", "undefined", "base64", "rot13", "unicode_escape", "hz",
    "no-such-charset", "UTF8",
]  # fmt: skip
STRINGS = (
    st.sampled_from([CANARY, LEARNT, BEARER_CANARY, f"Bearer {BEARER_CANARY}", f"sid={LEARNT}"])
    | st.sampled_from(URL_SEEDS)
    | st.sampled_from([text for _, text in BODY_SEEDS])
    | texts(NASTY_TEXT)
)
KEYS = st.sampled_from(
    ["name", "value", "text", "url", "mimeType", "encoding", "headers", "cookies", "params",
     "password", "_initiator", "comment", "a" * 20, f"{LEARNT}x", "eyJhbGciOiJIUzI1NiJ9.x"]
) | st.text(max_size=8)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | STRINGS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=16,
)  # fmt: skip
# Where an entry's parts sit; each may be replaced by any JSON value (a wrong type included).
ENTRY_PATHS = [
    ("request",), ("response",), ("request", "url"), ("request", "headers"),
    ("request", "cookies"), ("request", "queryString"), ("request", "postData"),
    ("request", "postData", "params"), ("request", "postData", "text"), ("response", "headers"),
    ("response", "cookies"), ("response", "content"), ("response", "content", "text"),
    ("response", "content", "mimeType"), ("response", "redirectURL"), ("_webSocketMessages",),
    ("_initiator",), ("request", "headers", 0), ("request", "headers", 0, "value"),
]  # fmt: skip


@st.composite
def har_entries(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic entry: headers, cookies, a query, a form or JSON post and a body (often in
    base64 under a declared charset), then a few of its parts replaced by any JSON value."""
    value = partial(draw, STRINGS)
    e = entry(
        draw(st.sampled_from(URL_SEEDS) | STRINGS),
        request_headers=[
            header(draw(st.sampled_from(["Cookie", "Authorization", "X-Note", ""])), value())
            for _ in range(draw(st.integers(0, 3)))
        ],
        response_headers=[header("Set-Cookie", value())] if draw(st.booleans()) else None,
        request_cookies=[{"name": draw(KEYS), "value": value()}],
    )
    e["request"]["queryString"] = [{"name": draw(KEYS), "value": value()}]
    mime = draw(st.sampled_from(MIMES))
    e["request"]["postData"] = {
        "mimeType": mime,
        "text": value(),
        "params": [
            {"name": draw(KEYS), "value": value(), "contentType": draw(st.sampled_from(MIMES))}
        ],
    }
    text = value()
    content: dict[str, Any] = {"mimeType": draw(st.sampled_from(MIMES)), "text": text}
    if draw(st.booleans()):
        charset = draw(st.sampled_from(CHARSETS))
        content["mimeType"] = (
            f"{draw(st.sampled_from(['text/plain', 'application/json']))}; charset={charset}"
        )
        raw = draw(st.binary(max_size=64) | st.just(text.encode("utf-8", "surrogatepass")))
        content.update(encoding="base64", text=base64.b64encode(raw).decode())
        if draw(st.booleans()):  # wrapped at 76 characters, as MIME writes base64
            wrapped = content["text"]
            content["text"] = "\r\n".join(wrapped[i : i + 76] for i in range(0, len(wrapped), 76))
    e["response"]["content"] = content
    for path in draw(st.lists(st.sampled_from(ENTRY_PATHS), max_size=3)):
        holder: Any = e
        for step in path[:-1]:
            holder = (
                holder[step] if isinstance(holder, dict | list) and _has(holder, step) else None
            )
        last = path[-1]
        if (isinstance(holder, dict) and isinstance(last, str)) or (
            isinstance(holder, list) and _has(holder, last)
        ):
            holder[last] = draw(JSON_VALUES)  # JSON keys are strings: no int key in a dict
    return e


def _has(holder: dict[str, Any] | list[Any], step: str | int) -> bool:
    if isinstance(holder, list):
        return isinstance(step, int) and step < len(holder)
    return isinstance(step, str) and step in holder


ENTRY_CASES = st.tuples(st.lists(har_entries(), min_size=1, max_size=3), OPTIONS, JSON_VALUES)


def check_entries(case: tuple[list[dict[str, Any]], Options, Any]) -> None:
    """The Scrubber as api.py drives it (learn every entry, then scrub each, then the log's
    members) takes any entry shape and leaves something the writer can encode."""
    entries, options, member = case
    scan = Scrubber(RULES, options)
    for e in entries:
        scan.learn(copy.deepcopy(e))
    for i, e in enumerate(entries):
        findings = scan.scrub_entry(e, i)
        assert isinstance(findings, list), "findings: not a list"
        jsoncodec.dumps(e, indent=True)
    value, findings = scan.scrub_member("log.", "_vendor", member)
    assert isinstance(findings, list), "findings: not a list"
    jsoncodec.dumps(value, indent=False)


@given(ENTRY_CASES)
@fuzz_settings(1)
def test_scrubber_on_any_entry(case: tuple[list[dict[str, Any]], Options, Any]) -> None:
    guarded(check_entries)(case)


# --- the targets, for benchmarks/fuzz.py -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One fuzzing target: a strategy of inputs (seeded from extra material when given) and the
    property each must keep. reproduce() is what a saved reproduction calls."""

    name: str
    strategy: Callable[[Sequence[bytes], Sequence[tuple[str, str]]], st.SearchStrategy[Any]]
    check: Callable[[Any], None]

    def reproduce(self, value: Any, seconds: float = HANG_SECONDS) -> None:
        with time_limit(seconds):
            self.check(value)


def _reads(seeds: Sequence[bytes]) -> st.SearchStrategy[tuple[bytes, list[int], int]]:
    return st.tuples(
        har_inputs(seeds), st.lists(st.integers(1, 64), min_size=1, max_size=8), st.integers(1, 64)
    )


def _bodies(extra: Sequence[tuple[str, str]]) -> st.SearchStrategy[tuple[str, str, Options]]:
    seeds = BODY_SEEDS + list(extra)
    mimes = st.sampled_from(MIMES) | st.sampled_from([m for m, _ in seeds]) | st.text(max_size=30)
    # A real body goes with its own type more often than not.
    paired = st.sampled_from(seeds).flatmap(
        lambda s: st.tuples(mutated_text([s[1]]), st.just(s[0]))
    )
    cases = paired | st.tuples(texts([t for _, t in seeds]), mimes)
    return st.tuples(cases, OPTIONS).map(lambda c: (c[0][0], c[0][1], c[1]))


TARGETS: dict[str, Target] = {
    "pipeline": Target("pipeline", lambda hars, _: har_inputs(SEEDS + list(hars)), check_pipeline),
    "reader": Target("reader", lambda hars, _: _reads(SEEDS + list(hars)), check_chunked_reader),
    "bodies": Target("bodies", lambda _, texts_: _bodies(texts_), check_body),
    "escapes": Target("escapes", lambda _, __: ESCAPE_CASES, check_escapes_and_urls),
    "entries": Target("entries", lambda _, __: ENTRY_CASES, check_entries),
}


@given(st.data())
@fuzz_settings(0.1)
def test_targets_take_seeds_from_outside(data: st.DataObject) -> None:
    """benchmarks/fuzz.py seeds every target from the real corpus: HARs and bodies."""
    for target in TARGETS.values():
        value = data.draw(target.strategy([SECRET_HAR], [("text/plain", f"token={CANARY}")]))
        guarded(target.check)(value)


def test_seeds_are_valid_hars_in_every_layout() -> None:
    """The mutators start from HARs harscrub reads: a seed it refused would fuzz only the
    error paths."""
    for data in SEEDS:
        check_pipeline(data)
        assert expected_entries(data) is not None


def test_a_hang_is_reported_as_such() -> None:
    def forever(_: object) -> None:
        while True:
            pass

    with pytest.raises(Hang):
        Target("forever", lambda _, __: st.none(), forever).reproduce(None, seconds=0.2)


# --- regression tests: crashes fuzzing found --------------------------------------------------


def _base64_entry(charset: str, payload: bytes) -> bytes:
    """A HAR whose one body is payload in base64, of a textual type in charset."""
    e = entry()
    e["response"]["content"] = _body(
        f"text/plain; charset={charset}", base64.b64encode(payload).decode(), encoding="base64"
    )
    return json.dumps(har(e)).encode()


def _scrubs(data: bytes) -> None:
    out = io.BytesIO()
    scrub_stream(io.BytesIO(data), out, name=NAME, ruleset=RULES, options=Options(key=KEY))
    assert len(parse_output(out.getvalue())["log"]["entries"]) == 1


# Each test below was an xfail(strict=True) while its bug was open; the commit that fixed it
# turned it into a plain test.


# Exit 3 on any base64 body declared in these charsets: places._base64_text caught
# UnicodeDecodeError and LookupError, but these codecs raise their base class, UnicodeError.
# Fixed in 84b5880.
@pytest.mark.parametrize("charset", ["undefined", "punycode"])
def test_regression_base64_body_in_a_charset_that_cannot_decode_it(charset: str) -> None:
    _scrubs(_base64_entry(charset, b"password=x"))


# Exit 3: places._body re-encoded the redacted text in the body's charset and caught nothing;
# 'idna' decodes a label of 64+ characters but will not encode one ("label too long").
# Fixed in be1a780 (written back in UTF-8).
def test_regression_base64_body_in_a_charset_that_cannot_encode_it_back() -> None:
    _scrubs(_base64_entry("idna", b"password=hunter2hunter2\n" + b"x" * 70))


# A DeprecationWarning (an error under -W error, and in later Pythons) on any base64 body
# declared "unicode_escape" holding a backslash the codec does not know, such as JSON's "\/".
# Python's own codecs are no web charset: such a body is now read as UTF-8.
def test_regression_base64_body_declared_in_a_python_only_codec() -> None:
    payload = b'{"s": "a\\/b", "password": "hunter2hunter2"}'
    out = io.BytesIO()
    data = _base64_entry("unicode_escape", payload)
    scrub_stream(io.BytesIO(data), out, name=NAME, ruleset=RULES, options=Options(key=KEY))
    [e] = parse_output(out.getvalue())["log"]["entries"]
    body = base64.b64decode(e["response"]["content"]["text"])
    assert b"hunter2hunter2" not in body
    assert body.startswith(b'{"s": "a\\/b", "password": "[REDACTED:')


# HarReader._more asked read() for max(chunk, pending) bytes so that the buffer doubles while
# a value is scanned again from its start, but took a short read (a pipe, a socket, any raw
# stream) as it came: _take rescanned the value after every read, O(n^2 / r) for n bytes in
# r-byte reads (25 KB in 1-byte reads: 6 s; 100 KB: 115 s). Fixed in 731bd6e.
def test_regression_short_reads_cost_time_linear_in_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = json.dumps(har({"response": {"content": {"text": "x" * (64 << 10)}}})).encode()
    buffered = 0  # bytes in the buffer after each read: what the scanner may go over again
    more = HarReader._more

    def counting_more(self: HarReader) -> bool:
        nonlocal buffered
        got = more(self)
        buffered += len(self._buf) - self._pos
        return got

    monkeypatch.setattr(HarReader, "_more", counting_more)
    source = io.BytesIO(data)
    events = list(HarReader(lambda size: source.read(min(size, 64)), NAME, chunk_size=64))
    assert [e.index for e in events if isinstance(e, Entry)] == [0]
    assert buffered < 8 * len(data)


# HarReader._not_an_object matched _JSONP against whatever the buffer held; _detect_encoding
# reads only 4 bytes, so with short first reads a JSONP file got the generic "expected '{'"
# instead of the message saying what to export. Fixed in 731bd6e.
@pytest.mark.parametrize("chunk_size", [1, 7])
def test_regression_jsonp_is_named_whatever_the_first_read_holds(chunk_size: int) -> None:
    data = b'onInputData({"log": {"version": "1.2", "entries": []}});'
    source = io.BytesIO(data)
    with pytest.raises(HarscrubError, match="wrapped in a JavaScript call"):
        list(HarReader(source.read, NAME, chunk_size=chunk_size))
