"""Bodies by media type: JSON, forms, multipart, HTML, and free text (JavaScript, XML, logs).

Each codec finds the named values and free text inside a body and asks the Scan about them, in
decoded form; the spans it returns are in the body's own coordinates, so the body is patched,
never re-serialized: a JSON body keeps its spacing, key order and escapes everywhere else.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from functools import partial

import orjson
import regex

from harscrub.escapes import FORM, HTML, JSON_STRING, QUERY
from harscrub.spans import MIN_TOKEN, Scan, Span, merged, shifted, tokens_in_name
from harscrub.urls import SCHEME, is_encoded_url, is_url, params, scrub_url

BodyCodec = Callable[[str, str, Scan], list[Span]]
"""(text, media type, scan) -> spans in text."""


def body_spans(text: str, mime: str, scan: Scan) -> list[Span]:
    return codec_for(mime)(text, mime, scan)


_CHARSET = regex.compile(r"(?i);\s*charset=\"?([\w.:-]{1,40})")


def charset(mime: str) -> str | None:
    """The charset parameter of a media type, if any: "text/html; charset=iso-8859-1".

    None for the names of Python's own codecs, which no web page is in: "unicode_escape"
    warns (an error under -W error) on a backslash it does not know, "idna" decodes what it
    refuses to encode. Such a body is read as UTF-8 or Latin-1 instead.
    """
    m = _CHARSET.search(mime)
    if m is None:
        return None
    try:
        name = codecs.lookup(m.group(1)).name
    except LookupError:
        return m.group(1)  # decoding it fails, and UTF-8 or Latin-1 is tried next
    return None if name in _PYTHON_CODECS else m.group(1)


_PYTHON_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "undefined", "punycode", "idna"}
)


def essence(mime: str) -> str:
    return mime.partition(";")[0].strip().lower()


def is_textual(mime: str) -> bool:
    """Whether a body of this type is text (scanned) rather than media (left alone)."""
    kind = essence(mime)
    if not kind:
        return True  # no type given: text until shown otherwise
    top, _, sub = kind.partition("/")
    if top in ("text", "multipart") or sub.endswith(("+json", "+xml")):
        return True
    return top == "application" and any(word in sub for word in _TEXTUAL_APPLICATION)


_TEXTUAL_APPLICATION = ("json", "javascript", "ecmascript", "xml", "x-www-form-urlencoded",
                        "graphql", "html", "jwt", "x-sh", "yaml", "toml", "csv", "sql",
                        "x-ndjson", "ld+json", "problem")  # fmt: skip


def codec_for(mime: str) -> BodyCodec:
    kind = essence(mime)
    if kind.endswith(("+json", "/json")) or kind in ("application/x-ndjson", "application/jsonl"):
        return json_body
    return _CODECS.get(kind, text_body)


def json_body(text: str, mime: str, scan: Scan) -> list[Span]:
    found = json_spans(text, scan)
    return text_body(text, mime, scan) if found is None else found


# Tokens of a JSON text: strings, brackets, numbers. Commas and literals need no attention.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_JSON_TOKEN = regex.compile(rf"{_STRING}|[{{}}\[\]]|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def json_spans(text: str, scan: Scan) -> list[Span] | None:
    """Spans in a JSON document (or JSON lines); None when text is not JSON.

    Each string is scanned under the key it belongs to; items of an array belong to the array's
    key, so ``"tokens": ["a", "b"]`` is read as two values named tokens. In a name/value pair
    object, as HAR itself and Okta's ion+json write them (``{"name": "stateHandle", "value":
    "..."}``), the value sits under the name given before it.
    """
    documents = _json_documents(text)
    if documents is None:
        return None
    if _holds_nothing(documents, text, scan):
        return []
    found: list[Span] = []
    names: list[str] = []  # the name of each open container: "" for objects
    labels: list[str | None] = []  # per open container: the string its "name" key holds
    key: str | None = None
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        first = token[0]
        if first == '"' and _is_key(text, m.end()):
            key = JSON_STRING.decode(token[1:-1])
            if len(key) >= MIN_TOKEN:  # a key holding a token (shorter keys: see README)
                keyed = partial(tokens_in_name, scan=scan)
                found += shifted(JSON_STRING.spans(token[1:-1], keyed), m.start() + 1)
            continue
        # What a value, or a container opened here, sits under: its key, else its array's.
        if key is not None:
            name = _sits_under(key, labels[-1] if labels else None)
        else:
            name = names[-1] if names else ""
        if first == '"':
            value = partial(scan.under_name, place="json", name=name)
            found += shifted(JSON_STRING.spans(token[1:-1], value), m.start() + 1)
            if key == "name" and labels:
                labels[-1] = JSON_STRING.decode(token[1:-1])
        elif first in "{[":
            names.append("" if first == "{" else name)
            labels.append(None)
        elif first in "}]":
            if names:
                names.pop()
                labels.pop()
        else:  # a number: a PIN or a numeric session id under a secret name
            # A short number is a count or a flag, not a secret; a PIN has four digits.
            if name and len(token.lstrip("-")) >= 4:
                found += [
                    Span(
                        m.start() + s.start,
                        m.start() + s.end,
                        f'"{JSON_STRING.encode(s.text)}"',
                        s.hits,
                    )
                    for s in scan.by_name(token, "json", name)
                ]
        key = None
    return found


def _is_key(text: str, end: int) -> bool:
    """Whether the string token ending at end is followed by ':' (after blanks)."""
    # A plain loop: the regex module's match(text, pos) looks for a pattern's required ':'
    # through the rest of the text, which made an array of 100k strings take 19 s.
    while end < len(text) and text[end] in " \t\r\n":
        end += 1
    return end < len(text) and text[end] == ":"


def _json_documents(text: str) -> list[object] | None:
    """The document, or each line's of JSON lines; None when text is not JSON."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return [orjson.loads(text)]
    except orjson.JSONDecodeError:
        pass
    try:
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    except orjson.JSONDecodeError:
        return None


