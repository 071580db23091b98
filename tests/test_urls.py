"""URLs: userinfo, query, fragment, path parameters and nested URLs, cut out byte for byte."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
import regex

from harscrub.engine import Finding, Scrubber
from harscrub.options import Options
from harscrub.rules import Ruleset

from .factories import CANARY, entry
from .marks import MARK, b64url, hide, matches

KEY = b"k" * 32


JWT = ".".join(
    (
        b64url(b'{"alg":"RS256","kid":"FAKE"}'),
        b64url(b'{"sub":"FAKE-user","aud":"app","exp":1767225600}'),
        "FAKEsig" + "Q" * 36,
    )
)
# A Telegram bot token: bot id, ':AA', 33 more characters.
TELEGRAM = "123456789:AAFAKEtelegram0123456789abcdefghijk"
AKID = "AKIAFAKEFAKEFAKEFAKE"


def fill(template: str, *secrets: str) -> str:
    """The URL a template stands for: the n-th mark replaced by the n-th secret."""
    given = iter(secrets or (CANARY,))
    last = [CANARY]

    def secret(_: regex.Match[str]) -> str:
        last[0] = next(given, last[0])
        return last[0]

    return MARK.sub(secret, template)


def leaked(text: str, *secrets: str) -> bool:
    forms = {s for secret in secrets for s in (secret, quote(secret, safe=""))}
    return any(s in text for s in forms)


@pytest.fixture
def scrub(ruleset: Ruleset) -> Any:
    def run(url: str, options: Options | None = None) -> tuple[str, list[Finding]]:
        e = entry(url)
        findings = Scrubber(ruleset, options or Options(key=KEY)).scrub_entry(e, 0)
        return e["request"]["url"], findings

    return run


SECRET_URLS = [
    # userinfo: the password goes, the user name stays
    ("https://alice:<<%url-password>>@db.app.test/admin", CANARY),
    ("https://alice:<<%url-password>>@db.app.test:8443/x?page=2", f"p%40{CANARY}"),
    ("https://alice:<<%url-password>>@[2001:db8::1]:8080/x", CANARY),
    # query parameters by name
    ("https://app.test/cb?access_token=<<oauth-token>>&page=2", CANARY),
    ("https://app.test/cb?code=<<oauth-code>>&state=af0ifjsldkj", CANARY),
    ("https://app.test/?debug&token=<<token>>&flag", CANARY),
    ("https://app.test/?access%5Ftoken=<<oauth-token>>&page=1", CANARY),
    ("https://app.test/?sig=<<signature>>&sig=", CANARY),
    (
        "https://acct.blob.core.windows.net/c/b.txt?sv=2021-08-06&se=2026-01-01T00%3A00%3A00Z"
        "&sr=b&sp=r&sig=<<signature>>",
        f"{CANARY}%2Bx%3D",
    ),
    (
        "https://bucket.s3.amazonaws.com/k.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=<<signature>>&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600"
        "&X-Amz-SignedHeaders=host&X-Amz-Security-Token=<<token>>&X-Amz-Signature=<<signature>>",
        f"{AKID}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
        f"{CANARY}sts",
        CANARY,
    ),
    # fragments: OAuth's implicit flow, single page apps
    ("https://app.test/cb#access_token=<<oauth-token>>&token_type=Bearer&expires_in=3600", CANARY),
    ("https://app.test/cb#id_token=<<oauth-token>>&state=xyz", JWT),
    ("https://app.test/#/cb?code=<<oauth-code>>&state=af0ifjsldkj", CANARY),
    ("https://app.test/cb?code=<<oauth-code>>#section-2", CANARY),
    # URLs inside query values, encoded once or twice, or not at all
    (
        "https://idp.test/authorize?client_id=s6BhdRkqt3&redirect_uri=https%3A%2F%2Fapp.test"
        "%2Fcb%3Fcode%3D<<oauth-code>>%26state%3Dxyz&scope=openid+email",
        CANARY,
    ),
    (
        "https://idp.test/a?redirect_uri=https%3A%2F%2Fapp.test%2Fcb%23access_token%3D"
        "<<oauth-token>>%26token_type%3DBearer",
        CANARY,
    ),
    (
        "https://idp.test/login?next=https%3A%2F%2Fidp.test%2Fauthorize%3Fredirect_uri%3D"
        "https%253A%252F%252Fapp.test%252Fcb%253Fcode%253D<<oauth-code>>%2526state%253Dxyz"
        "%26scope%3Dopenid",
        CANARY,
    ),
    ("https://app.test/cb?next=%2Fhome%3Ftoken%3D<<token>>", CANARY),
    ("https://app.test/cb?u=https://evil.test/cb?code=<<oauth-code>>", CANARY),
    # '+' and '%20' kept as written, around a secret and inside one
    ("https://app.test/search?q=red+shoes&label=a%20b&token=<<token>>&x=1+2", CANARY),
    ("https://app.test/?token=<<token>>&q=caf%C3%A9+au+lait", f"{CANARY}+more%2Fx"),
    # the path: Java's matrix parameter, token shapes
    ("https://shop.test/cart;jsessionid=<<%session-id>>?page=2", CANARY),
    ("https://shop.test/a;jsessionid=<<%session-id>>/b?x=1", CANARY),
    ("https://api.telegram.org/bot<<%telegram-bot>>/sendMessage?chat_id=42", TELEGRAM),
    ("https://app.test/verify/<<%jwt>>/done", JWT),
    # references without scheme or host (HTTP/2 :path, Location)
    ("/api/v1/items?token=<<token>>&page=2", CANARY),
    ("/cb#access_token=<<oauth-token>>", CANARY),
    ("//cdn.test/x?token=<<token>>", CANARY),
    ("HTTPS://APP.TEST/cb?code=<<oauth-code>>", CANARY),
]


def _ids(cases: list[tuple[str, ...]]) -> list[str]:
    return [f"{i}-{urlsplit(c[0]).path[:20]}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", SECRET_URLS, ids=_ids(SECRET_URLS))
def test_secret_goes_and_the_rest_of_the_url_stays(scrub: Any, case: tuple[str, ...]) -> None:
    template, *secrets = case
    url = fill(template, *secrets)
    out, findings = scrub(url)
    assert matches(template, out), "url differs from its template"
    assert not leaked(out, *secrets), "secret left in url"
    assert findings, "no finding"
    assert {f.path for f in findings} == {"request.url"}
    assert not leaked(repr(findings), *secrets)


@pytest.mark.parametrize("case", SECRET_URLS, ids=_ids(SECRET_URLS))
def test_output_url_still_parses_to_the_same_place(scrub: Any, case: tuple[str, ...]) -> None:
    template, *secrets = case
    url = fill(template, *secrets)
    before, after = urlsplit(url), urlsplit(scrub(url)[0])
    assert (after.scheme, after.hostname, after.port) == (
        before.scheme,
        before.hostname,
        before.port,
    )
    assert after.username == before.username
    if "<<" not in urlsplit(template).path:
        assert after.path == before.path
    names = [name for name, _ in parse_qsl(before.query, keep_blank_values=True)]
    assert [name for name, _ in parse_qsl(after.query, keep_blank_values=True)] == names


BENIGN_URLS = [
    "https://shop.test/list?page=2&sort=-price&q=red+shoes&utm_source=newsletter"
    "&utm_campaign=spring%202026&state=af0ifjsldkj&client_id=s6BhdRkqt3"
    "&X-Amz-Date=20260101T000000Z&_=1767225600000",
    "https://cdn.app.test/assets/main.3f9a1c2b7d1e4c2b.js?v=20260101",
    "https://app.test/api/orders/123e4567-e89b-12d3-a456-426614174000/items?page=3&per_page=50",
    "https://s3.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z"
    "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host",
    "https://app.test/search?q=%E2%82%AC+100&sort=price%20asc&code_challenge_method=S256",
    "https://app.test/caf%C3%A9/r%C3%A9sum%C3%A9?n=%E2%82%AC",
    "https://app.test/p?password=&code=",
    "https://alice@db.app.test/x",
    "https://app.test/#/settings/profile",
    "https://app.test/cb#token_type=Bearer&expires_in=3600",
    "/static/app.css?v=3",
]


@pytest.mark.parametrize("url", BENIGN_URLS)
def test_benign_url_kept_byte_for_byte(scrub: Any, url: str) -> None:
    assert scrub(url) == (url, [])


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.example.test/cb?code={CANARY}&state=xyz",
        f"https://example.test/cb#access_token={CANARY}",
        f"https://u:{CANARY}@sso.example.test/login",
        f"https://EXAMPLE.TEST/cb?code={CANARY}",
    ],
    ids=hide,
)
def test_allowed_host_is_left_alone(scrub: Any, url: str) -> None:
    options = Options(key=KEY, allow_hosts=frozenset({".example.test"}))
    assert scrub(url, options) == (url, [])


@pytest.mark.parametrize(
    "template",
    [
        "https://example.test.evil.test/cb?code=<<oauth-code>>",
        "https://notexample.test/cb?code=<<oauth-code>>",
        "https://app.test/cb?next=https%3A%2F%2Fexample.test%2F&code=<<oauth-code>>",
    ],
)
def test_other_hosts_are_scrubbed_despite_the_allowlist(scrub: Any, template: str) -> None:
    options = Options(key=KEY, allow_hosts=frozenset({".example.test"}))
    out, _ = scrub(fill(template), options)
    assert matches(template, out), "url differs from its template"


def _query_value(url: str, name: str) -> str:
    (value,) = parse_qs(urlsplit(url).query)[name]
    return value


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_nested_redirect_decodes_to_a_url_with_a_placeholder(scrub: Any, depth: int) -> None:
    url = f"https://app.test/cb?code={CANARY}&state=xyz"
    for level in range(depth):
        url = f"https://idp{level}.test/authorize?client_id=s6&next={quote(url, safe='')}&x=1"
    out, _ = scrub(url)
    for _ in range(depth):
        out = _query_value(out, "next")
    assert urlsplit(out).hostname == "app.test"
    assert matches("<<oauth-code>>", _query_value(out, "code")), "innermost code"
    assert _query_value(out, "state") == "xyz"


@pytest.mark.parametrize(
    "template",
    [
        "https://app.test/r?url=https%253A%252F%252Fx.test%252Fcb%253Fcode%253D<<oauth-code>>",
        "https://app.test/r?url=%252Fcb%253Ftoken%253D<<token>>",
    ],
)
def test_value_percent_encoded_twice(scrub: Any, template: str) -> None:
    out, _ = scrub(fill(template))
    assert matches(template, out), "url differs from its template"


@pytest.mark.parametrize(
    "query_value",
    [
        "https%3A%2F%2Fapp.test%2Fcb%3Fcode%3D<<oauth-code>>%26state%3Dxyz",  # Chrome: as sent
        "https://app.test/cb?code=<<oauth-code>>&state=xyz",  # Firefox: decoded
    ],
)
def test_nested_url_in_query_string_keeps_in_step(ruleset: Ruleset, query_value: str) -> None:
    template = (
        "https://idp.test/authorize?client_id=s6"
        "&redirect_uri=https%3A%2F%2Fapp.test%2Fcb%3Fcode%3D<<oauth-code>>%26state%3Dxyz"
    )
    e = entry(fill(template))
    e["request"]["queryString"] = [
        {"name": "client_id", "value": "s6"},
        {"name": "redirect_uri", "value": fill(query_value)},
    ]
    Scrubber(ruleset, Options(key=KEY)).scrub_entry(e, 0)
    url, query = e["request"]["url"], e["request"]["queryString"]
    assert matches(template, url), "url"
    assert matches(query_value, query[1]["value"]), "queryString"
    tag = regex.compile(r"REDACTED:oauth-code:([0-9a-f]{6})")
    assert tag.findall(url) == tag.findall(query[1]["value"])
    assert query[0] == {"name": "client_id", "value": "s6"}


def test_findings_name_the_kind_of_place(scrub: Any) -> None:
    url = f"https://alice:{CANARY}@app.test/cb;jsessionid={CANARY}x?code={CANARY}y#id_token={JWT}"
    out, findings = scrub(url)
    assert sorted((f.rule_id, f.place) for f in findings) == [
        ("oauth-code", "query"),
        ("oauth-token", "query"),
        ("session-id", "query"),
        ("url-password", "url"),
    ]
    assert not leaked(out + json.dumps([repr(f) for f in findings]), CANARY, JWT)
