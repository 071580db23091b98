"""harscrub's two passes over a HAR's events: learn the session secrets, then write the HAR
sanitized, keeping what was removed. One process runs them over the whole file, or each
process over its part (harscrub.parallel)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harscrub import __version__
from harscrub.engine import Finding, Scrubber
from harscrub.errors import BadHar
from harscrub.jsoncodec import JsonError
from harscrub.options import Options
from harscrub.reader import LOG_DEPTH, Close, Cut, Entry, Event, Member
from harscrub.report import Redaction
from harscrub.rules import Ruleset
from harscrub.writer import HarWriter

STAMP_KEY = "_harscrub"
_MAX_REPORTED = 2048  # characters of a request URL a report keeps


def learn(events: Iterable[Event], scrubber: Scrubber) -> Cut | None:
    """The first pass: note the secrets in every entry's headers, cookies and URLs, so that
    a copy of one is removed even from an entry that comes before it (a tracking cookie's
    value sent in a URL before the server set it). A bad HAR fails here, before anything is
    written. Returns the Cut the events ended at, if they did."""
    for event in events:
        if isinstance(event, Entry):
            scrubber.learn(event.value)
        elif isinstance(event, Cut):
            return event
    return None


class Tally:
    """What the second pass removed: each finding as a report gives it (when the options keep
    them), and counts by rule and place."""

    def __init__(self, ruleset: Ruleset, options: Options) -> None:
        self.entries = 0
        self.redactions: list[Redaction] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self._keep = options.keep_findings
        self._actions = {rule.id: rule.action for rule in ruleset.rules}
        # A report holds every finding; their paths and tags repeat ("request.headers[3].value",
        # one tag per secret), and one copy of each halves what a finding costs in memory. A
        # dict of this run's, not sys.intern: interned strings outlive the run in a library.
        self._shared: dict[str, str] = {}

    def add(self, event: Event, findings: list[Finding]) -> None:
        self.entries += isinstance(event, Entry)
        for f in findings:
            self.counts[f.rule_id, f.place] += 1
        if findings and self._keep:
            self.redactions += _redactions(event, findings, self._actions, self._shared)

    def extend(self, other: Tally) -> None:
        """Add what the pass over the next part of the file removed."""
        self.entries += other.entries
        self.redactions += other.redactions
        self.counts.update(other.counts)

    def __getstate__(self) -> dict[str, Any]:
        # Sent from one process to another: the shared strings go as the findings hold them.
        return {**self.__dict__, "_shared": {}}


def sanitize(
    events: Iterable[Event],
    scrubber: Scrubber,
    writer: HarWriter,
    stamp: dict[str, Any],
    tally: Tally,
    name: str,
) -> Cut | None:
    """The second pass: write each event sanitized, adding what was removed to tally. Returns
    the Cut the events ended at, if they did."""
    for event in events:
        if isinstance(event, Cut):
            return event
        for out, findings in _scrubbed(event, scrubber, stamp):
            tally.add(out, findings)
            _write(writer, out, name)
    return None


class Discard:
    """A binary sink that keeps nothing: the output of --check, which runs both passes."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def stamp(ruleset: Ruleset, options: Options) -> dict[str, Any]:
    """What a support system needs to tell a cleaned HAR from a raw one, and a default run
    from a weakened one. No key and no time stamp: a second run gives the same bytes; a user's
    pack by file name only, since its folder may name a person."""
    stamp: dict[str, Any] = {
        "version": __version__,
        "placeholder": options.placeholder,
        "rulePacks": [p if p.startswith("builtin:") else Path(p).name for p in ruleset.packs],
    }
    if ruleset.disabled:
        stamp["disabledRules"] = list(ruleset.disabled)
    if options.allow_values or options.allow_names or options.allow_hosts:
        stamp["allowlists"] = True
    if options.keep_jwt_claims:
        stamp["keepJwtClaims"] = True
    return stamp


def _scrubbed(
    event: Event, scrubber: Scrubber, stamp: dict[str, Any]
) -> Iterator[tuple[Event, list[Finding]]]:
    """The events to write for one read, each with what was removed from it."""
    match event:
        case Entry(index=index, value=entry):
            yield event, scrubber.scrub_entry(entry, index)
        case Member(depth=depth, key=key) if depth == LOG_DEPTH and key == STAMP_KEY:
            return  # a second run replaces the first run's stamp
        case Member(depth=depth, key=key, value=value):
            # pages[].title, comments, vendor fields: anything outside the entries
            prefix = "log." if depth == LOG_DEPTH else ""
            value, findings = scrubber.scrub_member(prefix, key, value)
            yield Member(depth, key, value), findings
        case Close(depth=depth) if depth == LOG_DEPTH:
            yield Member(LOG_DEPTH, STAMP_KEY, stamp), []
            yield event, []
        case _:
            yield event, []


def _write(writer: HarWriter, event: Event, name: str) -> None:
    try:
        writer.write(event)
    except JsonError as e:  # a value deeper than the exact encoder goes
        where = f"log.entries[{event.index}]" if isinstance(event, Entry) else "log"
        raise BadHar(f"{name}: {where}: {e.msg}") from None


def _redactions(
    event: Event, findings: list[Finding], actions: dict[str, str], shared: dict[str, str]
) -> list[Redaction]:
    """Findings as a report gives them: with the entry's line, method and sanitized URL."""
    line, method, url = 0, "", ""
    if isinstance(event, Entry):
        line = event.line
        request = event.value.get("request")
        if isinstance(request, dict):
            method = _text(request.get("method"))
            url = _text(request.get("url"))
    return [
        Redaction(
            f.entry,
            line,
            method,
            url,
            shared.setdefault(f.path, f.path),
            f.place,
            f.rule_id,
            actions.get(f.rule_id, "redact"),
            shared.setdefault(f.tag, f.tag),
            f.length,
        )
        for f in findings
    ]


def _text(value: Any) -> str:
    # A data: URL can be megabytes long; a report names the request, it does not copy it.
    return value[:_MAX_REPORTED] if isinstance(value, str) else ""
