"""Realistic end-to-end captures, built at test time, with fake secrets planted in them.

Each factory returns a Flow: a complete HAR 1.2 document, every planted secret (the raw, decoded
value), the values that must come out byte for byte (path, value) and, for values with a secret
inside, the shape the output must take (path, regex the output value must ``re.fullmatch``).

Secrets are made here from a marker (``FAKE``; ``fa4e`` where only hex digits fit; inside the
base64 of a Basic credential or a SAML message the marker sits in the decoded text), so nothing in
the repository looks like a credential. Each is planted in every place it would really travel:
a leak is usually the copy nobody thought of.

The expectations are derived from the document, so they cannot drift from it:
- a string that holds no secret must come out unchanged, and so must every number and boolean
  (sizes and timings included; only ``content.size`` next to a redacted body may change);
- a string that holds a secret must come out with each copy of it (raw or percent-encoded)
  replaced by a placeholder and nothing else changed; a JSON document inside a string (a body, a
  websocket message) is checked key by key instead, since it may be re-serialized, and a
  base64-encoded body is checked through its decoded text;
- ``Capture.neutral`` names text that may stay or go (an OTP, a service account's name in a
  signed URL, the user name before a password in a URL), and ``Capture.shape`` gives a shape by
  hand where the redaction may take more than the secret (a SigV4 header, a PEM block).

Paths read like ``log.entries[2].response.headers[0].value``. ``{json}`` parses the string reached
so far and goes on inside it (``...content.text{json}.token_type``); ``{base64}`` decodes it
(``...content.text{base64}{json}.access_token``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import string
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

# --- Fake secrets -------------------------------------------------------------------------------

MARK = "FAKE"
HEX_MARK = "fa4e"  # "FAKE" in hex digits (K -> 4), for values that can hold nothing else

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
B32 = string.ascii_uppercase + "234567"
HEX = string.digits + "abcdef"
UNRESERVED = ALNUM + "-._~"  # RFC 7636 code_verifier


def _fill(seed: str, n: int, alphabet: str) -> str:
    """n characters of alphabet, the same for the same seed: fixtures must not change per run."""
    out: list[str] = []
    block = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}#{block}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        block += 1
    return "".join(out[:n])


def fake(prefix: str, n: int, *, seed: str, alphabet: str = ALNUM) -> str:
    """prefix + n characters that start with the marker: ``fake("ghp_", 36, seed=...)``."""
    if n < len(MARK):
        raise ValueError("too short to hold the marker")
    return prefix + MARK + _fill(seed, n - len(MARK), alphabet)


def fake_hex(n: int, *, seed: str) -> str:
    return HEX_MARK + _fill(seed, n - len(HEX_MARK), HEX)


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def b64url(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def fake_jwt(claims: dict[str, Any], *, seed: str, kid: str = "FAKE-kid-1") -> str:
    """A JWS compact token whose header and claims are real JSON and whose signature is fake."""
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    signature = MARK + "sig" + _fill(seed, 342 - len(MARK) - 3, B64URL)  # RS256: 342 chars
    return f"{b64url(_compact(header))}.{b64url(_compact(claims))}.{signature}"


def _with(value: str, chars: str) -> str:
    """value with chars written over evenly spaced positions: base64 secrets need + and /."""
    step = len(value) // (len(chars) + 1)
    out = list(value)
    for i, ch in enumerate(chars, 1):
        out[i * step] = ch
    return "".join(out)


def _png(width: int = 8, height: int = 8) -> bytes:
    """A real PNG image (a colour gradient), small enough to inline."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 32 % 256, y * 32 % 256, 160))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _deflate(text: str) -> bytes:
    """Raw DEFLATE, as the SAML HTTP-Redirect binding wants it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(text.encode()) + packer.flush()


def _enc(value: str) -> str:
    """encodeURIComponent: what a browser script does to a query value."""
    return quote(value, safe="-_.!~*'()")


def _query(*pairs: tuple[str, str]) -> str:
    return "&".join(f"{name}={_enc(value)}" for name, value in pairs)


def _form(*pairs: tuple[str, str]) -> str:
    """application/x-www-form-urlencoded, as a browser writes it (space -> +)."""
    return "&".join(f"{quote_plus(name)}={quote_plus(value)}" for name, value in pairs)


# --- Placeholders as the output must show them ------------------------------------------------

PH = r"\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]"
# In URLs and form bodies the placeholder may be percent-encoded, once or (inside a nested URL)
# twice; elsewhere the same pattern simply matches the plain placeholder.
_PCT = "%(?:25)?"
PH_ENC = (
    rf"(?:\[|{_PCT}5[Bb])REDACTED(?::|{_PCT}3[Aa])[a-z0-9-]+(?::|{_PCT}3[Aa])[0-9a-f]{{6}}"
    rf"(?:\]|{_PCT}5[Dd])"
)

# --- The Flow -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Flow:
    name: str
    har: dict[str, Any]
    secrets: tuple[str, ...]
    benign: tuple[tuple[str, Any], ...]  # (path, exact value)
    shapes: tuple[tuple[str, str], ...]  # (path, regex the value must fullmatch)


# --- Paths --------------------------------------------------------------------------------------

_STEP = re.compile(r"\.([^.\[\]{}]+)|\[(\d+)\]|\{(json|base64)\}")
_KEY = re.compile(r"[^.\[\]{}]+")


def resolve(doc: Any, path: str) -> Any:
    """The value at path; LookupError when the path leads nowhere in doc."""
    node, full, pos = doc, "." + path, 0
    while pos < len(full):
        m = _STEP.match(full, pos)
        if m is None:
            raise ValueError(f"bad path {path!r} at column {pos}")
        key, index, codec = m.groups()
        try:
            if key is not None:
                if not isinstance(node, dict):
                    raise KeyError(key)
                node = node[key]
            elif index is not None:
                if not isinstance(node, list):
                    raise IndexError(index)
                node = node[int(index)]
            elif codec == "json":
                node = json.loads(node)
            else:
                node = base64.b64decode(node, validate=True).decode("utf-8")
        except (LookupError, TypeError, ValueError, binascii.Error) as e:
            raise LookupError(f"{path}: nothing at {full[1 : m.end()]!r}") from e
        pos = m.end()
    return node


# --- Finding secrets in any encoding ------------------------------------------------------------

WINDOW = 12  # a leak this long of a secret counts as a leak


def _windows(secret: str) -> Iterator[str]:
    if len(secret) <= WINDOW:
        yield secret
    else:
        yield from (secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1))


def encodings(secret: str) -> Iterator[tuple[str, str]]:
    """(name, form) of each way a secret may be written in HAR bytes."""
    yield "raw", secret
    yield "percent-encoded", quote(secret, safe="")
    yield "form-encoded", quote_plus(secret)
    yield "json-escaped", json.dumps(secret, ensure_ascii=False)[1:-1]
    yield "json-escaped-ascii", json.dumps(secret)[1:-1]
    yield "base64", b64(secret).rstrip("=")
    yield "base64url", b64url(secret)


def _json_container(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _base64_text(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        return None


def string_views(text: str) -> Iterator[str]:
    """text and what it decodes to: percent-decoded (twice, for nested URLs), JSON inside it."""
    yield text
    once = unquote(text)
    if once != text:
        yield once
        twice = unquote(once)
        if twice != once:
            yield twice
    plus = unquote_plus(text)
    if plus not in (text, once):
        yield plus
    inner = _json_container(text)
    if inner is not None:
        yield from tree_views(inner)


def tree_views(node: Any) -> Iterator[str]:
    """Every string in a parsed document, decoded as string_views does, and base64 bodies."""
    if isinstance(node, dict):
        if node.get("encoding") == "base64" and isinstance(node.get("text"), str):
            decoded = _base64_text(node["text"])
            if decoded is not None:
                yield from string_views(decoded)
        for key, value in node.items():
            yield key
            yield from tree_views(value)
    elif isinstance(node, list):
        for value in node:
            yield from tree_views(value)
    elif isinstance(node, str):
        yield from string_views(node)


class SecretIndex:
    """Finds any 12-character piece of any planted secret in a text, in one pass over the text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(secrets)
        self._owners: dict[str, set[int]] = {}
        self._short = [(i, s) for i, s in enumerate(self.secrets) if len(s) < WINDOW]
        for i, secret in enumerate(self.secrets):
            for piece in _windows(secret):
                self._owners.setdefault(piece, set()).add(i)

    def pieces_in(self, text: str) -> set[int]:
        """Indexes of the secrets of which some 12-character piece occurs in text."""
        found = {i for i, s in self._short if s in text}
        owners = self._owners
        for j in range(len(text) - WINDOW + 1):
            hit = owners.get(text[j : j + WINDOW])
            if hit:
                found |= hit
        return found

    def holds(self, text: str) -> bool:
        """Whether text holds a piece of a secret, as it is or decoded."""
        return any(self.pieces_in(view) for view in string_views(text))


CHUNK = "12-char piece"


def find_leaks(data: bytes, secrets: tuple[str, ...]) -> list[tuple[int, str]]:
    """(secret index, encoding) for each secret found in data; never the secret itself.

    Whole secrets are looked for in each encoding of ``encodings`` in the raw bytes and, decoded,
    in every string of the parsed document (so a \\u-escaped token or a base64 body is seen);
    then any 12-character piece of a secret, raw or decoded (a partial leak).
    """
    text = data.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    views = list(tree_views(doc)) if doc is not None else []
    leaks: list[tuple[int, str]] = []
    for i, secret in enumerate(secrets):
        for name, form in encodings(secret):
            if form in text:
                leaks.append((i, name))
        if any(secret in view for view in views):
            leaks.append((i, "decoded"))
    whole = {i for i, _ in leaks}
    index = SecretIndex(secrets)
    pieces = index.pieces_in(text).union(*(index.pieces_in(v) for v in views))
    leaks += [(i, CHUNK) for i in sorted(pieces - whole)]
    return sorted(set(leaks))


def describe(value: Any, secrets: tuple[str, ...]) -> str:
    """repr(value) for a failure message, unless it holds a piece of a secret."""
    text = value if isinstance(value, str) else json.dumps(value)
    if SecretIndex(secrets).holds(text):
        return "<a value holding a planted secret>"
    shown = repr(value)
    return shown if len(shown) <= 200 else shown[:200] + "..."


