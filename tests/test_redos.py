"""Hostile input: megabytes of the runs that make backtracking regexes slow go through the whole
pipeline and come out; the patterns once found quadratic stay linear.

Why: a HAR is untrusted (any server can put megabytes in a header or a body) and harscrub runs
two backtracking engines, ``re`` and ``regex``, over every value and name in it. A pattern with
overlapping quantifiers turns such input into a hang. benchmarks/redos.py measures every pattern
alone and the pipeline from 0.25 to 4 MB; this file keeps CI from shipping a hang.

The guard on the runs below is a hang detector, not a speed assertion: a case fails only past 20
seconds of wall clock, where linear behaviour takes well under a second a place (0.01 to 0.5 s
of CPU for 1 MB, 1.8 s for 250,000 cookies, on a shared 2-core machine). Both engines check for
signals while they match, so the alarm stops a pattern in the middle of its backtracking.
"""

from __future__ import annotations

import base64
import io
import json
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import orjson
import pytest

from harscrub.api import scrub_stream
from harscrub.options import Options
from harscrub.rules import Ruleset, load_ruleset, normalize

from .factories import entry, har_bytes, header

MB = 1_000_000  # characters
HANG_SECONDS = 20.0  # wall clock, per case


class Hang(Exception):
    """Raised by the guard's alarm inside the guarded block."""


