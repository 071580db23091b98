"""Cases a review found: each once let a secret through, crashed, or changed a benign value."""

from __future__ import annotations

import base64
import copy
import io
import json
from typing import Any

import orjson
import pytest

from harscrub.api import scrub_stream
from harscrub.engine import Scrubber
from harscrub.options import Options
from harscrub.rules import load_ruleset

from .factories import CANARY, entry, har, header

RULESET = load_ruleset()
CLAIMS = base64.urlsafe_b64encode(b'{"sub":"FAKE"}').rstrip(b"=").decode()
UNSIGNED_JWT = f"eyJhbGciOiJub25lIn0.{CLAIMS}."


def scrubbed(e: dict[str, Any], **options: Any) -> dict[str, Any]:
    out = copy.deepcopy(e)
    Scrubber(RULESET, Options(key=b"k" * 32, **options)).scrub_entry(out, 0)
    return out


def run_twice(doc: dict[str, Any], **options: Any) -> tuple[bytes, bytes]:
    opts = Options(key=b"k" * 32, **options)
    first, second = io.BytesIO(), io.BytesIO()
    scrub_stream(io.BytesIO(orjson.dumps(doc)), first, ruleset=RULESET, options=opts)
    scrub_stream(io.BytesIO(first.getvalue()), second, ruleset=RULESET, options=opts)
    return first.getvalue(), second.getvalue()


def body(text: str, mime: str, **content: Any) -> dict[str, Any]:
    e = entry()
    e["response"]["content"] = {"size": len(text), "mimeType": mime, "text": text, **content}
    return e


def test_kept_claims_of_an_unsigned_jwt_after_an_escape() -> None:
    e = entry(f"https://app.test/cb?id_token=%20{UNSIGNED_JWT}")
    assert scrubbed(e, keep_jwt_claims=True)["request"]["url"] == e["request"]["url"]


def test_a_question_mark_inside_a_fragment_value() -> None:
    url = f"https://app.test/cb#access_token={CANARY}&state=/dash?tab=1"
    got = scrubbed(entry(url))["request"]["url"]
    assert CANARY not in got
    assert got.endswith("&state=/dash?tab=1")


@pytest.mark.parametrize("name", ["stateHandle", "interaction_handle", "interaction_code"])
def test_okta_identity_engine_handles(name: str) -> None:
    got = scrubbed(body(json.dumps({name: CANARY}), "application/ion+json"))
    assert CANARY not in got["response"]["content"]["text"]


def test_security_question_answer() -> None:
    got = scrubbed(body(json.dumps({"credentials": {"answer": CANARY}}), "application/json"))
    assert CANARY not in got["response"]["content"]["text"]


def test_a_multipart_part_without_headers_is_still_text() -> None:
    text = f"--b\r\nno blank line here Authorization: Bearer {CANARY}0123456789\r\n--b--\r\n"
    got = scrubbed(body(text, "multipart/form-data; boundary=b"))
    assert CANARY not in got["response"]["content"]["text"]


@pytest.mark.parametrize(
    "headers",
    [
        [f"Authorization: Bearer {CANARY}"],
        [["Authorization", f"Bearer {CANARY}"]],
        [{"name": "X-Api-Key", "value": {"v": f"Bearer {CANARY}"}}],
    ],
    ids=["strings", "pairs", "object-value"],
)
def test_headers_in_shapes_no_codec_knows(headers: list[Any]) -> None:
    e = entry()
    e["request"]["headers"] = headers
    assert CANARY not in json.dumps(scrubbed(e))


def test_base64_json_body_in_latin_1() -> None:
    raw = json.dumps({"access_token": CANARY, "name": "Zoë"}, ensure_ascii=False)
    data = base64.b64encode(raw.encode("latin-1")).decode()
    got = scrubbed(body(data, "application/json; charset=iso-8859-1", encoding="base64"))
    text = base64.b64decode(got["response"]["content"]["text"]).decode("latin-1")
    assert CANARY not in text
    assert '"name": "Zoë"' in text


