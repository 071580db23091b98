"""Secrets planted anywhere harscrub promises to look are gone, and everything else is kept.

Hypothesis builds HAR-shaped documents (pages, entries with headers, cookies, URLs, bodies of
every kind harscrub reads, vendor fields, odd but legal shapes) and plants fake secrets in the
places README.md's "What is redacted" lists. What a user attaching the output to a support
ticket relies on: it parses, no planted secret is left in any encoding, no entry is lost,
benign values come out as they went in, and a second run changes nothing.

Planted values are canaries: each is a FAKE... value with a random part, or a rule's own
example (rules/tokens.toml) with its free characters randomised. Assertion messages name the
place a secret was planted and where it survived, never the value.

HARSCRUB_PROPERTY_EXAMPLES=<n> runs n examples per property instead of CI's budget.
"""

from __future__ import annotations

import base64
import codecs
import html
import io
import json
import os
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import orjson
import pytest
import regex
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harscrub import cli
from harscrub.api import scrub_stream
from harscrub.options import Options
from harscrub.rules import PLACES, Rule, load_ruleset, normalize

from .factories import entry, har_bytes, header

# Hypothesis tests take the rules from here, not from a fixture (see test_fast_paths.py).
RULES = load_ruleset()
KEY = b"p" * 32  # a fixed key: equal tags in both runs, so a second run can be compared bytewise