# --- HAR validity -------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _iso(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _pairs(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(i, dict) and isinstance(i.get("name"), str) and isinstance(i.get("value"), str)
        for i in items
    )


def _url_query_pairs(url: str) -> list[tuple[str, str]]:
    query = urlsplit(url).query
    if not query:
        return []
    return [(p.partition("=")[0], p.partition("=")[2]) for p in query.split("&")]


def check_har(doc: Any, *, strict: bool = False) -> list[str]:
    """What makes doc not a valid HAR 1.2 document: places and problems, never values.

    strict (for inputs) also wants the copies a browser writes to agree: queryString with the
    URL, redirectURL with Location, time with the sum of the timings.
    """
    problems: list[str] = []

    def need(ok: bool, where: str, what: str) -> None:
        if not ok:
            problems.append(f"{where}: {what}")

    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict):
        return ["log: missing or not an object"]
    need(log.get("version") == "1.2", "log.version", "not 1.2")
    creator = log.get("creator")
    need(
        isinstance(creator, dict)
        and isinstance(creator.get("name"), str)
        and isinstance(creator.get("version"), str),
        "log.creator",
        "needs name and version",
    )
    pages = log.get("pages")
    need(isinstance(pages, list), "log.pages", "not a list")
    page_ids = set()
    for i, page in enumerate(pages if isinstance(pages, list) else []):
        where = f"log.pages[{i}]"
        if not isinstance(page, dict):
            need(False, where, "not an object")
            continue
        need(_iso(page.get("startedDateTime")), where, "startedDateTime not ISO 8601")
        need(isinstance(page.get("id"), str), where, "id not a string")
        need(isinstance(page.get("title"), str), where, "title not a string")
        need(isinstance(page.get("pageTimings"), dict), where, "pageTimings not an object")
        page_ids.add(page.get("id"))
    entries = log.get("entries")
    if not isinstance(entries, list) or not entries:
        return [*problems, "log.entries: not a non-empty list"]
    for i, entry in enumerate(entries):
        where = f"log.entries[{i}]"
        if not isinstance(entry, dict):
            need(False, where, "not an object")
            continue
        if "pageref" in entry:
            need(entry["pageref"] in page_ids, where, "pageref names no page")
        need(_iso(entry.get("startedDateTime")), where, "startedDateTime not ISO 8601")
        need(_is_number(entry.get("time")) and entry["time"] >= 0, where, "time not a number")
        need(isinstance(entry.get("cache"), dict), where, "cache not an object")
        timings = entry.get("timings")
        need(
            isinstance(timings, dict)
            and all(_is_number(timings.get(k)) for k in ("send", "wait", "receive")),
            where,
            "timings need send, wait and receive",
        )
        _check_request(entry.get("request"), f"{where}.request", need, strict=strict)
        _check_response(entry.get("response"), f"{where}.response", need, strict=strict)
        if strict and isinstance(timings, dict) and _is_number(entry.get("time")):
            parts = ("blocked", "dns", "connect", "send", "wait", "receive")
            total = sum(v for k in parts if _is_number(v := timings.get(k)) and v > 0)
            need(abs(total - entry["time"]) < 0.01, where, "time is not the sum of the timings")
    return problems


def _check_request(
    request: Any, where: str, need: Callable[[bool, str, str], None], *, strict: bool
) -> None:
    if not isinstance(request, dict):
        need(False, where, "not an object")
        return
    need(isinstance(request.get("method"), str), where, "method not a string")
    url = request.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    need(
        parts is not None and parts.scheme in ("http", "https", "ws", "wss") and bool(parts.netloc),
        where,
        "url not an absolute URL",
    )
    need(isinstance(request.get("httpVersion"), str), where, "httpVersion not a string")
    for key in ("headers", "queryString", "cookies"):
        need(_pairs(request.get(key)), f"{where}.{key}", "not a list of name/value strings")
    for key in ("headersSize", "bodySize"):
        need(isinstance(request.get(key), int), f"{where}.{key}", "not an integer")
    post = request.get("postData")
    if post is not None:
        need(isinstance(post, dict) and isinstance(post.get("mimeType"), str), where, "postData")
        if isinstance(post, dict):
            need(
                isinstance(post.get("text"), str) or _pairs(post.get("params")),
                f"{where}.postData",
                "neither text nor params",
            )
    if isinstance(url, str) and _pairs(request.get("queryString")):
        in_url = _url_query_pairs(url)
        listed = [(q["name"], q["value"]) for q in request["queryString"]]
        need(
            [unquote_plus(n) for n, _ in in_url] == [unquote_plus(n) for n, _ in listed],
            f"{where}.queryString",
            "names differ from the url's",
        )
        if strict:
            need(
                all(
                    lv in (uv, unquote_plus(uv))
                    for (_, uv), (_, lv) in zip(in_url, listed, strict=False)
                ),
                f"{where}.queryString",
                "values differ from the url's",
            )


def _check_response(
    response: Any, where: str, need: Callable[[bool, str, str], None], *, strict: bool
) -> None:
    if not isinstance(response, dict):
        need(False, where, "not an object")
        return
    need(isinstance(response.get("status"), int), where, "status not an integer")
    need(isinstance(response.get("statusText"), str), where, "statusText not a string")
    need(isinstance(response.get("httpVersion"), str), where, "httpVersion not a string")
    for key in ("headers", "cookies"):
        need(_pairs(response.get(key)), f"{where}.{key}", "not a list of name/value strings")
    for key in ("headersSize", "bodySize"):
        need(isinstance(response.get(key), int), f"{where}.{key}", "not an integer")
    need(isinstance(response.get("redirectURL"), str), where, "redirectURL not a string")
    content = response.get("content")
    if not isinstance(content, dict):
        need(False, f"{where}.content", "not an object")
        return
    need(isinstance(content.get("size"), int), f"{where}.content", "size not an integer")
    need(isinstance(content.get("mimeType"), str), f"{where}.content", "mimeType not a string")
    if "text" in content:
        need(isinstance(content["text"], str), f"{where}.content", "text not a string")
    if content.get("encoding") == "base64" and isinstance(content.get("text"), str):
        try:
            base64.b64decode(content["text"], validate=True)
        except (ValueError, binascii.Error):
            need(False, f"{where}.content", "text is not base64")
    status = response.get("status")
    if strict and isinstance(status, int) and 300 <= status < 400 and _pairs(response["headers"]):
        locations = [h["value"] for h in response["headers"] if h["name"].lower() == "location"]
        need(locations == [response.get("redirectURL")], where, "Location and redirectURL differ")


# --- Building a capture -------------------------------------------------------------------------

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
CLI_UA = "vendor-cli/3.4.1 python-requests/2.32.3"

_ACCEPT = {
    "document": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "script": "*/*",
    "image": "image/avif,image/webp,image/png,*/*;q=0.8",
    "other": "*/*",
}
_CREATORS = {
    "chrome": {"name": "WebInspector", "version": "537.36"},
    "firefox": {"name": "Firefox", "version": "132.0"},
    "charles": {"name": "Charles Proxy", "version": "4.6.7"},
}

SetCookie = tuple[str, str, str]  # name, value, attributes ("Path=/; HttpOnly")


@dataclass(frozen=True)
class PostData:
    mime: str
    text: str
    params: tuple[tuple[str, str], ...] | None = None


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def parser(url: str, line: int = 1) -> dict[str, Any]:
    """Chrome's _initiator for a resource the HTML parser asked for."""
    return {"type": "parser", "url": url, "lineNumber": line}


def script(*frames: tuple[str, str]) -> dict[str, Any]:
    """Chrome's _initiator for a request a script made: (function name, script or page url)."""
    call_frames = [
        {
            "functionName": function,
            "scriptId": str(41 + i),
            "url": url,
            "lineNumber": 0,
            "columnNumber": 1187 + 211 * i,
        }
        for i, (function, url) in enumerate(frames)
    ]
    return {"type": "script", "stack": {"callFrames": call_frames}}