def test_a_text_body_with_a_binary_type_is_scanned_as_text() -> None:
    text = f"#EXTM3U\nhttps://cdn.test/seg1.ts?token={CANARY}\n"
    got = scrubbed(body(text, "application/vnd.apple.mpegurl"))
    assert got["response"]["content"]["text"].startswith(
        "#EXTM3U\nhttps://cdn.test/seg1.ts?token=["
    )


def test_stomp_frame_over_a_websocket() -> None:
    e = entry()
    frame = (
        f"CONNECT\naccept-version:1.2\nAuthorization:Bearer {CANARY}\npasscode:{CANARY}2\n\n\x00"
    )
    e["_webSocketMessages"] = [{"type": "send", "time": 1.0, "opcode": 1, "data": frame}]
    data = scrubbed(e)["_webSocketMessages"][0]["data"]
    assert CANARY not in data
    assert data.startswith("CONNECT\naccept-version:1.2\nAuthorization:Bearer [REDACTED:")


def test_a_colon_in_a_json_value_is_no_header() -> None:
    text = '{"factorType": "token:software:totp"}'
    assert scrubbed(body(text, "application/json"))["response"]["content"]["text"] == text


def test_a_url_at_the_end_of_text_keeps_its_placeholder_whole() -> None:
    doc = har(body(f"see https://app.test/cb?code={CANARY}", "text/plain"))
    first, second = run_twice(doc)
    assert first == second
    assert first.count(b"]]") == 0


@pytest.mark.parametrize(
    "options", [{"placeholder": "drop"}, {"placeholder": "mask"}, {"keep_jwt_claims": True}]
)
def test_second_run_changes_nothing_in_every_style(options: dict[str, Any]) -> None:
    e = entry(
        f"https://app.test/cb?code={CANARY}&id_token={UNSIGNED_JWT}x",
        request_headers=[
            header("Authorization", f"Bearer {CANARY}"),
            header("X-Jwt", UNSIGNED_JWT),
        ],
    )
    first, second = run_twice(har(e, body(f"token={CANARY}", "text/plain")), **options)
    assert first == second
    assert CANARY.encode() not in first


def test_a_cookie_holding_a_plain_word_does_not_wipe_headers() -> None:
    e = entry(
        request_headers=[
            header("Cookie", "ui=application/json"),
            header("Accept", "application/json"),
        ],
        response_headers=[header("Content-Type", "application/json")],
    )
    got = scrubbed(e)
    assert got["request"]["headers"][1]["value"] == "application/json"
    assert got["response"]["headers"][0]["value"] == "application/json"


def test_a_uuid_is_an_id_not_a_secret() -> None:
    uuid = "5f2a9c8d-1b2c-4d5e-8f90-123456789abc"
    text = json.dumps({"idempotencyKey": uuid})
    assert scrubbed(body(text, "application/json"))["response"]["content"]["text"] == text


def test_a_cookie_copied_into_a_json_message() -> None:
    e = body(json.dumps({"error": f"session {CANARY}0042 expired"}), "application/json")
    e["request"]["headers"] = [header("Cookie", f"sid={CANARY}0042")]
    text = scrubbed(e)["response"]["content"]["text"]
    assert CANARY not in text
    assert text.startswith('{"error": "session [REDACTED:session-cookie:')


@pytest.mark.parametrize(
    ("key", "item"),
    [
        ("headers", ["X-Api-Key", f"{CANARY}xyz"]),
        ("queryString", ["access_token", f"{CANARY}xyz"]),
        ("headers", {"name": "X-Api-Key", "value": {"k": f"{CANARY}xyz"}}),
    ],
    ids=["header-pair", "query-pair", "object-value"],
)
def test_name_only_secrets_in_odd_shapes_keep_their_name(key: str, item: Any) -> None:
    e = entry()
    e["request"][key] = [item]
    assert CANARY not in json.dumps(scrubbed(e))


@pytest.mark.parametrize("text", ["see http://x.test/a" + ")" * 50_000, "%2F" + "%3F" * 30_000])
def test_long_runs_stay_cheap(text: str) -> None:
    # Once quadratic: each of these took many seconds at this size.
    Scrubber(RULESET, Options(key=b"k" * 32)).in_text(text, "text")