@contextmanager
def guard(seconds: float, *, cpu: bool = False) -> Iterator[None]:
    """Raise Hang in the block after seconds of wall clock, or of this process's CPU time."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal alarms work only in the main thread")
    signum, timer = (
        (signal.SIGPROF, signal.ITIMER_PROF) if cpu else (signal.SIGALRM, signal.ITIMER_REAL)
    )

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds:g} {'CPU ' if cpu else ''}seconds")

    previous = signal.signal(signum, alarm)
    signal.setitimer(timer, seconds)
    try:
        yield
    finally:
        signal.setitimer(timer, 0)
        signal.signal(signum, previous)


def run_of(unit: str, n: int, prefix: str = "") -> str:
    """prefix, then unit repeated: about n characters, whole units only (a name cut inside
    "otpx" could end with "otp", which a pattern then matches at once)."""
    return prefix + unit * max(1, (n - len(prefix)) // len(unit))


# --- where a text goes -----------------------------------------------------------------------

Place = Callable[[str], dict[str, Any]]
_BOUNDARY = "----redosBoundary7MA4YWxk"


def _entry(request: dict[str, Any] | None = None, **response: Any) -> dict[str, Any]:
    """A minimal entry with these request fields and these response fields."""
    item = entry()
    item["request"].update(request or {})
    item["response"].update(response)
    return item


def _post(mime: str, body: str) -> dict[str, Any]:
    return _entry({"postData": {"mimeType": mime, "text": body}})


def _content(mime: str, body: str, **extra: str) -> dict[str, Any]:
    return _entry(content={"size": len(body), "mimeType": mime, "text": body, **extra})


def _multipart(text: str) -> dict[str, Any]:
    body = (
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{text}\r\n'
        f"--{_BOUNDARY}--\r\n"
    )
    return _post(f"multipart/form-data; boundary={_BOUNDARY}", body)


_FORM = "application/x-www-form-urlencoded"
# Every place a value is scanned, and every name a value sits under (each rule's name regex
# is fullmatched against it).
VALUES: dict[str, Place] = {
    "header": lambda t: _entry({"headers": [header("X-Data", t)]}),
    "cookie": lambda t: _entry(
        {"headers": [header("Cookie", f"theme={t}")], "cookies": [{"name": "theme", "value": t}]},
        headers=[header("Set-Cookie", f"id={t}; Path=/")],
    ),
    "query": lambda t: _entry(
        {"url": f"https://app.test/p?page=1&q={t}", "queryString": [{"name": "q", "value": t}]}
    ),
    "json": lambda t: _post("application/json", json.dumps({"data": t})),
    "text": lambda t: _content("text/plain", t),
    "form": lambda t: _post(_FORM, f"a=1&data={t}"),
    "base64": lambda t: _content(
        "text/plain; charset=utf-8", base64.b64encode(t.encode()).decode(), encoding="base64"
    ),
    "html": lambda t: _content("text/html", t),
    "multipart": _multipart,
    "websocket": lambda t: _entry(_webSocketMessages=[{"type": "receive", "time": 1, "data": t}]),
}
NAMES: dict[str, Place] = {
    "header-name": lambda t: _entry({"headers": [header(t, "1")]}),
    "cookie-name": lambda t: _entry(
        {"headers": [header("Cookie", f"{t}=1")], "cookies": [{"name": t, "value": "1"}]}
    ),
    "query-name": lambda t: _entry(
        {"url": f"https://app.test/p?{t}=1", "queryString": [{"name": t, "value": "1"}]}
    ),
    "json-key": lambda t: _post("application/json", json.dumps({t: "1"})),
    "form-name": lambda t: _post(_FORM, f"{t}=1&a=1"),
}
PLACES = {**VALUES, **NAMES}


def scrub(data: bytes, ruleset: Ruleset) -> bytes:
    out = io.BytesIO()
    scrub_stream(io.BytesIO(data), out, ruleset=ruleset, options=Options(keep_findings=False))
    return out.getvalue()


# --- hostile runs through the whole pipeline -------------------------------------------------

ALL_VALUES = tuple(VALUES)
# (unit repeated to 1 MB, places it goes to, prefix). Each place gets its own entry.
RUNS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "eyJ": ("eyJ", ALL_VALUES, ""),  # a JWT start, again and again
    # JWT segments that never decode; a name is scanned for token shapes too.
    "eyJhbGciOi.": ("eyJhbGciOi.", (*ALL_VALUES, "header-name", "json-key"), ""),
    "%3D": ("%3D", (*ALL_VALUES, "query-name"), ""),  # one long escape run; names are decoded
    "-": ("-", ALL_VALUES, ""),
    "=": ("=", ALL_VALUES, ""),
    "a": ("a", (*ALL_VALUES, *NAMES), ""),
    ".": (".", ALL_VALUES, ""),
    "Bearer x": ("x", ALL_VALUES, "Bearer "),
    "%": ("%", ALL_VALUES, ""),
    "\\u00": ("\\u00", ALL_VALUES, ""),  # a JSON escape never finished
    # 250,000 cookies: 1.8 s, and 0.6 s in any other place, so only where cookies are split.
    "a=b;": ("a=b;", ("cookie",), ""),
    "base64": ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", ALL_VALUES, ""),
    "ghp_": ("ghp_", ALL_VALUES, ""),  # a token prefix with no token after it
    ":": (":", ALL_VALUES, ""),
    '"': ('"', ALL_VALUES, ""),
    "{": ("{", ALL_VALUES, ""),
    "[": ("[", ALL_VALUES, ""),
    "blanks": (" \t\r\n", ALL_VALUES, "x"),  # a value of blanks alone is skipped: one letter first
}


@pytest.mark.parametrize("run", RUNS, ids=lambda run: run.encode("unicode_escape").decode())
def test_a_megabyte_of_hostile_text_goes_through_every_place(run: str, ruleset: Ruleset) -> None:
    unit, places, prefix = RUNS[run]
    text = run_of(unit, MB, prefix)
    data = har_bytes(*(PLACES[place](text) for place in places))
    with guard(HANG_SECONDS):
        out = scrub(data, ruleset)
    entries = orjson.loads(out)["log"]["entries"]
    assert len(entries) == len(places)


def test_every_place_is_covered() -> None:
    """Each place gets at least one megabyte-long run above."""
    covered = {place for _, places, _ in RUNS.values() for place in places}
    assert covered == set(PLACES)


# --- patterns found quadratic (benchmarks/redos.py) ------------------------------------------
# Each runs its pattern on a text that took it seconds of CPU when it was quadratic, under a
# budget the linear pattern meets several times over. A CPU-time budget, so that other
# processes' load cannot make a linear pattern look slow.

# Rule names: in the regex module (unlike re), fullmatch of a greedy `.*LITERAL` backtracks in
# O(n) for each occurrence of LITERAL in a name that does not end with it: O(n^2) in all, and
# names are unbounded (a header name, a JSON key, a query or form parameter name). 9 of the 16
# built-in name regexes were so (a 1 MB header name of "otpx" took the pipeline 13 s); a lazy
# `.*?` accepts the same names in linear time, and every leading `.*` is now lazy. These keep
# every rule, built-in or added later, so.
NAME_BUDGET = 1.0  # CPU seconds; the lazy patterns take 0.01 to 0.2 s here, greedy ones 4 s+
_LEADING_LITERAL = re.compile(r"\.\*\??\(?([a-z0-9]+)")  # the word after a leading .* or .*(


def _leading_literals(ruleset: Ruleset) -> list[tuple[str, str]]:
    return [
        (rule.id, word)
        for rule in ruleset.rules
        if rule.name is not None
        for word in dict.fromkeys(_LEADING_LITERAL.findall(rule.name.pattern))
    ]


@pytest.mark.parametrize(("rule_id", "word"), _leading_literals(load_ruleset()))
def test_a_long_name_is_matched_in_linear_time(rule_id: str, word: str, ruleset: Ruleset) -> None:
    rule = next(r for r in ruleset.rules if r.id == rule_id)
    assert rule.name is not None
    name = normalize(run_of(word + "x", 1_500_000))  # the word again and again, never last
    with guard(NAME_BUDGET, cpu=True):
        rule.name.fullmatch(name)  # matches or not (".*?sess.*" does): only the time counts


def test_a_megabyte_header_name_goes_through_the_pipeline(ruleset: Ruleset) -> None:
    """The name rules' case through the whole pipeline: 13 s with greedy `.*`, 0.2 s now."""
    data = har_bytes(PLACES["header-name"](run_of("otpx", MB)))
    with guard(NAME_BUDGET, cpu=True):
        out = scrub(data, ruleset)
    assert len(orjson.loads(out)["log"]["entries"]) == 1


