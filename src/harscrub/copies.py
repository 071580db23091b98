"""Copies: a secret removed in one place is removed wherever else it turns up in the run.

A leak is usually the copy nobody thought of: a session cookie copied into an ad beacon's
query, a token echoed in a response header, a cookie value written by a script in a body.
Copies are matched as whole tokens (a run of the characters below, or a part of one between
'/'), so a secret is never cut out of the middle of a longer word. Secrets shorter than eight
characters, or without both letters and digits, are not remembered: they are too likely to
be words.
"""

from __future__ import annotations

from typing import Generic, TypeVar
from urllib.parse import quote

import regex

T = TypeVar("T")  # what the caller keeps about a removed secret

MIN_LENGTH = 8
_MIN_PLAIN_LENGTH = 16
_TOKEN = regex.compile(r"[\w.~+/%@!$*()',|-]{8,}=*")
_DIGIT = regex.compile(r"[0-9]")
_LETTER = regex.compile(r"[A-Za-z]")
_TOKEN_CHAR = regex.compile(r"[\w.~+/%@!$*()',|-]")
_LONG_TEXT = 4096  # from here on, and with few secrets, str.find per secret is faster
_FEW_SECRETS = 256
_MAX_SECRETS = 100_000  # memory stays bounded on an archive of secrets
_MAX_ODD = 1_000


class Copies(Generic[T]):
    def __init__(self) -> None:
        self._secrets: dict[str, T] = {}  # secret (and its percent-encoded form) -> T
        self._odd: dict[str, T] = {}  # secrets that are no single token, looked for as they are

    def remember(self, secret: str, about: T, *, surely_secret: bool = True) -> None:
        """Look for copies of secret from now on.

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
        self._secrets[secret] = about
        self._secrets.setdefault(quote(secret, safe=""), about)
        if not _TOKEN.fullmatch(secret) and len(self._odd) < _MAX_ODD:
            self._odd[secret] = about  # "1.2.utmcsr=(direct)|utmccn=x"

    def whole(self, text: str) -> T | None:
        """What is known about text if it is, as a whole, a secret removed before."""
        return self._secrets.get(text) if self._secrets else None

    def find(self, text: str) -> list[tuple[int, int, T]]:
        """(start, end, about) of each copy in text; they may overlap."""
        if not self._secrets or len(text) < MIN_LENGTH:
            return []
        if len(text) > _LONG_TEXT and len(self._secrets) <= _FEW_SECRETS:
            return _each(text, self._secrets, whole_tokens=True)
        found = []
        for m in _TOKEN.finditer(text):
            token = m.group()
            if (about := self._secrets.get(token)) is not None:
                found.append((m.start(), m.end(), about))
            elif "/" in token:  # an id between slashes in a URL path
                start = m.start()
                for part in token.split("/"):
                    if len(part) >= MIN_LENGTH and (about := self._secrets.get(part)) is not None:
                        found.append((start, start + len(part), about))
                    start += len(part) + 1
        return found + _each(text, self._odd, whole_tokens=False) if self._odd else found


def _each(text: str, secrets: dict[str, T], *, whole_tokens: bool) -> list[tuple[int, int, T]]:
    found = []
    for secret, about in secrets.items():
        start = text.find(secret)
        while start >= 0:
            end = start + len(secret)
            if not whole_tokens or not (_edge(text, start - 1) or _edge(text, end)):
                found.append((start, end, about))
            start = text.find(secret, end)
    return found


def _edge(text: str, i: int) -> bool:
    """Whether text[i] would make a secret found next to it part of a longer token."""
    return 0 <= i < len(text) and _TOKEN_CHAR.fullmatch(text[i]) is not None
