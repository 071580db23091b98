"""The Scrubber: compiled rules applied to every place in one entry, returning Findings.

It answers the codecs' questions (the Scan contract in spans.py): given a piece of decoded text
and where it sits, which spans are secrets and what replaces them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import regex

from harscrub import bodies, places
from harscrub.copies import Copies, Lesson, Probe
from harscrub.options import Options
from harscrub.redact import (
    is_placeholder,
    is_scheme,
    placeholder,
    split_jwt,
    split_scheme,
    tag_for,
)
from harscrub.rules import PLACES, Rule, Ruleset, ShapeIndex, normalize
from harscrub.spans import Hit, Span, merged

# Containers inside containers (a URL in a query value in a JSON string...) are scanned this
# deep; below that, text is scanned for token shapes only. Real data nests three or four deep.
MAX_DEPTH = 12
_NAME_CACHE_SIZE = 4096
# Values met again (a user agent, a cookie header sent with every request, "status": "active"
# in every item) are looked at once while the run's secrets stay the same.
_MEMO_SIZE = 8192
_MEMO_LENGTH = 1024
_NAME_LENGTH = 64  # copies() keeps what it found in texts this long at most
# A value that is one token with nothing to cut from its ends (see copies): a copy in it can
# only be all of it.
_ONE_WORD = regex.compile(r"[\w+%]{0,4096}=*")

_Removed = tuple[Hit, str]  # how a secret was removed: its first Hit and the rule's action
_MemoKey = tuple[str, str | None, str]  # (place or "copies", name, text)


@dataclass(frozen=True, slots=True)
class Finding:
    """One removed value. There is no field that could hold the value itself."""

    rule_id: str
    entry: int  # index in log.entries; -1 for the log's own parts (pages, comment)
    path: str  # "request.headers[3].value"
    place: str  # the rule place kind: header, cookie, query, form, json, url, text
    length: int  # of what was removed
    tag: str  # same secret -> same tag within one run


class Scrubber:
    """One run's rules and options, applied entry by entry.

    Not shared between threads: it remembers the secrets of the run (for copies) and how deep
    the container it is looking into is nested.
    """

    def __init__(self, ruleset: Ruleset, options: Options) -> None:
        self._named = {place: ruleset.name_rules(place) for place in PLACES}
        self._shapes = {place: ShapeIndex(ruleset.shape_rules(place)) for place in PLACES}
        self._options = options
        self._by_name: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self._depth = 0
        self._learning = True  # off while a trial only asks whether anything is there
        self._copies: Copies[_Removed] = Copies()  # never written out
        self._memo: dict[_MemoKey, tuple[int, tuple[Span, ...]]] = {}  # see _remembered
        self._sightings = 0  # secrets seen by a rule, learnt or not (in a trial)
        self._first_pass = False

    def scrub_entry(self, entry: dict[str, Any], index: int) -> list[Finding]:
        """Redact every secret in one entry, in place; return what was removed."""
        return [_finding(hit, index, path) for path, hit in places.scrub_entry(entry, self)]

    def learn(self, entry: dict[str, Any]) -> None:
        """Note the secrets in an entry's headers, cookies and URLs, so that copies of them
        are found in entries that come before it. The entry is changed; throw it away."""
        self._first_pass = True
        try:
            places.scrub_entry(entry, self, with_bodies=False)
        finally:
            self._first_pass = False

    def scrub_member(self, prefix: str, key: str, value: Any) -> tuple[Any, list[Finding]]:
        """A part of the document outside the entries: pages and their titles, comments."""
        value, found = places.scrub_member(prefix, key, value, self)
        return value, [_finding(hit, -1, path) for path, hit in found]

    # The parts of a split file (see harscrub.parallel).

    @property
    def known(self) -> Copies[_Removed]:
        """The secrets learnt so far, whose copies are removed from what comes after."""
        return self._copies

    def keep_journal(self) -> list[Lesson[_Removed]]:
        """From now on, note each secret that teaches something, in the list returned."""
        self._copies.journal = []
        return self._copies.journal

    def probe(self) -> Probe:
        """From now on, keep the pieces of every text looked at for copies (see Probe)."""
        self._copies.probe = Probe()
        self._memo.clear()  # a value looked at before was not seen by the probe
        return self._copies.probe

    # The Scan contract.

    def under_name(self, text: str, place: str, name: str) -> list[Span]:
        return [] if self._skip(text) else self._remembered(place, name, text)

    def by_name(self, text: str, place: str, name: str) -> list[Span]:
        if self._skip(text):
            return []
        return self._by_rules(text, place, name) or []

    @contextmanager
    def trial(self) -> Iterator[None]:
        learning, self._learning = self._learning, False
        try:
            yield
        finally:
            self._learning = learning

    def hold_nothing(self, texts: list[str], place: str) -> bool:
        # Joined by a character no token or keyword holds, so that nothing is found across two.
        joined = "\0".join(texts)
        return not (
            self._shapes[place].candidates(joined.lower())
            or self._copies.find(joined)
            or any(map(self._copies.whole, texts))  # odd secrets past the cap of those found
        )

    def names_secret(self, place: str, name: str) -> bool:
        return bool(self._rules_for(place, name))

    def in_text(self, text: str, place: str) -> list[Span]:
        return [] if self._skip(text) else self._remembered(place, None, text)

    def _remembered(self, place: str, name: str | None, text: str) -> list[Span]:
        """The spans of a whole value (under name, or free text for None), or what they were
        for the same value before, if nothing they depend on has changed since: the rules and
        options never do, the run's secrets (for copies) may.

        A result is kept only if the scan learnt nothing: a value that teaches a secret was
        looked at for copies before it knew that secret. A trial learns nothing, so its result
        is kept only if it saw no secret at all. In the first pass only what is learnt counts,
        and a value met again teaches nothing new. Pieces of a value (self._depth) are not kept.
        """
        if self._depth or len(text) > _MEMO_LENGTH:
            return self._value(place, name, text)
        key = (place, name, text)
        if (known := self._recall(key)) is not None:
            return known
        generation, sightings = self._copies.generation, self._sightings
        spans = self._value(place, name, text)
        if generation == self._copies.generation and (
            self._learning or sightings == self._sightings
        ):
            self._keep(key, generation, spans)
        return spans

    def _recall(self, key: _MemoKey) -> list[Span] | None:
        known = self._memo.get(key)
        if known is not None and (self._first_pass or known[0] == self._copies.generation):
            return list(known[1])  # a copy: callers add to the list they get
        return None

    def _keep(self, key: _MemoKey, generation: int, spans: list[Span]) -> None:
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = (generation, tuple(spans))

    def _value(self, place: str, name: str | None, text: str) -> list[Span]:
        if name is not None and (by_name := self._by_rules(text, place, name)) is not None:
            return by_name
        return self._in_text(text, place)

    def _in_text(self, text: str, place: str) -> list[Span]:
        if self._depth >= MAX_DEPTH:
            return self.shapes(text, place)
        self._depth += 1
        try:
            found = bodies.text_spans(text, place, self)
        finally:
            self._depth -= 1
        if found is None:
            return []  # a URL to an allowed host
        if not found and (removed := self._copies.whole(text)):
            return self._copy(removed, text, 0, len(text))  # a copy of a secret found before
        if place == "json" and _ONE_WORD.fullmatch(text):
            return found  # compared whole, just above
        return merged(found, self._copy_spans(text))

    def shapes(self, text: str, place: str) -> list[Span]:
        found: list[Span] = []
        lowered = text.lower()
        for rule in self._shapes[place].candidates(lowered):
            for start, end in rule.spans(text):
                if not _done(text[start:end]):
                    found += self._span(rule, text, start, end, place)
        return merged(found)

    def copies(self, text: str) -> list[Span]:
        """Spans of secrets removed elsewhere in this run, found again in text."""
        if len(text) > _NAME_LENGTH:
            return merged(self._copy_spans(text))
        # Names and keys: the same few hundred in every entry ("accept-language", "_initiator").
        # Copies teach nothing, so what the first pass found for one may be taken as it is.
        key = ("copies", None, text)
        if (known := self._recall(key)) is not None:
            return known
        spans = merged(self._copy_spans(text))
        self._keep(key, self._copies.generation, spans)
        return spans

    def _copy_spans(self, text: str) -> list[Span]:
        """Every copy in text, longest first and overlapping: where two overlap (a secret inside
        a longer one), merged() keeps the longer, and a shorter one where the longer lost. Of
        two as long, the leftmost: never the one learnt first, so that the parts of a split file
        agree however their secrets came (see harscrub.parallel)."""
        found = sorted(self._copies.find(text), key=lambda copy: (copy[0] - copy[1], copy[0]))
        return [span for s, e, about in found for span in self._copy(about, text, s, e)]

    def host_allowed(self, host: str) -> bool:
        return bool(self._options.allow_hosts) and self._options.host_allowed(host)

    # Rules and replacements.

    def _skip(self, text: str) -> bool:
        return (
            not text or text.isspace() or is_placeholder(text) or text in self._options.allow_values
        )

    def _by_rules(self, text: str, place: str, name: str) -> list[Span] | None:
        """Spans by the first rule that takes this name; None when no rule does."""
        for rule in self._rules_for(place, name):
            if rule.detector is None:
                return self._whole(rule, text, place)
            spans = [(s, e) for s, e in rule.find(text) if not _done(text[s:e])]
            if found := [span for s, e in spans for span in self._span(rule, text, s, e, place)]:
                return merged(found)
        return None

    def _rules_for(self, place: str, name: str) -> tuple[Rule, ...]:
        key = (place, name)
        rules = self._by_name.get(key)
        if rules is None:
            norm = normalize(name)
            if norm in self._options.allow_names:
                rules = ()
            else:
                rules = tuple(r for r in self._named[place] if r.matches_normalized(norm))
            if len(self._by_name) >= _NAME_CACHE_SIZE:
                self._by_name.clear()
            self._by_name[key] = rules
        return rules

    def _whole(self, rule: Rule, text: str, place: str) -> list[Span]:
        if rule.action == "keep-scheme" and is_scheme(text):
            return []  # "Bearer " with its token already dropped (--placeholder drop)
        keep = split_scheme(text)[0] if rule.action == "keep-scheme" else ""
        secret = text[len(keep) :]
        lead = len(secret) - len(secret.lstrip())
        trail = len(secret.rstrip())
        if trail - lead >= 2 and secret[lead] == secret[trail - 1] == '"':
            # A quoted value (RFC 6265 allows sid="..."): its copies come without the quotes,
            # and '""' is what --placeholder drop left of one.
            lead, trail = lead + 1, trail - 1
        if lead >= trail or _done(secret):
            return []  # blank, or holding what a first run left ("[REDACTED:...])" in text)
        return self._span(rule, text, len(keep) + lead, len(keep) + trail, place)

    def _span(self, rule: Rule, text: str, start: int, end: int, place: str) -> list[Span]:
        secret = text[start:end]
        hit = Hit(rule.id, place, len(secret), tag_for(secret, self._options.key))
        # A catch-all (every cookie) says nothing about the value itself.
        catch_all = rule.name is None and rule.detector is None
        self._sightings += 1
        if self._learning:
            self._copies.remember(secret, (hit, rule.action), surely_secret=not catch_all)
        return self._replacement(text, start, end, hit, rule.action)

    def _copy(self, removed: _Removed, text: str, start: int, end: int) -> list[Span]:
        hit, action = removed
        copy = Hit(hit.rule_id, "copy", end - start, hit.tag)  # the tag of the first sighting
        return self._replacement(text, start, end, copy, action)

    def _replacement(self, text: str, start: int, end: int, hit: Hit, action: str) -> list[Span]:
        """The span that replaces text[start:end]; none when nothing is left to remove."""
        if action == "drop":
            return [Span(start, end, "", (hit,))]
        mark = placeholder(hit.rule_id, hit.tag, self._options.placeholder)
        if self._options.keep_jwt_claims and (jwt := split_jwt(text[start:end])):
            readable, signature = jwt
            if not signature:
                return []  # a kept JWT without a signature: nothing left to remove
            return [Span(start, end, readable + mark, (hit,))]
        return [Span(start, end, mark, (hit,))]


def _done(secret: str) -> bool:
    # A shape that takes in a placeholder (a URL password written as %5BREDACTED:...%5D) is
    # one harscrub made: a second run leaves it.
    return "REDACTED" in secret


def _finding(hit: Hit, index: int, path: str) -> Finding:
    return Finding(hit.rule_id, index, path, hit.place, hit.length, hit.tag)