class Capture:
    """One flow under construction: entries in order and the secrets planted in them."""

    def __init__(self, name: str, *, browser: str) -> None:
        self.name = name
        self.browser = browser  # chrome, firefox or charles (a proxy: no vendor fields)
        self.entries: list[dict[str, Any]] = []
        self.pages: list[dict[str, Any]] = []
        self.secrets: list[str] = []
        self._neutral: list[str] = []
        self._shapes: dict[str, str] = {}
        self._clock = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)
        self._hosts: dict[str, int] = {}  # host -> connection number, in order of first use

    @property
    def chrome(self) -> bool:
        return self.browser == "chrome"

    # Secrets and expectations

    def fake(self, label: str, prefix: str, n: int, alphabet: str = ALNUM) -> str:
        return fake(prefix, n, seed=f"{self.name}/{label}", alphabet=alphabet)

    def seed(self, label: str) -> str:
        return f"{self.name}/{label}"

    def secret(self, value: str) -> str:
        if value in self.secrets:
            raise ValueError("a secret planted twice in one flow's list")
        self.secrets.append(value)
        return value

    def neutral(self, text: str) -> None:
        """Text the output may keep or replace (with the secret next to it, or by itself)."""
        self._neutral.append(text)

    def shape(self, path: str, regex: str) -> None:
        """The shape of one value, by hand, where the derived one would be too strict."""
        self._shapes[path] = regex

    # Pages and entries

    def now(self) -> datetime:
        return self._clock

    def page(self, title: str) -> str:
        n = len(self.pages)
        self.pages.append(
            {
                "startedDateTime": _iso_z(self._clock),
                "id": f"page_{n + 1}",
                "title": title,
                "pageTimings": {"onContentLoad": 412.58 + 37 * n, "onLoad": 655.13 + 41 * n},
            }
        )
        return f"page_{n + 1}"

    def header_path(self, index: int, side: str, name: str) -> str:
        """The path of the value of the first header called name in one entry."""
        headers = self.entries[index][side]["headers"]
        k = next(k for k, h in enumerate(headers) if h["name"].lower() == name.lower())
        return f"log.entries[{index}].{side}.headers[{k}].value"

    def form(self, *pairs: tuple[str, str]) -> PostData:
        """A form body; Chrome lists params as written on the wire, Firefox decodes them."""
        text = _form(*pairs)
        if self.browser == "firefox":
            params = pairs
        else:
            params = tuple((p.partition("=")[0], p.partition("=")[2]) for p in text.split("&"))
        return PostData("application/x-www-form-urlencoded", text, params)

    def add(
        self,
        method: str,
        url: str,
        *,
        resource: str = "fetch",
        status: int = 200,
        reason: str = "OK",
        headers: Iterable[tuple[str, str]] = (),
        cookies: Iterable[tuple[str, str]] = (),
        post: PostData | None = None,
        mime: str = "",
        text: str | None = None,
        encoding: str | None = None,
        size: int | None = None,
        resp_headers: Iterable[tuple[str, str]] = (),
        set_cookies: Iterable[SetCookie] = (),
        fold: str | None = None,
        location: str = "",
        initiator: dict[str, Any] | None = None,
        ws: list[dict[str, Any]] | None = None,
        accept: str | None = None,
        wait: float = 38.416,
        http: str | None = None,
    ) -> int:
        """Append one entry and return its index."""
        index = len(self.entries)
        parts = urlsplit(url)
        host = parts.netloc
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        cookies = list(cookies)
        set_cookies = list(set_cookies)
        websocket = ws is not None
        version = http or ("http/2.0" if self.chrome and not websocket else "HTTP/1.1")
        h2 = version == "http/2.0"
        name = str.lower if h2 else str  # HTTP/2 header names are lower case

        # Request headers, in the order the browser sends them.
        accept = accept or _ACCEPT.get(resource, "application/json, text/plain, */*")
        req: list[tuple[str, str]] = []
        if h2:
            req += [(":authority", host), (":method", method), (":path", target)]
            req += [(":scheme", parts.scheme)]
        else:
            req.append(("Host", host))
        if self.browser == "charles":
            req += [("User-Agent", CLI_UA), ("Accept", accept)]
            req += [("Accept-Encoding", "gzip, deflate"), ("Connection", "keep-alive")]
        elif websocket:
            req += [("Connection", "Upgrade"), ("Pragma", "no-cache")]
            req += [("Cache-Control", "no-cache"), ("User-Agent", CHROME_UA)]
            req += [("Upgrade", "websocket"), ("Origin", f"https://{host}")]
            req += [("Sec-WebSocket-Version", "13")]
            req += [("Accept-Encoding", "gzip, deflate, br, zstd")]
            req += [("Accept-Language", "en-US,en;q=0.9")]
        else:
            req.append((name("Accept"), accept))
            req.append((name("Accept-Encoding"), "gzip, deflate, br, zstd"))
            req.append((name("Accept-Language"), "en-US,en;q=0.9" if self.chrome else "en-US"))
        if post is not None:
            req.append((name("Content-Type"), post.mime))
            if not h2:
                req.append(("Content-Length", str(len(post.text.encode()))))
        req += [(name(n), v) for n, v in headers]
        if cookies:
            cookie_name = "Cookie" if not h2 else "cookie"
            req.append((cookie_name, "; ".join(f"{n}={v}" for n, v in cookies)))
        if self.chrome and not websocket:
            req.append(("priority", "u=0, i" if resource == "document" else "u=1, i"))
            req.append(("sec-fetch-mode", "navigate" if resource == "document" else "cors"))
            req.append(("user-agent", CHROME_UA))
        elif self.browser == "firefox":
            req += [("User-Agent", FIREFOX_UA), ("Connection", "keep-alive")]

        # Response headers.
        moment = self._clock
        resp: list[tuple[str, str]] = []
        body_bytes = 0
        if text is not None:
            body_bytes = len(base64.b64decode(text)) if encoding == "base64" else len(text.encode())
        if size is not None:
            body_bytes = size
        if websocket:
            resp += [("Upgrade", "websocket"), ("Connection", "Upgrade")]
        if mime:
            resp.append((name("Content-Type"), mime))
        resp.append((name("Date"), http_date(moment)))
        resp.append((name("Server"), "nginx"))
        if not h2 and not websocket:
            resp.append(("Content-Length", str(body_bytes)))
        request_id = _fill(self.seed(f"request-id-{index}"), 32, HEX)
        rid = "-".join((request_id[:8], request_id[8:12], request_id[12:16], request_id[16:20]))
        resp.append((name("X-Request-Id"), f"{rid}-{request_id[20:]}"))
        resp += [(name(n), v) for n, v in resp_headers]
        if location:
            resp.append((name("Location"), location))
        if set_cookies:
            lines = [f"{n}={v}; {a}" for n, v, a in set_cookies]
            if fold is None:
                resp += [(name("Set-Cookie"), line) for line in lines]
            else:
                resp.append((name("Set-Cookie"), fold.join(lines)))

        # Timings: a new host costs a DNS look-up and a TLS handshake.
        first = host not in self._hosts
        host_number = self._hosts.setdefault(host, len(self._hosts))
        timings: dict[str, float] = {
            "blocked": 1.203 + index % 3,
            "dns": 12.5 if first else -1,
            "connect": 24.75 if first else -1,
            "ssl": 15.25 if first else -1,
            "send": 0.187,
            "wait": wait,
            "receive": 1.41 + (body_bytes % 97) / 10,
        }
        if self.chrome:
            timings["_blocked_queueing"] = 0.811
        counted = ("blocked", "dns", "connect", "send", "wait", "receive")  # ssl is in connect
        total = round(sum(v for k, v in timings.items() if k in counted and v > 0), 3)

        query_pairs = _url_query_pairs(url)
        if self.browser == "firefox":
            query_pairs = [(unquote_plus(n), unquote_plus(v)) for n, v in query_pairs]
        content: dict[str, Any] = {"size": body_bytes, "mimeType": mime or "x-unknown"}
        if text is not None:
            content["text"] = text
        if encoding is not None:
            content["encoding"] = encoding
        request: dict[str, Any] = {
            "method": method,
            "url": url,
            "httpVersion": version,
            "headers": _named(req),
            "queryString": _named(query_pairs),
            "cookies": _named(cookies),
            "headersSize": -1 if h2 else _head_size(f"{method} {target} {version}", req),
            "bodySize": len(post.text.encode()) if post is not None else 0,
        }
        if post is not None:
            request["postData"] = {"mimeType": post.mime, "text": post.text}
            if post.params is not None:
                request["postData"]["params"] = _named(post.params)
        response: dict[str, Any] = {
            "status": status,
            "statusText": reason,
            "httpVersion": version,
            "headers": _named(resp),
            "cookies": [_cookie_object(n, v, a) for n, v, a in set_cookies],
            "content": content,
            "redirectURL": location,
            "headersSize": -1 if h2 else _head_size(f"{version} {status} {reason}", resp),
            "bodySize": body_bytes if status not in (204, 304) and not websocket else 0,
        }
        entry: dict[str, Any] = {}
        if self.pages:
            entry["pageref"] = self.pages[-1]["id"]
        entry |= {
            "startedDateTime": _iso_z(moment),
            "time": total,
            "request": request,
            "response": response,
            "cache": {},
            "timings": timings,
            "serverIPAddress": f"203.0.113.{10 + host_number}",
            "connection": str(3100 + host_number),
        }
        if self.chrome:
            entry["_initiator"] = initiator or {"type": "other"}
            entry["_priority"] = "VeryHigh" if resource == "document" else "High"
            entry["_resourceType"] = "websocket" if websocket else resource
        if websocket:
            entry["_webSocketMessages"] = ws
        self.entries.append(entry)
        self._clock = moment + timedelta(milliseconds=round(total) + 23)
        return index

    def ws_message(self, kind: str, data: str, after_ms: int) -> dict[str, Any]:
        """One Chrome _webSocketMessages item; time is seconds since the epoch."""
        moment = self._clock + timedelta(milliseconds=after_ms)
        return {"type": kind, "time": round(moment.timestamp(), 3), "opcode": 1, "data": data}

    def build(self) -> Flow:
        har = {
            "log": {
                "version": "1.2",
                "creator": dict(_CREATORS[self.browser]),
                **(
                    {"browser": {"name": "Firefox", "version": "132.0"}}
                    if self.browser == "firefox"
                    else {}
                ),
                "pages": self.pages,
                "entries": self.entries,
            }
        }
        secrets = tuple(self.secrets)
        benign, shapes = _Derivation(secrets, self._neutral, self._shapes).run(har)
        return Flow(self.name, har, secrets, tuple(benign), tuple(shapes))


