"""Where secrets sit in one HAR entry, and how each container is taken apart and put back.

This module knows the HAR's shape; it knows no rules. It hands every value, with the name it
sits under, to the Scan and patches the spans it gets back into the value, so a container keeps
its own syntax: a Cookie header stays ``name=value; name=value``, Set-Cookie keeps its
attributes, a URL keeps its other parameters. Fields it has no special knowledge of (vendor
``_initiator``, ``_webSocketMessages``, comments, fields a producer invented) are walked as JSON:
every string in them is scanned, so nothing is missed because nobody thought of it.

Entries from real producers are often malformed (cookies as an object, header values as lists,
response null); they are read as far as their shape allows, and whatever is left is never a crash.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import regex

from harscrub import bodies
from harscrub.escapes import FORM, QUERY
from harscrub.spans import Hit, Scan, Span, apply, merged, tokens_in_name

Found = list[tuple[str, Hit]]
"""(path of the HAR field, what was removed from it)."""

SpansOf = Callable[[str], list[Span]]

_SIDES = ("request", "response")
# Fields whose strings are the HAR's own bookkeeping: dates, versions, methods, statuses.
_PLAIN = frozenset({"startedDateTime", "time", "timings", "cache", "serverIPAddress", "connection",
                    "pageref", "method", "httpVersion", "status", "statusText", "headersSize",
                    "bodySize", "mimeType", "encoding", "size", "compression"})  # fmt: skip

# Several Set-Cookie headers folded into one value: Firefox and Firebug join them with newlines,
# pcap2har and some proxies with ", ". Outside a quoted value, a comma followed by `name=` (any
# name: PHP writes `user[id]=`) before the next ';' does not occur inside one cookie's attributes
# (an Expires date reads "Wed, 21 Oct"), so it separates two cookies. Quoted values are matched
# whole so that their commas are skipped.
_SET_COOKIE_SEPARATOR = regex.compile(r'"[^";\r\n]*"|(\r\n|\r|\n|,(?=[^;,=\r\n]*=))')


def scrub_entry(entry: dict[str, Any], scan: Scan, *, with_bodies: bool = True) -> Found:
    """Redact one entry in place. Without bodies it is a quick look at headers, cookies and
    URLs, enough to learn a run's session secrets before any entry is written."""
    found: Found = []
    if with_bodies:
        _keys(entry, "", scan, found)
    for side in _SIDES:
        message = entry.get(side)
        if isinstance(message, dict):
            _message(message, side, scan, found, with_bodies)
    if not with_bodies:
        return found
    _walk_fields(entry, "", scan, found, skip=_SIDES)
    # Copies of secrets inside longer strings: URLs, headers, vendor fields. Bodies are left
    # out: their values were compared whole above, and scanning megabytes of text for every
    # secret of the run costs more than it finds.
    _copies_everywhere(entry, "", scan, found, skip=_BODY_PATHS)
    return found


_BODY_PATHS = frozenset({"request.postData.text", "response.content.text"})


def scrub_member(prefix: str, key: str, value: Any, scan: Scan) -> tuple[Any, Found]:
    """A member of the log (pages, comment, vendor fields); returns the value to write."""
    found: Found = []
    _keys(value, f"{prefix}{key}", scan, found)
    holder = {key: value}
    _walk_fields(holder, prefix, scan, found)
    _copies_everywhere(holder, prefix, scan, found, skip=frozenset())
    return holder[key], found


_TREE = (dict, list)


