"""Catastrophic backtracking: every regex harscrub runs, and its whole pipeline, on hostile text.

    python benchmarks/redos.py [--sizes 0.25,0.5,1,2,4] [--only REGEX] [--texts NAME,...]
                               [--all] [--timeout 10] [--no-patterns] [--no-pipeline] [--list]

Why: a HAR is untrusted input (any server can put megabytes in a header, a name or a body), and
harscrub runs two backtracking engines (``re`` and ``regex``) over it. A pattern with overlapping
or nested quantifiers turns a few megabytes into hours; a bounded one can still cost its bound
at every position. Nothing but a measurement at growing sizes shows which.

(a) Patterns: every compiled pattern in harscrub's modules (found by walking their globals, so a
new one is measured without editing this file), every pattern literal passed inline to ``re`` or
``regex``, and every rule's ``name``/``value`` regex and detector from the built-in packs. Each
runs the way the code runs it (MODES): scanners with finditer over the whole text, anchored
ones once, rule names fullmatched against the normalized name (normalizing is in the time). An
unknown pattern gets finditer, the strictest. --list prints them with their mode.

(b) Pipeline: the text put in one place of a HAR entry (PLACES: every value that is scanned, and
the names values sit under), scrubbed by harscrub.api.scrub_stream between io.BytesIO objects;
the output must parse and keep its entry.

The texts (adversaries(), --list shows why each is there) are the usual runs (eyJ, %3D, -, =,
...), then runs aimed at particular patterns. Sizes are millions of characters. Times are CPU
seconds of this process (the least of up to three runs), not wall time: the machine is shared,
and others' load made linear rows look superlinear. Linear work gives t(4)/t(1) near 4. A row
is flagged SUPERLINEAR when that ratio (largest size over a quarter of it) is above 6 with the
quarter-size time at least 0.02 s (CPU time is counted in steps of up to 4 ms here: below
that, the steps decide the ratio), and keeps the flag only if a second measurement agrees;
SLOW when one run takes more than 3 s; TIMEOUT when a run passes --timeout CPU seconds
(SIGPROF; the larger sizes of that row are skipped). Pattern rows print only when they take
0.05 s or more at the largest size or are flagged (--all prints every row). Exit status 1
when anything is flagged.

A full run (about 55 texts, 157 patterns, 15 places, 5 sizes) takes the better part of an hour
of CPU; narrow it with --only (a regex searched in "pattern|text" or "pipeline:place|text"),
--texts and --sizes.
"""

from __future__ import annotations

import argparse
import ast
import base64
import functools
import gc
import importlib
import inspect
import io
import json
import math
import pkgutil
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import regex

import harscrub
from harscrub.api import scrub_stream
from harscrub.options import Options
from harscrub.plugins import RegexDetector
from harscrub.rules import Ruleset, load_ruleset, normalize

MB = 1_000_000  # characters
NOISE_FLOOR = 0.05  # seconds: pattern rows quicker than this at the largest size are not shown
# CPU time is counted in steps of up to 4 ms on this (virtual, shared) machine: a ratio whose
# base time is below this is not trusted to flag a row.
TRUSTED_BASE = 0.02
MAX_RATIO = 6.0  # linear is 4 for four times the text
SLOW = 3.0  # seconds for one run: worth a look whatever the ratio
PatternType = re.Pattern | regex.Pattern


