"""The core rule pack applied to every place a credential or cookie sits in an entry."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import regex

from harscrub.engine import Finding, Scrubber
from harscrub.options import Options
from harscrub.redact import is_placeholder
from harscrub.rules import load_ruleset

from .factories import BEARER_CANARY, CANARY, entry, header

KEY = b"k" * 32


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return Scrubber(load_ruleset(), Options(key=KEY))


def scrub(scrubber: Scrubber, e: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    e = copy.deepcopy(e)
    return e, scrubber.scrub_entry(e, 7)


def request_header(scrubber: Scrubber, name: str, value: Any) -> Any:
    out, _ = scrub(scrubber, entry(request_headers=[header(name, value)]))
    return out["request"]["headers"][0]["value"]


def response_header(scrubber: Scrubber, name: str, value: Any) -> Any:
    out, _ = scrub(scrubber, entry(response_headers=[header(name, value)]))
    return out["response"]["headers"][0]["value"]


TAG = r"\[REDACTED:{}:[0-9a-f]{{6}}\]"
COOKIE = "[a-z-]*cookie"  # core's catch-all or a named session-cookie rule


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", f"Bearer {BEARER_CANARY}", "Bearer " + TAG.format("authorization")),
        ("authorization", f"Basic {CANARY}=", "Basic " + TAG.format("authorization")),
        ("Authorization", f"SSWS {CANARY}", "SSWS " + TAG.format("authorization")),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential=AKIAFAKE/20260101, Signature={CANARY}",
            "AWS4-HMAC-SHA256 " + TAG.format("authorization"),
        ),
        (
            "Authorization",
            f'Digest username="u", response="{CANARY}"',
            "Digest " + TAG.format("authorization"),
        ),
        ("Authorization", CANARY, TAG.format("authorization")),  # no scheme word: all of it goes
        # Blanks around a secret are kept, like every other byte around it.
        ("Authorization", f"{CANARY} \t", TAG.format("authorization") + " \t"),
        ("Authorization", "Bearer ", "Bearer "),  # a scheme word alone is no secret
        ("Authorization", f"eyJ.{CANARY}.sig x", TAG.format("authorization")),  # a JWT is no scheme
        ("Proxy-Authorization", f"Basic {CANARY}", "Basic " + TAG.format("authorization")),
        ("Cookie", f"sid={CANARY}", "sid=" + TAG.format(COOKIE)),
        (
            "cookie",
            f"sid={CANARY};  theme = dark ;flag",
            "sid={0};  theme = {0} ;{0}".format(TAG.format(COOKIE)),
        ),
    ],
)
def test_request_credentials_go_and_their_frame_stays(
    scrubber: Scrubber, name: str, value: str, expected: str
) -> None:
    got = request_header(scrubber, name, value)
    assert regex.fullmatch(expected, got), got
    assert CANARY not in got
    assert BEARER_CANARY not in got


def test_set_cookie_keeps_name_and_attributes(scrubber: Scrubber) -> None:
    got = response_header(scrubber, "Set-Cookie", f"sid={CANARY}; Path=/; HttpOnly; SameSite=Lax")
    assert got.startswith("sid=[REDACTED:")
    assert got.endswith("]; Path=/; HttpOnly; SameSite=Lax")
    assert CANARY not in got


def test_set_cookie_joined_with_newlines(scrubber: Scrubber) -> None:
    # Firefox and Firebug write several Set-Cookie headers as one value with newlines.
    got = response_header(scrubber, "set-cookie", f"a={CANARY}; path=/\nb={CANARY}2; Secure")
    first, second = got.split("\n")
    assert first.startswith("a=[REDACTED:")
    assert first.endswith("; path=/")
    assert second.startswith("b=[REDACTED:")
    assert second.endswith("; Secure")
    assert CANARY not in got


def test_header_value_given_as_a_list(scrubber: Scrubber) -> None:
    # Polly.JS records repeated headers as one header whose value is a list.
    got = response_header(scrubber, "set-cookie", [f"a={CANARY}; path=/", "b=2"])
    assert got[0].startswith("a=[REDACTED:")
    assert got[0].endswith("; path=/")
    assert got[1].startswith("b=[REDACTED:")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Content-Type", "application/json"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"),
        ("X-Request-Id", "req-7f3a9c"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("Cookie", ""),
        ("Cookie", "a=; b="),
    ],
)
def test_benign_headers_are_kept_byte_for_byte(scrubber: Scrubber, name: str, value: str) -> None:
    assert request_header(scrubber, name, value) == value


def test_cookies_arrays_lose_values_keep_everything_else(scrubber: Scrubber) -> None:
    cookie = {"name": "sid", "value": CANARY, "path": "/", "httpOnly": True, "expires": None}
    out, findings = scrub(
        scrubber, entry(request_cookies=[cookie], response_cookies=[dict(cookie)])
    )
    for side in ("request", "response"):
        (got,) = out[side]["cookies"]
        assert is_placeholder(got["value"])
        assert {k: v for k, v in got.items() if k != "value"} == {
            k: v for k, v in cookie.items() if k != "value"
        }
    assert [f.path for f in findings] == ["request.cookies[0].value", "response.cookies[0].value"]


def test_cookie_object_instead_of_array(scrubber: Scrubber) -> None:
    # IE11's F12 tools write a single cookie as an object.
    out, findings = scrub(scrubber, entry(request_cookies={"name": "sid", "value": CANARY}))
    assert is_placeholder(out["request"]["cookies"]["value"])
    assert [f.path for f in findings] == ["request.cookies.value"]


def test_numeric_cookie_value_is_redacted(scrubber: Scrubber) -> None:
    out, _ = scrub(scrubber, entry(request_cookies=[{"name": "uid", "value": 918273645}]))
    assert is_placeholder(out["request"]["cookies"][0]["value"])


@pytest.mark.parametrize(
    "odd",
    [
        {"request": None, "response": []},
        {"request": {"headers": {"Cookie": CANARY}, "cookies": "x"}},
        {"request": {"headers": [None, 3, {"name": None, "value": CANARY}, {"name": "Cookie"}]}},
        {"response": {"headers": [{"name": "Set-Cookie", "value": None}], "content": [1]}},
        {"request": {"cookies": [None, {"value": CANARY}, {"name": 3, "value": [CANARY]}]}},
    ],
)
def test_odd_shapes_never_crash(scrubber: Scrubber, odd: dict[str, Any]) -> None:
    scrub(scrubber, odd)


def test_nameless_cookie_values_still_go(scrubber: Scrubber) -> None:
    out, _ = scrub(scrubber, {"request": {"cookies": [{"value": CANARY}]}})
    assert is_placeholder(out["request"]["cookies"][0]["value"])


def test_findings_name_rule_place_and_length_never_the_value(scrubber: Scrubber) -> None:
    _, findings = scrub(
        scrubber, entry(request_headers=[header("Authorization", f"Bearer {CANARY}")])
    )
    assert findings == [
        Finding(
            "authorization", 7, "request.headers[0].value", "header", len(CANARY), findings[0].tag
        )
    ]
    assert CANARY not in repr(findings)


def test_equal_secrets_get_equal_tags_across_places(scrubber: Scrubber) -> None:
    e = entry(
        request_headers=[header("Cookie", f"sid={CANARY}")],
        request_cookies=[{"name": "sid", "value": CANARY}],
        response_headers=[header("Set-Cookie", f"other={CANARY}x")],
    )
    _, findings = scrub(scrubber, e)
    tags = [f.tag for f in findings]
    assert tags[0] == tags[1] != tags[2]


def test_tags_depend_on_the_run_key() -> None:
    e = entry(request_cookies=[{"name": "sid", "value": CANARY}])
    a = Scrubber(load_ruleset(), Options(key=b"a" * 32)).scrub_entry(copy.deepcopy(e), 0)
    b = Scrubber(load_ruleset(), Options(key=b"b" * 32)).scrub_entry(copy.deepcopy(e), 0)
    assert a[0].tag != b[0].tag


def test_a_second_pass_changes_nothing(scrubber: Scrubber) -> None:
    e = entry(
        request_headers=[
            header("Authorization", f"Bearer {CANARY}"),
            header("Cookie", f"a={CANARY}"),
        ],
        response_headers=[header("Set-Cookie", f"a={CANARY}; Path=/")],
        request_cookies=[{"name": "a", "value": CANARY}],
    )
    once, _ = scrub(scrubber, e)
    twice, findings = scrub(scrubber, once)
    assert twice == once
    assert findings == []


def test_options_repr_hides_the_key() -> None:
    assert "key" not in repr(Options(key=KEY))
    assert repr(KEY) not in repr(Options(key=KEY))


def test_set_cookie_folded_with_commas(scrubber: Scrubber) -> None:
    # pcap2har and some proxies fold several Set-Cookie headers into one with ", ".
    value = f"a={CANARY}; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/, b={CANARY}2; Path=/"
    got = response_header(scrubber, "Set-Cookie", value)
    assert CANARY not in got
    assert got.count("[REDACTED:") == 2
    assert "; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/, b=[REDACTED:" in got


@pytest.mark.parametrize("second", ["user[id]", "user id", "naïve", 'q="x', " spaced "], ids=repr)
def test_set_cookie_folded_before_any_kind_of_name(scrubber: Scrubber, second: str) -> None:
    got = response_header(scrubber, "Set-Cookie", f"lang=en; Path=/, {second}={CANARY}; Path=/")
    assert CANARY not in got
    assert got.startswith("lang=[REDACTED:")


def test_set_cookie2_and_names_with_a_colon(scrubber: Scrubber) -> None:
    assert response_header(scrubber, "Set-Cookie2", f"a={CANARY}; Version=1").startswith("a=[RED")
    assert request_header(scrubber, "Authorization:", f"Bearer {CANARY}").startswith("Bearer [RED")


def test_an_unknown_first_word_is_not_kept_as_a_scheme(scrubber: Scrubber) -> None:
    assert is_placeholder(request_header(scrubber, "Authorization", f"sk_live_{CANARY} 1"))


def test_fields_the_producer_left_out_stay_out(scrubber: Scrubber) -> None:
    e = entry(
        request_headers=[{"name": "Accept"}],
        request_cookies={"name": "sid", "path": "/", "domain": "a.test"},
    )
    out, findings = scrub(scrubber, e)
    assert out == e
    assert findings == []


def test_set_cookie_quoted_value_with_commas_stays_one_cookie(scrubber: Scrubber) -> None:
    got = response_header(scrubber, "Set-Cookie", f'd="k={CANARY},ver=2";Path=/\r\ne=1')
    assert regex.fullmatch(r'd="\[REDACTED:[\w:-]+\]";Path=/\r\ne=\[REDACTED:[\w:-]+\]', got)


def test_headers_and_cookies_given_as_objects(scrubber: Scrubber) -> None:
    odd = {
        "request": {
            "headers": {
                "Authorization": f"Bearer {CANARY}",
                "Cookie": f"sid={CANARY}",
                "Accept": "*/*",
            },
            "cookies": {"sid": CANARY, "theme": 3},
        }
    }
    out, findings = scrub(scrubber, odd)
    request = out["request"]
    assert request["headers"]["Authorization"].startswith("Bearer [REDACTED:authorization:")
    assert request["headers"]["Cookie"].startswith("sid=[REDACTED:")
    assert request["headers"]["Accept"] == "*/*"
    assert is_placeholder(request["cookies"]["sid"])
    assert is_placeholder(request["cookies"]["theme"])
    assert "request.headers.Authorization" in {f.path for f in findings}


def test_header_names_with_blanks_and_numbers_in_value_lists(scrubber: Scrubber) -> None:
    assert request_header(scrubber, " Cookie ", f"sid={CANARY}").startswith("sid=[REDACTED:")
    assert request_header(scrubber, "Authorization\t", f"Basic {CANARY}").startswith(
        "Basic [REDACTED:"
    )
    got = response_header(scrubber, "Set-Cookie", ["uid=1", 918273645])
    assert got[0].startswith("uid=[REDACTED:")
    assert is_placeholder(got[1])
