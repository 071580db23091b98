"""Expected outputs written as templates: <<rule>> stands for one placeholder.

<<rule-id>> is [REDACTED:rule-id:tag], <<%rule-id>> the same with its brackets percent-encoded
(a URL path or userinfo allows no '['), <<*>> a placeholder of any rule.
"""

from __future__ import annotations

import base64
from typing import Any

import regex

MARK = regex.compile(r"<<(%?)([a-z0-9*-]+)>>")


def shape(template: str) -> str:
    """A regex for the text template stands for."""
    out, pos = [], 0
    for m in MARK.finditer(template):
        rule = "[a-z0-9-]+" if m[2] == "*" else regex.escape(m[2])
        left, right = (r"%5B", r"%5D") if m[1] else (r"\[", r"\]")
        out += [
            regex.escape(template[pos : m.start()]),
            f"{left}REDACTED:{rule}:[0-9a-f]{{6}}{right}",
        ]
        pos = m.end()
    return "".join([*out, regex.escape(template[pos:])])


def matches(template: str, text: Any) -> bool:
    return isinstance(text, str) and regex.fullmatch(shape(template), text) is not None


def hide(value: object) -> str | None:
    """Test ids never show a canary."""
    return "secret" if "FAKE" in str(value) else None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
