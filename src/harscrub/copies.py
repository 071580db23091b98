"""Copies: a secret removed in one place is removed wherever else it turns up in the run.

A leak is usually the copy nobody thought of: a session cookie copied into an ad beacon's
query, a token echoed in a response header, a cookie value written by a script in a body.
Copies are matched as whole tokens (a run of the characters below, or a part of one between
'/', with or without base64's '=' padding, or without a '.', '-', '~' or '@' at its ends), so a
secret is never cut out of the middle of a longer word. A secret that is no single token
("1.2.utmcsr=(direct)|utmccn=x") is looked for as it is, wherever it is: it is long and odd
enough not to be part of something else. Secrets shorter than eight characters, or without
both letters and digits, are not remembered: they are too likely to be words.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import regex

T = TypeVar("T")  # what the caller keeps about a removed secret

MIN_LENGTH = 8
_MIN_PLAIN_LENGTH = 16
# Not ' ( ) , ! * | $: they end a quote, a call or a list item ("track('<s>')"), and a secret
# holding one is no single token, so it is looked for as it is, anywhere.
_CHARS = r"\w.~+/%@-"
_TOKEN = regex.compile(rf"[{_CHARS}]{{8,}}=*")
# Token characters that may also end a sentence or begin a mention ("session <s>.", "@<s>"):
# a copy is also matched with these cut from its ends.
_EDGES = ".~@-"
# An ASCII text, as most are, is first tested as bytes, cut into pieces at every byte that is
# no token character ('=' included), '/' or one of _EDGES. Wherever a secret sits as a token,
# a part of one between '/' or a token without its edges, each of its own pieces is a piece of
# the text, its longest one too: one set of those, tested against the text's pieces in C, rules
# out nearly every text 2 to 3 times faster than a regex would.
_ASCII_TOKEN_CHAR = re.compile(f"[{_CHARS}]", re.ASCII)
_PIECES = bytes(
    c if _ASCII_TOKEN_CHAR.match(chr(c)) and chr(c) not in _EDGES + "/" else 0x20
    for c in range(256)
)
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")
_MAX_SECRETS = 100_000  # memory stays bounded on an archive of secrets
_MAX_ODD = 10_000  # each is looked for in every text: a loop of str.find
_MAX_PROBE = 500_000  # distinct pieces a Probe keeps: some 45 MB
# Whole texts a Probe has seen, as one bit each of a hash in 4 MB: a set of them took 17 MB
# for a 200 MB HAR. A bit another text set (2% at a million texts) only costs a part done
# again.
_WHOLE_BITS = 1 << 25


Lesson = tuple[str, T, bool]
"""A remember() call that taught something: (secret, about, surely_secret)."""


class Copies(Generic[T]):
    def __init__(self) -> None:
        # Each secret and its percent-encoded form, without padding -> T of its first sighting.
        self._secrets: dict[str, T] = {}
        self._odd: dict[str, T] = {}  # secrets that are no single token, looked for as they are
        self._ascii_pieces: set[bytes] = set()  # the longest piece of each ASCII one of them
        self.generation = 0  # counts what was learnt: what was found before may change
        # For a part of a split file (see harscrub.parallel): each call that taught something,
        # to teach another process the same in the same order, and what every text asked
        # about holds (see Probe).
        self.journal: list[Lesson[T]] | None = None
        self.probe: Probe | None = None

    def replay(self, journal: list[Lesson[T]]) -> None:
        """Learn what another Copies learnt, call by call: in journal order, what two
        processes learnt from two parts of a file is what one learns reading both."""
        for secret, about, surely_secret in journal:
            self.remember(secret, about, surely_secret=surely_secret)

    def size(self) -> tuple[int, int]:
        """How many forms are known; since() gives those learnt after."""
        return len(self._secrets), len(self._odd)

    def since(self, size: tuple[int, int]) -> Forms[T]:
        """The forms learnt since size() was that, each with what was kept about it."""
        return Forms(
            dict(itertools.islice(self._secrets.items(), size[0], None)),
            dict(itertools.islice(self._odd.items(), size[1], None)),
        )

    def near_capacity(self, more: Forms[T]) -> bool:
        """Whether this many more forms could reach a cap, where what is learnt first wins."""
        return (
            len(self._secrets) + len(more.tokens) >= _MAX_SECRETS
            or len(self._odd) + len(more.odd) >= _MAX_ODD
        )

    def remember(self, secret: str, about: T, *, surely_secret: bool = True) -> None:
        """Look for copies of secret from now on; a copy keeps the first sighting's about.

        A value removed only because of where it sat (any cookie at all) is remembered only
        when it looks machine-made, 16+ characters with letters and digits: a cookie holding
        "application/json" or "us-east-1" must not wipe every Content-Type header or every
        mention of the region.
        """
        if len(secret) < MIN_LENGTH or len(self._secrets) >= _MAX_SECRETS:
            return
        if not surely_secret and not (
            len(secret) >= _MIN_PLAIN_LENGTH and _DIGIT.search(secret) and _LETTER.search(secret)
        ):
            return
        learnt = False
        bare_secret = secret.rstrip("=")
        # surrogatepass: a lone surrogate, which browsers write, has no UTF-8 of its own.
        quoted = (quote(s, safe="", errors="surrogatepass") for s in (secret, bare_secret))
        for form in (bare_secret, *quoted):
            bare = form.rstrip("=")
            if len(bare) >= MIN_LENGTH and bare not in self._secrets:  # "1=======" is no secret
                self._secrets[bare] = about
                if pieces := _pieces(bare):
                    self._ascii_pieces.add(max(pieces, key=len))
                if self.probe is not None:
                    self.probe.learnt(bare, odd=False)
                learnt = True
        # Odd: not one token, or a token of edges alone ("--------") that has no piece.
        odd = not _TOKEN.fullmatch(secret) or (secret.isascii() and not _pieces(secret))
        # Both with and without its padding: the copy of a padded one may come without.
        for form in (secret, bare_secret) if odd else ():
            if len(form) >= MIN_LENGTH and form not in self._odd and len(self._odd) < _MAX_ODD:
                self._odd[form] = about
                if self.probe is not None:
                    self.probe.learnt(form, odd=True)
                learnt = True
        self.generation += learnt
        if learnt and self.journal is not None:
            self.journal.append((secret, about, surely_secret))

    def whole(self, text: str) -> T | None:
        """What is known about text if it is, as a whole, a secret removed before."""
        bare = text.rstrip("=")
        if self.probe is not None:
            self.probe.add_whole(bare)
        return self._secrets.get(bare) if self._secrets else None

    def find(self, text: str) -> list[tuple[int, int, T]]:
        """(start, end, about) of each copy in text; they may overlap."""
        if len(text) < MIN_LENGTH:
            return []
        pieces = self.probe.add(text) if self.probe is not None else None
        if not self._secrets:
            return []
        found = self._tokens(text) if self._may_hold_token(text, pieces) else []
        return found + _each(text, self._odd) if self._odd else found

    def _may_hold_token(self, text: str, pieces: list[bytes] | None = None) -> bool:
        """Whether a token of text, or a part of one between '/', is a secret.

        Nearly every text holds none. Splitting it in C and testing the set of its pieces
        against the secrets' at once (see _PIECES) costs a fifth of the loop in _tokens, which
        then runs only where there may be something to find.
        """
        if text.isascii():
            return not self._ascii_pieces.isdisjoint(_pieces(text) if pieces is None else pieces)
        # What _tokens looks up, in the same steps: each token, its parts between '/', and
        # each of those without its edges, all without their padding.
        tokens = _TOKEN.findall(text)
        tokens += [part for token in tokens if "/" in token for part in token.split("/")]
        tokens += [token.strip(_EDGES) for token in tokens]
        return not self._secrets.keys().isdisjoint(token.rstrip("=") for token in tokens)

    def _tokens(self, text: str) -> list[tuple[int, int, T]]:
        found: list[tuple[int, int, T]] = []
        for m in _TOKEN.finditer(text):
            if not self._add(m.group(), m.start(), found) and "/" in m.group():
                start = m.start()  # an id between slashes in a URL path
                for part in m.group().split("/"):
                    self._add(part, start, found)
                    start += len(part) + 1
        return found

    def _add(self, token: str, start: int, found: list[tuple[int, int, T]]) -> bool:
        """Whether token (at start), or it without the punctuation at its ends, is a secret."""
        if (about := self._secrets.get(token.rstrip("="))) is not None:
            found.append((start, start + len(token), about))
            return True
        core = token.strip(_EDGES)
        if core != token and (about := self._secrets.get(core.rstrip("="))) is not None:
            start += token.index(core)
            found.append((start, start + len(core), about))
            return True
        return False


@dataclass(frozen=True, slots=True)
class Forms(Generic[T]):
    """Forms of secrets as Copies keeps them (tokens, and odd ones looked for as they are),
    each with what was kept about its first sighting."""

    tokens: dict[str, T] = field(default_factory=dict)
    odd: dict[str, T] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tokens or self.odd)

    def apart_from(self, other: Forms[T]) -> Forms[T]:
        """These forms but those other holds."""
        return Forms(
            {f: a for f, a in self.tokens.items() if f not in other.tokens},
            {f: a for f, a in self.odd.items() if f not in other.odd},
        )

    def conflict(self, other: Forms[T], early: set[str]) -> bool:
        """Whether a form both hold was first seen otherwise by each, or is in early (a text
        looked at before it was learnt here may hold it)."""
        return any(
            form in theirs and (about != theirs[form] or form in early)
            for ours, theirs in ((self.tokens, other.tokens), (self.odd, other.odd))
            for form, about in ours.items()
        )


class Probe:
    """The pieces (see _PIECES) of every text a Copies was asked about, to tell afterwards
    whether knowing more secrets could have changed any answer.

    A copy of a token secret holds its longest piece as a piece of the text, whether the text
    is ASCII or not (non-ASCII bytes are no token characters); a copy of an odd secret holds
    each of its pieces that it closes on both sides. A secret without such a piece, or not
    ASCII, could be anywhere. Past _MAX_PROBE pieces the probe stops keeping them (memory)
    and answers that anything could be anywhere.

    Every answer of a Copies that depends on what it knows goes through find() or whole(),
    which feed the probe; a cache of such answers must be emptied when a probe starts. And no
    answer may depend on the order secrets were learnt in, only on which are known and on
    their first sightings: a part that learnt a secret later than one process does must come
    out the same.
    """

    def __init__(self) -> None:
        self._pieces: set[bytes] = set()
        self._wholes = bytearray(_WHOLE_BITS >> 3)  # see _WHOLE_BITS
        self.full = False
        # Forms the Copies learnt after a text that may hold one was asked about: one that
        # knew it from the start may have answered otherwise for that text.
        self.early: set[str] = set()

    def add(self, text: str) -> list[bytes] | None:
        """Keep the pieces of text; returns them, unless the probe is full."""
        if self.full or len(text) < MIN_LENGTH:
            return None  # no secret is shorter
        pieces = text.encode("utf-8", "surrogatepass").translate(_PIECES).split()
        self._pieces.update(pieces)
        self.full = len(self._pieces) > _MAX_PROBE
        return pieces

    def add_whole(self, bare: str) -> None:
        """Keep that a text without its padding was asked about as a whole."""
        if len(bare) >= MIN_LENGTH:
            bit = hash(bare) & (_WHOLE_BITS - 1)
            self._wholes[bit >> 3] |= 1 << (bit & 7)

    def _seen_whole(self, form: str) -> bool:
        bit = hash(form) & (_WHOLE_BITS - 1)
        return bool(self._wholes[bit >> 3] & (1 << (bit & 7)))

    def learnt(self, form: str, *, odd: bool) -> None:
        """Keep whether a text asked about so far may hold the form just learnt."""
        if self._may_hold(form, odd=odd):
            self.early.add(form)

    def may_hold(self, forms: Forms[Any]) -> bool:
        """Whether any text asked about may hold one of forms (or be one)."""
        return any(self._may_hold(form, odd=False) for form in forms.tokens) or any(
            self._may_hold(form, odd=True) for form in forms.odd
        )

    def _may_hold(self, form: str, *, odd: bool) -> bool:
        if self.full:
            return True
        if odd:
            closed = _closed_pieces(form)
            return not closed or self._pieces.issuperset(closed)
        pieces = _pieces(form)
        return self._seen_whole(form) or not pieces or max(pieces, key=len) in self._pieces


def _closed_pieces(form: str) -> list[bytes]:
    """The pieces of an ASCII form that a character of its own ends on both sides."""
    if not form.isascii():
        return []
    pieces = form.encode().translate(_PIECES).split(b" ")
    return [p for p in pieces[1:-1] if p]


def _pieces(text: str) -> list[bytes]:
    """The pieces of an ASCII text (see _PIECES); none for any other."""
    return text.encode().translate(_PIECES).split() if text.isascii() else []


def _each(text: str, secrets: dict[str, T]) -> list[tuple[int, int, T]]:
    found = []
    for secret, about in secrets.items():
        start = text.find(secret)
        while start >= 0:
            end = start + len(secret)
            found.append((start, end, about))
            start = text.find(secret, end)
    return found