@pytest.mark.parametrize(
    "text", [f"(see https://x.test/cb?code={CANARY})", f"[https://x.test/cb?code={CANARY}]"]
)
def test_a_url_in_brackets_is_stable(text: str) -> None:
    first, second = run_twice(har(body(text, "text/plain")))
    assert first == second
    assert CANARY.encode() not in first


@pytest.mark.parametrize(
    "message",
    [
        "Password: at least 8 characters, one digit",
        "Session: expired, please log in again",
        "Error 401\nToken: expired\nAuthorization: required",
    ],
)
def test_messages_that_look_like_header_lines_are_kept(message: str) -> None:
    text = json.dumps({"message": message})
    assert scrubbed(body(text, "application/json"))["response"]["content"]["text"] == text


def test_base64_body_in_declared_utf_16() -> None:
    data = base64.b64encode(json.dumps({"access_token": CANARY}).encode("utf-16-le")).decode()
    got = scrubbed(body(data, "application/json; charset=utf-16le", encoding="base64"))
    assert CANARY not in base64.b64decode(got["response"]["content"]["text"]).decode("utf-16-le")


@pytest.mark.parametrize(
    "prose", ["use bearer authentication-schemes here", "The bearer authentication/authorization"]
)
def test_the_word_bearer_in_prose(prose: str) -> None:
    assert scrubbed(body(prose, "text/plain"))["response"]["content"]["text"] == prose


def test_okta_name_value_pairs() -> None:
    text = json.dumps(
        {"successWithInteractionCode": {"value": [{"name": "interaction_code", "value": CANARY}]}}
    )
    assert CANARY not in scrubbed(body(text, "application/ion+json"))["response"]["content"]["text"]


def test_a_short_cookie_value_is_not_followed_into_prose() -> None:
    e = body(json.dumps({"note": "deployed to us-east-1 today"}), "application/json")
    e["request"]["headers"] = [header("Cookie", "region=us-east-1")]
    assert "us-east-1 today" in scrubbed(e)["response"]["content"]["text"]


def test_multipart_whose_declared_boundary_is_not_used() -> None:
    text = (
        f'--real\r\nContent-Disposition: form-data; name="password"\r\n\r\n{CANARY}\r\n--real--\r\n'
    )
    got = scrubbed(body(text, "multipart/form-data; boundary=declared"))
    assert CANARY not in got["response"]["content"]["text"]


PAT_SHAPED = "ghp" + "_FAKE0123456789abcdefFAKE0123456789ab"  # split: no scanner trips here
JWT = f"eyJhbGciOiJIUzI1NiJ9.{CLAIMS}.FAKEsignatureFAKEsignature0123"


def test_tokens_used_as_keys_and_names_are_renamed() -> None:
    """A header object keyed by its line, a vendor map keyed by a JWT, a header name holding a
    token: once kept whole, and named in the report's paths."""
    e = entry()
    e["request"]["headers"] = {f"X-{PAT_SHAPED}": "v", "Accept": "*/*"}
    e["response"]["headers"] = [header(PAT_SHAPED, ""), header("Vary", "Origin")]
    e["_vendor"] = {JWT: 1, "plain": 2}
    doc = har(e, _map={JWT: "x"})
    first, second = run_twice(doc, placeholder="mask")
    assert PAT_SHAPED.encode() not in first
    assert JWT.encode() not in first
    out = json.loads(first)["log"]
    assert list(out["entries"][0]["request"]["headers"]) == ["X-[REDACTED]", "Accept"]
    assert out["entries"][0]["response"]["headers"][0]["name"] == "[REDACTED]"
    assert out["entries"][0]["_vendor"] == {"[REDACTED]": 1, "plain": 2}
    assert out["_map"] == {"[REDACTED]": "x"}
    assert second == first


def test_two_keys_masked_alike_keep_both_values() -> None:
    e = entry()
    e["_vendor"] = {JWT: 1, PAT_SHAPED: 2}
    first, _ = run_twice(har(e), placeholder="mask")
    assert json.loads(first)["log"]["entries"][0]["_vendor"] == {"[REDACTED]": 1, "[REDACTED]#": 2}