def _named(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


def _head_size(first_line: str, headers: list[tuple[str, str]]) -> int:
    return len(first_line) + 2 + sum(len(n) + len(v) + 4 for n, v in headers) + 2


def _cookie_object(name: str, value: str, attributes: str) -> dict[str, Any]:
    """A response.cookies item as browsers write it from one Set-Cookie line."""
    cookie: dict[str, Any] = {"name": name, "value": value}
    for attribute in attributes.split(";"):
        key, _, val = attribute.strip().partition("=")
        match key.lower():
            case "path":
                cookie["path"] = val
            case "domain":
                cookie["domain"] = val
            case "expires":
                cookie["expires"] = _iso_z(parsedate_to_datetime(val))
            case "httponly":
                cookie["httpOnly"] = True
            case "secure":
                cookie["secure"] = True
            case "samesite":
                cookie["sameSite"] = val
    cookie.setdefault("httpOnly", False)
    cookie.setdefault("secure", False)
    return cookie


class _Derivation:
    """Walks a finished HAR and writes down what the output must keep and what shape it takes."""

    def __init__(
        self, secrets: tuple[str, ...], neutral: list[str], shapes: dict[str, str]
    ) -> None:
        self.index = SecretIndex(secrets)
        self.neutral = neutral
        self.manual = shapes
        self.benign: list[tuple[str, Any]] = []
        self.shapes: list[tuple[str, str]] = []
        self._used: set[str] = set()

    def run(self, har: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
        self._visit(har["log"], "log")
        unused = set(self.manual) - self._used
        if unused:
            raise ValueError(f"shapes for paths that hold nothing secret: {sorted(unused)}")
        return self.benign, self.shapes

    def _visit(self, node: Any, path: str) -> None:
        if path in self.manual:
            self._used.add(path)
            self.shapes.append((path, self.manual[path]))
        elif isinstance(node, dict):
            self._visit_object(node, path)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._visit(value, f"{path}[{i}]")
        elif isinstance(node, str):
            self._leaf(node, path)
        else:
            self.benign.append((path, node))

    def _visit_object(self, node: dict[str, Any], path: str) -> None:
        text = node.get("text")
        decoded = None
        if isinstance(text, str) and node.get("encoding") == "base64":
            decoded = _base64_text(text)
        secret_body = isinstance(text, str) and (
            self.index.holds(text) or (decoded is not None and self.index.holds(decoded))
        )
        for key, value in node.items():
            if not _KEY.fullmatch(key):
                raise ValueError(f"{path}: key {key!r} cannot be written in a path")
            if key == "size" and secret_body:
                continue  # the body's length changes with its secrets
            if key == "text" and decoded is not None and secret_body:
                self._visit(decoded, f"{path}.text{{base64}}")
                continue
            self._visit(value, f"{path}.{key}")

    def _leaf(self, text: str, path: str) -> None:
        holds = self.index.holds(text)
        neutral = any(n in text for n in self.neutral)
        if not holds and not neutral:
            self.benign.append((path, text))
            return
        if holds:
            inner = _json_container(text)
            if inner is not None:
                self._visit(inner, f"{path}{{json}}")
                return
        self.shapes.append((path, self._shape(text, path)))

    def _shape(self, text: str, path: str) -> str:
        spans: list[tuple[int, int, bool]] = []  # start, end, is_secret
        for secret in self.index.secrets:
            forms = {
                secret,
                quote(secret, safe=""),
                quote_plus(secret),
                quote(quote(secret, safe=""), safe=""),
                json.dumps(secret)[1:-1],
            }
            spans += [(a, a + len(f), True) for f in forms for a in _find_all(text, f)]
        spans += [(a, a + len(n), False) for n in self.neutral for a in _find_all(text, n)]
        spans.sort(key=lambda s: (s[0], s[0] - s[1]))
        chosen: list[tuple[int, int, bool]] = []
        for span in spans:
            if not chosen or span[0] >= chosen[-1][1]:
                chosen.append(span)
        out, literals, pos = [], [], 0
        for k, (start, end, is_secret) in enumerate(chosen):
            literals.append(text[pos:start])
            out.append(re.escape(text[pos:start]))
            if is_secret:
                out.append(PH_ENC)
            else:
                before = k > 0 and chosen[k - 1][2] and chosen[k - 1][1] == start
                after = k + 1 < len(chosen) and chosen[k + 1][2] and chosen[k + 1][0] == end
                optional = "?" if before or after else ""
                out.append(f"(?:{re.escape(text[start:end])}|{PH_ENC}){optional}")
            pos = end
        literals.append(text[pos:])
        out.append(re.escape(text[pos:]))
        if any(self.index.holds(piece) for piece in literals):
            raise ValueError(f"{path}: a secret in a form no shape is derived for; give one")
        return "".join(out)


def _find_all(text: str, needle: str) -> Iterator[int]:
    start = text.find(needle)
    while start != -1:
        yield start
        start = text.find(needle, start + 1)


# --- Bodies -------------------------------------------------------------------------------------


def _html(title: str, body: str, *, head: str = "", scripts: Iterable[str] = ()) -> str:
    tags = "".join(f'<script src="{src}" defer></script>' for src in scripts)
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n{head}{tags}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _js(name: str) -> str:
    return (
        f'"use strict";(self.webpackChunk{name}=self.webpackChunk{name}||[]).push([[179],'
        '{4821:(e,t,n)=>{n.d(t,{A:()=>r});const r=e=>fetch(e,{credentials:"include"})'
        ".then(e=>e.json())}}]);\n//# sourceMappingURL=" + name + ".map\n"
    )


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


# --- The flows ----------------------------------------------------------------------------------

USER_ID = "00u1a2b3c4d5e6f7g8h9"


def oauth_code_pkce() -> Flow:
    """OAuth 2.0 authorization code with PKCE, a browser app talking to the IdP itself."""
    c = Capture("oauth_code_pkce", browser="chrome")
    code = c.secret(c.fake("code", "", 43, B64URL))
    verifier = c.secret(c.fake("verifier", "", 64, UNRESERVED))
    client_secret = c.secret(c.fake("client-secret", "", 40, B64URL))
    access = c.secret(c.fake("access", "", 52, B64URL))
    refresh = c.secret(c.fake("refresh", "", 52, B64URL))
    access2 = c.secret(c.fake("access-2", "", 52, B64URL))
    idp_sid = c.secret(c.fake("idp-sid", "", 32, ALNUM))
    issued = int(c.now().timestamp())
    claims = {
        "iss": "https://idp.test",
        "sub": USER_ID,
        "aud": "app-web",
        "iat": issued,
        "exp": issued + 3600,
        "nonce": "n-0S6_WzA2Mj",
        "email": "alice@example.test",
        "jti": f"{MARK}-{c.name}",
    }
    id_token = c.secret(fake_jwt(claims, seed=c.seed("id-token")))

    home = "https://app.test/"
    app_js = "https://app.test/assets/app.3f9a1c2b.js"
    vendor_js = "https://app.test/assets/vendor.7c1e2d4f.js"
    state = "af0ifjsldkj"
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    authorize = "https://idp.test/oauth2/v1/authorize?" + _query(
        ("client_id", "app-web"),
        ("response_type", "code"),
        ("scope", "openid profile offline_access"),
        ("redirect_uri", "https://app.test/cb"),
        ("state", state),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    )
    callback = f"https://app.test/cb?code={code}&state={state}"
    token_url = "https://idp.test/oauth2/v1/token"  # noqa: S105
    idp_cookie = (
        f"Domain=idp.test; Path=/; Expires={http_date(c.now() + timedelta(days=1))}; "
        "HttpOnly; Secure; SameSite=None"
    )
    js_headers = [
        ("Cache-Control", "public, max-age=31536000, immutable"),
        ("ETag", '"3f9a1c2b-5d1"'),
    ]

    c.page(home)
    c.add(
        "GET",
        home,
        resource="document",
        mime="text/html; charset=utf-8",
        text=_html("Acme App", '<div id="root"></div>', scripts=[vendor_js, app_js]),
        resp_headers=[("Cache-Control", "no-store"), ("Vary", "Accept-Encoding")],
    )
    c.add(
        "GET",
        app_js,
        resource="script",
        mime="application/javascript",
        text=_js("app"),
        resp_headers=js_headers,
        initiator=parser(home, 7),
        headers=[("Referer", home)],
    )
    c.add(
        "GET",
        authorize,
        resource="document",
        status=302,
        reason="Found",
        cookies=[("idp_sid", idp_sid)],
        headers=[("Referer", home)],
        location=callback,
        set_cookies=[("idp_sid", idp_sid, idp_cookie)],
        resp_headers=[("Cache-Control", "no-cache, no-store"), ("Pragma", "no-cache")],
        initiator=script(("login", app_js), ("onClick", app_js)),
    )
    c.page(callback)  # Chrome titles a page with its URL
    c.add(
        "GET",
        callback,
        resource="document",
        headers=[("Referer", "https://idp.test/")],
        mime="text/html; charset=utf-8",
        text=_html("Signing in…", '<div id="root" data-view="cb"></div>', scripts=[vendor_js]),
        resp_headers=[("Cache-Control", "no-store"), ("Referrer-Policy", "same-origin")],
    )
    c.add(
        "GET",
        vendor_js,
        resource="script",
        headers=[("Referer", callback)],
        mime="application/javascript",
        text=_js("vendor"),
        resp_headers=[("Cache-Control", "public, max-age=31536000, immutable")],
        initiator=parser(callback, 6),
    )
    token_response = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
        "id_token": id_token,
        "scope": "openid profile offline_access",
    }
    c.add(
        "POST",
        token_url,
        headers=[("Origin", "https://app.test"), ("Referer", "https://app.test/")],
        post=c.form(
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("client_id", "app-web"),
            ("client_secret", client_secret),
            ("redirect_uri", "https://app.test/cb"),
        ),
        mime="application/json",
        text=_compact(token_response),
        resp_headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")],
        initiator=script(("exchangeCode", app_js), ("", callback)),
        wait=212.09,
    )
    profile = {"id": USER_ID, "name": "Alice Example", "page": 2, "sort": "name", "roles": ["dev"]}
    c.add(
        "GET",
        f"https://api.test/v1/users/{USER_ID}?page=2&sort=name",
        headers=[
            ("Authorization", f"Bearer {access}"),
            ("Origin", "https://app.test"),
            ("Referer", "https://app.test/"),
            ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ],
        mime="application/json; charset=utf-8",
        text=_pretty(profile),
        resp_headers=[("Cache-Control", "private, max-age=60"), ("ETag", 'W/"1c-9a7b"')],
        initiator=script(("loadProfile", app_js)),
    )
    c.add(
        "POST",
        token_url,
        headers=[("Origin", "https://app.test"), ("Referer", "https://app.test/")],
        post=c.form(
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "app-web"),
            ("client_secret", client_secret),
        ),
        mime="application/json",
        text=_compact(
            {
                "access_token": access2,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid profile offline_access",
            }
        ),
        resp_headers=[("Cache-Control", "no-store")],
        initiator=script(("refreshTokens", app_js)),
    )
    return c.build()


