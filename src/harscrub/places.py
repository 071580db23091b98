"""Where secrets sit in one HAR entry, and how each container is taken apart and put back.

This module knows the HAR's shape; it knows no rules. For every value it finds it calls
``redact(place, name, value, path)`` and writes back what that returns, so a container keeps its
own syntax: a Cookie header stays ``name=value; name=value``, Set-Cookie keeps its attributes.
Entries from real producers are often malformed (cookies as an object, header values as lists,
response null); whatever has the wrong type is skipped, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Redact = Callable[[str, str, str, str], str]
"""(place, name, value, path) -> the value to write back."""

_SIDES = ("request", "response")


def scrub_entry(entry: dict[str, Any], redact: Redact) -> None:
    for side in _SIDES:
        message = entry.get(side)
        if isinstance(message, dict):
            _headers(message.get("headers"), f"{side}.headers", redact)
            _cookie_list(message.get("cookies"), f"{side}.cookies", redact)


def _headers(headers: Any, path: str, redact: Redact) -> None:
    if not isinstance(headers, list):
        return
    for i, header in enumerate(headers):
        if isinstance(header, dict) and isinstance(header.get("name"), str):
            codec = _HEADER_CODECS.get(header["name"].lower(), _plain_header)
            _rewrite(header, "value", header["name"], f"{path}[{i}].value", codec, redact)


def _cookie_list(cookies: Any, path: str, redact: Redact) -> None:
    if isinstance(cookies, dict):  # IE11's F12 tools write a lone cookie as an object
        _cookie(cookies, f"{path}.value", redact)
    elif isinstance(cookies, list):
        for i, cookie in enumerate(cookies):
            if isinstance(cookie, dict):
                _cookie(cookie, f"{path}[{i}].value", redact)


def _cookie(cookie: dict[str, Any], path: str, redact: Redact) -> None:
    name = cookie.get("name")
    _rewrite(cookie, "value", name if isinstance(name, str) else "", path, _cookie_value, redact)


Codec = Callable[[str, str, str, Redact], str]
"""(name, value, path, redact) -> the value with its secrets replaced."""


def _rewrite(
    obj: dict[str, Any], field: str, name: str, path: str, codec: Codec, redact: Redact
) -> None:
    value = obj.get(field)
    if isinstance(value, str):
        obj[field] = codec(name, value, path, redact)
    elif isinstance(value, list):  # Polly.JS writes repeated headers as one list of values
        obj[field] = [
            codec(name, v, f"{path}[{j}]", redact) if isinstance(v, str) else v
            for j, v in enumerate(value)
        ]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # A numeric session id is still a session id; the placeholder is a string.
        text = str(value)
        new = codec(name, text, path, redact)
        if new != text:
            obj[field] = new


def _plain_header(name: str, value: str, path: str, redact: Redact) -> str:
    return redact("header", name, value, path)


def _cookie_value(name: str, value: str, path: str, redact: Redact) -> str:
    return redact("cookie", name, value, path)


def _cookie_header(name: str, value: str, path: str, redact: Redact) -> str:
    return ";".join(_cookie_pair(segment, path, redact) for segment in value.split(";"))


def _set_cookie_header(name: str, value: str, path: str, redact: Redact) -> str:
    # Firefox and Firebug join several Set-Cookie headers into one value with newlines.
    lines = []
    for line in value.split("\n"):
        pair, sep, attributes = line.partition(";")
        lines.append(_cookie_pair(pair, path, redact) + sep + attributes)
    return "\n".join(lines)


def _cookie_pair(segment: str, path: str, redact: Redact) -> str:
    """Redact the value of one ``name=value``, keeping the name and the spacing around it."""
    name, eq, value = segment.partition("=")
    if not eq:  # browsers read a segment without '=' as a value with an empty name
        name, value = "", segment
    secret = value.strip()
    if not secret:
        return segment
    lead = value[: len(value) - len(value.lstrip())]
    trail = value[len(value.rstrip()) :]
    return f"{name}{eq}{lead}{redact('cookie', name.strip(), secret, path)}{trail}"


_HEADER_CODECS: dict[str, Codec] = {
    "cookie": _cookie_header,
    "set-cookie": _set_cookie_header,
}