# Most JSON bodies hold nothing, and their values repeat ("status": "active" in every item). So
# each distinct value is scanned once, under the name json_spans would give it, on the parsed
# document; only a body where that finds something is walked token by token for positions.
# Measured on API responses: 2.5 times faster, and 8 times for the walk alone.
_JSON_STRING = re.compile(_STRING)


def _sits_under(key: str, label: str | None) -> str:
    """The name a value under key sits under: the key, but in a name/value pair object the
    name its "name" key gave, if any came before."""
    return label if key == "value" and label else key


def _holds_nothing(documents: list[object], text: str, scan: Scan) -> bool:
    """Whether json_spans would find nothing in text, decided on its parsed documents."""
    # Dicts, not sets: the same order whatever the hash seed of the process.
    values: dict[tuple[str, str], None] = {}  # (name, value)
    keys: dict[str, None] = {}
    numbered: set[str] = set()  # names that numbers sit under
    strings = 0
    # Scalars are taken as they come and only containers go on the stack: most nodes are
    # scalars, and this loop is most of what a JSON body that holds nothing costs.
    stack: list[tuple[object, str]] = [(doc, "") for doc in reversed(documents)]
    while stack:
        node, name = stack.pop()
        nested: list[tuple[object, str]] = []
        if isinstance(node, dict):
            label = ""  # what the object's "name" key holds: its "value" sits under that
            for key, value in node.items():
                strings += 1
                if len(key) >= MIN_TOKEN:
                    keys[key] = None
                under = _sits_under(key, label)
                if isinstance(value, str):
                    strings += 1
                    values[under, value] = None
                    if key == "name":
                        label = value
                elif isinstance(value, dict | list):
                    nested.append((value, under))
                elif isinstance(value, int | float) and not isinstance(value, bool) and under:
                    numbered.add(under)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str):
                    strings += 1
                    values[name, item] = None
                elif isinstance(item, dict | list):
                    nested.append((item, name))
                elif isinstance(item, int | float) and not isinstance(item, bool) and name:
                    numbered.add(name)
        elif isinstance(node, str):  # a document that is one string
            strings += 1
            values[name, node] = None
        stack.extend(reversed(nested))
    if strings != len(_JSON_STRING.findall(text)):
        return False  # a key given twice, which parsing kept only once
    with scan.trial():  # a secret found here is found again, in order, by the token walk
        if any(scan.names_secret("json", name) for name in numbered) or any(
            tokens_in_name(key, scan) for key in keys
        ):
            return False
        # A plain value (see text_spans) under a name no rule takes can hold only token shapes
        # and copies: all such values are looked at together, and one by one only if that
        # finds something.
        named = {name for name in {name for name, _ in values} if scan.names_secret("json", name)}
        plain = {
            (name, value): None
            for name, value in values
            if name not in named and not _STRUCTURE.search(value)
        }
        if plain and scan.hold_nothing([value for _, value in plain], "json"):
            values = {pair: None for pair in values if pair not in plain}
        return not any(scan.under_name(value, "json", name) for name, value in values)


def form_body(text: str, mime: str, scan: Scan) -> list[Span]:
    return params(text, 0, scan, "form", FORM)


def multipart_body(text: str, mime: str, scan: Scan) -> list[Span]:
    boundary = _boundary(mime, text)
    delimiter = f"--{boundary}"
    pos = text.find(delimiter) if boundary else -1
    if pos < 0:
        return text_body(text, mime, scan)
    found = scan.in_text(text[:pos], "text")  # a preamble, or whatever a producer put first
    while pos >= 0:
        start = pos + len(delimiter)
        end = text.find(delimiter, start)
        part = text[start : len(text) if end < 0 else end]
        found += _part(part, start, scan)
        pos = end
    return found