# --- adversarial texts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adversary:
    """A text of a given length: prefix, then unit repeated, then suffix."""

    name: str
    unit: str
    prefix: str = ""
    suffix: str = ""
    why: str = ""

    def text(self, n: int) -> str:
        """About n characters, whole units only: a text cut inside a unit may end with a literal
        a pattern needs last (a name ending in "sid" matches at once), and one size would
        then measure something else than the next."""
        room = max(0, n - len(self.prefix) - len(self.suffix))
        return self.prefix + self.unit * max(1, room // len(self.unit)) + self.suffix


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _keywords(ruleset: Ruleset) -> str:
    """Every rule keyword once, so that every value regex runs in the pipeline too."""
    words = sorted({k for r in ruleset.rules for k in r.keywords})
    return " ".join(words) + " "


def _name_words(ruleset: Ruleset) -> str:
    """The words of every rule's name regex, each followed by a letter that ends no name."""
    words = {w for r in ruleset.rules if r.name for w in re.findall(r"[a-z]{3,}", r.name.pattern)}
    return "x".join(sorted(words)) + "x"


def adversaries(ruleset: Ruleset) -> list[Adversary]:
    """The usual suspects first (JWT starts, escapes, separators, padding, token prefixes,
    brackets, blanks), then runs aimed at particular patterns; `why` says which."""
    return [
        Adversary("eyJ", "eyJ", why="JWT start: detect._JWT, redact._DONE, grafana/mapbox/ops"),
        Adversary("%3D", "%3D", why="percent-escape runs: escapes.QUERY/FORM/PATH, urls"),
        Adversary("-", "-", why="in most token classes; private-key's '-(?!----)'"),
        Adversary("=", "=", why="padding '=*' after token classes; pair separators"),
        Adversary("a", "a", why="a token character everywhere"),
        Adversary(".", ".", why="JWT/ya29/vault separators"),
        Adversary("eyJhbGciOi.", "eyJhbGciOi.", why="JWT segments that never decode"),
        Adversary("Bearer x", "x", prefix="Bearer ", why="bearer-in-text, redact._SCHEME"),
        Adversary("%", "%", why="an escape marker with no hex after it"),
        Adversary("\\u00", "\\u00", why="JSON escape prefix: escapes.JSON_STRING"),
        Adversary("a=b;", "a=b;", why="cookie-ish pairs: Cookie header, _BARE_PAIR"),
        Adversary("base64", _B64 + "+/", why="base64 alphabet: saml, aws-session, copies"),
        Adversary("base64url", _B64 + "-_", why="base64url alphabet: JWT, gcp, gitlab"),
        Adversary("ghp_", "ghp_", why="a token prefix again and again"),
        Adversary("prefixes", _keywords(ruleset), why="every rule keyword: every value regex"),
        Adversary(":", ":", why="header/pair separator"),
        Adversary('"', '"', why="string delimiters: _STRING, _PAIR_VALUE, reader"),
        Adversary("{", "{", why="JSON openers, not JSON"),
        Adversary("[", "[", why="JSON openers; a name character of _BARE_PAIR"),
        Adversary("space", " ", why="blank only: skipped by the engine"),
        Adversary("a ", "a ", why="words and blanks"),
        Adversary("\\n", "\n", why="(?m)^ of _HEADER_LINE and _PART_TYPE at every line"),
        Adversary("ws", " \t\r\n", why="every blank: \\s runs, [ \\t]* before ':'"),
        Adversary("a[…=", "a[", suffix="=1", why="_BARE_PAIR: '[' a name char, not lookbehind"),
        Adversary("a…://", "a", suffix="://x", why="_EMBEDDED_URL: SCHEME{0,31} tried everywhere"),
        Adversary("\\", "\\", why="escape runs: JSON_STRING, _PAIR_VALUE, reader"),
        Adversary('a="', 'a="', why="quoted pairs: _PAIR_SEPARATOR/_PAIR_NAME/_PAIR_VALUE"),
        Adversary("a='", "a='", why="quoted pairs, the other quote"),
        Adversary('a: "x\\', 'a: "x\\', why="_PAIR_VALUE escapes that never close"),
        Adversary("<a>…</", "<a>", suffix="x</", why="_ELEMENT open tags, one close"),
        Adversary("<input ", "<input a=", why="html _TAG and _ATTRIBUTE"),
        Adversary("&#", "&#", why="html entities: escapes.HTML"),
        Adversary(";a=", ";a=", why="path parameters: urls._PATH_PARAM"),
        Adversary(",a", ",a", why="Set-Cookie folding: places._SET_COOKIE_SEPARATOR lookahead"),
        Adversary("0", "0", why="number tokens, telegram-bot, jsoncodec's digit runs"),
        Adversary("+", "+", why="form '+' escapes"),
        Adversary(
            "PEM a:",
            "-----BEGIN PRIVATE KEY-----" + " a:" * 70,
            why="private-key: nested {0,3} header lines in a lookahead",
        ),
        Adversary(
            "sk-proj-T3B",
            ".sk-proj-" + "T3BlbkFJ" * 60,
            why="openai: a bounded run before a literal the run also holds",
        ),
        Adversary(
            "eyJ.64K",
            ".eyJabcd." + "a" * 65_537,
            why="detect._JWT: a segment past its {0,65536} bound",
        ),
        Adversary("redis://a:@", "redis://a:@", why="db-url: user, ':' and password classes"),
        Adversary(
            "Signature=",
            "a;" * 1000 + ",Signature=",
            why="aws-sigv4-signature: its variable-length lookbehind",
        ),
        Adversary("a: 1\\n", "a: 1\n", why="header lines in a value: _HEADER_LINE"),
        Adversary('{"a":"b"}\\n', '{"a":"b"}\n', why="JSON lines: json_spans token walk"),
        Adversary("é", "\u00e9", why="non-ASCII: copies' regex path instead of bytes"),
        Adversary("pa", "pa", why="name rule 'password': .*(password|passwd|...) on a long name"),
        Adversary("ses", "ses", why="name rule 'high-entropy-secret': .*(...|session|sess|...)"),
        Adversary("as", "as", why="name rules with .*(csrf|xsrf), .*sess.*, .*sid"),
        Adversary("name words", _name_words(ruleset), why="every name rule's words, each + 'x'"),
        *_leading_literals(ruleset),
    ]


def _leading_literals(ruleset: Ruleset) -> list[Adversary]:
    """Per name rule with a `.*LITERAL`, its last such literal again and again, never last:
    what a greedy `.*` backtracks over once per occurrence when the fullmatch fails."""
    runs = {}
    for rule in ruleset.rules:
        words = re.findall(r"\.\*\??\(?([a-z0-9]+)", rule.name.pattern) if rule.name else []
        if words:
            runs[words[-1] + "x"] = f"name rule {rule.id!r}: .*{words[-1]}"
    return [Adversary(unit, unit, why=why) for unit, why in runs.items()]


# --- the inventory ------------------------------------------------------------------------------

# How the code applies each module pattern (grep the name in src/harscrub). "finditer" also
# stands for a match() called at positions that move past each match, and for findall.
MODES: dict[str, str] = {
    "bodies._CHARSET": "search",  # on a media type
    "bodies._BOUNDARY": "search",
    "bodies._PART_HEAD": "search",  # once per multipart part
    "bodies._DISPOSITION_NAME": "search",
    "bodies._PART_TYPE": "search",
    "bodies._PAIR_NAME": "search",  # in a 66-character window; the whole text is stricter
    "bodies._ONE_HEADER": "match",
    "bodies._STRUCTURE": "search",
    "copies._DIGIT": "search",
    "copies._LETTER": "search",
    "copies._ASCII_TOKEN_CHAR": "match",  # on single characters, at import
    "detect._TOKEN_CHARS": "fullmatch",
    "detect._HEX": "fullmatch",
    "detect._UUID": "fullmatch",
    "detect._WORD": "fullmatch",
    "detect._SEPARATOR": "split",
    "engine._ONE_WORD": "fullmatch",
    "reader._WS": "match",
    "reader._STRING_TAIL": "match",  # just after an opening quote; None only at the buffer's end
    "reader._JSONP": "match",  # at the start of a file that is no HAR
    "reader._JSON_START": "match",
    "redact._DONE": "fullmatch",  # is_placeholder, on every value
    "redact._JWT_KEPT": "fullmatch",
    "redact._SCHEME": "match",
    # Run on rule packs (trusted configuration), never on HAR data: listed, not measured.
    "rules._ID": "rule text",
    "rules._CLASSES": "rule text",  # quadratic on a run of '[', which no real rule holds
    "rules._name_pattern():regex.search": "rule text",
    "urls.URL": "fullmatch",
    "urls._RELATIVE": "fullmatch",
    "urls._PARTS": "match",
    "urls._ENCODED": "match",
    "urls._BLANK": "search",
}


@dataclass(frozen=True, slots=True)
class Probe:
    """One pattern (or detector) and the call that runs it over a text."""

    name: str
    mode: str  # finditer, search, match, fullmatch, split, detector, or "rule text" (not run)
    run: Callable[[Any], object]
    wants_bytes: bool = False
    prepare: Callable[[str], str] | None = None  # normalize, for rule names
    source: str = ""  # the pattern, for --list

    def call(self, text: str, data: bytes) -> object:
        subject: Any = data if self.wants_bytes else text
        if self.prepare is not None:
            subject = self.prepare(text)
        return self.run(subject)


def _probe(name: str, pattern: PatternType, mode: str) -> Probe:
    """A probe that does all the work mode stands for: every match consumed."""
    run: Callable[[Any], object]
    if mode == "finditer":
        run = lambda s: sum(1 for _ in pattern.finditer(s))  # noqa: E731
    elif mode == "split":
        run = lambda s: len(pattern.split(s))  # noqa: E731
    elif mode in ("search", "match", "fullmatch"):
        run = getattr(pattern, mode)
    else:
        run = lambda s: None  # noqa: E731
    wants_bytes = isinstance(pattern.pattern, bytes)
    return Probe(name, mode, run, wants_bytes=wants_bytes, source=str(pattern.pattern))


def _defining_module(attr: str, candidates: list[Any]) -> Any:
    """The module that assigns attr at its top level (others imported it)."""
    for module in candidates:
        try:
            source = inspect.getsource(module)
        except OSError:
            continue
        if re.search(rf"^{re.escape(attr)}\b\s*(?::[^=\n]*)?=", source, re.MULTILINE):
            return module
    return candidates[0]


def _modules() -> list[Any]:
    names = sorted(m.name for m in pkgutil.iter_modules(harscrub.__path__))
    # __main__ would run the CLI on import.
    return [importlib.import_module(f"harscrub.{n}") for n in names if n != "__main__"]


def _is_pattern(value: object) -> bool:
    return isinstance(value, re.Pattern | regex.Pattern)


def module_probes() -> list[Probe]:
    """Every compiled pattern at the top level of a harscrub module, and those inside objects
    there (escapes.Escapes), then the literals passed inline to re/regex functions."""
    found: dict[int, tuple[PatternType, list[tuple[Any, str]]]] = {}
    for module in _modules():
        for attr, value in vars(module).items():
            pattern = value if _is_pattern(value) else getattr(value, "pattern", None)
            if _is_pattern(pattern):
                found.setdefault(id(pattern), (pattern, []))[1].append((module, attr))
    probes = []
    for pattern, places in found.values():
        # Where each name is assigned, not imported; one compiled object may have two names
        # (regex caches compiled patterns: escapes.QUERY and PATH share theirs).
        names = {}
        for attr in dict.fromkeys(attr for _, attr in places):
            module = _defining_module(attr, [m for m, a in places if a == attr])
            names[attr] = module.__name__.removeprefix("harscrub.")
        first = next(iter(names))
        name = f"{names[first]}.{'/'.join(names)}"
        probes.append(_probe(name, pattern, MODES.get(f"{names[first]}.{first}", "finditer")))
    return sorted(probes, key=lambda p: p.name) + inline_probes()


_CALLS = {"search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split"}


def inline_probes() -> list[Probe]:
    """Literal patterns handed to re/regex functions inside code, not kept in a global.

    Found in the source, so that a pattern written inline is measured too; named by the
    function holding it. f-strings cannot be evaluated here and are left out.
    """
    probes = []
    for module in _modules():
        try:
            tree = ast.parse(inspect.getsource(module))
        except OSError:
            continue
        short = module.__name__.removeprefix("harscrub.")
        holders = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] + [tree]
        seen: set[int] = set()
        for holder in holders:
            for node in ast.walk(holder):
                call = _inline_call(node)
                if call is None or id(node) in seen:
                    continue
                seen.add(id(node))
                engine, function, literal = call
                pattern = (re if engine == "re" else regex).compile(literal)
                where = f"{holder.name}()" if isinstance(holder, ast.FunctionDef) else "<module>"
                name = f"{short}.{where}:{engine}.{function}"
                mode = function if function in ("search", "match", "fullmatch") else "finditer"
                probes.append(_probe(name, pattern, MODES.get(name, mode)))
    return probes