def oidc_implicit() -> Flow:
    """OIDC implicit flow: tokens in the redirect's fragment, then a silent renew in an iframe."""
    c = Capture("oidc_implicit", browser="chrome")
    idp_sid = c.secret(c.fake("idp-sid", "102", 22, B64URL))
    access = c.secret(c.fake("access", "", 48, B64URL))
    access2 = c.secret(c.fake("access-2", "", 48, B64URL))
    issued = int(c.now().timestamp())

    def id_token(label: str, nonce: str) -> str:
        claims = {
            "iss": "https://idp.test/oauth2/default",
            "sub": USER_ID,
            "aud": "0oa1b2c3d4e5f6g7h8i9",
            "iat": issued,
            "exp": issued + 3600,
            "nonce": nonce,
            "email": "alice@example.test",
            "jti": f"{MARK}-{c.name}-{label}",
        }
        return c.secret(fake_jwt(claims, seed=c.seed(label)))

    id1 = id_token("id-token-1", "n-0S6_WzA2Mj")
    id2 = id_token("id-token-2", "n-8kQ2r5Yv1Zp")
    home = "https://spa.test/"
    main_js = "https://spa.test/assets/main.5e8d2a1f.js"
    callback_js = "https://spa.test/assets/callback.2b7e9f0a.js"

    def authorize(state: str, nonce: str, *, silent: bool) -> str:
        pairs = [
            ("client_id", "0oa1b2c3d4e5f6g7h8i9"),
            ("response_type", "id_token token"),
            ("scope", "openid email profile"),
            ("redirect_uri", "https://spa.test/callback"),
            ("state", state),
            ("nonce", nonce),
        ]
        if silent:
            pairs += [("prompt", "none"), ("response_mode", "fragment")]
        return "https://idp.test/oauth2/default/v1/authorize?" + _query(*pairs)

    def landing(token: str, jwt: str, state: str) -> str:
        return (
            f"https://spa.test/callback#access_token={token}&id_token={jwt}&token_type=Bearer"
            f"&expires_in=3600&scope=openid%20email%20profile&state={state}"
        )

    landing1 = landing(access, id1, "Zm9vYmFyLTE")
    landing2 = landing(access2, id2, "Zm9vYmFyLTI")
    no_store = [("Cache-Control", "no-cache, no-store"), ("Pragma", "no-cache")]

    c.page(home)
    c.add(
        "GET",
        home,
        resource="document",
        mime="text/html; charset=utf-8",
        text=_html("Orders", '<main id="app"></main>', scripts=[main_js]),
        resp_headers=[("Cache-Control", "no-cache"), ("ETag", '"a91f-5e8d2a1f"')],
    )
    c.add(
        "GET",
        main_js,
        resource="script",
        mime="text/javascript",
        text=_js("main"),
        resp_headers=[("Cache-Control", "public, max-age=31536000, immutable")],
        initiator=parser(home, 5),
        headers=[("Referer", home)],
    )
    c.add(
        "GET",
        authorize("Zm9vYmFyLTE", "n-0S6_WzA2Mj", silent=False),
        resource="document",
        status=302,
        reason="Found",
        cookies=[("sid", idp_sid)],
        headers=[("Referer", home)],
        location=landing1,
        resp_headers=no_store,
        initiator=script(("signIn", main_js)),
    )
    c.page(landing1)
    c.add(
        "GET",
        "https://spa.test/callback",
        resource="document",
        headers=[("Referer", "https://idp.test/")],
        mime="text/html; charset=utf-8",
        text=_html("Signing in…", '<main id="app"></main>', scripts=[callback_js]),
        resp_headers=[("Cache-Control", "no-cache")],
    )
    c.add(
        "GET",
        callback_js,
        resource="script",
        headers=[("Referer", "https://spa.test/callback")],
        mime="text/javascript",
        text=_js("callback"),
        resp_headers=[("Cache-Control", "public, max-age=31536000, immutable")],
        initiator=parser(landing1, 5),
    )
    c.add(
        "GET",
        "https://api.spa.test/v1/profile",
        headers=[
            ("Authorization", f"Bearer {access}"),
            ("Origin", "https://spa.test"),
            ("Referer", "https://spa.test/"),
        ],
        mime="application/json",
        text=_compact({"id": USER_ID, "email": "alice@example.test", "locale": "en-US"}),
        resp_headers=[("Cache-Control", "private, no-cache"), ("Vary", "Authorization")],
        initiator=script(("getProfile", callback_js), ("", landing1)),
    )
    c.add(
        "GET",
        authorize("Zm9vYmFyLTI", "n-8kQ2r5Yv1Zp", silent=True),
        resource="document",
        status=302,
        reason="Found",
        cookies=[("sid", idp_sid)],
        headers=[("Referer", "https://spa.test/")],
        location=landing2,
        resp_headers=no_store,
        initiator=script(("renewTokens", main_js), ("", landing1)),
    )
    c.add(
        "GET",
        "https://api.spa.test/v1/orders?page=1&sort=-date&_=1700000000000",
        headers=[
            ("Authorization", f"Bearer {access2}"),
            ("Origin", "https://spa.test"),
            ("Referer", "https://spa.test/"),
        ],
        mime="application/json",
        text=_compact({"orders": [{"id": "ord_8f3a2c", "total": 4200}], "page": 1}),
        resp_headers=[("Cache-Control", "private, no-cache")],
        initiator=script(("listOrders", main_js)),
    )
    return c.build()


def _saml_response(c: Capture) -> str:
    now = c.now()
    later = now + timedelta(minutes=5)
    stamp, until = now.strftime("%Y-%m-%dT%H:%M:%SZ"), later.strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = MARK + _fill(c.seed("saml-signature"), 340, B64)
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="_{MARK}{_fill(c.seed("saml-id"), 28, HEX)}" Version="2.0" '
        f'IssueInstant="{stamp}" Destination="https://sp.test/acs" InResponseTo="_req7d1e">'
        "<saml:Issuer>https://idp.test/saml</saml:Issuer>"
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
        "</samlp:Status>"
        f'<saml:Assertion ID="_{MARK}assertion" Version="2.0" IssueInstant="{stamp}">'
        "<saml:Issuer>https://idp.test/saml</saml:Issuer>"
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        f"<ds:SignatureValue>{signature}</ds:SignatureValue></ds:Signature>"
        "<saml:Subject><saml:NameID Format="
        '"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.test'
        "</saml:NameID></saml:Subject>"
        f'<saml:Conditions NotBefore="{stamp}" NotOnOrAfter="{until}">'
        "<saml:AudienceRestriction><saml:Audience>https://sp.test</saml:Audience>"
        "</saml:AudienceRestriction></saml:Conditions>"
        "</saml:Assertion></samlp:Response>"
    )
    return b64(xml)


def _saml_request(c: Capture) -> str:
    xml = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="_req7d1e{MARK}" Version="2.0" '
        f'IssueInstant="{c.now().strftime("%Y-%m-%dT%H:%M:%SZ")}" '
        'Destination="https://idp.test/sso/saml" AssertionConsumerServiceURL="https://sp.test/acs" '
        'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
        "<saml:Issuer>https://sp.test</saml:Issuer></samlp:AuthnRequest>"
    )
    return b64(_deflate(xml))


def saml_post() -> Flow:
    """SAML 2.0: redirect binding to the IdP, password login, POST binding back to the SP."""
    c = Capture("saml_post", browser="chrome")
    request = c.secret(_saml_request(c))
    password = c.secret(c.fake("password", "", 20, ALNUM + "!#&+%"))
    idp_session = c.secret(c.fake("idp-session", "", 40, HEX))
    response = c.secret(_saml_response(c))
    sp_session = c.secret(c.fake("sp-session", "", 44, B64URL))
    sso = "https://idp.test/sso/saml?" + _query(
        ("SAMLRequest", request), ("RelayState", "/dashboard")
    )
    dashboard = "https://sp.test/dashboard"
    cookie_attrs = "Path=/; HttpOnly; Secure; SameSite=Lax"

    c.page(dashboard)
    c.add(
        "GET",
        dashboard,
        resource="document",
        status=302,
        reason="Found",
        location=sso,
        resp_headers=[("Cache-Control", "no-store")],
    )
    login_page = _html(
        "Sign in - IdP",
        '<form method="post" action="/sso/login">\n'
        f'<input type="hidden" name="SAMLRequest" value="{request}">\n'
        '<input type="hidden" name="RelayState" value="/dashboard">\n'
        '<label>Email <input type="email" name="username" autocomplete="username"></label>\n'
        '<label>Password <input type="password" name="password"></label>\n'
        "<button>Sign in</button>\n</form>",
    )
    c.add(
        "GET",
        sso,
        resource="document",
        headers=[("Referer", "https://sp.test/")],
        mime="text/html; charset=utf-8",
        text=login_page,
        resp_headers=[("Cache-Control", "no-store"), ("X-Frame-Options", "DENY")],
    )
    post_form = _html(
        "Signing in…",
        "<noscript><p>Press Continue to go on.</p></noscript>\n"
        '<form method="post" action="https://sp.test/acs">\n'
        f'<input type="hidden" name="SAMLResponse" value="{response}">\n'
        '<input type="hidden" name="RelayState" value="/dashboard">\n'
        '<noscript><input type="submit" value="Continue"></noscript>\n</form>\n'
        "<script>document.forms[0].submit()</script>",
    )
    c.add(
        "POST",
        "https://idp.test/sso/login",
        resource="document",
        headers=[("Origin", "https://idp.test"), ("Referer", sso)],
        post=c.form(
            ("SAMLRequest", request),
            ("RelayState", "/dashboard"),
            ("username", "alice@example.test"),
            ("password", password),
        ),
        mime="text/html; charset=utf-8",
        text=post_form,
        set_cookies=[("IDPSESSION", idp_session, f"Domain=idp.test; {cookie_attrs}")],
        resp_headers=[("Cache-Control", "no-store")],
        wait=310.5,
    )
    c.add(
        "POST",
        "https://sp.test/acs",
        resource="document",
        status=302,
        reason="Found",
        headers=[("Origin", "https://idp.test"), ("Referer", "https://idp.test/")],
        post=c.form(("SAMLResponse", response), ("RelayState", "/dashboard")),
        location=dashboard,
        set_cookies=[("sp_session", sp_session, cookie_attrs)],
        resp_headers=[("Cache-Control", "no-store")],
    )
    c.add(
        "GET",
        dashboard,
        resource="document",
        cookies=[("sp_session", sp_session)],
        headers=[("Referer", "https://idp.test/")],
        mime="text/html; charset=utf-8",
        text=_html("Dashboard", "<h1>Welcome back, Alice</h1>"),
        resp_headers=[("Cache-Control", "no-store")],
    )
    c.add(
        "GET",
        "https://sp.test/api/me?fields=name,email",
        cookies=[("sp_session", sp_session)],
        headers=[("Referer", dashboard)],
        mime="application/json",
        text=_compact({"name": "Alice Example", "email": "alice@example.test"}),
        resp_headers=[("Cache-Control", "private, no-cache")],
        initiator=script(("", dashboard)),
    )
    return c.build()