_BOUNDARY = regex.compile(r'(?i);\s*boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))')
_PART_HEAD = regex.compile(r"\r?\n\r?\n")
_DISPOSITION_NAME = regex.compile(r'(?i)\bname="([^"]*)"|\bname=([^;\s]+)')
_PART_TYPE = regex.compile(r"(?im)^content-type:\s*([^\r\n;]+)")


def _boundary(mime: str, text: str) -> str:
    """The declared boundary if the body uses it, else the one its first line shows."""
    if (m := _BOUNDARY.search(mime)) and f"--{m.group(1) or m.group(2)}" in text:
        return m.group(1) or m.group(2)
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    return first[2:] if first.startswith("--") and len(first) > 2 else ""


def _part(part: str, offset: int, scan: Scan) -> list[Span]:
    head = _PART_HEAD.search(part)
    if head is None:  # no headers: not a part a server would read, but text all the same
        return shifted(scan.in_text(part, "text"), offset)
    headers, body_start = part[: head.start()], head.end()
    body = part[body_start:].removesuffix("\n").removesuffix("\r")
    kind = _PART_TYPE.search(headers)
    if kind and not is_textual(kind.group(1)):
        return []  # an uploaded image or archive
    m = _DISPOSITION_NAME.search(headers)
    name = (m.group(1) or m.group(2)) if m else ""
    return shifted(scan.under_name(body, "form", name), offset + body_start)


_TAG = regex.compile(r"(?i)<(input|meta|param)\b([^<>]{0,4096})>")
_ATTRIBUTE = regex.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_NAME_ATTRIBUTES = {"input": ("name", "id"), "meta": ("name", "property", "http-equiv"),
                    "param": ("name",)}  # fmt: skip
_VALUE_ATTRIBUTES = {"input": "value", "meta": "content", "param": "value"}


def html_body(text: str, mime: str, scan: Scan) -> list[Span]:
    """Hidden inputs (CSRF tokens, SAML auto-post forms) and meta tags, then the text around."""
    found: list[Span] = []
    for tag in _TAG.finditer(text):
        element = tag.group(1).lower()
        attributes: dict[str, tuple[int, str]] = {}
        for a in _ATTRIBUTE.finditer(tag.group(2)):
            group = next((g for g in (2, 3, 4) if a.group(g) is not None), 0)
            if group:
                where = (tag.start(2) + a.start(group), a.group(group))
                attributes.setdefault(a.group(1).lower(), where)
        name = next((attributes[n][1] for n in _NAME_ATTRIBUTES[element] if n in attributes), "")
        if name and (value := attributes.get(_VALUE_ATTRIBUTES[element])):
            start, raw = value
            decoded_name = HTML.decode(name)
            value = partial(scan.under_name, place="form", name=decoded_name)
            found += shifted(HTML.spans(raw, value), start)
    return merged(found, text_body(text, mime, scan))


# Free text: JavaScript, XML, logs, GraphQL. Besides token shapes, it holds secrets as
# `name: "value"`, `name = 'value'`, `name=value`, `<Name>value</Name>`, and inside URLs.
# `name: "value"` and `name = 'value'` are found from their separator, then the name just
# before it: one pattern tried at every position of a large script took 5 times as long, for
# the same pairs (tests/test_fast_paths.py compares them).
_PAIR_SEPARATOR = re.compile(r"""[:=](?=[ \t]*["'])""")
_PAIR_NAME = regex.compile(r"""(?<![\w$])(["']?)([A-Za-z_$][\w$.-]{0,63})\1[ \t]*\Z""")
_NAME_WIDTH = 66  # a name's 64 characters and its quotes
_PAIR_VALUE = re.compile(
    r'[:=][ \t]*(?:"([^"\\\r\n]{0,8192}(?:\\.[^"\\\r\n]{0,8192}){0,64})"'
    r"|'([^'\\\r\n]{0,8192}(?:\\.[^'\\\r\n]{0,8192}){0,64})')"
)
_BARE_PAIR = regex.compile(r"(?<![\w$.%-])([A-Za-z_][\w.\[\]-]{0,63})=([^\s&\"'<>;,]{1,8192})")
# A header line's value is taken when it looks like a credential: one token with a digit or
# of 12+ characters, perhaps after a scheme word. "Password: at least 8 characters" and
# "Token: expired" are messages, not headers.
_HEADER_LINE = regex.compile(
    r"(?m)^[ \t]*([A-Za-z][\w-]{0,63})[ \t]*:[ \t]*"
    r"((?:[A-Za-z][\w-]{0,31}[ \t])?(?=[^\s]{0,8191}[0-9]|[^\s]{12})[^\s]{1,8192})[ \t]*\r?$"
)
_ONE_HEADER = regex.compile(r"[A-Za-z][\w-]{0,63}:[ \t]")
_ELEMENT = regex.compile(r"<(?:[\w.-]{1,64}:)?([\w.-]{1,64})(?:\s[^<>]{0,1024})?>([^<]{1,65536})</")
# A URL in prose or code ends at a blank, a quote or an angle bracket (<https://...>), and
# punctuation after it is the sentence's; a closing bracket is the URL's own when it has
# an opening one (a placeholder's "[...]", a Wikipedia "(disambiguation)").
_EMBEDDED_URL = regex.compile(rf"{SCHEME}://[^\s<>\"'`\\]*")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Every URL, pair, element, header line and JSON document has one of these characters; most
# values (words, numbers, dates, ids) have none, and are looked at for token shapes alone.
_STRUCTURE = re.compile(r"[:=%<{\[/]")


