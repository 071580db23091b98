"""URLs: userinfo, path, query and fragment, each scanned in decoded form.

A URL is never rebuilt: spans are cut out of the text as it was written, so a query keeps its
order, its '+' or '%20' and its other parameters byte for byte. A parameter value that is itself
a URL (``redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fcode%3D...``) is decoded and scanned again, and
its redaction encoded back in, however deep.
"""

from __future__ import annotations

from functools import partial

import regex

from harscrub.escapes import PATH, QUERY, Escapes
from harscrub.spans import Scan, Span, merged, shifted, tokens_in_name

SCHEME = r"[A-Za-z][A-Za-z0-9+.-]{0,31}"  # "https", "postgres+srv"; short, for linear scans
URL = regex.compile(rf"{SCHEME}://[^\s]*")
# A reference without scheme and host, as in HTTP/2's :path pseudo-header or a Location
# header: /cb?code=... It is a URL only when it has something besides a path to look at.
_RELATIVE = regex.compile(r"/[^\s?#;]*[?#;][^\s]*")
_PARTS = regex.compile(
    r"(?s)(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://(?P<authority>[^/?#]*))?(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?"
)
# Matrix parameters in a path, the way Java servers put the session there: /app;jsessionid=...
_PATH_PARAM = regex.compile(r";(?P<name>[^;/=?#]{1,128})=(?P<value>[^;/?#]*)")


_ENCODED = regex.compile(rf"{SCHEME}(?i:%3A%2F%2F)")
_BLANK = regex.compile(r"\s")


def is_encoded_url(text: str) -> bool:
    """``https%3A%2F%2F...`` or ``%2Fcb%3Fcode...``: a URL still percent-encoded (a value
    encoded twice)."""
    if _BLANK.search(text):
        return False
    if text[:3].upper() == "%2F":
        return "%3F" in text.upper()
    return _ENCODED.match(text) is not None


def is_url(text: str) -> bool:
    return URL.fullmatch(text) is not None or _RELATIVE.fullmatch(text) is not None


def scrub_url(url: str, scan: Scan) -> list[Span] | None:
    """Spans of secrets in one URL (absolute, or a path with a query); None for a URL to an
    allowed host, which is left as it is, copies of secrets included."""
    m = _PARTS.match(url)
    if m is None:
        return scan.shapes(url, "url")
    found: list[Span] = []
    if (authority := m.group("authority")) is not None:
        userinfo, at, hostport = authority.rpartition("@")
        if scan.host_allowed(_host(hostport)):
            return None
        if at:
            found += _userinfo(userinfo, m.start("authority"), scan)
    found += _path(m.group("path"), m.start("path"), scan)
    if (query := m.group("query")) is not None:
        found += params(query, m.start("query"), scan, "query", QUERY)
    if (fragment := m.group("fragment")) is not None:
        found += _fragment(fragment, m.start("fragment"), scan)
    # Shapes in the raw URL too: a webhook URL is a secret as a whole.
    return merged(found, scan.shapes(url, "url"))


def params(text: str, offset: int, scan: Scan, place: str, codec: Escapes = QUERY) -> list[Span]:
    """Spans in ``a=1&b=2`` (a query, a fragment, a form body); each value under its name."""
    found: list[Span] = []
    pos = 0
    for pair in text.split("&"):
        name, eq, value = pair.partition("=")
        if eq:
            found += shifted(codec.spans(name, partial(tokens_in_name, scan=scan)), offset + pos)
            under_name = partial(scan.under_name, place=place, name=codec.decode(name))
            found += shifted(codec.spans(value, under_name), offset + pos + len(name) + 1)
        elif pair:
            found += shifted(codec.spans(pair, partial(scan.in_text, place=place)), offset + pos)
        pos += len(pair) + 1
    return found


def _host(hostport: str) -> str:
    if hostport.startswith("["):  # IPv6 literal
        return hostport[1 : hostport.find("]")]
    return hostport.rpartition(":")[0] if ":" in hostport else hostport


def _userinfo(userinfo: str, offset: int, scan: Scan) -> list[Span]:
    user, colon, password = userinfo.partition(":")
    found = shifted(
        PATH.spans(user, partial(scan.under_name, place="url", name="username")), offset
    )
    if colon:
        secret = partial(scan.under_name, place="url", name="password")
        found += shifted(PATH.spans(password, secret), offset + len(user) + 1)
    return found


def _path(path: str, offset: int, scan: Scan) -> list[Span]:
    found = []
    for m in _PATH_PARAM.finditer(path):
        under_name = partial(scan.under_name, place="query", name=QUERY.decode(m.group("name")))
        found += shifted(PATH.spans(m.group("value"), under_name), offset + m.start("value"))
    return merged(found, shifted(PATH.spans(path, partial(scan.shapes, place="url")), offset))


def _fragment(fragment: str, offset: int, scan: Scan) -> list[Span]:
    # OAuth's implicit flow puts tokens in the fragment: #access_token=...&id_token=...; single
    # page apps route with #/callback?code=...
    if "=" not in fragment:
        return shifted(QUERY.spans(fragment, partial(scan.in_text, place="url")), offset)
    # A '?' after the first '=' is inside a value (#access_token=x&state=/dash?tab=1).
    question = fragment.find("?", 0, fragment.index("="))
    route, query = fragment[: question + 1], fragment[question + 1 :]
    found = shifted(QUERY.spans(route, partial(scan.shapes, place="url")), offset)
    return found + params(query, offset + len(route), scan, "query", QUERY)