def okta_authn_mfa() -> Flow:
    """Okta classic authn with a TOTP factor, the session cookie redirect, an admin API call."""
    c = Capture("okta_authn_mfa", browser="chrome")
    org = "https://example.okta.com"
    password = c.secret(c.fake("password", "", 18, ALNUM + "!$"))
    jsession = c.secret(c.fake("jsessionid", "", 32, "0123456789ABCDEF"))
    device = c.secret(c.fake("dt", "DI1", 22, B64URL))
    state_token = c.secret(c.fake("state-token", "00", 40, B64URL))
    session_token = c.secret(c.fake("session-token", "20111", 52, B64URL))
    sid = c.secret(c.fake("sid", "102", 22, B64URL))
    idx = c.secret(c.fake("idx", "", 96, B64URL))
    api_token = c.secret(c.fake("ssws", "00", 40, B64URL))
    c.neutral("123456")  # a spent one-time passcode: may stay or go
    user = {
        "id": USER_ID,
        "passwordChanged": "2026-02-01T09:00:00.000Z",
        "profile": {
            "login": "alice@example.test",
            "firstName": "Alice",
            "lastName": "Example",
            "locale": "en_US",
            "timeZone": "Europe/Berlin",
        },
    }
    factor = "opf1a2b3c4d5e6f7g8h9"
    verify_url = f"{org}/api/v1/authn/factors/{factor}/verify"
    cancel = {"cancel": {"href": f"{org}/api/v1/authn/cancel", "hints": {"allow": ["POST"]}}}
    later = c.now() + timedelta(minutes=5)
    years = c.now() + timedelta(days=5 * 365)
    login = f"{org}/login/login.htm?fromURI=%2Fapp%2FUserHome"
    home = f"{org}/app/UserHome"
    api_headers = [
        ("Origin", org),
        ("Referer", login),
        ("X-Okta-User-Agent-Extended", "okta-auth-js/7.8.1"),
    ]
    first_cookies = [("JSESSIONID", jsession), ("DT", device)]
    all_cookies = [*first_cookies, ("sid", sid), ("idx", idx)]
    widget = f"{org}/assets/js/sdk/okta-signin-widget/7.25.1/js/okta-sign-in.min.js"

    c.page(login)
    c.add(
        "GET",
        login,
        resource="document",
        mime="text/html;charset=utf-8",
        text=_html("Example - Sign In", '<div id="okta-sign-in"></div>', scripts=[widget]),
        set_cookies=[
            ("JSESSIONID", jsession, "Path=/; Secure; HttpOnly"),
            ("DT", device, f"Expires={http_date(years)}; Path=/; Secure; HttpOnly; SameSite=None"),
        ],
        resp_headers=[("Cache-Control", "no-cache, no-store"), ("X-Frame-Options", "SAMEORIGIN")],
    )
    c.add(
        "POST",
        f"{org}/api/v1/authn",
        cookies=first_cookies,
        headers=api_headers,
        post=PostData(
            "application/json",
            _compact(
                {
                    "username": "alice@example.test",
                    "password": password,
                    "options": {
                        "multiOptionalFactorEnroll": False,
                        "warnBeforePasswordExpired": True,
                    },
                }
            ),
        ),
        mime="application/json",
        text=_compact(
            {
                "stateToken": state_token,
                "expiresAt": _iso_z(later),
                "status": "MFA_REQUIRED",
                "_embedded": {
                    "user": user,
                    "factors": [
                        {
                            "id": factor,
                            "factorType": "token:software:totp",
                            "provider": "OKTA",
                            "vendorName": "OKTA",
                            "profile": {"credentialId": "alice@example.test"},
                            "_links": {
                                "verify": {"href": verify_url, "hints": {"allow": ["POST"]}}
                            },
                        }
                    ],
                    "policy": {"allowRememberDevice": False, "rememberDeviceLifetimeInMinutes": 0},
                },
                "_links": cancel,
            }
        ),
        resp_headers=[("Cache-Control", "no-cache, no-store"), ("X-Rate-Limit-Remaining", "99")],
        initiator=script(("authn", widget)),
        wait=402.7,
    )
    c.add(
        "POST",
        verify_url,
        cookies=first_cookies,
        headers=api_headers,
        post=PostData(
            "application/json", _compact({"stateToken": state_token, "passCode": "123456"})
        ),
        mime="application/json",
        text=_compact(
            {
                "expiresAt": _iso_z(later),
                "status": "SUCCESS",
                "sessionToken": session_token,
                "_embedded": {"user": user},
                "_links": cancel,
            }
        ),
        resp_headers=[("Cache-Control", "no-cache, no-store")],
        initiator=script(("verifyFactor", widget)),
    )
    redirect = f"{org}/login/sessionCookieRedirect?" + _query(
        ("checkAccountSetupComplete", "true"), ("token", session_token), ("redirectUrl", home)
    )
    c.add(
        "GET",
        redirect,
        resource="document",
        status=302,
        reason="Found",
        cookies=first_cookies,
        headers=[("Referer", login)],
        location=home,
        set_cookies=[
            ("sid", sid, "Path=/; Secure; HttpOnly; SameSite=None"),
            (
                "idx",
                idx,
                f"Expires={http_date(c.now() + timedelta(days=30))}; Path=/; Secure; HttpOnly; "
                "SameSite=None",
            ),
        ],
        resp_headers=[("Cache-Control", "no-cache, no-store")],
    )
    c.page(home)
    c.add(
        "GET",
        home,
        resource="document",
        cookies=all_cookies,
        headers=[("Referer", login)],
        mime="text/html;charset=utf-8",
        text=_html("Example - My Apps", '<div id="dashboard"></div>'),
        resp_headers=[("Cache-Control", "no-cache, no-store")],
    )
    c.add(
        "GET",
        f"{org}/api/v1/users/me",
        cookies=all_cookies,
        headers=[("Referer", home)],
        mime="application/json",
        text=_compact({**user, "status": "ACTIVE", "lastLogin": _iso_z(c.now())}),
        resp_headers=[("Cache-Control", "no-cache, no-store")],
        initiator=script(("", home)),
    )
    c.add(
        "GET",
        f"{org}/api/v1/users/{USER_ID}/factors",
        headers=[("Authorization", f"SSWS {api_token}"), ("Content-Type", "application/json")],
        mime="application/json",
        text=_compact([{"id": factor, "factorType": "token:software:totp", "status": "ACTIVE"}]),
        resp_headers=[("Cache-Control", "no-cache, no-store"), ("X-Rate-Limit-Limit", "600")],
    )
    c.add(
        "DELETE",
        f"{org}/api/v1/sessions/me",
        status=204,
        reason="No Content",
        cookies=all_cookies,
        headers=[("Origin", org), ("Referer", home)],
        resp_headers=[("Cache-Control", "no-cache, no-store")],
        initiator=script(("signOut", home)),
    )
    return c.build()


def cookie_session() -> Flow:
    """A classic server-rendered shop, captured by Firefox: forms, CSRF tokens, folded cookies."""
    c = Capture("cookie_session", browser="firefox")
    csrf_cookie = c.secret(c.fake("csrftoken-1", "", 32, ALNUM))
    csrf_form = c.secret(c.fake("csrfmiddlewaretoken", "", 64, ALNUM))
    password = c.secret(c.fake("password", "", 16, ALNUM + "@&= "))
    session = c.secret(c.fake("sessionid", "", 32, string.ascii_lowercase + string.digits))
    csrf_cookie2 = c.secret(c.fake("csrftoken-2", "", 32, ALNUM))
    meta_csrf = c.secret(c.fake("meta-csrf", "", 86, B64URL))
    authenticity = c.secret(c.fake("authenticity-token", "", 86, B64URL))
    remember = c.secret(c.fake("remember-token", "", 40, HEX))
    shop_session = c.secret(c.fake("shop-session", "", 120, B64URL))
    api_key = c.secret(c.fake("maps-key", "AIza", 35, B64URL))
    config_token = c.secret(c.fake("config-session-token", "", 48, B64URL))
    origin = "https://shop.test"
    now = c.now()
    in_a_year = http_date(now + timedelta(days=364))
    in_two_weeks = http_date(now + timedelta(days=14))
    in_a_month = http_date(now + timedelta(days=30))
    login_html = _html(
        "Sign in · Shop",
        '<form method="post" action="/login">\n'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf_form}">\n'
        '<input type="email" name="username" autocomplete="username">\n'
        '<input type="password" name="password" autocomplete="current-password">\n'
        "<button>Sign in</button>\n</form>",
    )
    account_html = _html(
        "Your account · Shop",
        '<form action="/account/profile" method="post">\n'
        f'<input type="hidden" name="authenticity_token" value="{authenticity}" '
        'autocomplete="off">\n'
        '<input name="user[name]" value="Alice">\n<button>Save</button>\n</form>',
        head=(
            '<meta name="csrf-param" content="authenticity_token">\n'
            f'<meta name="csrf-token" content="{meta_csrf}">\n'
        ),
        scripts=["/assets/config.8b2f4e6a.js"],
    )
    config_js = (
        'window.__CONFIG__ = {"apiKey": "'
        + api_key
        + '", "sessionToken": "'
        + config_token
        + '", "release": "2026.11.3", "locale": "en-US"};\n'
    )
    signed_in = [("csrftoken", csrf_cookie2), ("sessionid", session)]
    everything = [*signed_in, ("remember_token", remember), ("_shop_session", shop_session)]

    c.page("Sign in · Shop")
    c.add(
        "GET",
        f"{origin}/login?next=%2Faccount",
        resource="document",
        mime="text/html; charset=utf-8",
        text=login_html,
        set_cookies=[
            (
                "csrftoken",
                csrf_cookie,
                f"expires={in_a_year}; Max-Age=31449600; Path=/; SameSite=Lax",
            )
        ],
        resp_headers=[("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate")],
    )
    c.add(
        "POST",
        f"{origin}/login?next=%2Faccount",
        resource="document",
        status=302,
        reason="Found",
        cookies=[("csrftoken", csrf_cookie)],
        headers=[("Origin", origin), ("Referer", f"{origin}/login?next=%2Faccount")],
        post=c.form(
            ("username", "alice@example.test"),
            ("password", password),
            ("csrfmiddlewaretoken", csrf_form),
        ),
        location=f"{origin}/account",
        set_cookies=[
            (
                "sessionid",
                session,
                f"expires={in_two_weeks}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure",
            ),
            (
                "csrftoken",
                csrf_cookie2,
                f"expires={in_a_year}; Max-Age=31449600; Path=/; SameSite=Lax",
            ),
        ],
        fold="\n",
        resp_headers=[("Vary", "Cookie")],
        wait=187.3,
    )
    c.page("Your account · Shop")
    c.add(
        "GET",
        f"{origin}/account",
        resource="document",
        cookies=signed_in,
        headers=[("Referer", f"{origin}/login?next=%2Faccount")],
        mime="text/html; charset=utf-8",
        text=account_html,
        set_cookies=[
            ("remember_token", remember, f"Expires={in_a_month}; Path=/; HttpOnly; Secure"),
            ("_shop_session", shop_session, "path=/; secure; HttpOnly; SameSite=Lax"),
        ],
        fold=", ",
        resp_headers=[("Cache-Control", "private, no-store"), ("ETag", 'W/"b7c1d2e3f4a5"')],
    )
    c.add(
        "GET",
        f"{origin}/assets/config.8b2f4e6a.js",
        resource="script",
        cookies=everything,
        headers=[("Referer", f"{origin}/account")],
        mime="text/javascript",
        text=config_js,
        resp_headers=[("Cache-Control", "private, max-age=0")],
    )
    c.add(
        "GET",
        "https://maps.googleapis.com/maps/api/js?"
        + _query(("key", api_key), ("libraries", "places"), ("callback", "initMap")),
        resource="script",
        headers=[("Referer", f"{origin}/")],
        mime="text/javascript; charset=UTF-8",
        text="window.google=window.google||{};google.maps=google.maps||{};initMap&&initMap();\n",
        resp_headers=[("Cache-Control", "public, max-age=1800")],
    )
    c.add(
        "POST",
        f"{origin}/api/cart/items",
        cookies=everything,
        headers=[
            ("Origin", origin),
            ("Referer", f"{origin}/account"),
            ("X-CSRF-Token", meta_csrf),
            ("X-Requested-With", "XMLHttpRequest"),
        ],
        post=PostData("application/json", _compact({"sku": "SKU-4471", "qty": 1})),
        status=201,
        reason="Created",
        mime="application/json",
        text=_compact({"cart": {"items": 3, "total": "129.90", "currency": "EUR"}}),
    )
    c.add(
        "GET",
        f"{origin}/search?q=blue+shoes&page=2&sort=price&utm_source=newsletter&_=1700000000000",
        cookies=everything,
        headers=[("Referer", f"{origin}/account"), ("X-Requested-With", "XMLHttpRequest")],
        mime="application/json",
        text=_compact({"q": "blue shoes", "page": 2, "results": [{"sku": "SKU-4471"}]}),
        resp_headers=[("Cache-Control", "private, max-age=30")],
    )
    c.add(
        "POST",
        f"{origin}/account/profile",
        resource="document",
        status=303,
        reason="See Other",
        cookies=everything,
        headers=[("Origin", origin), ("Referer", f"{origin}/account")],
        post=c.form(
            ("authenticity_token", authenticity), ("user[name]", "Alice"), ("commit", "Save")
        ),
        location=f"{origin}/account",
    )
    return c.build()