def _inline_call(node: ast.AST) -> tuple[str, str, str | bytes] | None:
    """(engine, function, pattern) of a call like regex.search(r"[-_]", ...), else None."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("re", "regex")
        and node.func.attr in _CALLS
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str | bytes)
    ):
        return None
    return node.func.value.id, node.func.attr, node.args[0].value


def rule_probes(ruleset: Ruleset) -> list[Probe]:
    """Each rule's name regex (fullmatched on the normalized name, as Rule does), its value
    regex (finditer), and each Python detector's find()."""
    probes = []
    seen_detectors: set[int] = set()
    for rule in ruleset.rules:
        if rule.name is not None:
            probes.append(
                Probe(
                    f"rule:{rule.id}:name",
                    "fullmatch",
                    rule.name.fullmatch,
                    prepare=normalize,
                    source=rule.name.pattern,
                )
            )
        detector = rule.detector
        if detector is None or id(detector) in seen_detectors:
            continue
        seen_detectors.add(id(detector))
        label = (
            f"rule:{rule.id}:value"
            if isinstance(detector, RegexDetector)
            else f"detector:{rule.id}"
        )
        source = detector.pattern.pattern if isinstance(detector, RegexDetector) else repr(detector)
        probes.append(
            Probe(label, "detector", lambda s, d=detector: sum(1 for _ in d.find(s)), source=source)
        )
    return probes


