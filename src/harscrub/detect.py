"""harscrub's own Python detectors, registered in the ``harscrub.detectors`` entry-point group.

Most token formats are plain regexes in rules/tokens.toml. These need a second look at what a
regex found: a JWT's first segment must decode to JSON, and a "random-looking" value is judged
by its character mix and entropy.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import regex

# Three (JWS) or five (JWE) base64url segments; the header always starts '{"' = 'eyJ'. The
# signature may be empty (alg "none"). Bounded repeats keep the scan linear on runs of 'eyJ'.
_JWT = regex.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,8192}(?:\.[A-Za-z0-9_-]{0,65536}){2,4}"
    r"(?![A-Za-z0-9_-])"
)


@dataclass(frozen=True, slots=True)
class JwtDetector:
    """JSON Web Tokens (JWS and JWE compact forms) whose header decodes to a JSON object."""

    keywords: tuple[str, ...] = ("eyj",)

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        for match in _JWT.finditer(text):
            parts = match.group().split(".")
            if len(parts) in (3, 5) and _json_object(parts[0]):
                yield match.span()


def _json_object(segment: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return isinstance(orjson.loads(raw), dict)
    except (binascii.Error, ValueError):
        return False


# A token is one run of these; anything with spaces or other punctuation is prose or a path.
_TOKEN_CHARS = regex.compile(r"[A-Za-z0-9+/=_~.-]{16,4096}")
_HEX = regex.compile(r"[0-9a-fA-F]+")
_UUID = regex.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_SEPARATOR = regex.compile(r"[-_.~/+=]+")
_WORD = regex.compile(r"[a-z]+|[A-Z][a-z]+|\d{1,4}")


@dataclass(frozen=True, slots=True)
class HighEntropyDetector:
    """A whole value that looks machine-made: long, mixed letters and digits, high entropy.

    Conservative on purpose (rules use it only under secret-sounding names): a UUID, a date,
    hex shorter than 32 characters or a value made of words is not reported.
    """

    keywords: tuple[str, ...] = ()
    min_length: int = 16
    min_bits_per_char: float = 3.3

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        value = text.strip()
        if len(value) < self.min_length or not _TOKEN_CHARS.fullmatch(value):
            return
        if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
            return
        if _UUID.fullmatch(value):  # an id (an idempotency key, a request id), not a secret
            return
        if _HEX.fullmatch(value):
            if len(value) < 32:  # shorter hex is a commit, an asset hash, a trace id
                return
        elif _is_slug(value) or _entropy(value) < self.min_bits_per_char:
            return
        start = text.index(value)
        yield start, start + len(value)


def _is_slug(value: str) -> bool:
    """'bert-base-uncased-v2', 'release_2024_11': words and small numbers joined by separators."""
    parts = [p for p in _SEPARATOR.split(value) if p]
    return len(parts) >= 2 and sum(bool(_WORD.fullmatch(p)) for p in parts) * 4 >= len(parts) * 3


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


JWT = JwtDetector()
HIGH_ENTROPY = HighEntropyDetector()