def api_keys() -> Flow:
    """API clients through a debugging proxy: key headers, Basic, tokens in bodies of all kinds."""
    c = Capture("api_keys", browser="charles")
    x_api_key = c.secret(c.fake("x-api-key", "", 40, ALNUM))
    db_password = c.secret(c.fake("db-password", "", 24, ALNUM + "-_"))
    search_key = c.secret(c.fake("api-key", "", 52, ALNUM))
    access = c.secret(c.fake("session-access-token", "", 64, B64URL))
    pem_body = c.secret(
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
        + "\n".join(
            _fill(c.seed(f"pem-{i}"), 64, B64) if i else MARK + _fill(c.seed("pem-0"), 28, B64)
            for i in range(6)
        )
    )
    google_token = c.secret(c.fake("ya29", "ya29.a0", 150, B64URL))
    goog_key = c.secret(c.fake("goog-key", "AIza", 35, B64URL))
    gitlab = c.secret(c.fake("glpat", "glpat-", 20, B64URL))
    apim = c.secret(fake_hex(32, seed=c.seed("apim")))
    basic = c.secret(b64(f"ci-reader:{c.fake('basic-password', '', 24, ALNUM + '.-')}"))
    github = c.secret(c.fake("ghp", "ghp_", 36, ALNUM))
    stripe = c.secret(c.fake("stripe", "sk_test_51", 96, ALNUM))
    payment_secret = c.secret(c.fake("stripe-client-secret", "", 24, ALNUM))
    gql_password = c.secret(c.fake("gql-password", "", 20, ALNUM + "-"))
    gql_key = c.secret(c.fake("gql-api-key", "", 40, ALNUM))
    gql_refresh = c.secret(c.fake("gql-refresh", "1//0", 100, B64URL))
    gql_token = c.secret(c.fake("gql-token", "", 64, B64URL))
    upload_password = c.secret(c.fake("upload-password", "", 20, ALNUM + "-"))
    api = "https://api.vendor.test"
    png = _png()
    pem = f"-----BEGIN PRIVATE KEY-----\n{pem_body}\n-----END PRIVATE KEY-----\n"
    payment_intent = "pi_3Qx7Lm2eZvKYlo2C0b9N4aZr"
    c.neutral("svc_app:")  # the user name before a password in a URL
    c.neutral(f"{payment_intent}_secret_")  # a Stripe client_secret may go whole
    c.neutral("8c1f0e7d2b4a69c3e5f1a0b2c4d6e8f0a1b3c5d7")  # a key's id, not the key
    c.add(
        "GET",
        f"{api}/v2/config?env=prod",
        headers=[("X-API-Key", x_api_key)],
        mime="application/json",
        text=_pretty(
            {
                "env": "prod",
                "database": {
                    "url": f"postgres://svc_app:{db_password}@db.internal:5432/prod",
                    "pool": 10,
                },
                "features": {"newCheckout": True, "maxUploadMb": 25},
            }
        ),
        resp_headers=[("Cache-Control", "no-store"), ("ETag", '"cfg-2026-11-23"')],
    )
    session_json = _compact({"access_token": access, "token_type": "Bearer", "expires_in": 3600})
    c.add(
        "GET",
        f"{api}/v2/session",
        headers=[("Api-Key", search_key)],
        mime="application/json",
        text=b64(session_json),
        encoding="base64",
        resp_headers=[("Cache-Control", "no-store")],
    )
    credentials = _pretty(
        {
            "type": "service_account",
            "project_id": "acme-prod",
            "private_key_id": "8c1f0e7d2b4a69c3e5f1a0b2c4d6e8f0a1b3c5d7",
            "private_key": pem,
            "client_email": "uploader@acme-prod.iam.gserviceaccount.com",
            "token": google_token,
            "expires_in": 3599,
        }
    ).replace(google_token, google_token.replace(".", "\\u002e"))
    keys = c.add(
        "GET",
        f"{api}/v2/service-accounts/sa-42/credentials",
        headers=[("Authorization", f"Bearer {access}")],
        mime="application/json",
        text=credentials,
        resp_headers=[("Cache-Control", "no-store")],
    )
    c.shape(  # the BEGIN and END lines may stay or go with the key
        f"log.entries[{keys}].response.content.text{{json}}.private_key",
        rf"(?s)(?:-----BEGIN PRIVATE KEY-----\s*)?{PH}(?:\s*-----END PRIVATE KEY-----)?\s*",
    )
    c.add(
        "GET",
        "https://translation.googleapis.com/language/translate/v2/languages?target=en&model=nmt",
        headers=[("X-Goog-Api-Key", goog_key)],
        mime="application/json; charset=UTF-8",
        text=_pretty({"data": {"languages": [{"language": "de", "name": "German"}]}}),
        resp_headers=[("Cache-Control", "private"), ("Vary", "Origin, X-Origin, Referer")],
    )
    c.add(
        "GET",
        "https://gitlab.test/uploads/-/system/user/avatar/42/avatar.png?width=64",
        resource="image",
        headers=[("PRIVATE-TOKEN", gitlab)],
        mime="image/png",
        text=b64(png),
        encoding="base64",
        resp_headers=[("Cache-Control", "max-age=60, public"), ("ETag", '"a6f3c2e1"')],
    )
    c.add(
        "GET",
        "https://registry.vendor.test/v2/_catalog?n=100",
        headers=[("Authorization", f"Basic {basic}")],
        mime="application/json",
        text=_compact({"repositories": ["web/app", "web/worker"]}),
        resp_headers=[("Docker-Distribution-Api-Version", "registry/2.0")],
    )
    c.add(
        "GET",
        "https://api.github.com/user/repos?per_page=100&sort=updated",
        headers=[("Authorization", f"token {github}"), ("X-GitHub-Api-Version", "2022-11-28")],
        mime="application/json; charset=utf-8",
        text=_compact([{"id": 1296269, "full_name": "acme/web", "private": True}]),
        resp_headers=[("ETag", 'W/"7c9e1a2b3d4f"'), ("X-RateLimit-Remaining", "4999")],
    )
    c.add(
        "POST",
        "https://api.stripe.com/v1/payment_intents",
        headers=[("Authorization", f"Bearer {stripe}"), ("Idempotency-Key", "order-8f3a2c-1")],
        post=c.form(("amount", "2000"), ("currency", "usd"), ("payment_method_types[]", "card")),
        mime="application/json",
        text=_pretty(
            {
                "id": payment_intent,
                "object": "payment_intent",
                "amount": 2000,
                "currency": "usd",
                "client_secret": f"{payment_intent}_secret_{payment_secret}",
                "status": "requires_payment_method",
            }
        ),
        resp_headers=[("Request-Id", "req_8Hk2Lm4Np6Qr8S")],
    )
    graphql = {
        "operationName": "Login",
        "query": (
            'mutation Login { login(email: "alice@example.test", password: "'
            + gql_password
            + '") { token } }'
        ),
        "variables": {"input": {"apiKey": gql_key, "nested": {"refreshToken": gql_refresh}}},
    }
    c.add(
        "POST",
        f"{api}/graphql",
        post=PostData("application/json", _compact(graphql)),
        mime="application/json",
        text=_compact({"data": {"login": {"token": gql_token, "expiresIn": 3600}}}),
    )
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    png_lines = "\r\n".join(re.findall(".{1,76}", b64(png)))
    multipart = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="displayName"\r\n\r\nAlice Example\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="password"\r\n\r\n{upload_password}\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="avatar"; filename="avatar.png"\r\n'
        "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{png_lines}\r\n"
        f"--{boundary}--\r\n"
    )
    c.add(
        "POST",
        "https://apim.vendor.test/profiles/v1/avatar?overwrite=true",
        headers=[("Ocp-Apim-Subscription-Key", apim)],
        post=PostData(f"multipart/form-data; boundary={boundary}", multipart),
        status=201,
        reason="Created",
        mime="application/json",
        text=_compact({"avatar": "/profiles/v1/avatar/3f9a1c2b.png", "bytes": len(png)}),
    )
    return c.build()


