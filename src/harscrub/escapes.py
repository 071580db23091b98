"""Escaped text seen in decoded form: percent-encoding, form '+', HTML entities, JSON escapes.

Secrets are looked for in decoded text, so ``%2F`` or ``\\u002e`` cannot hide a token's shape.
A View maps each decoded character back to the raw characters it came from, so a redaction is
written into the raw text with the same escapes around it as before.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import regex

from harscrub.spans import Span

Piece = tuple[str, int, int]  # decoded text, raw start, raw end


@dataclass(frozen=True, slots=True)
class Escapes:
    """One escaping scheme: what marks an escape, how it decodes, how replacements encode."""

    marker: str  # no escape can occur in text without this character
    pattern: regex.Pattern[str]
    decode_match: Callable[[regex.Match[str]], Iterator[Piece]]
    encode: Callable[[str], str]

    def decode(self, raw: str) -> str:
        if self.marker not in raw:
            return raw
        return "".join(text for text, _, _ in self._pieces(raw))

    def spans(self, raw: str, scan: Callable[[str], list[Span]]) -> list[Span]:
        """Spans in raw, found by scan in its decoded form; replacements encoded for raw."""
        decoded = self.decode(raw)
        found = scan(decoded)
        if not found:
            return []
        if decoded is raw:
            return [Span(s.start, s.end, self.encode(s.text), s.hits) for s in found]
        starts, ends = self._view(raw)
        return [Span(starts[s.start], ends[s.end - 1], self.encode(s.text), s.hits) for s in found]

    def _pieces(self, raw: str) -> Iterator[Piece]:
        pos = 0
        for m in self.pattern.finditer(raw):
            if m.start() > pos:
                yield raw[pos : m.start()], pos, -1  # -1: a literal run, one raw char each
            yield from self.decode_match(m)
            pos = m.end()
        if pos < len(raw):
            yield raw[pos:], pos, -1

    def _view(self, raw: str) -> tuple[list[int], list[int]]:
        starts: list[int] = []
        ends: list[int] = []
        for text, start, end in self._pieces(raw):
            if end < 0:
                starts.extend(range(start, start + len(text)))
                ends.extend(range(start + 1, start + len(text) + 1))
            else:
                starts.extend([start] * len(text))
                ends.extend([end] * len(text))
        return starts, ends


def _percent_run(m: regex.Match[str]) -> Iterator[Piece]:
    """A run of %XX escapes, decoded as UTF-8 one character at a time; bad bytes stay as typed."""
    if m.group() == "+":
        yield " ", m.start(), m.end()
        return
    data = bytes.fromhex(m.group().replace("%", ""))
    i, base = 0, m.start()
    while i < len(data):
        size = _utf8_length(data[i])
        try:
            char = data[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            size, char = 1, ""
        if char:
            yield char, base + 3 * i, base + 3 * (i + size)
        else:
            yield m.group()[3 * i : 3 * i + 3], base + 3 * i, -1
        i += size


def _utf8_length(lead: int) -> int:
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _entity(m: regex.Match[str]) -> Iterator[Piece]:
    yield html.unescape(m.group()), m.start(), m.end()


_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_escape(m: regex.Match[str]) -> Iterator[Piece]:
    # Also used on JavaScript string literals, whose "\'" or "\x41" JSON does not know:
    # an unknown escape stands for the character after the backslash.
    escape = m.group()
    if escape[1] == "u":
        text = "".join(chr(int(escape[i + 2 : i + 6], 16)) for i in range(0, len(escape), 6))
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    else:
        text = _SIMPLE_ESCAPES.get(escape[1], escape[1])
    yield text, m.start(), m.end()


# A replacement is a placeholder, made of letters, digits and "[]:-", or an inner container's
# already-encoded replacement. Brackets stay readable in a query ("code=[REDACTED:...]", as
# browsers send them) but are escaped in a path or userinfo, where they are not allowed. A lone
# surrogate (browsers write "\ud800" into HARs) is encoded as its three UTF-8-style bytes.
QUERY = Escapes("%", regex.compile(r"(?:%[0-9A-Fa-f]{2})+"), _percent_run,
                lambda t: quote(t, safe="[]:", errors="surrogatepass"))  # fmt: skip
FORM = Escapes("", regex.compile(r"(?:%[0-9A-Fa-f]{2})+|\+"), _percent_run,
               lambda t: quote(t, safe="[]:", errors="surrogatepass"))  # fmt: skip
PATH = Escapes("%", regex.compile(r"(?:%[0-9A-Fa-f]{2})+"), _percent_run,
               lambda t: quote(t, safe=":", errors="surrogatepass"))  # fmt: skip
HTML = Escapes("&",
               regex.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?"),
               _entity, lambda t: html.escape(t, quote=True))  # fmt: skip
JSON_STRING = Escapes("\\", regex.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[^u]"),
    _json_escape, lambda t: json.dumps(t, ensure_ascii=False)[1:-1])  # fmt: skip
