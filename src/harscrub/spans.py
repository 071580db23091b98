"""Spans: what to cut out of a piece of text and what to put in, and the Scan contract.

Every codec (URLs, bodies, cookies) works the same way: take a container apart, ask the Scan
about each piece in its decoded form, and get back Spans in that piece's coordinates. The codec
maps them back to its own text and encodes the replacement its own way, so nothing around a
secret changes. Findings travel inside the spans (Hit) and are recorded only when the outermost
field is rewritten, so a span that loses to an overlapping one is not counted.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Hit:
    """One secret removed: which rule, at which kind of place, its length and keyed tag."""

    rule_id: str
    place: str
    length: int
    tag: str


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str  # the replacement, already in the encoding of the text the span is in
    hits: tuple[Hit, ...]


class Scan(Protocol):
    """What codecs may ask of the engine. place is a rule place kind: header, query, json..."""

    def under_name(self, text: str, place: str, name: str) -> list[Span]:
        """Spans in a value that sits under a name (by name rules first, then by shape)."""
        ...

    def by_name(self, text: str, place: str, name: str) -> list[Span]:
        """Spans by name rules alone: for values whose shape is scanned elsewhere."""
        ...

    def in_text(self, text: str, place: str) -> list[Span]:
        """Spans in free text: URLs, key/value pairs and token shapes inside it."""
        ...

    def hold_nothing(self, texts: list[str], place: str) -> bool:
        """Whether texts with none of the characters of a URL, pair, element or JSON hold no
        token shape and no copy either, as one look at all of them finds."""
        ...

    def names_secret(self, place: str, name: str) -> bool:
        """Whether a name rule takes values by this name at this place."""
        ...

    def trial(self) -> AbstractContextManager[None]:
        """Scans in this block remember no secret: they only ask whether anything is there."""
        ...

    def shapes(self, text: str, place: str) -> list[Span]:
        """Spans of token shapes only."""
        ...

    def copies(self, text: str) -> list[Span]:
        """Spans of tokens already removed as secrets elsewhere in the run."""
        ...

    def host_allowed(self, host: str) -> bool: ...


def apply(text: str, spans: Sequence[Span]) -> str:
    """text with each (sorted, disjoint) span replaced."""
    if not spans:
        return text
    out, pos = [], 0
    for span in spans:
        out += [text[pos : span.start], span.text]
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def shifted(spans: Iterable[Span], offset: int) -> list[Span]:
    if not offset:
        return list(spans)
    return [Span(s.start + offset, s.end + offset, s.text, s.hits) for s in spans]


def merged(*groups: Iterable[Span]) -> list[Span]:
    """One sorted, disjoint list; where spans overlap, the one from an earlier group wins,
    unless the later one holds it and more (then the later one takes its place) or reaches
    past it (then one span covers both).

    Structure comes first (a query parameter found by its name), shapes found in the raw text
    second: they mostly find the same secret again. But a structure may see only part of a
    secret (a path parameter's value ends at '/', and a base64 key goes on past it); cutting
    the whole of what a shape found leaves none of it.
    """
    kept: list[Span] = []  # sorted by start and disjoint, so only neighbours can overlap
    starts: list[int] = []
    for group in groups:
        for span in group:
            lo = hi = bisect_right(starts, span.start)
            if lo and kept[lo - 1].end > span.start:
                lo -= 1
            while hi < len(kept) and kept[hi].start < span.end:
                hi += 1
            if lo < hi and not _holds_more(span, kept[lo:hi]):
                if _is_copy(span) or not _crosses(span, kept[lo:hi]):
                    continue
                span = _joined(span, kept[lo:hi])
            starts[lo:hi] = [span.start]
            kept[lo:hi] = [span]
    return kept


def _is_copy(span: Span) -> bool:
    # A copy is matched with any '=' after it, as base64 padding, and that '=' may be a
    # separator: it never takes or widens another's place.
    return any(hit.place == "copy" for hit in span.hits)


def _crosses(span: Span, others: list[Span]) -> bool:
    """Whether a part of span lies outside others (sorted and disjoint, each overlapping it)."""
    pos = span.start
    for other in others:
        if other.start > pos:
            return True
        pos = max(pos, other.end)
    return pos < span.end


def _joined(span: Span, others: list[Span]) -> Span:
    """One span over span and others, which cross: two findings of one secret (a token and the
    JWT inside it), each covering a part the other leaves. The earlier findings' replacements
    stand for the whole."""
    start, end = min(span.start, others[0].start), max(span.end, others[-1].end)
    hits = tuple(hit for other in others for hit in other.hits) + span.hits
    return Span(start, end, "".join(other.text for other in others), hits)


def _holds_more(span: Span, others: list[Span]) -> bool:
    """Whether span covers every one of others, and is longer than each."""
    return not _is_copy(span) and all(
        span.start <= o.start and o.end <= span.end and o.end - o.start < span.end - span.start
        for o in others
    )


# Shorter text is looked at for copies of the run's secrets only: every token format the rules
# know is at least this long.
MIN_TOKEN = 16


def tokens_in_name(text: str, scan: Scan) -> list[Span]:
    """Spans in a name or key (which no name rule looks at): token shapes and copies of the
    run's secrets. A header line split in the wrong place, or a map keyed by session id, puts
    a secret there."""
    if len(text) < MIN_TOKEN:
        return scan.copies(text)
    return merged(scan.shapes(text, "json"), scan.copies(text))