def presigned_urls() -> Flow:
    """Signed URLs for S3, GCS and Azure, a SigV4 header, a code in a nested URL, URL userinfo."""
    c = Capture("presigned_urls", browser="chrome")
    temp_key = c.secret(c.fake("asia", "ASIA", 16, B32))
    session_token = c.secret(_with(c.fake("session-token", "IQoJb3JpZ2luX2Vj", 200, B64), "+/+/"))
    s3_signature = c.secret(fake_hex(64, seed=c.seed("s3-signature")))
    key_id = c.secret(c.fake("akia", "AKIA", 16, B32))
    put_signature = c.secret(fake_hex(64, seed=c.seed("put-signature")))
    gcs_signature = c.secret(fake_hex(512, seed=c.seed("gcs-signature")))
    azure_sig = c.secret(_with(c.fake("azure-sig", "", 43, B64), "+/") + "=")
    code = c.secret(c.fake("code", "", 32, ALNUM))
    userinfo_password = c.secret(c.fake("userinfo", "", 20, ALNUM + "-"))
    session = c.secret(c.fake("host-session", "", 43, B64URL))
    scope = "%2F20261123%2Fus-east-1%2Fs3%2Faws4_request"
    google_credential = (
        "uploader%40acme-prod.iam.gserviceaccount.com%2F20261123%2Fauto%2Fstorage%2Fgoog4_request"
    )
    c.neutral(scope)  # X-Amz-Credential may go whole, or only its key id
    c.neutral(google_credential)  # names a service account; may stay or go
    c.neutral("deploy:")
    s3_url = (
        "https://acme-reports.s3.us-east-1.amazonaws.com/reports/2026/q3-report.pdf?"
        "response-content-disposition=attachment%3B%20filename%3D%22q3-report.pdf%22"
        "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={temp_key}{scope}"
        "&X-Amz-Date=20261123T101500Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        f"&X-Amz-Security-Token={quote(session_token, safe='')}"
        f"&X-Amz-Signature={s3_signature}"
    )
    gcs_url = (
        "https://storage.googleapis.com/acme-media/videos/intro.mp4?"
        "X-Goog-Algorithm=GOOG4-RSA-SHA256"
        f"&X-Goog-Credential={google_credential}"
        "&X-Goog-Date=20261123T101500Z&X-Goog-Expires=3600&X-Goog-SignedHeaders=host"
        f"&X-Goog-Signature={gcs_signature}"
    )
    azure_url = (
        "https://acmestore.blob.core.windows.net/exports/data.csv?sv=2022-11-02&ss=b&srt=o&sp=r"
        "&se=2026-11-24T10%3A15%3A00Z&st=2026-11-23T10%3A15%3A00Z&spr=https"
        f"&sig={quote(azure_sig, safe='')}"
    )
    nested = (
        "https://app.test/login?redirect_uri="
        f"https%3A%2F%2Fapp.test%2Fcb%3Fcode%3D{code}%26state%3Dxyz&utm_source=email"
    )
    page = "https://files.app.test/projects/7"
    app_js = "https://files.app.test/assets/files.c0ffee12.js"
    sigv4 = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/20261123/us-east-1/s3/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
        f"Signature={put_signature}"
    )
    listing = {
        "files": [
            {"name": "q3-report.pdf", "size": 48213, "downloadUrl": s3_url},
            {"name": "intro.mp4", "size": 7340032, "downloadUrl": gcs_url},
            {"name": "data.csv", "size": 14, "downloadUrl": azure_url},
        ],
        "page": 1,
        "sort": "name",
    }

    c.page(page)
    c.add(
        "GET",
        "https://files.app.test/api/projects/7/files?page=1&sort=name",
        cookies=[("__Host-session", session)],
        headers=[("Referer", page)],
        mime="application/json",
        text=_compact(listing),
        resp_headers=[("Cache-Control", "private, no-store")],
        initiator=script(("listFiles", app_js)),
    )
    c.add(
        "GET",
        s3_url,
        resource="other",
        headers=[("Referer", "https://files.app.test/")],
        mime="application/pdf",
        size=48213,
        resp_headers=[
            ("ETag", '"9b2cf535f27731c974343645a3985328"'),
            ("Content-Disposition", 'attachment; filename="q3-report.pdf"'),
            ("x-amz-request-id", "4442587FB7D0A2F9"),
        ],
        initiator=script(("download", app_js)),
    )
    put = c.add(
        "PUT",
        "https://acme-uploads.s3.us-east-1.amazonaws.com/incoming/2026/11/upload.csv",
        headers=[
            ("Authorization", sigv4),
            ("x-amz-date", "20261123T101503Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("Origin", "https://files.app.test"),
        ],
        post=PostData("text/csv", "id,name\n1,alpha\n2,beta\n"),
        resp_headers=[("ETag", '"6f1ed002ab5595859014ebf0951522d9"')],
        initiator=script(("upload", app_js)),
    )
    c.shape(c.header_path(put, "request", "authorization"), rf"AWS4-HMAC-SHA256 (?=.*{PH}).+")
    c.add(
        "GET",
        gcs_url,
        resource="media",
        headers=[("Range", "bytes=0-"), ("Referer", "https://files.app.test/")],
        status=206,
        reason="Partial Content",
        mime="video/mp4",
        size=7340032,
        resp_headers=[("Content-Range", "bytes 0-7340031/7340032"), ("Accept-Ranges", "bytes")],
        initiator=parser(page, 31),
    )
    c.add(
        "GET",
        azure_url,
        resource="fetch",
        headers=[("Origin", "https://files.app.test")],
        mime="text/csv",
        text="id,value\n1,42\n",
        resp_headers=[("x-ms-version", "2022-11-02"), ("x-ms-blob-type", "BlockBlob")],
        initiator=script(("preview", app_js)),
    )
    c.page(nested)
    c.add(
        "GET",
        nested,
        resource="document",
        mime="text/html; charset=utf-8",
        text=_html("Sign in", '<form method="post" action="/login"></form>'),
        resp_headers=[("Cache-Control", "no-store")],
    )
    c.add(
        "GET",
        "https://files.test/x/readme.txt",
        resource="document",
        headers=[("Referer", f"https://deploy:{userinfo_password}@files.test/x")],
        mime="text/plain; charset=utf-8",
        text="Nightly exports land here.\n",
        resp_headers=[("Last-Modified", "Sun, 22 Nov 2026 23:00:00 GMT")],
    )
    return c.build()


def websocket() -> Flow:
    """A chat app: a token minted over HTTP, sent in the websocket's first message, then used."""
    c = Capture("websocket", browser="chrome")
    session = c.secret(c.fake("chat-session", "s%3A", 60, B64URL))
    issued = int(c.now().timestamp())
    claims = {"sub": USER_ID, "scope": "chat", "iat": issued, "exp": issued + 300, "jti": MARK}
    token = c.secret(fake_jwt(claims, seed=c.seed("ws-jwt"), kid="FAKE-ws"))
    resume = c.secret(c.fake("resume-token", "", 40, B64URL))
    room = "https://chat.test/rooms/general"
    chat_js = "https://chat.test/assets/chat.91ab3cd2.js"
    cookies = [("chat_session", session)]

    c.page(room)
    c.add(
        "GET",
        room,
        resource="document",
        cookies=cookies,
        mime="text/html; charset=utf-8",
        text=_html("#general · Chat", '<div id="chat"></div>', scripts=[chat_js]),
        resp_headers=[("Cache-Control", "no-cache")],
    )
    c.add(
        "GET",
        chat_js,
        resource="script",
        headers=[("Referer", room)],
        mime="application/javascript",
        text=_js("chat"),
        resp_headers=[("Cache-Control", "public, max-age=31536000, immutable")],
        initiator=parser(room, 5),
    )
    c.add(
        "POST",
        "https://chat.test/api/ws-token",
        cookies=cookies,
        headers=[("Origin", "https://chat.test"), ("Referer", room)],
        post=PostData("application/json", _compact({"room": "general"})),
        mime="application/json",
        text=_compact({"token": token, "expires_in": 300}),
        initiator=script(("connect", chat_js)),
    )
    messages = [
        c.ws_message("send", _compact({"type": "auth", "token": token}), 60),
        c.ws_message(
            "receive", _compact({"type": "ready", "user": "alice", "resume_token": resume}), 95
        ),
        c.ws_message("send", _compact({"type": "subscribe", "channel": "metrics"}), 130),
        c.ws_message("receive", _compact({"type": "data", "value": 42}), 1130),
        c.ws_message("receive", _compact({"type": "data", "value": 43.5}), 2130),
        c.ws_message("send", _compact({"type": "ping"}), 30060),
    ]
    c.add(
        "GET",
        "wss://chat.test/socket?v=2&encoding=json",
        cookies=cookies,
        headers=[
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
        ],
        status=101,
        reason="Switching Protocols",
        resp_headers=[("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")],
        ws=messages,
        initiator=script(("connect", chat_js)),
    )
    c.add(
        "GET",
        "https://chat.test/api/history?channel=metrics&limit=50&before=1763892900",
        headers=[("Authorization", f"Bearer {token}"), ("Referer", room)],
        mime="application/json",
        text=_compact({"messages": [{"value": 41, "at": "2026-11-23T10:14:00Z"}], "more": False}),
        resp_headers=[("Cache-Control", "private, max-age=5")],
        initiator=script(("loadHistory", chat_js)),
    )
    return c.build()


FACTORIES: tuple[Callable[[], Flow], ...] = (
    oauth_code_pkce,
    oidc_implicit,
    saml_post,
    okta_authn_mfa,
    cookie_session,
    api_keys,
    presigned_urls,
    websocket,
)


def all_flows() -> tuple[Flow, ...]:
    return tuple(factory() for factory in FACTORIES)
