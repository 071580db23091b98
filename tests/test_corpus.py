"""Every real HAR in ../shared/corpus/real: clean valid output, nothing else changed, or exit 2.

The expectation for each file is worked out here with the standard library, independently of
harscrub's reader.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from click.testing import CliRunner

from harscrub import cli

from .conftest import CORPUS

FILES = sorted(CORPUS.glob("*.har")) if CORPUS.is_dir() else []
# Without the corpus, one test that the corpus fixture skips with a clear reason.
PARAMS = [pytest.param(p, id=p.name) for p in FILES] or [pytest.param(None, id="no-corpus")]
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization"}
COOKIE_HEADERS = {"cookie", "set-cookie"}


def load_har(path: Path) -> dict[str, Any] | None:
    """The document if the file is a HAR (JSON object with log.entries a list of objects)."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except ValueError:
        return None
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
        return doc
    return None


def values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def headers_named(message: Any, names: set[str]) -> list[str]:
    headers = message.get("headers") if isinstance(message, dict) else None
    return [
        v
        for h in (headers if isinstance(headers, list) else [])
        if isinstance(h, dict) and str(h.get("name")).strip().lower() in names
        for v in values(h.get("value"))
    ]


def cookie_array_values(message: Any) -> list[str]:
    cookies = message.get("cookies") if isinstance(message, dict) else None
    cookies = [cookies] if isinstance(cookies, dict) else cookies
    return [v for c in cookies or [] if isinstance(c, dict) for v in values(c.get("value"))]


# Every name=value pair in a Cookie or Set-Cookie header, found without harscrub's parsing.
PAIR = re.compile(r'([^\s=;,]+)=("[^"]*"|[^;,\r\n]*)')
ATTRIBUTES = {"path", "domain", "expires", "max-age", "samesite", "priority", "version", "comment"}


def secrets_in(entry: dict[str, Any]) -> set[str]:
    """Cookie and credential values of an original entry long enough to search for."""
    found = set()
    for side in ("request", "response"):
        message = entry.get(side)
        for text in headers_named(message, COOKIE_HEADERS):
            found |= {v for n, v in PAIR.findall(text) if n.lower() not in ATTRIBUTES}
        for text in headers_named(message, CREDENTIAL_HEADERS):
            found.add(text.split(None, 1)[-1])
        found |= set(cookie_array_values(message))
    return {v.strip().strip('"') for v in found} - {""}


def unredacted_credentials(doc: dict[str, Any]) -> int:
    """How many cookie and credential values in their own places are not placeholders."""
    count = 0
    for entry in doc["log"]["entries"]:
        for value in secrets_in(entry):
            rest = value.partition(" ")[2]
            if not (PLACEHOLDER.fullmatch(value) or PLACEHOLDER.fullmatch(rest)):
                count += 1
    return count


# Token formats the corpus must not keep anywhere, found with patterns of this test's own.
TOKEN_SHAPES = {
    "jwt": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    "google-access": re.compile(r"ya29\.[\w-]{20,}"),
    "google-refresh": re.compile(r"1//0[\w-]{20,}"),
    "google-api-key": re.compile(r"AIza[\w-]{35}"),
}
SECRET_PARAMS = {
    "accesstoken", "idtoken", "refreshtoken", "token", "code", "password", "sig", "signature",
    "xamzsignature", "xamzcredential", "xamzsecuritytoken", "xgoogsignature", "xgoogcredential",
    "apikey", "clientsecret", "sessionid", "sid", "jsessionid", "authtoken", "samlresponse",
}  # fmt: skip
# A placeholder as written into text, JSON, a query (brackets kept) or a percent-encoded part.
_OPEN, _COLON, _CLOSE = (
    rf"(?:{c}|%(?:25)*{h})" for c, h in ((r"\[", "5B"), (":", "3A"), (r"\]", "5D"))
)
# A number's placeholder is a JSON string, so it may come with quotes, percent-encoded or not.
PLACEHOLDER = re.compile(
    rf'(?:"|%22)?{_OPEN}REDACTED(?:{_COLON}[a-z0-9-]+{_COLON}[0-9a-f]{{6}})?{_CLOSE}(?:"|%22)?',
    re.IGNORECASE,
)


# Cookie and credential values that look like tokens: 16+ characters, letters and digits.
# Shorter or plainer ones (a timestamp, "cache-iad2131", "en-GB") are not looked for in copies.
TOKEN_LIKE = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9])[^\s]{16,}")


def as_token(value: str) -> re.Pattern[str]:
    """value as a whole token: not a part of a longer run of token characters."""
    edge = r"[\w.~+%@!$*()',|-]"
    return re.compile(rf"(?<!{edge}){re.escape(json.dumps(value)[1:-1])}(?!{edge})")


def secret_query_values(entry: dict[str, Any]) -> set[str]:
    """Values of secret-named parameters in the request URL, parsed with the standard library."""
    url = entry.get("request", {}).get("url") if isinstance(entry.get("request"), dict) else None
    if not isinstance(url, str):
        return set()
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(parts.fragment)
    return {
        v for n, v in pairs if re.sub(r"[-_.\[\]]", "", n.lower()) in SECRET_PARAMS and len(v) >= 8
    }


