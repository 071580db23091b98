"""What a run found: per file and in total, and its JSON form (a documented, versioned schema).

Nothing here can hold a secret: a Redaction says where a value was and what removed it, and the
URL it names is the sanitized one. The schema is described in the README ("Reports") and in
report.schema.json beside this module; a change to it bumps REPORT_VERSION.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from harscrub import __version__

REPORT_VERSION = 1

Mode = Literal["scrub", "check"]


@dataclass(frozen=True, slots=True)
class Redaction:
    """One value a run removed (or, with --check, would remove). There is no field for it."""

    entry: int  # index in log.entries; -1 for the log's own parts (pages, comments)
    line: int  # line of the input where the entry starts; 0 where unknown
    method: str  # the entry's request method, "" where it has none
    url: str  # the entry's request URL, sanitized, "" where it has none
    path: str  # where in the entry: "request.headers[3].value"
    place: str  # the rule place kind: header, cookie, query, form, json, url, text
    rule: str  # the rule id
    action: str  # redact, keep-scheme or drop
    tag: str  # same secret -> same tag within one run
    length: int  # of what was removed


@dataclass(frozen=True, slots=True)
class Report:
    """What one run did to one HAR.

    counts holds how many values each (rule, place) removed; redactions holds each one, unless
    the run kept counts only (Options.keep_findings). Given redactions alone, counts follow.
    """

    source: str
    output: str | None  # None: nothing written (--check)
    entries: int
    redactions: tuple[Redaction, ...] = ()
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.redactions and not self.counts:
            counts = Counter((r.rule, r.place) for r in self.redactions)
            object.__setattr__(self, "counts", counts)

    @property
    def redacted(self) -> dict[str, int]:
        """Values removed, by rule id."""
        return dict(_by_rule(self.counts))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_rule_and_place(self) -> Counter[tuple[str, str]]:
        return Counter(self.counts)


@dataclass(frozen=True, slots=True)
class Failure:
    """A file that could not be done; its message names the file and never quotes its content."""

    source: str
    message: str
    internal: bool = False  # a bug in harscrub rather than a problem with the file
    frames: str = ""  # the traceback's frames, for --debug (never the exception's message)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path a batch walked past on purpose: a symlink loop, a dangling link."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class RunReport:
    """Everything one run did, in the order the inputs were given."""

    mode: Mode
    reports: tuple[Report, ...] = ()
    failures: tuple[Failure, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    unmatched: int = 0  # files in the folders walked that the name patterns did not take

    @property
    def total(self) -> int:
        return sum(r.total for r in self.reports)

    def by_rule_and_place(self) -> Counter[tuple[str, str]]:
        total: Counter[tuple[str, str]] = Counter()
        for r in self.reports:
            total.update(r.counts)
        return total

    def by_rule(self) -> Counter[str]:
        return _by_rule(self.by_rule_and_place())


def _by_rule(counts: Counter[tuple[str, str]]) -> Counter[str]:
    by_rule: Counter[str] = Counter()
    for (rule, _), count in counts.items():
        by_rule[rule] += count
    return by_rule


def to_json(run: RunReport) -> dict[str, Any]:
    """The report as the JSON object --report writes (schema version REPORT_VERSION)."""
    files: list[dict[str, Any]] = [
        {
            "file": utf8(r.source),
            "output": None if r.output is None else utf8(r.output),
            "status": "ok",
            "entries": r.entries,
            "findings": [_finding(x) for x in r.redactions],
        }
        for r in run.reports
    ]
    files += [
        {
            "file": utf8(f.source),
            "output": None,
            "status": "failed",
            "error": utf8(f.message),
            "entries": 0,
            "findings": [],
        }
        for f in run.failures
    ]
    return {
        "schema": "harscrub-report",
        "version": REPORT_VERSION,
        "harscrub": __version__,
        "mode": run.mode,
        "files": files,
        "skipped": [{"path": utf8(s.path), "reason": s.reason} for s in run.skipped],
        "totals": {
            "files": len(run.reports) + len(run.failures),
            "failed": len(run.failures),
            "filesWithFindings": sum(1 for r in run.reports if r.total),
            "entries": sum(r.entries for r in run.reports),
            "findings": run.total,
            "byRule": dict(sorted(run.by_rule().items())),
        },
    }


def _finding(r: Redaction) -> dict[str, Any]:
    return {
        "entry": r.entry,
        "line": r.line,
        "method": utf8(r.method),
        "url": utf8(r.url),
        "path": utf8(r.path),
        "place": r.place,
        "rule": r.rule,
        "action": r.action,
        "tag": r.tag,
        "length": r.length,
    }


def utf8(text: str) -> str:
    """text as valid UTF-8, which orjson insists on. A file name's undecodable bytes (which
    Python keeps as lone surrogates) and a HAR's lone surrogate escapes become backslash
    escapes."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        pass
    if _only_escaped(text):
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.encode("utf-8", "backslashreplace").decode()


def _only_escaped(text: str) -> bool:
    """Whether every lone surrogate in text stands for an undecodable byte (U+DC80..U+DCFF)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
