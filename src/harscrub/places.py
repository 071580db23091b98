"""Where secrets sit in one HAR entry, and how each container is taken apart and put back.

This module knows the HAR's shape; it knows no rules. For every value it finds it calls
``redact(place, name, value, path)`` and writes back what that returns, so a container keeps its
own syntax: a Cookie header stays ``name=value; name=value``, Set-Cookie keeps its attributes.
Entries from real producers are often malformed (cookies as an object, header values as lists,
response null); they are read as far as their shape allows, and whatever is left is never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import regex

Redact = Callable[[str, str, str, str], str]
"""(place, name, value, path) -> the value to write back."""

TextCodec = Callable[[str, str, Redact], str]
"""(text, path, redact) -> the text with its secrets replaced, in its own syntax."""

_SIDES = ("request", "response")

# Several Set-Cookie headers folded into one value: Firefox and Firebug join them with newlines,
# pcap2har and some proxies with ", ". Outside a quoted value, a comma followed by `name=` (any
# name: PHP writes `user[id]=`) before the next ';' does not occur inside one cookie's attributes
# (an Expires date reads "Wed, 21 Oct"), so it separates two cookies. Quoted values are matched
# whole so that their commas are skipped.
_SET_COOKIE_SEPARATOR = regex.compile(r'"[^";\r\n]*"|(\r\n|\r|\n|,(?=[^;,=\r\n]*=))')


def scrub_entry(entry: dict[str, Any], redact: Redact) -> None:
    for side in _SIDES:
        message = entry.get(side)
        if not isinstance(message, dict):
            continue
        for holder, key, name, path in _named_values(message.get("headers"), f"{side}.headers"):
            codec = _HEADER_CODECS.get(name.lower()) or _whole("header", name)
            _rewrite(holder, key, path, codec, redact)
        for holder, key, name, path in _named_values(message.get("cookies"), f"{side}.cookies"):
            _rewrite(holder, key, path, _whole("cookie", name), redact)


def _named_values(items: Any, path: str) -> Iterator[tuple[dict[str, Any], str, str, str]]:
    """(holder, key, name, path) of each value in a HAR name/value list, whatever its shape.

    The spec's list of {"name", "value"} objects; one such object alone (IE11's F12 tools write a
    lone cookie so); or an object mapping names to values (hand-written and converted HARs).
    """
    if isinstance(items, list):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield item, "value", _name(item.get("name")), f"{path}[{i}].value"
    elif isinstance(items, dict):
        if "name" in items:
            yield items, "value", _name(items["name"]), f"{path}.value"
        else:
            for name in items:
                yield items, name, name.strip(), f"{path}.{name}"


def _name(name: Any) -> str:
    # A header or cookie with no usable name still has its value looked at, as name "".
    # Some converters keep the colon of a raw header line: "Authorization:".
    return name.strip().removesuffix(":").rstrip() if isinstance(name, str) else ""


def _rewrite(holder: dict[str, Any], key: str, path: str, codec: TextCodec, redact: Redact) -> None:
    if key not in holder:
        return  # never add a field the producer did not write
    value = holder[key]
    if isinstance(value, list):  # Polly.JS writes repeated headers as one list of values
        holder[key] = [_scalar(v, f"{path}[{j}]", codec, redact) for j, v in enumerate(value)]
    else:
        holder[key] = _scalar(value, path, codec, redact)


def _scalar(value: Any, path: str, codec: TextCodec, redact: Redact) -> Any:
    if isinstance(value, str):
        return codec(value, path, redact)
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A numeric session id is still a session id; its placeholder is a string.
        text = str(value)
        new = codec(text, path, redact)
        return value if new == text else new
    return value


def _whole(place: str, name: str) -> TextCodec:
    """The codec of a value that is one piece: a plain header, a cookie in a cookies list."""
    return lambda text, path, redact: redact(place, name, text, path)


def _cookie_header(text: str, path: str, redact: Redact) -> str:
    return ";".join(_cookie_pair(segment, path, redact) for segment in text.split(";"))


def _set_cookie_header(text: str, path: str, redact: Redact) -> str:
    out, start = [], 0
    for m in _SET_COOKIE_SEPARATOR.finditer(text):
        if m.group(1) is not None:
            out += [_set_cookie(text[start : m.start()], path, redact), m.group(1)]
            start = m.end()
    out.append(_set_cookie(text[start:], path, redact))
    return "".join(out)


def _set_cookie(text: str, path: str, redact: Redact) -> str:
    pair, sep, attributes = text.partition(";")
    return _cookie_pair(pair, path, redact) + sep + attributes


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


_HEADER_CODECS: dict[str, TextCodec] = {
    "cookie": _cookie_header,
    "set-cookie": _set_cookie_header,
    "set-cookie2": _set_cookie_header,  # RFC 2965, obsolete but still in old captures
}
