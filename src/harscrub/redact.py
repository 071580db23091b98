"""Placeholders: what replaces a secret, and the keyed tag that lets equal secrets be recognised."""

from __future__ import annotations

import hmac

import regex

TAG_LENGTH = 6

PLACEHOLDER = regex.compile(rf"\[REDACTED:[a-z0-9-]+:[0-9a-f]{{{TAG_LENGTH}}}\]")

# An auth scheme ("Bearer ", "AWS4-HMAC-SHA256 ") is a short word followed by whitespace and
# then the credential. Narrower than RFC 9110's token on purpose: a dot would let a JWT pass for
# a scheme, and a lone token with trailing blanks must not count as a scheme with nothing after.
_SCHEME = regex.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}[ \t]+(?=\S)")


def tag_for(value: str, key: bytes) -> str:
    """A keyed hash: stable within a run, useless for guessing the value without the key."""
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), "sha256").hexdigest()
    return digest[:TAG_LENGTH]


def placeholder(rule_id: str, tag: str) -> str:
    return f"[REDACTED:{rule_id}:{tag}]"


def is_placeholder(value: str) -> bool:
    """True for a value harscrub already wrote, so a second run changes nothing."""
    return PLACEHOLDER.fullmatch(value) is not None


def split_scheme(value: str) -> tuple[str, str]:
    """Split "Bearer abc" into ("Bearer ", "abc"); a value with no scheme word is all secret."""
    m = _SCHEME.match(value)
    if m is None:
        return "", value
    return value[: m.end()], value[m.end() :]