def leftovers(original: dict[str, Any], output: str) -> dict[str, int]:
    """How many of the original's secrets the output text still holds, by kind (never which)."""
    counts: dict[str, int] = {}
    for entry in original["log"]["entries"]:
        values = {v for v in secrets_in(entry) if TOKEN_LIKE.fullmatch(v)}
        counts["cookie or credential"] = counts.get("cookie or credential", 0) + sum(
            1 for v in values if json.dumps(v)[1:-1] in output and as_token(v).search(output)
        )
        counts["secret-named query value"] = counts.get("secret-named query value", 0) + sum(
            1 for v in secret_query_values(entry) if v in output or quote(v, safe="") in output
        )
    for kind, shape in TOKEN_SHAPES.items():
        counts[kind] = len(shape.findall(output))
    return {k: n for k, n in counts.items() if n}


def without_media(doc: dict[str, Any]) -> str:
    """The document as text, without base64 media bodies (random bytes look like anything)."""
    doc = json.loads(json.dumps(doc))
    for entry in doc["log"]["entries"]:
        response = entry.get("response")
        content = response.get("content") if isinstance(response, dict) else None
        if not isinstance(content, dict):
            continue
        if content.get("encoding") == "base64" and str(content.get("mimeType")).startswith(MEDIA):
            content["text"] = ""
    return json.dumps(doc, indent=2, ensure_ascii=False)


MEDIA = ("image/", "font/", "audio/", "video/", "application/octet-stream")


def differences(original: Any, sanitized: Any, path: str = "") -> Iterator[str]:
    """Paths where sanitized differs from original other than by placeholders for secrets."""
    if isinstance(original, dict) and isinstance(sanitized, dict):
        if original.keys() != sanitized.keys():
            yield f"{path}: keys"
        for key in original.keys() & sanitized.keys():
            yield from differences(original[key], sanitized[key], f"{path}.{key}")
    elif isinstance(original, list) and isinstance(sanitized, list):
        if len(original) != len(sanitized):
            yield f"{path}: length"
        for i, (o, s) in enumerate(zip(original, sanitized, strict=False)):
            yield from differences(o, s, f"{path}[{i}]")
    elif original != sanitized and not (
        isinstance(sanitized, str) and redacted_from(str(original), sanitized)
    ):
        yield path


def redacted_from(original: str, sanitized: str) -> bool:
    """Whether sanitized is original with some parts replaced by placeholders, nothing else."""
    if not PLACEHOLDER.search(sanitized):
        decoded = base64_text(sanitized)
        return decoded is not None and redacted_from(base64_text(original) or "", decoded)
    # The pieces between placeholders, in order, each placeholder standing for 1+ characters.
    first, *middle, last = PLACEHOLDER.split(sanitized)
    if not original.startswith(first) or len(original) < len(first) + len(last) + 1:
        return False
    pos, end = len(first) + 1, len(original) - len(last)
    for piece in middle:
        found = original.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece) + 1
    return pos <= end and original.endswith(last)


def base64_text(text: str) -> str | None:
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
    except ValueError:
        return None


@pytest.mark.parametrize("path", PARAMS)
def test_real_har(corpus: Path, path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.har"
    result = CliRunner().invoke(cli.main, [str(path), "-o", str(out)])
    original = load_har(path)
    if original is None:
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"harscrub: {path}")
        assert result.stderr.count("\n") == 1
        assert list(tmp_path.iterdir()) == []
        return
    assert result.exit_code == 0, result.output
    sanitized = json.loads(out.read_bytes())
    assert len(sanitized["log"]["entries"]) == len(original["log"]["entries"])
    assert leftovers(original, without_media(sanitized)) == {}, "secrets left, by kind"
    assert unredacted_credentials(sanitized) == 0
    sanitized["log"].pop("_harscrub")
    assert sorted(differences(original, sanitized)) == []
    # harscrub's output passes --check, and a second run changes nothing.
    check = CliRunner().invoke(cli.main, ["--check", "-q", str(out)])
    assert (check.exit_code, check.stdout) == (0, "")
    again = tmp_path / "again.har"
    assert CliRunner().invoke(cli.main, [str(out), "-o", str(again), "-q"]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_corpus_has_secrets_to_find(corpus: Path) -> None:
    """Guards the test above: the corpus does hold cookies and credentials for it to find."""
    docs = [doc for path in FILES if (doc := load_har(path))]
    entries = [e for doc in docs for e in doc["log"]["entries"]]
    assert sum(len({v for v in secrets_in(e) if TOKEN_LIKE.fullmatch(v)}) for e in entries) > 500
    assert sum(len(secret_query_values(e)) for e in entries) > 10
    text = "\n".join(json.dumps(doc) for doc in docs)
    assert all(shape.search(text) for shape in TOKEN_SHAPES.values())