def text_spans(text: str, place: str, scan: Scan) -> list[Span] | None:
    """Spans in a piece of text, by what it turns out to be: a URL, a URL still
    percent-encoded, JSON, or free text. None for a URL to an allowed host."""
    if not _STRUCTURE.search(text):
        return scan.shapes(text, place)  # a word, a number, a date: no URL, pair or tag in it
    if is_url(text):
        return scrub_url(text, scan)
    if is_encoded_url(text):  # a URL percent-encoded once more than its container
        return QUERY.spans(text, partial(scan.in_text, place=place))
    if text[:1] in "{[" and (found := json_spans(text, scan)) is not None:
        return found
    return merged(text_structure(text, scan, place), scan.shapes(text, place))


def text_body(text: str, mime: str, scan: Scan) -> list[Span]:
    return scan.in_text(text, "text")


def text_structure(text: str, scan: Scan, place: str) -> list[Span]:
    """Spans of what free text holds in structured form: URLs, pairs, XML elements, and (in a
    value rather than a body, where code would mislead it) header lines."""
    found: list[Span] = []
    if place != "text" and ("\n" in text or _ONE_HEADER.match(text)):
        # A STOMP frame over a websocket, a raw header line in a converted HAR; a one-line
        # value needs the blank after the colon ("factorType": "token:software:totp" is no
        # header).
        for m in _HEADER_LINE.finditer(text):
            named = partial(scan.by_name, place="header", name=m.group(1))
            found += shifted(named(m.group(2)), m.start(2))
    if "://" in text:
        for m in _EMBEDDED_URL.finditer(text):
            url = _trim_url(m.group())
            found += shifted(scan.in_text(url, place), m.start())
    if "=" in text or ":" in text:
        for name, start, raw in quoted_pairs(text):
            named = partial(scan.by_name, place="json", name=name)
            found += shifted(JSON_STRING.spans(raw, named), start)
    if "=" in text:
        for m in _BARE_PAIR.finditer(text):
            named = partial(scan.by_name, place="form", name=m.group(1))
            found += shifted(FORM.spans(m.group(2), named), m.start(2))
    if "</" in text:
        for m in _ELEMENT.finditer(text):
            named = partial(scan.by_name, place="json", name=m.group(1))
            found += shifted(HTML.spans(m.group(2), named), m.start(2))
    return merged(found)


def quoted_pairs(text: str) -> Iterator[tuple[str, int, str]]:
    """(name, start, raw value) of each `name: "value"` or `name = 'value'`, left to right,
    as one regex would find them: pairs do not overlap, and a name is 64 characters at most."""
    done = 0
    for separator in _PAIR_SEPARATOR.finditer(text):
        at = separator.start()
        if at < done:
            continue  # inside the value just taken
        name_end = at
        while name_end > done and text[name_end - 1] in " \t":
            name_end -= 1
        name = _PAIR_NAME.search(text, max(done, name_end - _NAME_WIDTH), name_end)
        value = _PAIR_VALUE.match(text, at) if name else None
        if name and value:
            group = 1 if value.group(1) is not None else 2
            yield name.group(2), value.start(group), value.group(group)
            done = value.end()


def _trim_url(url: str) -> str:
    counts = {c: url.count(c) for c in "()[]{}"}  # once: counting per character was quadratic
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _CLOSERS and counts[_CLOSERS[last]] < counts[last]:
            counts[last] -= 1
        elif last not in ".,;:!?":
            break
        end -= 1
    return url[:end]


_CODECS: dict[str, BodyCodec] = {
    "application/x-www-form-urlencoded": form_body,
    "multipart/form-data": multipart_body,
    "text/html": html_body,
    "application/xhtml+xml": html_body,
}
