"""Every place DESIGN.md lists where a secret hides in a HAR is visited, and its container kept."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
import regex

from harscrub.engine import Scrubber
from harscrub.options import Options
from harscrub.rules import Ruleset

from .factories import CANARY, entry, header
from .marks import MARK, b64url, hide, matches

KEY = b"k" * 32
CANARY2 = f"{CANARY}two"


# Realistic shapes built from fake material at test time.
JWT = ".".join(
    (
        b64url(b'{"alg":"HS256","typ":"JWT"}'),
        b64url(b'{"sub":"FAKE-user","iss":"https://idp.test","exp":1767225600}'),
        "FAKEsig" + "Q" * 36,
    )
)
GHP = "ghp_FAKE" + "0123456789abcdefghijABCDEFGHIJ12"  # ghp_ + 36 letters and digits

OAUTH_REPLY = '{"access_token":"<<oauth-token>>","token_type":"Bearer","expires_in":3600}'


def fill(template: str, secret: str = CANARY) -> str:
    """The input a template stands for: each placeholder mark replaced by secret."""
    return MARK.sub(lambda _: secret, template)


def tags(text: str) -> list[str]:
    return regex.findall(r"\[REDACTED:[a-z0-9-]+:([0-9a-f]{6})\]", text)


def leaked(value: Any, *secrets: str) -> bool:
    """Whether any secret appears anywhere in value (serialized)."""
    text = json.dumps(value)
    return any(s in text for s in secrets)


def filled(value: Any, secret: str = CANARY) -> Any:
    """A JSON value with its placeholder marks filled in, like fill."""
    return json.loads(fill(json.dumps(value), secret))


def same(template: Any, got: Any) -> bool:
    """Whether got is the JSON value template with a placeholder at each mark."""
    return matches(json.dumps(template), json.dumps(got))


@pytest.fixture
def scrubber(ruleset: Ruleset) -> Scrubber:
    return Scrubber(ruleset, Options(key=KEY))


HEADERS = [
    ("X-Api-Key", "<<api-key>>", CANARY),
    ("X-CSRF-Token", "<<csrf-token>>", CANARY),
    ("X-Amz-Security-Token", "<<token>>", CANARY),
    ("Authorization", "Bearer <<authorization>>", JWT),
    # Token shapes under names that say nothing.
    ("X-Client-Data", "<<github-pat>>", GHP),
    ("X-Debug-Info", "user=alice jwt=<<jwt>>", JWT),
    # Benign headers are kept byte for byte.
    ("content-type", "application/json; charset=utf-8", ""),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0", ""),
    ("etag", 'W/"5f2a9c1b3d4e5f60718293a4b5c6d7e8"', ""),
    ("x-request-id", "3f9a1c2b-7d1e-4c2b-9a00-123456789abc", ""),
    ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ""),
    ("cache-control", "no-cache, no-store, max-age=0, must-revalidate", ""),
    ("origin", "https://app.test", ""),
    ("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", ""),
]


@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize(("name", "expected", "secret"), HEADERS, ids=hide)
def test_header_value(scrubber: Scrubber, side: str, name: str, expected: str, secret: str) -> None:
    e = entry(**{f"{side}_headers": [header(name, fill(expected, secret))]})
    findings = scrubber.scrub_entry(e, 0)
    (got,) = e[side]["headers"]
    assert got["name"] == name
    assert matches(expected, got["value"]), f"{side} header {name}"
    assert bool(findings) == (expected != fill(expected, secret))
    assert not leaked(got, secret or CANARY), f"{side} header {name}"


@pytest.mark.parametrize(
    ("side", "name", "expected"),
    [
        ("request", "Cookie", "sid=<<*>>; theme=<<*>>"),
        (
            "response",
            "Set-Cookie",
            "sid=<<*>>; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure",
        ),
    ],
)
def test_cookie_header_and_cookies_array_agree(
    scrubber: Scrubber, side: str, name: str, expected: str
) -> None:
    cookies = [{"name": "sid", "value": CANARY, "path": "/", "httpOnly": True}]
    e = entry(**{f"{side}_headers": [header(name, fill(expected))], f"{side}_cookies": cookies})
    scrubber.scrub_entry(e, 0)
    got_header = e[side]["headers"][0]["value"]
    assert matches(expected, got_header), name
    (got,) = e[side]["cookies"]
    assert {**got, "value": "x"} == {**cookies[0], "value": "x"}  # names and attributes kept
    assert matches("<<*>>", got["value"]), f"{side}.cookies[0]"
    # The same secret carries the same tag in the header and in the array.
    assert tags(got["value"])[0] == tags(got_header)[0]
    assert not leaked(e, CANARY), side


@pytest.mark.parametrize(
    ("url_value", "query_value"),
    [
        (CANARY, CANARY),
        (f"{CANARY}%2Fx%3D", f"{CANARY}%2Fx%3D"),  # Chrome: queryString as sent
        (f"{CANARY}%2Fx%3D", f"{CANARY}/x="),  # Firefox: queryString decoded
    ],
    ids=["plain", "chrome", "firefox"],
)
def test_url_and_query_string_keep_in_step(
    scrubber: Scrubber, url_value: str, query_value: str
) -> None:
    e = entry(f"https://app.test/cb?code={url_value}&state=af0ifjsldkj&page=2")
    e["request"]["queryString"] = [
        {"name": "code", "value": query_value},
        {"name": "state", "value": "af0ifjsldkj"},
        {"name": "page", "value": "2"},
    ]
    scrubber.scrub_entry(e, 0)
    url = e["request"]["url"]
    query = e["request"]["queryString"]
    assert matches("https://app.test/cb?code=<<oauth-code>>&state=af0ifjsldkj&page=2", url)
    assert matches("<<oauth-code>>", query[0]["value"])
    assert tags(url) == tags(query[0]["value"])
    assert query[1:] == [{"name": "state", "value": "af0ifjsldkj"}, {"name": "page", "value": "2"}]
    assert not leaked(e, CANARY)


@pytest.mark.parametrize(
    "expected",
    [
        "https://app.test/cb?code=<<oauth-code>>&state=xyz",
        "/cb?code=<<oauth-code>>&state=xyz",
        "https://app.test/cb#access_token=<<oauth-token>>&token_type=Bearer",
    ],
)
def test_redirect_url_and_location_redacted_alike(scrubber: Scrubber, expected: str) -> None:
    e = entry(response_headers=[header("Location", fill(expected))])
    e["response"].update(status=302, statusText="Found", redirectURL=fill(expected))
    scrubber.scrub_entry(e, 0)
    got_header = e["response"]["headers"][0]["value"]
    assert matches(expected, got_header), "Location"
    assert e["response"]["redirectURL"] == got_header  # same tag too
    assert not leaked(e, CANARY)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Referer", "https://app.test/cb?access_token=<<oauth-token>>&page=2"),
        ("Referer", "https://app.test/list?page=2&sort=name"),
        # HTTP/2 pseudo-headers as Chrome records them.
        (":path", "/cb?code=<<oauth-code>>&state=xyz"),
        (":path", "/assets/app.3f9a1c2b.js?v=2"),
        (":authority", "app.test"),
    ],
)
def test_url_valued_request_headers(scrubber: Scrubber, name: str, expected: str) -> None:
    e = entry(request_headers=[header(name, fill(expected))])
    scrubber.scrub_entry(e, 0)
    assert matches(expected, e["request"]["headers"][0]["value"]), name
    assert not leaked(e, CANARY)


def test_post_data_params_and_text_keep_in_step(scrubber: Scrubber) -> None:
    e = entry("https://app.test/login")
    e["request"]["method"] = "POST"
    text = f"username=alice&password={CANARY}&remember=on"
    params = [dict(zip(("name", "value"), p.split("="), strict=True)) for p in text.split("&")]
    e["request"]["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": text}
    e["request"]["postData"]["params"] = params
    scrubber.scrub_entry(e, 0)
    post = e["request"]["postData"]
    assert matches("username=alice&password=<<password>>&remember=on", post["text"])
    assert matches("<<password>>", post["params"][1]["value"])
    assert tags(post["text"]) == tags(post["params"][1]["value"])
    assert post["params"][0] == {"name": "username", "value": "alice"}
    assert post["params"][2] == {"name": "remember", "value": "on"}
    assert not leaked(e, CANARY)


@pytest.mark.parametrize(
    ("mime", "expected"),
    [
        ("application/json", OAUTH_REPLY),
        (
            "text/html; charset=utf-8",
            '<form><input type="hidden" name="authenticity_token" value="<<csrf-token>>"></form>',
        ),
        ("application/javascript", 'window.cfg = {apiKey: "<<api-key>>", region: "eu-west-1"};'),
    ],
)
def test_response_content_by_mime(scrubber: Scrubber, mime: str, expected: str) -> None:
    e = entry()
    e["response"]["content"] = {"size": 9, "mimeType": mime, "text": fill(expected)}
    scrubber.scrub_entry(e, 0)
    assert matches(expected, e["response"]["content"]["text"]), mime
    assert e["response"]["content"]["mimeType"] == mime


def _base64_content(text: str) -> dict[str, Any]:
    return {"size": len(text), "mimeType": "application/json", "encoding": "base64", "text": text}


def test_base64_json_body_is_decoded_scrubbed_and_reencoded(scrubber: Scrubber) -> None:
    e = entry()
    e["response"]["content"] = _base64_content(
        base64.b64encode(fill(OAUTH_REPLY).encode()).decode()
    )
    scrubber.scrub_entry(e, 0)
    content = e["response"]["content"]
    assert content["encoding"] == "base64"
    decoded = base64.b64decode(content["text"], validate=True).decode()
    assert matches(OAUTH_REPLY, decoded)
    assert json.loads(decoded)["expires_in"] == 3600


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_wrapped_base64_body_keeps_its_line_width(scrubber: Scrubber, newline: str) -> None:
    items = [{"id": i, "name": f"item number {i}", "tags": ["red", "blue"]} for i in range(12)]
    body = json.dumps({"items": items, "sessionToken": CANARY})
    wrapped = base64.encodebytes(body.encode()).decode().replace("\n", newline)  # 76 a line
    e = entry()
    e["response"]["content"] = _base64_content(wrapped)
    scrubber.scrub_entry(e, 0)
    out = e["response"]["content"]["text"]
    lines = out.split(newline)
    assert out.endswith(newline)
    assert lines[-1] == ""
    assert {len(line) for line in lines[:-2]} == {76}
    assert 0 < len(lines[-2]) <= 76
    decoded = json.loads(base64.b64decode(out))
    assert decoded["items"] == items
    assert matches("<<oauth-token>>", decoded["sessionToken"])


def test_binary_base64_image_body_is_left_byte_for_byte(scrubber: Scrubber) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    png += b"\x1f\x15\xc4\x89\x00\x00\x00\x19tEXtComment\x00token=" + CANARY.encode()
    text = base64.b64encode(png).decode()
    e = entry()
    e["response"]["content"] = {**_base64_content(text), "mimeType": "image/png"}
    before = copy.deepcopy(e["response"]["content"])
    scrubber.scrub_entry(e, 0)
    assert e["response"]["content"] == before


def test_websocket_message_json_data(scrubber: Scrubber) -> None:
    sent = json.dumps({"type": "auth", "token": "<<token>>", "channel": "prices"})
    received = '{"type":"ack","channel":"prices","seq":1}'
    messages = [
        {"type": "send", "time": 1767225600.1, "opcode": 1, "data": sent},
        {"type": "receive", "time": 1767225600.2, "opcode": 1, "data": received},
    ]
    e = {**entry("wss://app.test/socket"), "_webSocketMessages": filled(messages)}
    scrubber.scrub_entry(e, 0)
    assert same(messages, e["_webSocketMessages"]), "_webSocketMessages"
    assert json.loads(e["_webSocketMessages"][0]["data"])  # still JSON


def test_initiator_url_and_stack_frames(scrubber: Scrubber) -> None:
    url = "https://app.test/cb?code=<<oauth-code>>&state=xyz"
    frame = {"functionName": "load", "scriptId": "17", "url": url, "lineNumber": 3}
    stack = {"callFrames": [frame, {**frame, "functionName": "init"}]}
    initiator = {"type": "script", "url": url, "lineNumber": 12, "stack": stack}
    e = {**entry(), "_initiator": filled(initiator)}
    scrubber.scrub_entry(e, 0)
    assert same(initiator, e["_initiator"]), "_initiator"
    assert len(set(tags(json.dumps(e["_initiator"])))) == 1  # one secret, one tag


def test_page_title_via_scrub_member(scrubber: Scrubber) -> None:
    pages = [
        {
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "id": "page_1",
            "title": "https://app.test/cb?code=<<oauth-code>>&state=xyz",
            "pageTimings": {"onContentLoad": 120.5, "onLoad": 300},
        }
    ]
    value, findings = scrubber.scrub_member("log.", "pages", filled(pages))
    assert same(pages, value), "pages"
    assert [(f.entry, f.path) for f in findings] == [(-1, "log.pages[0].title")]


COMMENTS = [
    ("login works, token=<<token>> was sent", CANARY),
    ("header was Bearer <<jwt>> then 401", JWT),
    ("second try, status 401 at 10:02", ""),
]


@pytest.mark.parametrize("where", ["entry", "log"])
@pytest.mark.parametrize(("expected", "secret"), COMMENTS, ids=hide)
def test_entry_and_log_comment(scrubber: Scrubber, where: str, expected: str, secret: str) -> None:
    if where == "log":
        got, _ = scrubber.scrub_member("log.", "comment", fill(expected, secret))
    else:
        scrubber.scrub_entry(e := {**entry(), "comment": fill(expected, secret)}, 0)
        got = e["comment"]
    assert matches(expected, got), f"{where} comment"


@pytest.mark.parametrize(
    ("expected", "secret"),
    [
        ({"_foo": "<<jwt>>"}, JWT),
        ({"_foo": {"token": "<<token>>", "count": 3}}, CANARY),
        ({"_foo": ["<<github-pat>>", "plain"]}, GHP),
        (
            {"_foo": {"nested": {"link": "https://x.test/p?access_token=<<oauth-token>>&n=1"}}},
            CANARY,
        ),
        ({"_priority": "High", "_fromCache": "disk", "_transferSize": 512}, ""),
    ],
    ids=["string", "object", "array", "nested-url", "benign"],
)
@pytest.mark.parametrize("where", ["entry", "request", "response"])
def test_unknown_vendor_fields(
    scrubber: Scrubber, expected: dict[str, Any], secret: str, where: str
) -> None:
    e = entry()
    holder = e if where == "entry" else e[where]
    holder.update(filled(expected, secret))
    scrubber.scrub_entry(e, 0)
    assert same(expected, {k: holder[k] for k in expected}), where
    assert not leaked(e, secret or CANARY), where


@pytest.mark.parametrize(
    "expected",
    [
        "https://ads.test/pixel?u=<<*>>&page=2",
        "https://ads.test/p/<<*>>/pixel.gif",
        "https://ads.test/c#ref=<<*>>",
    ],
)
def test_copy_of_removed_cookie_found_in_a_later_url(scrubber: Scrubber, expected: str) -> None:
    # "u" and "ref" name nothing secret: only the copy of the cookie value gives it away.
    first = entry(request_cookies=[{"name": "theme_pref", "value": CANARY}])
    scrubber.scrub_entry(first, 0)
    second = entry(fill(expected))
    findings = scrubber.scrub_entry(second, 1)
    assert matches(expected, second["request"]["url"]), "copy in url"
    assert tags(second["request"]["url"]) == tags(first["request"]["cookies"][0]["value"])
    assert [f.path for f in findings] == ["request.url"]


def test_learn_finds_a_copy_in_an_earlier_entry(scrubber: Scrubber) -> None:
    earlier = entry(f"https://ads.test/pixel?u={CANARY}&page=2")
    later = entry(request_headers=[header("Cookie", f"prefs={CANARY}")])
    scrubber.learn(copy.deepcopy(later))
    scrubber.scrub_entry(earlier, 0)
    scrubber.scrub_entry(later, 1)
    url = earlier["request"]["url"]
    assert matches("https://ads.test/pixel?u=<<*>>&page=2", url), "copy before its source"
    assert tags(url) == tags(later["request"]["headers"][0]["value"])


def test_findings_carry_path_and_place_never_the_value(scrubber: Scrubber) -> None:
    e = entry(
        f"https://app.test/cb?code={CANARY}",
        request_headers=[header("X-Api-Key", CANARY2)],
        request_cookies=[{"name": "sid", "value": CANARY}],
    )
    e["response"]["content"]["text"] = f'{{"refresh_token":"{CANARY2}"}}'
    findings = scrubber.scrub_entry(e, 3)
    got = {(f.path, f.place, f.rule_id) for f in findings}
    assert got >= {
        ("request.url", "query", "oauth-code"),
        ("request.headers[0].value", "header", "api-key"),
        ("response.content.text", "json", "oauth-token"),
    }
    assert ("request.cookies[0].value", "cookie") in {(f.path, f.place) for f in findings}
    assert {f.entry for f in findings} == {3}
    assert {f.length for f in findings} == {len(CANARY), len(CANARY2)}
    assert not leaked(repr(findings), CANARY)