def _keys(top: Any, path: str, scan: Scan, found: Found) -> None:
    """Rename the keys that hold a token or a copy of a secret, in every object at or under
    top, keeping their order. Producers put anything in a key: a header given as an object
    keyed by its line, a vendor map keyed by session id. Done first, so that no finding's path
    and no codec sees such a key."""
    stack: list[tuple[Any, str]] = [(top, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            if not _HAR_KEYS.issuperset(value):
                _rename_keys(value, path, scan, found)
            stack += (
                (v, f"{path}.{k}" if path else k)
                for k, v in value.items()
                if isinstance(v, _TREE)  # a path for containers only: most values are not
            )
        elif isinstance(value, list):
            stack += ((v, f"{path}[{i}]") for i, v in enumerate(value) if isinstance(v, _TREE))


# The keys HAR 1.2 defines: objects made only of these need no look.
_HAR_KEYS = frozenset({
    "log", "version", "creator", "browser", "pages", "entries", "comment", "name",
    "startedDateTime", "id", "title", "pageTimings", "onContentLoad", "onLoad", "pageref", "time",
    "request", "response", "cache", "timings", "serverIPAddress", "connection", "method", "url",
    "httpVersion", "cookies", "headers", "queryString", "postData", "headersSize", "bodySize",
    "status", "statusText", "content", "redirectURL", "value", "path", "domain", "expires",
    "httpOnly", "secure", "sameSite", "mimeType", "params", "text", "fileName", "contentType",
    "size", "compression", "encoding", "beforeRequest", "afterRequest", "lastAccess", "eTag",
    "hitCount", "blocked", "dns", "connect", "send", "wait", "receive", "ssl",
})  # fmt: skip


def _rename_keys(holder: dict[str, Any], path: str, scan: Scan, found: Found) -> None:
    renamed: dict[str, str] = {}
    for key in holder:
        if key not in _HAR_KEYS:
            where = f"{path}.{{key}}" if path else "{key}"
            new = _scalar(key, where, partial(tokens_in_name, scan=scan), found)
            if new != key:
                renamed[key] = new
    if not renamed:
        return
    items = list(holder.items())
    holder.clear()
    taken = {key for key, _ in items if key not in renamed}
    for key, value in items:
        new = renamed.get(key, key)
        if key in renamed:
            while new in taken:  # two secrets masked alike ([REDACTED]): keep both values
                new += "#"
            taken.add(new)
        holder[new] = value


def _names(items: Any, path: str, scan: Scan, found: Found) -> None:
    """Names in a name/value list, scanned like keys: a header line split in the wrong place
    puts its token where the name goes."""
    if isinstance(items, list):
        spans_of = partial(tokens_in_name, scan=scan)
        for i, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name:
                item["name"] = _scalar(name, f"{path}[{i}].name", spans_of, found)


def _message(
    message: dict[str, Any], side: str, scan: Scan, found: Found, with_bodies: bool
) -> None:
    if with_bodies:
        for key in ("headers", "cookies", "queryString"):
            _names(message.get(key), f"{side}.{key}", scan, found)
    for holder, key, name, path in _named_values(message.get("headers"), f"{side}.headers"):
        codec = _HEADER_CODECS.get(name.lower(), _plain_header)
        _rewrite(holder, key, path, partial(codec, name=name, scan=scan), found, scan, name)
    for holder, key, name, path in _named_values(message.get("cookies"), f"{side}.cookies"):
        _rewrite(
            holder,
            key,
            path,
            partial(scan.under_name, place="cookie", name=name),
            found,
            scan,
            name,
        )
    for key in ("url", "redirectURL"):
        _rewrite(message, key, f"{side}.{key}", lambda text: scan.in_text(text, "url"), found, scan)
    for holder, key, name, path in _named_values(message.get("queryString"), f"{side}.queryString"):
        _rewrite(holder, key, path, _encoded(scan, "query", name), found, scan, name)
    # Shapes no codec knows ("Authorization: Bearer x" as a string in a headers list) are
    # still scanned, as JSON: nothing is skipped because it came in an unexpected form.
    _walk(_odd_items(message, ("headers", "cookies", "queryString"), side), scan, found)
    if not with_bodies:
        return
    if isinstance(post := message.get("postData"), dict):
        _post_data(post, f"{side}.postData", scan, found)
    if isinstance(content := message.get("content"), dict):
        _content(content, f"{side}.content", scan, found)
    handled = ("headers", "cookies", "url", "redirectURL", "queryString")
    bodies_if_dicts = tuple(k for k in ("postData", "content") if isinstance(message.get(k), dict))
    _walk_fields(message, f"{side}.", scan, found, skip=handled + bodies_if_dicts)


def _odd_items(message: dict[str, Any], keys: tuple[str, ...], side: str) -> list[_Node]:
    """The items of name/value lists that are not name/value objects."""
    nodes: list[_Node] = []
    for key in keys:
        items = message.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                path = f"{side}.{key}[{i}]"
                if isinstance(item, list) and len(item) >= 2 and isinstance(item[0], str):
                    nodes.append((item, 1, item[0], f"{path}[1]"))  # ["X-Api-Key", "..."]
                elif not isinstance(item, dict):
                    nodes.append((items, i, key, path))
        elif items is not None and not isinstance(items, dict):
            nodes.append((message, key, key, f"{side}.{key}"))
    return nodes


def _post_data(post: dict[str, Any], path: str, scan: Scan, found: Found) -> None:
    mime = post.get("mimeType")
    mime = mime if isinstance(mime, str) else ""
    _names(post.get("params"), f"{path}.params", scan, found)
    for holder, key, name, item_path in _named_values(post.get("params"), f"{path}.params"):
        kind = holder.get("contentType")
        if isinstance(kind, str) and not bodies.is_textual(kind):
            continue  # an uploaded file
        _rewrite(holder, key, item_path, _encoded(scan, "form", name), found, scan, name)
    _body(post, path, mime, scan, found)
    _walk_fields(post, f"{path}.", scan, found, skip=("params", "text"))


def _content(content: dict[str, Any], path: str, scan: Scan, found: Found) -> None:
    mime = content.get("mimeType")
    _body(content, path, mime if isinstance(mime, str) else "", scan, found)
    _walk_fields(content, f"{path}.", scan, found, skip=("text",))


def _body(holder: dict[str, Any], path: str, mime: str, scan: Scan, found: Found) -> None:
    text = holder.get("text")
    if not isinstance(text, str) or not text:
        return
    body_spans = partial(bodies.body_spans, mime=mime, scan=scan)
    data = _base64_bytes(text) if holder.get("encoding") == "base64" else None
    if data is None:
        # Text is text whatever its type says: Chrome stores protobuf posts, HLS playlists
        # and CSP reports as text with "binary" or unknown types. So is a body marked base64
        # that is not base64.
        _rewrite(holder, "text", f"{path}.text", body_spans, found, scan)
        return
    if not bodies.is_textual(mime):
        return  # media in base64 is left alone
    # Fiddler, Charles and mitmproxy write JSON and HTML bodies in base64 too.
    decoded = _decoded_text(data, bodies.charset(mime))
    if decoded is None:
        return
    plain, encoding = decoded
    if spans := body_spans(plain):
        holder["text"] = _base64_like(text, _encoded_text(apply(plain, spans), encoding))
        found += [(f"{path}.text", hit) for span in spans for hit in span.hits]


def _encoded_text(text: str, encoding: str) -> bytes:
    """text in the body's own charset; in UTF-8 where that charset cannot write it back (a
    codec such as "idna" decodes what it refuses to encode): the secret must go either way."""
    try:
        return text.encode(encoding, "surrogatepass" if encoding == "utf-8" else "strict")
    except UnicodeError:
        return text.encode("utf-8", "surrogatepass")


def _base64_bytes(text: str) -> bytes | None:
    """What a base64 body decodes to; None if it is not base64 (line breaks allowed)."""
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _decoded_text(data: bytes, charset: str | None) -> tuple[str, str] | None:
    """(text, encoding) of a textual body's bytes; None for bytes that are binary after all.

    Tried in order: the declared charset, UTF-8, Latin-1 (which decodes any bytes but NUL-free
    ones are text, so a body in an unknown 8-bit charset is still scanned: its ASCII tokens
    decode as themselves).
    """
    for encoding in (charset, "utf-8", "latin-1"):
        if encoding is None or (encoding == "latin-1" and b"\x00" in data):
            continue  # NUL bytes and no charset that explains them: binary after all
        try:
            return data.decode(encoding), encoding
        except (UnicodeError, LookupError):  # "idna" and others raise a plain UnicodeError
            continue
    return None


def _base64_like(original: str, data: bytes) -> str:
    """data in base64, wrapped in lines as original was (MIME writes 76 characters a line)."""
    encoded = base64.b64encode(data).decode("ascii")
    width = original.find("\n")
    if width <= 0:
        return encoded
    newline = "\r\n" if original[width - 1] == "\r" else "\n"
    width -= len(newline) - 1
    lines = [encoded[i : i + width] for i in range(0, len(encoded), width)]
    return newline.join(lines) + (newline if original.endswith("\n") else "")


def _encoded(scan: Scan, place: str, name: str) -> SpansOf:
    # queryString and postData.params values are percent-encoded as sent by Chrome and decoded
    # by Firefox; decoding an already decoded value changes nothing a rule looks at, except
    # '+': a space as Chrome writes it, a plus as Firefox does. With one, both are looked at.
    # Names too are written encoded by Chrome (a Rails field: user%5Bpassword%5D).
    under_name = partial(scan.under_name, place=place, name=QUERY.decode(name))

    def spans(text: str) -> list[Span]:
        found = QUERY.spans(text, under_name)
        return merged(found, FORM.spans(text, under_name)) if "+" in text else found

    return spans


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


def _rewrite(
    holder: dict[str, Any],
    key: str,
    path: str,
    spans_of: SpansOf,
    found: Found,
    scan: Scan,
    name: str = "",
) -> None:
    if key not in holder:
        return  # never add a field the producer did not write
    value = holder[key]
    if isinstance(value, list):  # Polly.JS writes repeated headers as one list of values
        holder[key] = [_scalar(v, f"{path}[{j}]", spans_of, found) for j, v in enumerate(value)]
    else:
        holder[key] = _scalar(value, path, spans_of, found)
    # A value that is an object (or a list holding one) is scanned as JSON.
    _walk_inside(holder, key, path, name, scan, found)


def _scalar(value: Any, path: str, spans_of: SpansOf, found: Found) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    # A numeric session id is still a session id; its placeholder is a string.
    text = value if isinstance(value, str) else str(value)
    spans = spans_of(text)
    if not spans:
        return value
    found += [(path, hit) for span in spans for hit in span.hits]
    return apply(text, spans)


def _walk_fields(
    holder: dict[str, Any], prefix: str, scan: Scan, found: Found, skip: tuple[str, ...] = ()
) -> None:
    """Scan every string under holder's other keys, each under the name of its key."""
    nodes = [(holder, k, k, f"{prefix}{k}") for k in holder if k not in skip and k not in _PLAIN]
    _walk(nodes, scan, found)


_Node = tuple[Any, Any, str, str]  # (parent, key or index, the name it sits under, path)


def _walk(nodes: list[_Node], scan: Scan, found: Found, *, inherit: bool = False) -> None:
    """Scan every string at or under nodes as a JSON value under its key's name (with
    inherit, under the name of the node it is inside)."""
    for parent, key, name, path in _strings(nodes, inherit=inherit, skip_keys=_PLAIN):
        spans_of = partial(scan.under_name, place="json", name=name)
        parent[key] = _scalar(parent[key], path, spans_of, found)


def _strings(
    nodes: list[_Node],
    *,
    inherit: bool = False,
    skip_keys: frozenset[str] = frozenset(),
    skip_paths: frozenset[str] = frozenset(),
) -> Iterator[_Node]:
    """Every string at or under nodes, with the name it sits under (its key's; with inherit,
    the node's). Iterative, since vendor fields may nest as deep as the reader allows; the
    caller may replace each string as it comes."""
    stack = list(nodes)
    while stack:
        parent, key, name, path = stack.pop()
        value = parent[key]
        if isinstance(value, str):
            if path not in skip_paths:
                yield parent, key, name, path
        elif isinstance(value, dict):
            stack += (
                (value, k, name if inherit else k, f"{path}.{k}")
                for k in value
                if k not in skip_keys
            )
        elif isinstance(value, list):
            stack += ((value, i, name, f"{path}[{i}]") for i in range(len(value)))


def _walk_inside(
    holder: dict[str, Any], key: str, path: str, name: str, scan: Scan, found: Found
) -> None:
    """Scan what objects hold at holder[key] (a value given as an object, or a list holding
    objects), every string in them under name, the header's or cookie's; the strings at
    holder[key] itself were rewritten by their codec already."""
    value = holder[key]
    if isinstance(value, dict):
        nodes = [(value, k, name, f"{path}.{k}") for k in value]
    elif isinstance(value, list):
        nodes = [
            (value, i, name, f"{path}[{i}]") for i, v in enumerate(value) if isinstance(v, _TREE)
        ]
    else:
        return
    _walk(nodes, scan, found, inherit=True)


def _copies_everywhere(
    holder: dict[str, Any], prefix: str, scan: Scan, found: Found, skip: frozenset[str]
) -> None:
    """Remove copies of the run's secrets from every string in holder (but those at skip),
    names included."""
    # One look at all of them together first, and without their paths: nearly always there
    # is no copy left to find.
    if not scan.copies("\0".join(_texts(holder, prefix, skip))):
        return
    nodes = [(holder, k, k, f"{prefix}{k}") for k in holder]
    for parent, key, _, path in list(_strings(nodes, skip_paths=skip)):
        parent[key] = _scalar(parent[key], path, scan.copies, found)


def _texts(holder: dict[str, Any], prefix: str, skip: frozenset[str]) -> list[str]:
    """The strings _strings gives, without the paths that cost most of its time."""
    skipped: set[tuple[int, str]] = set()  # (id of the object, key) of each path in skip
    for path in skip:
        *way, last = path.removeprefix(prefix).split(".")
        node: Any = holder
        for key in way:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            skipped.add((id(node), last))
    texts: list[str] = []
    stack: list[Any] = [holder]
    while stack:
        node = stack.pop()
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, str):
                if not skipped or (id(node), key) not in skipped:
                    texts.append(value)
            elif isinstance(value, _TREE):
                stack.append(value)
    return texts


def _plain_header(text: str, name: str, scan: Scan) -> list[Span]:
    return scan.under_name(text, "header", name)


def _cookie_header(text: str, name: str, scan: Scan) -> list[Span]:
    found: list[Span] = []
    pos = 0
    for segment in text.split(";"):
        found += _cookie_pair(segment, pos, scan)
        pos += len(segment) + 1
    return found


def _set_cookie_header(text: str, name: str, scan: Scan) -> list[Span]:
    found: list[Span] = []
    start = 0
    for m in _SET_COOKIE_SEPARATOR.finditer(text):
        if m.group(1) is not None:
            found += _set_cookie(text[start : m.start()], start, scan)
            start = m.end()
    return found + _set_cookie(text[start:], start, scan)


def _set_cookie(text: str, offset: int, scan: Scan) -> list[Span]:
    # Attributes (Path, Domain, Expires) are kept; only the first pair is the cookie.
    return _cookie_pair(text.partition(";")[0], offset, scan)


def _cookie_pair(segment: str, offset: int, scan: Scan) -> list[Span]:
    """Spans in the value of one ``name=value``, keeping the name and the spacing around it."""
    name, eq, value = segment.partition("=")
    if not eq:  # browsers read a segment without '=' as a value with an empty name
        name, value = "", segment
    start = offset + len(name) + len(eq)
    return [
        Span(s.start + start, s.end + start, s.text, s.hits)
        for s in scan.under_name(value, "cookie", name.strip())
    ]


_HEADER_CODECS: dict[str, Callable[[str, str, Scan], list[Span]]] = {
    "cookie": _cookie_header,
    "set-cookie": _set_cookie_header,
    "set-cookie2": _set_cookie_header,  # RFC 2965, obsolete but still in old captures
}
