"""Bodies by media type: JSON, forms, multipart, HTML, JavaScript, XML and plain text."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from harscrub.engine import Finding, Scrubber
from harscrub.options import Options
from harscrub.rules import Ruleset

from .factories import CANARY, entry
from .marks import MARK, matches

KEY = b"k" * 32
CANARY2 = f"{CANARY}two"
YA29 = "ya29.FAKEgoogle0123456789abcdefABCDEF"
ASIA = "ASIAFAKEFAKEFAKEFAKE"
AWS_SAK = "FAKEsecretKEY0123456789abcdefghij/+ABCDE"  # 40 characters
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvFAKEQIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4FAKEp5i6qFaN2dOQ6nRzFdXkKr0Z+aJ6D3cjWJ0hL9TqZl1FAKEbg==\n"
    "-----END PRIVATE KEY-----"
)
SAML = base64.b64encode(
    b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_FAKE1">'
    b"<saml:Assertion>FAKE assertion for alice@app.test</saml:Assertion></samlp:Response>"
).decode()
JWT = ".".join(
    base64.urlsafe_b64encode(part).rstrip(b"=").decode()
    for part in (b'{"alg":"HS256","typ":"JWT"}', b'{"sub":"FAKE-user"}', b"FAKE-signature-bytes!!")
)


def fill(template: str, secrets: tuple[str, ...]) -> str:
    """The body a template stands for: the n-th mark replaced by the n-th secret."""
    given = iter(secrets)
    return MARK.sub(lambda _: next(given), template)


def leaked(text: str, *secrets: str) -> bool:
    return any(s in text for s in secrets)


def case_id(value: object) -> str:
    """Test ids never show a secret."""
    if isinstance(value, tuple):
        return f"{len(value)}secrets"
    return "secret" if "FAKE" in str(value) else str(value)[:40]


@pytest.fixture
def scrub(ruleset: Ruleset) -> Any:
    def run(text: str, mime: str, *, request: bool = False) -> tuple[str, list[Finding]]:
        e = entry()
        if request:
            e["request"].update(method="POST", postData={"mimeType": mime, "text": text})
            holder = e["request"]["postData"]
        else:
            e["response"]["content"] = {"size": len(text), "mimeType": mime, "text": text}
            holder = e["response"]["content"]
        findings = Scrubber(ruleset, Options(key=KEY)).scrub_entry(e, 0)
        return holder["text"], findings

    return run


def _parses(text: str, mime: str) -> bool:
    documents = text.splitlines() if "nd" in mime or "lines" in mime else [text]
    try:
        for document in documents:
            json.loads(document)
    except ValueError:
        return False
    return True


JSON_BODIES = [
    (
        "application/json",
        '{"data":{"viewer":{"auth":{"access_token":"<<oauth-token>>","token_type":"Bearer",'
        '"expires_in":3600}}}}',
        (CANARY,),
    ),
    ("application/json", '{"access_token":["<<*>>","<<*>>"],"tags":["a"]}', (CANARY, CANARY2)),
    (
        "application/json",
        '{"stateToken":"<<oauth-token>>","sessionToken":"<<oauth-token>>","status":"SUCCESS",'
        '"_embedded":{"user":{"id":"00ub0oNGTSWTBKOLGLNR","profile":{"login":"a@app.test"}}}}',
        (CANARY, CANARY2),
    ),
    ("application/json", '[{"refresh_token":"<<oauth-token>>"},{"id":1}]', (CANARY,)),
    ("application/json", '{"a":' * 40 + '{"password":"<<password>>","n":1}' + "}" * 40, (CANARY,)),
    # The \u002e escape cannot hide a Google token's shape; other escapes stay as written.
    (
        "application/json",
        '{"access":"<<google-oauth-access>>",'
        '"note":"caf\\u00e9 \\u002f \\u003cb\\u003e \\ud83d\\ude00"}',
        (YA29.replace(".", "\\u002e"),),
    ),
    ("application/json", '{"access\\u005ftoken":"<<oauth-token>>","n":"\\"q\\""}', (CANARY,)),
    ("application/x-ndjson", '{"event":"login","token":"<<token>>"}\n{"page":2}\n', (CANARY,)),
    ("application/vnd.api+json; charset=utf-8", ' {"user":{"api_key":"<<api-key>>"}} ', (CANARY,)),
    (
        "application/json",
        '{"query":"mutation Login { login(email: \\"a@app.test\\", password: \\"<<password>>\\") '
        '{ token } }","variables":{"input":{"password":"<<password>>","remember":true}}}',
        (CANARY, CANARY2),
    ),
    # Containers inside JSON strings: stringified JSON, a form, a URL.
    ("application/json", '{"payload":"{\\"access_token\\":\\"<<oauth-token>>\\"}"}', (CANARY,)),
    (
        "application/json",
        '{"body":"grant_type=refresh_token&refresh_token=<<oauth-token>>&client_id=s6"}',
        (CANARY,),
    ),
    ("application/json", '{"callback":"https://app.test/cb?code=<<oauth-code>>&s=x"}', (CANARY,)),
]


@pytest.mark.parametrize(("mime", "template", "secrets"), JSON_BODIES, ids=case_id)
def test_json_body(scrub: Any, mime: str, template: str, secrets: tuple[str, ...]) -> None:
    out, findings = scrub(fill(template, secrets), mime)
    assert matches(template, out), "body differs from its template"
    assert _parses(out, mime), "no longer JSON"
    assert not leaked(out, *secrets, YA29)
    assert {f.path for f in findings} == {"response.content.text"}


def test_json_array_under_plural_secret_key(scrub: Any) -> None:
    template = '{"tokens":["<<*>>","<<*>>"],"tags":["red","blue"]}'
    out, _ = scrub(
        fill(template, (f"{CANARY}a9xQ2mK8vT4wR7", f"{CANARY}b5cY3hJ6dF0sGa")), "application/json"
    )
    assert matches(template, out), "body differs from its template"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"pin": 918273, "attempts": 3, "zip": 12345}',
            '{"pin": "<<password>>", "attempts": 3, "zip": 12345}',
        ),
        ('{"otp":9182}', '{"otp":"<<password>>"}'),
        ('{"pin": "9182"}', '{"pin": "<<password>>"}'),
        ('{"pin": 12, "PIN": -7, "pin_length": 6}', '{"pin": 12, "PIN": -7, "pin_length": 6}'),
    ],
)
def test_json_numbers_under_pin(scrub: Any, body: str, expected: str) -> None:
    # Four digits or more under a secret name become a (JSON string) placeholder.
    out, _ = scrub(body, "application/json")
    assert matches(expected, out), "body differs from its template"
    assert json.loads(out)
    assert not leaked(out, "918273", "9182")


BENIGN_JSON = [
    '{"token_type":"Bearer","expires_in":3600,"scope":"openid email"}',
    '{"error":"invalid_grant","error_description":"Token expired","code":400}',
    '{"max_tokens": 1024, "token_count": 12, "session_state": "a1b2"}',
    '{"password_policy":{"min_length":12},"passwordless":false,"pin_required":true}',
    '{"id":"123e4567-e89b-12d3-a456-426614174000","etag":"3f9a1c2b7d1e4c2b"}',
    '{"nextPageToken":"CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3","items":[]}',
]


@pytest.mark.parametrize("body", BENIGN_JSON)
def test_benign_json_kept_byte_for_byte(scrub: Any, body: str) -> None:
    assert scrub(body, "application/json") == (body, [])


@pytest.mark.parametrize(
    ("template", "secrets"),
    [
        ('{"access_token": "<<oauth-token>>", "scope": "openid"', (CANARY,)),
        ('{"scope": "openid", "x": <<google-oauth-access>>', (YA29,)),
        (')]}\'\n{"sessionToken":"<<oauth-token>>"}', (CANARY,)),  # XSSI prefix
    ],
    ids=case_id,
)
def test_invalid_json_falls_back_to_text(
    scrub: Any, template: str, secrets: tuple[str, ...]
) -> None:
    out, _ = scrub(fill(template, secrets), "application/json")
    assert matches(template, out), "body differs from its template"


@pytest.mark.parametrize(
    ("template", "secrets"),
    [
        (
            "username=alice&password=<<password>>&remember=on&note=hello+world%21",
            (f"{CANARY}%2B1+x",),
        ),
        (
            "grant_type=authorization_code&code=<<oauth-code>>&redirect_uri=https%3A%2F%2Fapp.test"
            "%2Fcb&code_verifier=<<client-secret>>&client_id=s6",
            (CANARY, CANARY2),
        ),
        ("q=red+shoes&sort=price%20asc&page=2", ()),
    ],
    ids=case_id,
)
def test_form_body(scrub: Any, template: str, secrets: tuple[str, ...]) -> None:
    out, _ = scrub(fill(template, secrets), "application/x-www-form-urlencoded", request=True)
    assert matches(template, out), "body differs from its template"
    assert not leaked(out, CANARY)


@pytest.mark.parametrize("mime", ["multipart/form-data; boundary=XyZ", "multipart/form-data"])
def test_multipart_password_goes_file_part_stays(scrub: Any, mime: str) -> None:
    png = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x08\x06\x1f\x15\xc4\x89"
    part = '--XyZ\r\nContent-Disposition: form-data; name="{}"{}\r\n\r\n{}\r\n'
    template = (
        part.format("username", "", "alice")
        + part.format("password", "", "<<password>>")
        + part.format("avatar", '; filename="a.png"\r\nContent-Type: image/png', png)
        + "--XyZ--\r\n"
    )
    out, _ = scrub(fill(template, (CANARY,)), mime, request=True)
    assert matches(template, out), "body differs from its template"


HTML_BODIES = [
    ('<input type="hidden" name="authenticity_token" value="<<csrf-token>>">', (CANARY,)),
    ("<input type='hidden' name='csrfmiddlewaretoken' value='<<csrf-token>>'>", (CANARY,)),
    ("<INPUT TYPE=hidden NAME=authenticity_token VALUE=<<csrf-token>>>", (CANARY,)),
    ('<input value="<<csrf-token>>" name="__RequestVerificationToken" type="hidden">', (CANARY,)),
    (
        '<form method="post" action="https://sp.test/acs">'
        '<input type="hidden" name="SAMLResponse" value="<<saml-message>>"/>'
        '<input type="hidden" name="RelayState" value="/dashboard"/></form>',
        (SAML,),
    ),
    (
        '<meta name="csrf-token" content="<<csrf-token>>">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        (CANARY,),
    ),
    # Entities: the value is judged decoded, and neighbours keep theirs.
    (
        '<input type="hidden" name="_csrf" value="<<csrf-token>>">'
        '<input type="text" name="q" value="Tom &amp; Jerry &lt;3">',
        (f"{CANARY}&#43;x&amp;y",),
    ),
    ('<input type="hidden" name="authenticity&#95;token" value="<<csrf-token>>">', (CANARY,)),
    ('<script>fetch("/api?access_token=<<oauth-token>>&page=2")</script>', (CANARY,)),
]


@pytest.mark.parametrize(("template", "secrets"), HTML_BODIES, ids=case_id)
def test_html_body(scrub: Any, template: str, secrets: tuple[str, ...]) -> None:
    out, _ = scrub(fill(template, secrets), "text/html; charset=utf-8")
    assert matches(template, out), "body differs from its template"
    assert not leaked(out, *secrets, CANARY)


TEXT_BODIES = [
    (
        "application/javascript",
        'var firebaseConfig = {apiKey: "<<api-key>>", authDomain: "app.test", projectId: "demo"};\n'
        'window.__STATE__ = {"sessionToken": "<<oauth-token>>", "user": "alice"};',
        (CANARY, CANARY2),
    ),
    (
        "text/javascript",
        "const h = {'X-Api-Key': '<<api-key>>', 'Accept': 'text/html'};",
        (CANARY,),
    ),
    (
        "text/xml",
        '<?xml version="1.0"?><AssumeRoleResponse><Credentials>'
        "<AccessKeyId><<aws-asia>></AccessKeyId>"
        "<SecretAccessKey><<*>></SecretAccessKey><SessionToken><<oauth-token>></SessionToken>"
        "<Expiration>2026-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResponse>",
        (ASIA, AWS_SAK, CANARY),
    ),
    (
        "application/soap+xml",
        '<soap:Body><wsse:Password Type="PasswordText"><<password>></wsse:Password>'
        "<wsse:Username>alice</wsse:Username></soap:Body>",
        (CANARY,),
    ),
    (
        "application/graphql",
        'mutation { login(user: "alice", password: "<<password>>") { ok } }',
        (CANARY,),
    ),
    ("text/plain", "key follows:\n<<private-key>>\ntrailer line", (PEM,)),
    (
        "text/plain",
        "DATABASE_URL=postgres://app:<<%url-password>>@db.internal:5432/app?sslmode=require\nLOG=debug",
        (CANARY,),
    ),
    ("text/plain", "conn: postgres://app:<<%url-password>>@db.internal/app, retrying", (CANARY,)),
    ("text/plain", "2026-01-01 INFO sent Bearer <<jwt>> for alice", (JWT,)),
]


@pytest.mark.parametrize(("mime", "template", "secrets"), TEXT_BODIES, ids=case_id)
def test_script_xml_and_text_body(
    scrub: Any, mime: str, template: str, secrets: tuple[str, ...]
) -> None:
    out, _ = scrub(fill(template, secrets), mime)
    assert matches(template, out), "body differs from its template"
    assert not leaked(out, *secrets)