EXAMPLES = int(os.environ.get("HARSCRUB_PROPERTY_EXAMPLES", "0")) or 200
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CLI = settings(PROPERTY, max_examples=max(3, EXAMPLES // 20))
GENERATOR = settings(PROPERTY, max_examples=max(10, EXAMPLES // 4))
STYLES = st.fixed_dictionaries(
    {"placeholder": st.sampled_from(["tag", "mask", "drop"]), "keep_jwt_claims": st.booleans()}
)

# --- What may be drawn --------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
# Filler never holds "FAKE" (no capitals), "_" (hf_...) or a structure character; short runs of
# it can hold no token shape either.
FILLER = st.text(alphabet=string.ascii_lowercase + string.digits + " éüßøñ日本語", max_size=12)
WORDS = st.sampled_from(
    ["dashboard", "Zürich", "ok", "reports", "v2", "naïve", "日本", "settings", "user 42"]
)
HOSTS = st.sampled_from(["app.example.test", "api.example.test", "xn--zrich-kva.example.test"])
SEGMENTS = st.lists(
    st.sampled_from(["api", "v1", "users", "me", "Z%C3%BCrich", "assets", "app.js", "a-b_c"])
    | st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8),
    min_size=1,
    max_size=4,
)
BIG = st.integers(2**64, 2**100)  # beyond any 64-bit reader; must come out digit for digit
TIMES = st.floats(0, 1e6, allow_nan=False) | st.integers(0, 10**6)
BENIGN_QUERY = st.sampled_from(
    [
        "page=3",
        "lang=de",
        "utm_source=newsletter",
        "state=xyzzy",
        "client_id=web-app",
        "q=caf%C3%A9",
    ]
)
AUTH_SCHEMES = st.sampled_from(["Bearer", "Basic", "Token", "bearer"])


def _names(place: str) -> tuple[str, ...]:
    """The names the rules promise to take at place: each name rule's own examples."""
    names = [
        name
        for rule in RULES.rules
        if rule.name is not None and rule.detector is None and place in rule.places
        for name in rule.examples.names
    ]
    return tuple(dict.fromkeys(names))


_JS_NAME = regex.compile(r"[A-Za-z_$][\w$.-]{0,63}")  # what bodies.quoted_pairs reads as a name
_XML_NAME = regex.compile(r"[A-Za-z][\w.-]{0,63}")
NAMES = {place: _names(place) for place in ("header", "cookie", "query", "form", "json")}
NAMES["js"] = tuple(n for n in NAMES["json"] if _JS_NAME.fullmatch(n))
NAMES["xml"] = tuple(n for n in NAMES["json"] if _XML_NAME.fullmatch(n))
COOKIE_NAMES = (*NAMES["cookie"], "theme", "_ga", "lang", "consent", "__Host-x")


# --- Token formats: every shape rule's examples, with their free characters randomised ----------


@dataclass(frozen=True)
class Shape:
    """One example secret of a shape rule, and the spans in it the rule removes."""

    rule: str
    index: int
    text: str
    spans: tuple[tuple[int, int], ...]
    keep: frozenset[int]  # positions a mutation must not touch: keywords, the first FAKE

    def randomised(self, rule: Rule, seed: int) -> tuple[str, tuple[str, ...]]:
        """The example with the characters of its secret parts redrawn, and those parts.

        Letters and digits are redrawn within their class (keywords and the first FAKE kept);
        if the rule no longer finds the same spans there (a prefix, a header that must decode),
        hex digits within hex and digits alone; then only the FAKE runs after the first;
        failing all, the example is planted as it is.
        """
        rng = random.Random(seed)  # noqa: S311 -- a canary, not a key
        for where, hex_only in ((self._free, False), (self._free, True), (self._fake_runs, False)):
            chars = list(self.text)
            for i in where():
                chars[i] = rng.choice(_pool(chars[i], hex_only=hex_only))
            text = "".join(chars)
            if tuple(rule.find(text)) == self.spans:
                return text, tuple(text[s:e] for s, e in self.spans)
        return self.text, tuple(self.text[s:e] for s, e in self.spans)

    def _free(self) -> Iterator[int]:
        for start, end in self.spans:
            yield from (
                i
                for i in range(start, end)
                if i not in self.keep and self.text[i].isascii() and self.text[i].isalnum()
            )

    def _fake_runs(self) -> Iterator[int]:
        for m in regex.finditer("FAKE|fake", self.text):
            if any(s <= m.start() < e for s, e in self.spans) and m.start() not in self.keep:
                yield from range(m.start(), m.end())


def _pool(c: str, *, hex_only: bool) -> str:
    """What a character may be redrawn as: its own class, and hex digits stay hex."""
    if c.isdigit():
        return string.digits
    if hex_only and c in string.hexdigits:
        return "abcdef" if c.islower() else "ABCDEF"
    if hex_only:
        return c
    return string.ascii_uppercase if c.isupper() else string.ascii_lowercase


def _shape(rule: Rule, index: int, text: str) -> Shape:
    spans = tuple(rule.find(text))
    keep: set[int] = set()
    lowered = text.lower()
    for word in rule.keywords:
        for m in regex.finditer(regex.escape(word), lowered):
            keep.update(range(m.start(), m.end()))
    for start, end in spans:  # the first FAKE of each secret stays, so it reads as fake
        first = regex.search("FAKE|fake", text[start:end])
        if first:
            keep.update(range(start + first.start(), start + first.end()))
    return Shape(rule.id, index, text, spans, frozenset(keep))


SHAPE_RULES = {r.id: r for r in RULES.rules if r.name is None and r.detector and r.places == PLACES}
SHAPES = tuple(
    _shape(rule, i, text)
    for rule in SHAPE_RULES.values()
    for i, text in enumerate(rule.examples.secret)
)
_PRINTABLE_LINE = regex.compile(r"[\x20-\x7e]+")


# --- A document's plan: what goes where, and what must (not) come out ---------------------------


@dataclass(frozen=True)
class Planted:
    """A secret and the place it was planted; needles are the forms that must not survive."""

    place: str
    needles: tuple[str, ...]


@dataclass(frozen=True)
class Kept:
    """A benign value that must come out as it went in (or, with inside, still be in it)."""

    place: str
    path: tuple[str | int, ...]
    value: Any
    inside: bool = False


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    escaped: bool  # written in the body's own escapes (\\u, %XX, &#NN;) rather than as is


@dataclass(frozen=True)
class Source:
    """A planted secret a copy may be made of, and from which entry on copies must go."""

    secret: str
    place: str
    entry: int
    learnt_first: bool  # in headers, cookies or URLs: learnt before any entry is written


REQUEST_KINDS = ("json", "form", "params", "multipart", "graphql", "text")
RESPONSE_KINDS = ("json", "html", "js", "xml", "text", "json-base64", "text-base64")
# Kinds of body that hold values by name; the others hold free text only.
FIELD_KINDS = frozenset(
    {"json", "form", "params", "multipart", "graphql", "html", "js", "xml", "json-base64"}
)
FORM_NAMED = frozenset({"form", "params", "multipart", "html"})


@dataclass
class EntryPlan:
    """One entry being planned: its benign frame, and what planters added to each part."""

    index: int
    method: str
    host: str
    path: str
    status: int
    req_kind: str
    resp_kind: str
    userinfo: str = ""
    path_copies: list[str] = field(default_factory=list)
    query: list[str] = field(default_factory=list)
    query_string: list[dict[str, str]] = field(default_factory=list)
    fragment: list[str] = field(default_factory=list)
    redirect: list[str] = field(default_factory=list)
    req_headers: list[dict[str, str]] = field(default_factory=list)
    resp_headers: list[dict[str, str]] = field(default_factory=list)
    cookie_pairs: list[str] = field(default_factory=list)
    req_cookies: list[dict[str, Any]] = field(default_factory=list)
    resp_cookies: list[dict[str, Any]] = field(default_factory=list)
    req_fields: list[Field] = field(default_factory=list)
    resp_fields: list[Field] = field(default_factory=list)
    req_snippets: list[str] = field(default_factory=list)
    resp_snippets: list[str] = field(default_factory=list)
    json_keys: list[str] = field(default_factory=list)
    ws: list[str] = field(default_factory=list)
    initiator_urls: list[str] = field(default_factory=list)
    initiator_notes: list[str] = field(default_factory=list)
    vendor_keys: list[str] = field(default_factory=list)
    debug: list[dict[str, str]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    set_cookie_attributes: list[str] = field(default_factory=list)
    token_names: list[str] = field(default_factory=list)  # header names that are secrets

    def touches_response(self) -> bool:
        return bool(
            self.resp_headers or self.resp_cookies or self.resp_fields or self.resp_snippets
        ) or bool(self.redirect)


@dataclass
class Case:
    """One generated HAR, as bytes, with what was planted in it and what must be kept."""

    data: bytes
    entries: int
    planted: list[Planted]
    kept: list[Kept]
    # Every decoded string of the input with the planted secrets cut out: what a piece of a
    # secret may also be by chance ("serverIPAddr"), so that its staying says nothing.
    benign: str = field(default="", repr=False)


class Plan:
    """A document being planned: its entries and pages, and what was planted where."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.entries: list[EntryPlan] = []
        self.pages: list[dict[str, Any]] = []
        self.log_comments: list[str] = []
        self.planted: list[Planted] = []
        self.sources: list[Source] = []
        self.count = 0

    def secret(self) -> str:
        """A fresh canary: FAKE, a two-letter serial, a digit, a random part; sometimes base64
        with + and / and = padding, as session cookies often are. 16+ characters with letters
        and digits, so that even a copy of one removed only for being a cookie is followed."""
        serial = (
            string.ascii_uppercase[self.count // 26 % 26] + string.ascii_uppercase[self.count % 26]
        )
        self.count += 1
        core = self.draw(st.text(alphabet=ALNUM, min_size=10, max_size=24))
        digit = self.draw(st.sampled_from(string.digits))
        value = f"FAKE{serial}{digit}{core}"
        if self.draw(st.integers(0, 3)) == 0:
            cut = len(value) // 2
            value = f"{value[:cut]}+{value[cut:]}/x{self.draw(st.sampled_from(['', '=', '==']))}"
        return value

    def plant(self, place: str, *needles: str) -> None:
        self.planted.append(Planted(place, tuple(dict.fromkeys(needles))))

    def source(self, secret: str, place: str, entry: int, *, learnt_first: bool) -> None:
        self.sources.append(Source(secret, place, entry, learnt_first))


def url_encoded(draw: st.DrawFn, secret: str) -> str:
    """A secret as a URL carries it: percent-encoded where needed, or every byte encoded."""
    return fully_percent(secret) if draw(st.integers(0, 3)) == 0 else quote(secret, safe="")


def json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def html_escaped(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


def fully_percent(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode())


def escaped_for(kind: str, value: str) -> str:
    """value in the escapes of a body of this kind."""
    if kind in ("form", "params"):
        return fully_percent(value)
    if kind in ("html", "xml"):
        return html_escaped(value)
    if kind == "multipart":
        return value  # a part's body has no escapes
    return json_escaped(value)


# --- Planting: each function puts one secret where the README says harscrub looks ---------------


def plant_cookie(plan: Plan, e: EntryPlan) -> None:
    """Every cookie value: Cookie and Set-Cookie headers, the cookies arrays."""
    draw, secret = plan.draw, plan.secret()
    name = draw(st.sampled_from(COOKIE_NAMES))
    where = draw(
        st.sampled_from(
            ["Cookie header", "request.cookies", "Set-Cookie header", "response.cookies"]
        )
    )
    if where == "Cookie header":
        quoted = draw(st.integers(0, 5)) == 0  # RFC 6265 allows sid="..."
        e.cookie_pairs.append(f'{name}="{secret}"' if quoted else f"{name}={secret}")
    elif where == "request.cookies":
        e.req_cookies.append({"name": name, "value": secret})
    elif where == "Set-Cookie header":
        attributes = draw(
            st.sampled_from(
                [
                    "; Path=/",
                    "; Path=/; Secure; HttpOnly; SameSite=Lax",
                    "; Domain=.example.test; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",
                ]
            )
        )
        line = f"{name}={secret}{attributes}"
        folded = [h for h in e.resp_headers if h["name"] == "Set-Cookie"]
        if folded and draw(st.booleans()):  # Firefox folds several into one value
            folded[0]["value"] += "\n" + line
        else:
            e.resp_headers.append({"name": "Set-Cookie", "value": line})
        e.set_cookie_attributes.append(attributes)
    else:
        e.resp_cookies.append(
            {"name": name, "value": secret, "path": "/", "httpOnly": True, "secure": True}
        )
    plan.plant(f"{where} (cookie {name!r}) of entry {e.index}", secret)
    plan.source(secret, f"{where} of entry {e.index}", e.index, learnt_first=True)


def plant_header(plan: Plan, e: EntryPlan) -> None:
    """Credential headers by name; Authorization keeps its scheme word."""
    draw, secret = plan.draw, plan.secret()
    name = draw(st.sampled_from(NAMES["header"]))
    value = secret
    if normalize(name).endswith("authorization") and draw(st.booleans()):
        value = f"{draw(AUTH_SCHEMES)} {secret}"
    side = draw(st.sampled_from(["request", "response"]))
    if draw(st.integers(0, 7)) == 0:  # Polly.JS writes a repeated header's values as a list
        value = [value]
    (e.req_headers if side == "request" else e.resp_headers).append({"name": name, "value": value})
    plan.plant(f"{side} header {name!r} of entry {e.index}", secret)
    plan.source(secret, f"{side} header of entry {e.index}", e.index, learnt_first=True)


QUERY_CONTAINERS = (
    "request.url query",
    "request.url fragment",
    "response.redirectURL",
    "Location header",
    "Referer header",
    ":path header",
    "_initiator.url",
    "nested redirect_uri",
)


def plant_query(plan: Plan, e: EntryPlan) -> None:
    """Secret-named URL parameters, in every kind of URL an entry holds."""
    draw, secret = plan.draw, plan.secret()
    name = draw(st.sampled_from(NAMES["query"]))
    encoded = url_encoded(draw, secret)
    pair = f"{name}={encoded}"
    where = draw(st.sampled_from(QUERY_CONTAINERS))
    forms = [secret, encoded]
    if where == "request.url query":
        e.query.append(pair)
        e.query_string.append({"name": name, "value": draw(st.sampled_from([encoded, secret]))})
    elif where == "request.url fragment":
        e.fragment.append(pair)
    elif where == "response.redirectURL":
        e.redirect.append(pair)
    elif where == "Location header":
        e.resp_headers.append({"name": "Location", "value": f"https://{e.host}/cb?{pair}"})
    elif where == "Referer header":
        e.req_headers.append({"name": "Referer", "value": f"https://{e.host}/login?{pair}"})
    elif where == ":path header":
        e.req_headers.append({"name": ":path", "value": f"/cb?{pair}&page=2"})
    elif where == "_initiator.url":
        e.initiator_urls.append(f"https://cdn.example.test/app.js?{pair}")
    else:
        inner = quote(f"https://{e.host}/cb?{pair}", safe="")
        e.query.append(f"redirect_uri={inner}")
        e.query_string.append({"name": "redirect_uri", "value": inner})
        forms.append(quote(encoded, safe=""))
    plan.plant(f"{where} parameter {name!r} of entry {e.index}", *forms)
    plan.source(
        secret, f"{where} of entry {e.index}", e.index, learnt_first=where != "_initiator.url"
    )


def plant_userinfo(plan: Plan, e: EntryPlan) -> None:
    """The password in a URL's userinfo; the user name is kept."""
    if e.userinfo:
        plant_query(plan, e)
        return
    secret = plan.secret()
    encoded = quote(secret, safe="")
    e.userinfo = f"alice:{encoded}@"
    plan.plant(f"request.url userinfo password of entry {e.index}", secret, encoded)
    plan.source(secret, f"request.url userinfo of entry {e.index}", e.index, learnt_first=True)


def plant_field(plan: Plan, e: EntryPlan) -> None:
    """Secret-named form fields and JSON keys, in bodies, websocket messages, vendor fields."""
    draw, secret = plan.draw, plan.secret()
    where = draw(
        st.sampled_from(["request body", "response body", "websocket message", "vendor field"])
    )
    escaped = draw(st.booleans())
    if where == "request body":
        if e.req_kind not in FIELD_KINDS:
            e.req_kind = draw(st.sampled_from(sorted(FIELD_KINDS & set(REQUEST_KINDS))))
        kind, fields = e.req_kind, e.req_fields
    elif where == "response body":
        if e.resp_kind not in FIELD_KINDS:
            e.resp_kind = draw(st.sampled_from(sorted(FIELD_KINDS & set(RESPONSE_KINDS))))
        kind, fields = e.resp_kind, e.resp_fields
    else:
        kind, fields = "json", []
    names = NAMES["form" if kind in FORM_NAMED else kind if kind in ("js", "xml") else "json"]
    name = draw(st.sampled_from(names))
    forms = [secret]
    if where == "websocket message":
        text = json.dumps({"op": "auth", name: secret})
        if escaped:
            text = text.replace(secret, json_escaped(secret))
            forms.append(json_escaped(secret))
        e.ws.append(text)
    elif where == "vendor field":
        e.debug.append({name: secret})
    else:
        fields.append(Field(name, secret, escaped))
        if escaped:
            forms.append(escaped_for(kind, secret))
        elif kind in ("form", "params"):
            forms.append(quote_plus(secret))
    plan.plant(f"{where} ({kind}) field {name!r} of entry {e.index}", *forms)
    plan.source(secret, f"{where} of entry {e.index}", e.index, learnt_first=False)


ANYWHERE = (
    "request header",
    "header name",
    "response header",
    "query",
    "request body",
    "response body",
    "websocket message",
    "_initiator",
    "entry comment",
    "page title",
    "log comment",
    "vendor key",
    "json body key",
)
# Places that take one line, and of those the keys and names, which take the text alone.
ONE_LINE = frozenset(
    {"request header", "response header", "query", "vendor key", "json body key", "header name"}
)
NAMES_AND_KEYS = frozenset({"vendor key", "json body key", "header name"})
# Copies are matched as whole tokens: what stands around one is no token character, or one
# that ends a sentence or starts a mention ("user@host" and "a.b" are longer tokens).
BEFORE = st.sampled_from([" ", "\n", '"', "=", ":", ">", "'", "(", " @", "[", "#"])
AFTER = st.sampled_from([" ", "\n", '"', ";", "<", "&", "'", ")", ",", ". ", "]", "!"])


def put_anywhere(
    plan: Plan,
    e: EntryPlan,
    text: str,
    where: str,
    *,
    fits: Callable[[str], bool] = lambda _: True,
) -> str:
    """Put text in a place of free text (a header, a body, a comment, a key) with filler around
    it; returns the place, changed where text cannot go there. fits says whether the secrets
    in text are still whole with the filler around them (a rule's lookbehind may refuse one)."""
    draw = plan.draw
    if where in ONE_LINE and not _PRINTABLE_LINE.fullmatch(text):
        where = "response body"
    if where == "page title" and not plan.pages:
        where = "entry comment"
    if where == "json body key" and (len(text) < 16 or e.req_kind not in ("json", "graphql")):
        where = "vendor key"
    if where in NAMES_AND_KEYS:
        wrapped = text
    elif where in ONE_LINE:
        wrapped = f"{draw(FILLER)} {text} {draw(FILLER)}"
    else:
        wrapped = f"{draw(FILLER)}{draw(BEFORE)}{text}{draw(AFTER)}{draw(FILLER)}"
    if not fits(wrapped):
        wrapped = f" {text} "
    if where == "request header":
        e.req_headers.append({"name": "X-Debug-Info", "value": wrapped})
    elif where == "header name":  # a header line split in the wrong place
        e.req_headers.append({"name": wrapped, "value": "1"})
        e.token_names.append(wrapped)
    elif where == "response header":
        e.resp_headers.append({"name": "X-Trace-Note", "value": wrapped})
    elif where == "query":
        e.query.append(f"q={quote(wrapped, safe='')}")
    elif where == "request body":
        e.req_snippets.append(wrapped)
    elif where == "response body":
        e.resp_snippets.append(wrapped)
    elif where == "websocket message":
        e.ws.append(wrapped)
    elif where == "_initiator":
        e.initiator_notes.append(wrapped)
    elif where == "entry comment":
        e.comments.append(wrapped)
    elif where == "page title":
        page = draw(st.sampled_from(plan.pages))
        page["title"] += f" {wrapped}"
        page["_touched"] = True
    elif where == "log comment":
        plan.log_comments.append(wrapped)
    elif where == "vendor key":
        e.vendor_keys.append(wrapped)
    else:
        e.json_keys.append(wrapped)
    return where


def plant_shape(plan: Plan, e: EntryPlan) -> None:
    """A token format recognised by its shape, wherever it is."""
    draw = plan.draw
    shape = draw(st.sampled_from(SHAPES))
    text, secrets = shape.randomised(SHAPE_RULES[shape.rule], draw(st.integers(0, 2**32 - 1)))
    rule = SHAPE_RULES[shape.rule]

    def fits(wrapped: str) -> bool:
        found = {wrapped[start:end] for start, end in rule.find(wrapped)}
        return set(secrets) <= found

    where = put_anywhere(plan, e, text, draw(st.sampled_from(ANYWHERE)), fits=fits)
    event(f"shape {shape.rule}")
    plan.plant(f"{shape.rule} example {shape.index} in {where} of entry {e.index}", *secrets)


def plant_bearer_text(plan: Plan, e: EntryPlan) -> None:
    """A bearer token written out in text: a log line, a curl command, a websocket frame."""
    draw, secret = plan.draw, plan.secret()
    template = draw(
        st.sampled_from(
            [
                "Authorization: Bearer {}",
                "curl -H 'authorization: bearer {}' https://api.example.test/v1",
                "token_type=Bearer access Bearer {}",
            ]
        )
    )
    where = put_anywhere(plan, e, template.format(secret), draw(st.sampled_from(ANYWHERE)))
    plan.plant(f"bearer token in text in {where} of entry {e.index}", secret)


COPY_PLACES = (*ANYWHERE, "url path", "query ref", "redirectURL query")


def plant_copy(plan: Plan, e: EntryPlan) -> None:
    """Another copy of a removed secret: from every entry if it was learnt in headers, cookies
    or URLs, else from the entry after the one it was first seen in."""
    draw = plan.draw
    sources = [s for s in plan.sources if s.learnt_first or s.entry < e.index]
    if not sources:
        plant_cookie(plan, e)  # something to copy later
        return
    src = draw(st.sampled_from(sources))
    where = draw(st.sampled_from(COPY_PLACES))
    if where in ("page title", "log comment") and not src.learnt_first:
        where = "entry comment"  # the log's own members are written before later entries
    encoded = quote(src.secret, safe="")
    if where == "url path":
        e.path_copies.append(encoded)
    elif where == "query ref":
        e.query.append(f"ref={encoded}")
    elif where == "redirectURL query":
        e.redirect.append(f"from={encoded}")
    else:
        where = put_anywhere(plan, e, src.secret, where)
    event(f"copy in {where}")
    plan.plant(f"copy in {where} of entry {e.index} (of the secret in {src.place})", src.secret)


HIGH_ENTROPY = next(rule for rule in RULES.rules if rule.id == "high-entropy-secret")


def random_looking(seed: int) -> str:
    """FAKE and 28 random letters and digits, redrawn until the detector takes it whole (a
    draw may lack digits)."""
    rng = random.Random(seed)  # noqa: S311 -- a canary, not a key
    for _ in range(100):
        secret = "FAKE" + "".join(rng.choice(ALNUM) for _ in range(28))
        if list(HIGH_ENTROPY.find(secret)) == [(0, len(secret))]:
            return secret
    raise AssertionError("the high-entropy detector takes no random value")


def plant_high_entropy(plan: Plan, e: EntryPlan) -> None:
    """A random-looking value under a secret-sounding name that no other rule knows."""
    draw = plan.draw
    secret = random_looking(draw(st.integers(0, 2**32 - 1)))
    name = draw(st.sampled_from(HIGH_ENTROPY.examples.names))
    where = draw(st.sampled_from(["request header", "query", "request body"]))
    if where == "request header":
        e.req_headers.append({"name": name, "value": secret})
    elif where == "query":
        e.query.append(f"{name}={secret}")
    else:
        if e.req_kind not in FIELD_KINDS:
            e.req_kind = "json"
        e.req_fields.append(Field(name, secret, escaped=False))
    plan.plant(f"random-looking {where} value {name!r} of entry {e.index}", secret)
    learnt_first = where != "request body"
    plan.source(secret, f"{where} of entry {e.index}", e.index, learnt_first=learnt_first)


PLANTERS: tuple[Callable[[Plan, EntryPlan], None], ...] = (
    plant_cookie,
    plant_header,
    plant_query,
    plant_userinfo,
    plant_field,
    plant_shape,
    plant_shape,
    plant_bearer_text,
    plant_high_entropy,
)


# --- Rendering a plan as HAR --------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    mime: str
    text: str
    encoding: str | None
    benign: tuple[str, ...]  # parts of text that hold no secret and must come out as they are


def render_body(
    kind: str,
    fields: list[Field],
    snippets: list[str],
    keys: list[str],
    draw: st.DrawFn,
    user: str,
    big: int,
) -> Body:
    """A body of kind holding fields (secrets by name) and free-text snippets."""
    base, _, encoding = kind.partition("-")
    if base in ("json", "graphql"):
        text, benign = json_text(fields, snippets, keys, draw, user, big)
        if base == "graphql":
            query = "mutation Login($input: LoginInput!) { login(input: $input) { ok } }"
            text = f'{{"operationName": "Login", "query": "{query}", "variables": {text}}}'
        mime = draw(
            st.sampled_from(["application/json", "application/ion+json; okta-version=1.0.0"])
        )
    elif base in ("form", "params"):
        pairs = [("username", quote_plus(user))]
        pairs += [
            (f.name, fully_percent(f.value) if f.escaped else quote_plus(f.value)) for f in fields
        ]
        pairs += [("comment", quote_plus(s)) for s in snippets]
        text = "&".join(f"{quote_plus(n)}={v}" for n, v in pairs)
        benign = (f"username={quote_plus(user)}",)
        mime = "application/x-www-form-urlencoded"
    elif base == "multipart":
        boundary = "----WebKitFormBoundary7MA4YWxk"
        parts = [("username", user), *((f.name, f.value) for f in fields)]
        parts += [("comment", s) for s in snippets]
        text = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
            for n, v in parts
        )
        text += f"--{boundary}--\r\n"
        benign = (f'name="username"\r\n\r\n{user}\r\n',)
        mime = f"multipart/form-data; boundary={boundary}"
    elif base == "html":
        tags = []
        for f in fields:
            value = html_escaped(f.value) if f.escaped else f.value
            tags.append(
                draw(
                    st.sampled_from(
                        [
                            f'<meta name="{f.name}" content="{value}">',
                            f'<input type="hidden" name="{f.name}" value="{value}">',
                            f"<input value='{value}' type=hidden name='{f.name}'/>",
                        ]
                    )
                )
            )
        paragraphs = "".join(f"<p>{s}</p>" for s in snippets)
        title = f"<title>{html.escape(user)}</title>"
        text = (
            f"<!doctype html><html><head>{title}</head>"
            f"<body><form method=post>{''.join(tags)}</form>{paragraphs}</body></html>"
        )
        benign, mime = (title,), "text/html; charset=utf-8"
    elif base == "js":
        lines = [
            f'  {f.name}: "{json_escaped(f.value) if f.escaped else f.value}",' for f in fields
        ]
        text = "window.__CONFIG__ = {\n" + "\n".join(lines) + f'\n  user: "{user}"\n}};\n'
        text += "".join(f"// {s}\n" for s in snippets)
        benign, mime = (f'user: "{user}"',), "application/javascript"
    elif base == "xml":
        elements = [
            f"<{f.name}>{html_escaped(f.value) if f.escaped else f.value}</{f.name}>"
            for f in fields
        ]
        elements += [f"<note>{s}</note>" for s in snippets]
        text = f'<?xml version="1.0"?>\n<response><user>{user}</user>{"".join(elements)}</response>'
        benign, mime = (f"<user>{user}</user>",), "application/xml"
    else:
        text = "\n".join([f"request log {user}", *snippets, "end"])
        benign, mime = (f"request log {user}\n",), "text/plain; charset=utf-8"
    if encoding:
        return Body(mime, base64.b64encode(text.encode()).decode(), "base64", ())
    return Body(mime, text, None, benign)


def json_text(
    fields: list[Field], snippets: list[str], keys: list[str], draw: st.DrawFn, user: str, big: int
) -> tuple[str, tuple[str, ...]]:
    """A JSON body with each field at a depth and in a layout of its own, and its benign parts."""
    root: dict[str, Any] = {"username": user, "count": big, "token_type": "Bearer"}
    root["expires_in"] = 3600
    for i, f in enumerate(fields):
        layout = draw(st.sampled_from(["top", "nested", "list", "array", "pair"]))
        if layout == "top" and f.name not in root:
            root[f.name] = f.value
        elif layout == "nested":
            root.setdefault("data", {})[f"n{i}"] = {"attributes": {f.name: f.value}}
        elif layout == "array":
            root.setdefault("items", []).append({f.name: [f.value]})
        elif layout == "pair":  # Okta's ion+json: {"name": "password", "value": ...}
            root.setdefault("fields", []).append({"name": f.name, "value": f.value})
        else:
            root.setdefault("items", []).append({f.name: f.value})
    if snippets:
        root["messages"] = snippets
    if keys:
        root["sessions"] = {k: {"seen": True} for k in keys}
    ascii_only = draw(st.booleans())
    text = json.dumps(root, ensure_ascii=ascii_only, indent=draw(st.sampled_from([None, 2])))
    for f in fields:
        if f.escaped:
            text = text.replace(f'"{f.value}"', f'"{json_escaped(f.value)}"')
    benign = (f'"username": {json.dumps(user, ensure_ascii=ascii_only)}', f'"count": {big}')
    return text, (*benign, '"token_type": "Bearer"', '"expires_in": 3600')


def render_entry(plan: Plan, e: EntryPlan) -> tuple[dict[str, Any], list[Kept]]:
    """The HAR entry of a plan, and the benign values in it that must come out unchanged."""
    draw, i = plan.draw, e.index
    kept: list[Kept] = []

    def keep(what: str, path: tuple[str | int, ...], value: Any, inside: bool = False) -> None:
        kept.append(Kept(f"{what} of entry {i}", path, value, inside))

    user, big = draw(WORDS), draw(BIG)
    url = f"https://{e.userinfo}{e.host}{e.path}" + "".join(f"/{c}/p.gif" for c in e.path_copies)
    benign_query = draw(st.lists(BENIGN_QUERY, max_size=2, unique=True))
    if query := [*benign_query, *e.query]:
        url += "?" + "&".join(query)
    if e.fragment:
        url += "#" + "&".join(e.fragment)
    keep("URL host and path", ("request", "url"), f"{e.host}{e.path}", True)
    for q in benign_query:
        keep(f"URL parameter {q!r}", ("request", "url"), q, True)
    if e.userinfo:
        keep("URL user name", ("request", "url"), "//alice:", True)

    headers = [
        {"name": "Accept", "value": "application/json, text/plain, */*"},
        {"name": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
        *e.req_headers,
    ]
    if e.cookie_pairs:
        headers.append({"name": "Cookie", "value": "; ".join(e.cookie_pairs)})
    headers = draw(st.permutations(headers))
    for j, h in enumerate(headers):
        if h["name"] not in e.token_names:
            keep(f"request header name {j}", ("request", "headers", j, "name"), h["name"])
        if h["name"] in ("Accept", "User-Agent"):
            keep(f"request header {h['name']}", ("request", "headers", j, "value"), h["value"])
    request: dict[str, Any] = {
        "method": e.method,
        "url": url,
        "httpVersion": draw(st.sampled_from(["HTTP/1.1", "h2", "http/2.0"])),
        "headers": headers,
        "queryString": [
            dict(zip(("name", "value"), q.split("=", 1), strict=True)) for q in benign_query
        ]
        + e.query_string,
        "cookies": e.req_cookies,
        "headersSize": -1,
        "bodySize": 0,
    }
    keep("request.method", ("request", "method"), e.method)
    # Odd but legal: optional fields missing, cookies as a name -> value object.
    if not e.query_string and draw(st.integers(0, 3)) == 0:
        del request["queryString"]
    names = [c["name"] for c in e.req_cookies]
    if not names and draw(st.integers(0, 3)) == 0:
        del request["cookies"]
    elif names and len(set(names)) == len(names) and draw(st.integers(0, 4)) == 0:
        request["cookies"] = {c["name"]: c["value"] for c in e.req_cookies}
    else:
        for j, name in enumerate(names):
            keep(f"request.cookies[{j}].name", ("request", "cookies", j, "name"), name)
    if e.req_fields or e.req_snippets or e.json_keys or draw(st.integers(0, 3)) == 0:
        body = render_body(e.req_kind, e.req_fields, e.req_snippets, e.json_keys, draw, user, big)
        request["postData"] = {"mimeType": body.mime, "text": body.text}
        if e.req_kind == "params":  # Chrome's params: each pair of the text, still encoded
            pairs = [p.split("=", 1) for p in body.text.split("&")]
            request["postData"]["params"] = [{"name": n, "value": v} for n, v in pairs]
        request["bodySize"] = len(body.text.encode())
        for part in body.benign:
            keep("benign part of the request body", ("request", "postData", "text"), part, True)

    response: dict[str, Any] | None = None
    if e.touches_response() or draw(st.integers(0, 9)) > 0:
        resp_headers = [{"name": "Content-Type", "value": "application/json; charset=utf-8"}]
        resp_headers = draw(st.permutations(resp_headers + e.resp_headers))
        for j, h in enumerate(resp_headers):
            keep(f"response header name {j}", ("response", "headers", j, "name"), h["name"])
            if h["name"] == "Content-Type":
                keep("response Content-Type", ("response", "headers", j, "value"), h["value"])
            for attributes in e.set_cookie_attributes if h["name"] == "Set-Cookie" else ():
                if attributes in h["value"]:
                    keep(
                        "Set-Cookie attributes",
                        ("response", "headers", j, "value"),
                        attributes,
                        True,
                    )
        redirect = f"https://{e.host}/next?{'&'.join(e.redirect)}" if e.redirect else ""
        response = {
            "status": e.status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": resp_headers,
            "cookies": e.resp_cookies,
            "content": {"size": 0, "mimeType": "application/octet-stream"},
            "redirectURL": redirect,
            "headersSize": -1,
            "bodySize": -1,
        }
        keep("response.status", ("response", "status"), e.status)
        for j, c in enumerate(e.resp_cookies):
            keep(f"response.cookies[{j}].name", ("response", "cookies", j, "name"), c["name"])
        if e.resp_fields or e.resp_snippets or draw(st.integers(0, 3)) > 0:
            body = render_body(e.resp_kind, e.resp_fields, e.resp_snippets, [], draw, user, big)
            response["content"] = {"size": len(body.text), "mimeType": body.mime, "text": body.text}
            if body.encoding:
                response["content"]["encoding"] = body.encoding
            for part in body.benign:
                keep(
                    "benign part of the response body", ("response", "content", "text"), part, True
                )
        if draw(st.booleans()):  # producers write keys in any order
            response = dict(reversed(list(response.items())))

    time = draw(TIMES)
    har_entry: dict[str, Any] = {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": time,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"blocked": -1, "send": draw(TIMES), "wait": time, "receive": 0},
        "serverIPAddress": "10.0.0.1",
        "_resourceType": draw(st.sampled_from(["xhr", "fetch", "document", "websocket"])),
        "_bigint": big,
    }
    if plan.pages:
        har_entry = {"pageref": plan.pages[0]["id"], **har_entry}
    keep("time", ("time",), time)
    keep("vendor big integer", ("_bigint",), big)
    if e.initiator_urls or e.initiator_notes:
        har_entry["_initiator"] = {
            "type": "script",
            "stack": {
                "description": " ".join(e.initiator_notes),
                "callFrames": [
                    {"functionName": "load", "url": u, "lineNumber": 3, "columnNumber": 7}
                    for u in e.initiator_urls
                ],
            },
        }
    if e.ws:
        har_entry["_webSocketMessages"] = [
            {"type": "send", "time": 1.5, "opcode": 1, "data": d} for d in e.ws
        ] + [{"type": "receive", "time": 2.0, "opcode": 1, "data": '{"pong": 1}'}]
    if e.vendor_keys:
        har_entry["_sessions"] = {k: {"active": True} for k in e.vendor_keys}
    if e.debug:
        har_entry["_debug"] = e.debug
    if e.comments:
        har_entry["comment"] = "\n".join(e.comments)
    if draw(st.integers(0, 9)) == 0:
        har_entry["_cut"] = "see 🔥 then \ud83d"
        keep("lone surrogate", ("_cut",), har_entry["_cut"])
    return har_entry, kept


@st.composite
def har_cases(draw: st.DrawFn) -> Case:
    """A HAR with 1-5 entries and 1-8 planted secrets, then copies of some of them."""
    plan = Plan(draw)
    for k in range(draw(st.integers(0, 2))):
        title = draw(WORDS) + " · " + draw(FILLER)
        plan.pages.append(
            {
                "startedDateTime": "2026-01-01T00:00:00.000Z",
                "id": f"page_{k + 1}",
                "title": title,
                "pageTimings": {"onLoad": draw(TIMES)},
            }
        )
    for i in range(draw(st.integers(1, 5))):
        plan.entries.append(
            EntryPlan(
                index=i,
                method=draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"])),
                host=draw(HOSTS),
                path="/" + "/".join(draw(SEGMENTS)),
                status=draw(st.sampled_from([200, 201, 204, 302, 401, 404, 500])),
                req_kind=draw(st.sampled_from(REQUEST_KINDS)),
                resp_kind=draw(st.sampled_from(RESPONSE_KINDS)),
            )
        )
    for _ in range(draw(st.integers(1, 8))):
        planter = draw(st.sampled_from(PLANTERS))
        e = draw(st.sampled_from(plan.entries))
        event(planter.__name__)
        planter(plan, e)
    for _ in range(draw(st.integers(0, 4))):
        plant_copy(plan, draw(st.sampled_from(plan.entries)))

    kept: list[Kept] = []
    entries = []
    for e in plan.entries:
        har_entry, entry_kept = render_entry(plan, e)
        entries.append(har_entry)
        kept += [
            Kept(k.place, ("log", "entries", e.index, *k.path), k.value, k.inside)
            for k in entry_kept
        ]
    pages = []
    for k, page in enumerate(plan.pages):
        touched = page.pop("_touched", False)
        pages.append(page)
        if not touched:
            kept.append(Kept(f"title of page {k}", ("log", "pages", k, "title"), page["title"]))
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": pages,
        "entries": entries,
    }
    if not pages and draw(st.booleans()):
        del log["pages"]
    if plan.log_comments:
        log["comment"] = "\n".join(plan.log_comments)
    # A lone surrogate, as browsers write one (a string cut inside an emoji) needs \\u escapes.
    ascii_only = draw(st.booleans()) or any("_cut" in e for e in entries)
    indent = draw(st.sampled_from([None, 2]))
    text = json.dumps({"log": log}, ensure_ascii=ascii_only, indent=indent)
    if draw(st.integers(0, 3)) == 0:  # every F of FAKE written as a JSON escape of the HAR itself
        text = text.replace("FAKE", "\\u0046AKE")
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16"])))
    benign = "\0".join(text for _, text in views({"log": log}))
    for needle in sorted({n for p in plan.planted for n in p.needles}, key=len, reverse=True):
        benign = benign.replace(needle, "\0")
    return Case(data, len(entries), plan.planted, kept, benign)


# --- What came out ------------------------------------------------------------------------------

_U_ESCAPE = regex.compile(r"\\u([0-9a-fA-F]{4})")
_BASE64 = regex.compile(r"[A-Za-z0-9+/=\s]{24,}")


def views(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, text) of every key and string at or under value, in every decoded form a reader
    could recover a secret from: percent-encoding (twice), form '+', HTML entities, \\u
    escapes, JSON inside strings and base64 bodies."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                yield from _decoded(f"{where}.{{key}}", key, depth)
                stack.append((item, f"{where}.{key}"))
        elif isinstance(node, list):
            stack += ((item, f"{where}[{i}]") for i, item in enumerate(node))
        elif isinstance(node, str):
            yield from _decoded(where, node, depth)


def _decoded(path: str, text: str, depth: int) -> Iterator[tuple[str, str]]:
    yield path, text
    if "%" in text or "+" in text:
        once = unquote(text)
        yield path, once
        yield path, unquote(once)
        yield path, unquote_plus(text)
    if "&" in text:
        yield path, html.unescape(text)
    if "\\" in text:
        yield path, _U_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    if depth >= 3:
        return
    if text.lstrip()[:1] in ("{", "["):
        try:
            inner = json.loads(text)
        except ValueError:
            pass
        else:
            yield from views(inner, f"{path}(json)", depth + 1)
    if _BASE64.fullmatch(text):
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            return
        yield from _decoded(f"{path}(base64)", data.decode("utf-8", "replace"), depth + 1)


def at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def scrubbed(data: bytes, options: Options) -> tuple[bytes, Any]:
    out = io.BytesIO()
    report = scrub_stream(io.BytesIO(data), out, ruleset=RULES, options=options)
    return out.getvalue(), report


_JWT = regex.compile(r"eyJ[\w-]*\.eyJ[\w-]*\.([\w-]*)")
PIECE, STRIDE = 12, 6  # a left-over part of a secret of 17+ characters holds a whole piece


def pieces(needle: str) -> list[str]:
    """The needle, and pieces of it that no benign text holds (one capital or symbol at least,
    which filler never has): a secret cut short, its tail left behind, is not gone."""
    starts = range(0, max(1, len(needle) - PIECE + 1), STRIDE)
    cut = {needle[i : i + PIECE] for i in starts} | {needle[-PIECE:]}
    return [needle, *sorted(p for p in cut if regex.search(r"[^a-z0-9 ]", p))]


def assert_gone(case: Case, out: bytes, doc: Any, *, keep_jwt_claims: bool = False) -> None:
    """No planted secret, nor a piece of one, is left in the bytes or in any decoded form of
    any string; a failure names where it was planted and where it survived, never the value.
    With keep_jwt_claims a JWT's signature must go (its header and claims stay on purpose)."""
    seen = list(views(doc))
    joined = "\0".join(text for _, text in seen)
    every = {needle for planted in case.planted for needle in planted.needles}
    # What harscrub adds: its stamp's keys ("keepJwtClaims") may be a random part's piece too.
    stamp = "\0".join(text for _, text in views(doc["log"].get("_harscrub")))
    for planted in case.planted:
        # A piece another secret holds too (shrinking makes random parts alike) is not this
        # one's to report; one the input holds outside the secrets is no sign of anything.
        others = "\0".join([*(every - set(planted.needles)), case.benign, stamp])
        for needle in planted.needles:
            if keep_jwt_claims and (jwt := _JWT.fullmatch(needle)):
                needle = jwt[1]
            for piece in pieces(needle) if needle else ():
                if piece != needle and piece in others:
                    continue
                what = "it" if piece == needle else f"a {len(piece)}-character piece of it"
                if piece in joined:
                    where = sorted({path for path, text in seen if piece in text})
                    raise AssertionError(
                        f"planted in {planted.place}: {what} survived at {', '.join(where)}"
                    )
                in_bytes = piece.encode() in out
                assert not in_bytes, f"planted in {planted.place}: {what} survived in the bytes"


def assert_kept(case: Case, doc: Any) -> None:
    for kept in case.kept:
        try:
            got = at(doc, kept.path)
        except (KeyError, IndexError, TypeError):
            raise AssertionError(f"{kept.place}: gone from the output") from None
        same = (
            kept.value in got
            if kept.inside
            else (got == kept.value and type(got) is type(kept.value))
        )
        assert same, f"{kept.place}: changed"


# --- Properties -----------------------------------------------------------------------------------


@PROPERTY
@given(case=har_cases(), style=STYLES)
def test_no_planted_secret_survives_and_everything_else_is_kept(
    case: Case, style: dict[str, Any]
) -> None:
    """In every placeholder style: the output parses, holds every entry, no planted secret in
    any form, and the benign values planted beside them as they were."""
    out, report = scrubbed(case.data, Options(key=KEY, **style))
    doc = json.loads(out)
    try:
        orjson.loads(out)  # the reader a tool in a hurry would use
    except orjson.JSONDecodeError as error:  # it refuses a lone surrogate, which input may hold
        assert "surrogate" in str(error), "orjson cannot read the output"  # noqa: PT017
    assert report.entries == len(doc["log"]["entries"]) == case.entries
    assert_gone(case, out, doc, keep_jwt_claims=style["keep_jwt_claims"])
    assert_kept(case, doc)


@PROPERTY
@given(case=har_cases(), style=STYLES)
def test_a_second_run_changes_nothing_and_finds_nothing(case: Case, style: dict[str, Any]) -> None:
    """Scrubbing harscrub's own output finds nothing (so --check passes it) and writes the same
    bytes; the key is fixed, so that equal secrets' tags are equal in both runs."""
    options = Options(key=KEY, **style)
    first, _ = scrubbed(case.data, options)
    second, report = scrubbed(first, options)
    found = sorted({f"{r.path} ({r.rule})" for r in report.redactions})
    assert not found, f"the second run found {', '.join(found)}"
    if first != second:
        before, after = dict(views(json.loads(first))), dict(views(json.loads(second)))
        changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        raise AssertionError(f"the second run changed {', '.join(changed) or 'the layout'}")


@CLI
@given(case=har_cases())
def test_the_command_line_keeps_the_same_promises(case: Case) -> None:
    """Through stdin and stdout, with a fresh random key each run: the second run and --check
    of the output still see nothing, and nothing secret reaches stderr."""
    runner = CliRunner()
    first = runner.invoke(cli.main, ["-", "--no-config"], input=case.data)
    assert first.exit_code == 0, f"exit code {first.exit_code}"
    out = first.stdout_bytes
    doc = json.loads(out)
    assert len(doc["log"]["entries"]) == case.entries
    assert_gone(case, out, doc)
    for planted in case.planted:
        leaked = any(needle.encode() in first.stderr_bytes for needle in planted.needles)
        assert not leaked, f"planted in {planted.place}: shown on stderr"
    second = runner.invoke(cli.main, ["-", "--no-config"], input=out)
    same = second.exit_code == 0 and second.stdout_bytes == out
    assert same, "a second run of the command line changed the output"
    check = runner.invoke(cli.main, ["--check", "-", "--no-config"], input=out)
    assert check.exit_code == 0, f"--check of harscrub's own output exited {check.exit_code}"


# --- The generator itself: it must plant what it claims to -------------------------------------


def test_every_shape_rule_has_examples_to_plant() -> None:
    assert {s.rule for s in SHAPES} == set(SHAPE_RULES)
    assert all(s.spans for s in SHAPES), "a rule finds nothing in its own example"


def test_most_planted_token_examples_are_randomised() -> None:
    """A canary planted as it is in the rules is no longer unique; most must change."""
    fixed = [
        f"{s.rule}[{s.index}]" for s in SHAPES if s.randomised(SHAPE_RULES[s.rule], 1)[0] == s.text
    ]
    assert len(fixed) <= len(SHAPES) // 10, f"planted unchanged: {', '.join(fixed)}"


def test_every_place_has_names_to_plant_under() -> None:
    for place, names in NAMES.items():
        assert names, f"no rule promises a name at {place}"


@GENERATOR
@given(case=har_cases())
def test_every_planted_secret_is_in_the_input(case: Case) -> None:
    """Without this, a secret planted nowhere would pass every property above."""
    utf16 = case.data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    doc = json.loads(case.data.decode("utf-16" if utf16 else "utf-8-sig"))
    joined = "\0".join(text for _, text in views(doc))
    for planted in case.planted:
        missing = planted.needles[0] not in joined
        assert not missing, f"nothing planted in {planted.place}"


# --- Misses the properties found, each as the smallest case that showed it -------------------
# Each guards against its return. A new miss goes here as a strict xfail, and the properties
# keep its shape out until it is fixed.

SESSION = "FAKEsess1on0123456789"  # 16+ letters and digits: a cookie whose copies are followed


def scrubbed_entry(e: dict[str, Any], **options: Any) -> dict[str, Any]:
    out, _ = scrubbed(har_bytes(e), Options(key=KEY, **options))
    return json.loads(out)["log"]["entries"][0]


def test_a_bearer_token_in_a_form_encoded_params_value_is_removed() -> None:
    """Chrome writes postData.params values still form-encoded, with '+' for a blank."""
    value = f"Authorization%3A+Bearer+{SESSION}"
    e = entry()
    e["request"]["postData"] = {
        "mimeType": "application/x-www-form-urlencoded",
        "text": f"note={value}",
        "params": [{"name": "note", "value": value}],
    }
    post = scrubbed_entry(e)["request"]["postData"]
    kept = [SESSION in post["text"], SESSION in post["params"][0]["value"]]
    assert kept == [False, False], "postData.text, postData.params[0].value: which kept it"


def test_copies_of_a_quoted_cookie_value_are_removed() -> None:
    """RFC 6265 allows sid="..."; the value's copies elsewhere come without the quotes."""
    e = entry(
        request_headers=[
            header("Cookie", f'sid="{SESSION}"'),
            header("X-Debug-Info", f"session {SESSION} restored"),
        ]
    )
    kept = [SESSION in h["value"] for h in scrubbed_entry(e)["request"]["headers"]]
    assert kept == [False, False], "Cookie, X-Debug-Info: which kept it"


@pytest.mark.parametrize("value", ['"{}"', "<{}>", "[{}]", "#{}"])
def test_a_copy_in_a_one_word_json_value_is_removed(value: str) -> None:
    """A JSON body's value without blanks is not the copy itself when punctuation is in it."""
    e = entry(request_cookies=[{"name": "JSESSIONID", "value": SESSION}])
    text = json.dumps({"message": value.format(SESSION)})
    e["response"]["content"] = {"size": len(text), "mimeType": "application/json", "text": text}
    kept = SESSION in scrubbed_entry(e)["response"]["content"]["text"]
    assert not kept, "the JSON body kept the cookie's copy"


@pytest.mark.parametrize(
    "text", ["expired session: {}.", "session {}, please sign in", "track('{}');", "(ref {})"]
)
def test_a_copy_next_to_punctuation_is_removed(text: str) -> None:
    """An error message ends a sentence after the session id; a script quotes it."""
    e = entry(
        request_headers=[header("X-Debug-Info", text.format(SESSION))],
        request_cookies=[{"name": "JSESSIONID", "value": SESSION}],
    )
    kept = SESSION in scrubbed_entry(e)["request"]["headers"][0]["value"]
    assert not kept, "request header X-Debug-Info kept the cookie's copy"


AZURE_KEY = "FAKE+mynb/IQPM+zjpl/SGQE+jeyd/TZIR+wzte/JDX="  # 43 + '=', as the rule wants
AZURE = (
    "Endpoint=sb://fake.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
    f"SharedAccessKey={AZURE_KEY}"
)


@pytest.mark.parametrize("placeholder", ["tag", "drop"])
def test_an_azure_key_in_a_connection_string_is_removed_whole(placeholder: str) -> None:
    """The sb:// URL's ;SharedAccessKey= parameter ends at the key's first '/'; the shape
    rule's match over the whole key must win over that shorter one."""
    e = entry(request_headers=[header("X-Debug-Info", f"connect {AZURE} now")])
    value = scrubbed_entry(e, placeholder=placeholder)["request"]["headers"][0]["value"]
    tail = AZURE_KEY.partition("/")[2]
    kept = tail in value
    assert not kept, "all of the key after its first '/' stayed"


def test_a_padded_bearer_token_before_a_full_stop_is_removed() -> None:
    """A full stop after base64 padding ends a sentence; it is no part of the token."""
    text = f"Send Authorization: Bearer {SESSION}+/x=. Then retry."
    e = entry()
    e["response"]["content"] = {"size": len(text), "mimeType": "text/plain", "text": text}
    kept = SESSION in scrubbed_entry(e)["response"]["content"]["text"]
    assert not kept, "the text body kept the token"


def test_a_quoted_cookie_dropped_once_stays_as_it_is() -> None:
    """--placeholder drop leaves sid=""; a second run must leave it too (and --check pass)."""
    e = entry(request_headers=[header("Cookie", f'sid="{SESSION}"; theme=dark')])
    first, _ = scrubbed(har_bytes(e), Options(key=KEY, placeholder="drop"))
    second, report = scrubbed(first, Options(key=KEY, placeholder="drop"))
    found = [f"{r.path} ({r.rule})" for r in report.redactions]
    assert (first == second, found) == (True, [])


GITHUB_APP = "ghs_1234567_eyJGQUtFIjoiRkFLRSJ9.eyJGQUtFIjoiRkFLRSJ9.FAKE_signature-ABCD"


def test_a_github_app_token_before_a_full_stop_is_removed_whole() -> None:
    text = f"installation token {GITHUB_APP}. Then retry."
    e = entry()
    e["response"]["content"] = {"size": len(text), "mimeType": "text/plain", "text": text}
    kept = GITHUB_APP.partition(".")[0] in scrubbed_entry(e)["response"]["content"]["text"]
    assert not kept, "the token's app id and JWT header stayed"


@pytest.mark.parametrize("where", ["params", "queryString"])
def test_a_value_under_a_percent_encoded_secret_name_is_removed(where: str) -> None:
    e = entry("https://app.test/login")
    item = {"name": "user%5Bpassword%5D", "value": SESSION}
    if where == "params":
        e["request"]["postData"] = {
            "mimeType": "application/x-www-form-urlencoded",
            "text": "username=alice",
            "params": [item],
        }
        got = scrubbed_entry(e)["request"]["postData"]["params"][0]["value"]
    else:
        e["request"]["queryString"] = [item]
        got = scrubbed_entry(e)["request"]["queryString"][0]["value"]
    kept = got == SESSION
    assert not kept, f"{where}[0].value kept the password"