# Rule private-key (rules/tokens.toml), still quadratic-like: after a BEGIN line with no footer,
# it looks ahead for up to three header lines, and a header value [^\r\n\\]{1,200} may end at
# any blank, where the next "a:" starts the next header line: ~300,000 paths per BEGIN line on
# " a: a: a: ...", about 40 ms each (a megabyte: minutes). Taken possessively, stopping only at
# a blank before the next "Name:" or the base64 body, the value has one path and the lookahead
# finds the same blocks (the rule's examples, every corpus string, flattened and PGP blocks):
#   [A-Za-z-]{1,32}:[^\r\n\\](?:[^\r\n\\ \t]|[ \t](?!(?:\s|\\[rn]){0,3}
#   (?:[A-Za-z-]{1,32}:|[A-Za-z0-9+/=]{40}))){0,199}+(?:\s|\\[rn]){1,4}
PEM_RUN = "-----BEGIN PRIVATE KEY-----" + " a:" * 70
PEM_BUDGET = 0.5  # CPU seconds; 32,000 characters took 5 s before b3ec756, 0.005 s since


def test_pem_headers_are_matched_in_linear_time(ruleset: Ruleset) -> None:
    rule = next(r for r in ruleset.rules if r.id == "private-key")
    assert rule.detector is not None
    text = run_of(PEM_RUN, 32_000)
    with guard(PEM_BUDGET, cpu=True):
        assert list(rule.detector.find(text)) == []


def test_pem_headers_go_through_the_pipeline(ruleset: Ruleset) -> None:
    """The same through the whole pipeline, in a text body: 5 s before b3ec756, 0.01 s since."""
    data = har_bytes(PLACES["text"](run_of(PEM_RUN, 32_000)))
    with guard(PEM_BUDGET, cpu=True):
        out = scrub(data, ruleset)
    assert len(orjson.loads(out)["log"]["entries"]) == 1