# --- the pipeline -------------------------------------------------------------------------------


def _entry(edit: Callable[[dict[str, Any], dict[str, Any]], None]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": "POST",
        "url": "https://example.com/p",
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": -1,
    }
    response: dict[str, Any] = {
        "status": 200,
        "statusText": "OK",
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "cookies": [],
        "content": {"size": 0, "mimeType": "text/plain"},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
    }
    edit(request, response)
    return {
        "startedDateTime": "2024-01-01T00:00:00.000Z",
        "time": 1,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
    }


def _header(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["headers"].append({"name": "X-Data", "value": text})

    return edit


def _cookie(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["headers"].append({"name": "Cookie", "value": f"theme={text}"})
        request["cookies"].append({"name": "theme", "value": text})
        response["headers"].append({"name": "Set-Cookie", "value": f"id={text}; Path=/"})

    return edit


def _query(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["url"] = f"https://example.com/p?page=1&q={text}"
        request["queryString"] += [{"name": "page", "value": "1"}, {"name": "q", "value": text}]

    return edit


def _post(mime: str, body: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["postData"] = {"mimeType": mime, "text": body}

    return edit


def _content(
    mime: str, body: str, **extra: str
) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        response["content"] = {"size": len(body), "mimeType": mime, "text": body, **extra}

    return edit


def _websocket(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        response["_webSocketMessages"] = [{"type": "receive", "time": 1, "data": text}]

    return edit


def _header_name(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["headers"].append({"name": text, "value": "1"})

    return edit


def _cookie_name(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["headers"].append({"name": "Cookie", "value": f"{text}=1"})
        request["cookies"].append({"name": text, "value": "1"})

    return edit


def _query_name(text: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(request: dict[str, Any], response: dict[str, Any]) -> None:
        request["url"] = f"https://example.com/p?{text}=1"
        request["queryString"].append({"name": text, "value": "1"})

    return edit


_BOUNDARY = "----harscrubBoundary7MA4YWxk"
PLACES: dict[str, Callable[[str], Callable[[dict[str, Any], dict[str, Any]], None]]] = {
    "header": _header,
    "cookie": _cookie,
    "query": _query,
    "json": lambda t: _post("application/json", json.dumps({"data": t})),
    "text": lambda t: _content("text/plain", t),
    "form": lambda t: _post("application/x-www-form-urlencoded", f"a=1&data={t}"),
    "base64": lambda t: _content(
        "text/plain; charset=utf-8",
        base64.b64encode(t.encode("utf-8", "surrogatepass")).decode(),
        encoding="base64",
    ),
    "html": lambda t: _content("text/html", t),
    "multipart": lambda t: _post(
        f"multipart/form-data; boundary={_BOUNDARY}",
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{t}\r\n'
        f"--{_BOUNDARY}--\r\n",
    ),
    "websocket": _websocket,
    # Names: every rule's name regex is fullmatched against the name a value sits under.
    "header-name": _header_name,
    "cookie-name": _cookie_name,
    "query-name": _query_name,
    "json-key": lambda t: _post("application/json", json.dumps({t: "1"})),
    "form-name": lambda t: _post("application/x-www-form-urlencoded", f"{t}=1&a=1"),
}


def har_bytes(place: str, text: str) -> bytes:
    """A one-entry HAR with text at place, encoded as browsers write it."""
    entry = _entry(PLACES[place](text))
    document = {"log": {"version": "1.2", "creator": {"name": "redos", "version": "1"}}}
    document["log"]["entries"] = [entry]
    return json.dumps(document, indent=2).encode("utf-8", "surrogatepass")


def scrub(data: bytes, ruleset: Ruleset) -> bytes:
    out = io.BytesIO()
    scrub_stream(io.BytesIO(data), out, ruleset=ruleset, options=Options())
    return out.getvalue()


def check_output(out: bytes) -> None:
    """The output parses and still holds its one entry."""
    entries = orjson.loads(out)["log"]["entries"]
    if len(entries) != 1:
        raise SystemExit(f"the output holds {len(entries)} entries, not 1")


# --- timing -------------------------------------------------------------------------------------


class Timeout(Exception):
    """Raised by SIGPROF inside a run: both engines check for signals while they match."""


def _alarm(signum: int, frame: object) -> None:
    raise Timeout


def timed(
    call: Callable[[], object], timeout: float, runs: int = 1, *, collect: bool = False
) -> float | None:
    """CPU seconds for call, the least of at least `runs` runs (up to 3 while they are
    quick); None past timeout CPU seconds.

    CPU time, not wall time: this machine is shared, and other processes' load made linear
    rows look superlinear. The collector is kept off during each run (with collect, run once
    before), so that a collection does not land in one size and not in another.
    """
    best = math.inf
    spent = 0.0
    done = 0
    if collect:
        gc.collect()
    previous = signal.signal(signal.SIGPROF, _alarm)
    try:
        while done < runs or (spent < 0.05 and done < 3):
            gc.disable()
            signal.setitimer(signal.ITIMER_PROF, timeout)
            start = time.process_time()
            try:
                call()
            except Timeout:
                return None
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                gc.enable()
            took = time.process_time() - start
            best, spent, done = min(best, took), spent + took, done + 1
    finally:
        signal.signal(signal.SIGPROF, previous)
    return best


Measure = Callable[[float, int], float | None]  # (size in MB, least runs) -> seconds


@dataclass(slots=True)
class Row:
    label: str
    measure: Measure = field(repr=False)
    times: list[float | None] = field(default_factory=list)

    def run(self, sizes: list[float]) -> None:
        for size in sizes:
            self.times.append(self.measure(size, 1))
            if self.times[-1] is None:
                break  # a larger size would only take longer

    def recheck(self, sizes: list[float]) -> None:
        """Measure again, three runs a size, keeping the least time of either pass: a flag
        that noise raised goes away, a real one stays."""
        again = [self.measure(size, 3) for size in sizes[: len(self.times)]]
        self.times = [
            None if a is None or b is None else min(a, b)
            for a, b in zip(self.times, again, strict=True)
        ]

    @property
    def timed_out(self) -> bool:
        return any(t is None for t in self.times)

    def _base(self, sizes: list[float]) -> int:
        """The size nearest a quarter of the largest: the ratio's denominator."""
        last = len(self.times) - 1
        return min(range(last), key=lambda i: abs(math.log(sizes[i] * 4 / sizes[last])))

    def ratio(self, sizes: list[float]) -> float | None:
        """t(largest)/t(size nearest a quarter of it), scaled to a 4x step."""
        if self.timed_out or len(self.times) < 2:
            return None
        last, base = len(self.times) - 1, self._base(sizes)
        t_base, t_last = self.times[base], self.times[last]
        if not t_base or t_last is None:
            return None
        growth = math.log(sizes[last] / sizes[base], 4)  # 1 for an exact 4x step
        return (t_last / t_base) ** (1 / growth)

    def flag(self, sizes: list[float]) -> str:
        if self.timed_out:
            return "TIMEOUT"
        if max(t or 0.0 for t in self.times) > SLOW:
            return "SLOW"
        ratio = self.ratio(sizes)
        if (
            ratio is not None
            and ratio > MAX_RATIO
            and self.times[self._base(sizes)] >= TRUSTED_BASE
        ):
            return "SUPERLINEAR"
        return ""


def _cell(t: float | None) -> str:
    return f"{'>limit':>9}" if t is None else f"{t:9.4f}"


def print_table(title: str, rows: list[Row], sizes: list[float], show_all: bool) -> None:
    shown = [
        r
        for r in rows
        if show_all or r.flag(sizes) or (r.times and (r.times[-1] or 0) >= NOISE_FLOOR)
    ]
    print(f"\n{title}: {len(shown)} of {len(rows)} rows shown (CPU seconds per size in MB)")
    width = max([len(r.label) for r in shown] + [10])
    head = "".join(f"{s:>9g}" for s in sizes)
    ratio_name = f"t{sizes[-1]:g}/t{sizes[-1] / 4:g}" if len(sizes) > 1 else "ratio"
    print(f"  {'':{width}}{head} {ratio_name:>9}  flag")
    for r in shown:
        cells = "".join(_cell(t) for t in r.times) + " " * 9 * (len(sizes) - len(r.times))
        ratio = r.ratio(sizes)
        shown_ratio = f"{ratio:9.2f}" if ratio is not None else f"{'-':>9}"
        print(f"  {r.label:{width}}{cells} {shown_ratio}  {r.flag(sizes)}", flush=True)


# --- main ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _text(adv: Adversary, n: int) -> tuple[str, bytes]:
    text = adv.text(n)
    return text, text.encode("utf-8", "surrogatepass")


def pattern_rows(
    probes: list[Probe], advs: list[Adversary], timeout: float, only: str
) -> list[Row]:
    """One row per pattern and text, in text order (so each text is built once a size)."""
    rows = []
    for adv in advs:
        for probe in probes:
            label = f"{probe.name}|{adv.name}"
            if probe.mode == "rule text" or (only and not re.search(only, label)):
                continue

            def measure(
                size: float, runs: int, probe: Probe = probe, adv: Adversary = adv
            ) -> float | None:
                text, data = _text(adv, int(size * MB))
                return timed(lambda: probe.call(text, data), timeout, runs)

            rows.append(Row(label, measure))
    return rows


def pipeline_rows(ruleset: Ruleset, advs: list[Adversary], timeout: float, only: str) -> list[Row]:
    rows = []
    for place in PLACES:
        for adv in advs:
            label = f"pipeline:{place}|{adv.name}"
            if only and not re.search(only, label):
                continue

            def measure(
                size: float, runs: int, place: str = place, adv: Adversary = adv
            ) -> float | None:
                data = har_bytes(place, _text(adv, int(size * MB))[0])
                outputs: list[bytes] = []
                took = timed(
                    lambda: outputs.append(scrub(data, ruleset)), timeout, runs, collect=True
                )
                if took is not None:
                    check_output(outputs[-1])
                return took

            rows.append(Row(label, measure))
    return rows


def run(title: str, rows: list[Row], sizes: list[float], show_all: bool, every: int) -> None:
    """Measure rows (progress on stderr every `every` rows), measure the superlinear ones
    again, print the table."""
    if not rows:
        return
    for i, row in enumerate(rows, 1):
        row.run(sizes)
        if i % every == 0 or i == len(rows):
            times = " ".join(_cell(t).strip() for t in row.times)
            print(f"  {title} {i}/{len(rows)}: {row.label} {times}", file=sys.stderr, flush=True)
    suspects = [r for r in rows if r.flag(sizes) == "SUPERLINEAR"]
    for row in suspects:
        row.recheck(sizes)
    print(f"\n{title}: {len(suspects)} superlinear-looking rows measured again")
    print_table(title, rows, sizes, show_all)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0.25,0.5,1,2,4", help="MB, comma-separated")
    parser.add_argument("--only", default="", help='regex searched in "pattern|text" labels')
    parser.add_argument("--texts", default="", help="adversary names, comma-separated")
    parser.add_argument("--timeout", type=float, default=10.0, help="CPU seconds for one run")
    parser.add_argument("--all", action="store_true", help="print quick pattern rows too")
    parser.add_argument("--no-patterns", action="store_true")
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--list", action="store_true", help="print the inventory and stop")
    args = parser.parse_args()
    sizes = sorted(float(s) for s in args.sizes.split(","))
    ruleset = load_ruleset()
    probes = module_probes() + rule_probes(ruleset)
    advs = adversaries(ruleset)
    if args.texts:
        wanted = args.texts.split(",")
        advs = [a for a in advs if a.name in wanted]
    if args.list:
        for probe in probes:
            print(f"{probe.name:40} {probe.mode:10} {probe.source}")
        print(f"\n{len(probes)} patterns and detectors; {len(advs)} texts:")
        for adv in advs:
            print(f"  {adv.name:14} {adv.why}")
        return
    rows: list[Row] = []
    if not args.no_patterns:
        patterns = pattern_rows(probes, advs, args.timeout, args.only)
        run("Patterns", patterns, sizes, args.all, every=200)
        rows += patterns
    if not args.no_pipeline:
        pipeline = pipeline_rows(ruleset, advs, args.timeout, args.only)
        run("Pipeline", pipeline, sizes, show_all=True, every=1)
        rows += pipeline
    flagged = [r for r in rows if r.flag(sizes)]
    print(f"\n{len(flagged)} flagged of {len(rows)} rows")
    for r in flagged:
        print(f"  {r.flag(sizes):12} {r.label}")
    sys.exit(1 if flagged else 0)


if __name__ == "__main__":
    main()
