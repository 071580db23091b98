"""Placeholders: what replaces a secret, and the keyed tag that lets equal secrets be recognised."""

from __future__ import annotations

import hmac
from typing import Literal, get_args

import regex

Style = Literal["tag", "mask", "drop"]
STYLES: tuple[str, ...] = get_args(Style)
TAG_LENGTH = 6
MASK = "[REDACTED]"

PLACEHOLDER = regex.compile(rf"\[REDACTED(?::[a-z0-9-]+:[0-9a-f]{{{TAG_LENGTH}}})?\]")
# A JWT whose header and claims were kept (--keep-jwt-claims) is as finished as a placeholder.
_DONE = regex.compile(rf"(?:eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.)?{PLACEHOLDER.pattern}")
# What a JWT kept for debugging looks like: header.claims.[placeholder]
_JWT_KEPT = regex.compile(r"(eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.)([A-Za-z0-9_-]*)")

# Authorization schemes whose word is kept (IANA's registry plus vendors' own). Any other first
# word might be the credential itself ("sk_live_x 1"), so an unknown scheme goes with the value.
AUTH_SCHEMES = (
    "AWS", "AWS4-HMAC-SHA256", "ApiKey", "Basic", "Bearer", "Concealed", "DPoP", "Digest",
    "GNAP", "GoogleLogin", "HOBA", "Kerberos", "Key", "Mutual", "NTLM", "Negotiate", "OAuth",
    "PrivateToken", "SCRAM-SHA-1", "SCRAM-SHA-256", "SSWS", "SharedKey", "SharedKeyLite",
    "Splunk", "Token", "vapid",
)  # fmt: skip
# The scheme must be followed by something: "Bearer " alone is not a scheme with a credential.
_SCHEME = regex.compile(rf"(?i)(?:{'|'.join(map(regex.escape, AUTH_SCHEMES))})[ \t]+(?=\S)")


def tag_for(value: str, key: bytes) -> str:
    """A keyed hash: stable within a run, useless for guessing the value without the key."""
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), "sha256").hexdigest()
    return digest[:TAG_LENGTH]


def placeholder(rule_id: str, tag: str, style: Style = "tag") -> str:
    if style == "tag":
        return f"[REDACTED:{rule_id}:{tag}]"
    return MASK if style == "mask" else ""


def is_placeholder(value: str) -> bool:
    """True for a value harscrub already wrote, so a second run changes nothing."""
    return _DONE.fullmatch(value) is not None


def is_scheme(value: str) -> bool:
    """Whether value is a scheme word alone ("Bearer ")."""
    return value.strip().lower() in _SCHEME_WORDS


_SCHEME_WORDS = frozenset(s.lower() for s in AUTH_SCHEMES)


def split_scheme(value: str) -> tuple[str, str]:
    """Split "Bearer abc" into ("Bearer ", "abc"); a value with no scheme word is all secret."""
    m = _SCHEME.match(value)
    if m is None:
        return "", value
    return value[: m.end()], value[m.end() :]


def split_jwt(value: str) -> tuple[str, str] | None:
    """("header.claims.", "signature") when value is a JWS, for keeping its readable parts."""
    m = _JWT_KEPT.fullmatch(value)
    return (m.group(1), m.group(2)) if m else None