def test_a_report_path_never_holds_a_key_it_redacted() -> None:
    e = entry()
    e["_vendor"] = {JWT: {"n": 1}}
    report = scrub_stream(io.BytesIO(orjson.dumps(har(e))), io.BytesIO(), ruleset=RULESET)
    [redaction] = report.redactions
    assert redaction.path == "_vendor.{key}"
    assert redaction.rule == "jwt"


def test_original_keys_keep_their_names_when_a_renamed_one_would_collide() -> None:
    e = entry()
    e["_vendor"] = {JWT: 1, "[REDACTED]": 2, PAT_SHAPED: 3}
    first, second = run_twice(har(e), placeholder="mask")
    vendor = json.loads(first)["log"]["entries"][0]["_vendor"]
    assert vendor == {"[REDACTED]#": 1, "[REDACTED]": 2, "[REDACTED]##": 3}
    assert second == first


def test_a_short_session_id_as_a_key_or_name_is_a_copy() -> None:
    """No token shape is this short; the cookie rule found it, and copies go everywhere."""
    sid = "s3ss10n1d2b4"  # 12 characters
    e = entry(request_headers=[header("Cookie", f"JSESSIONID={sid}"), header(sid, "1")])
    e["_vendor"] = {"sessions": {sid: {"password": "x"}}}
    out = io.BytesIO()
    report = scrub_stream(io.BytesIO(orjson.dumps(har(e))), out, ruleset=RULESET)
    leaked = [line for line in out.getvalue().decode().splitlines() if sid in line]
    assert [line.split(":")[0].strip() for line in leaked] == []  # where, never the value
    assert all(sid not in r.path for r in report.redactions)


def test_tokens_as_json_body_keys_and_as_query_and_form_names() -> None:
    sid = "s3ss10n1d2b4"
    e = entry(
        f"https://app.test/x?{sid}=1&page=2",
        request_headers=[header("Cookie", f"JSESSIONID={sid}")],
    )
    e["request"]["queryString"] = [{"name": sid, "value": "1"}, {"name": "page", "value": "2"}]
    e["request"]["postData"] = {
        "mimeType": "application/x-www-form-urlencoded",
        "text": f"{PAT_SHAPED}=1&page=2",
    }
    e["response"]["content"] = {
        "mimeType": "application/json",
        "text": json.dumps({PAT_SHAPED: {"n": 1}, "page": 2}),
    }
    first, second = run_twice(har(e), placeholder="mask")
    out = json.loads(first)["log"]["entries"][0]
    assert out["request"]["url"] == "https://app.test/x?[REDACTED]=1&page=2"
    assert out["request"]["queryString"][0]["name"] == "[REDACTED]"
    assert out["request"]["postData"]["text"] == "[REDACTED]=1&page=2"
    assert json.loads(out["response"]["content"]["text"]) == {"[REDACTED]": {"n": 1}, "page": 2}
    assert second == first


def test_a_padded_secret_with_punctuation_is_followed_without_its_padding() -> None:
    """A secret holding '!' is no single token and is looked for as it is: with and without
    its '=' padding, even past the first thousand such secrets."""
    cookies = "; ".join(f"c{i}=FAKE!{i:04d}sess1234abcd==" for i in range(1200))
    e = entry(request_headers=[header("Cookie", cookies)])
    e["response"]["content"] = {"mimeType": "text/plain", "text": "echo FAKE!1199sess1234abcd ok"}
    out, _ = run_twice(har(e))
    assert b"sess1234abcd" not in out


@pytest.mark.parametrize(
    "headers",
    [
        "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\nComment: a b: c\n\n",
        "Comment: k1: v k2: v\n\n",
    ],
)
def test_a_cut_short_pem_key_with_colons_in_its_headers(headers: str) -> None:
    lines = "\n".join(["FAKE+fake/FAKE+fake/FAKE+fake/FAKE+fake/FAKE+fake/FAKE+fake/FAKE"] * 3)
    text = "key dump:\n-----BEGIN RSA PRIV" + "ATE KEY-----\n" + headers + lines
    out = scrubbed(body(text, "text/plain"))
    assert "FAKE+fake" not in out["response"]["content"]["text"]
