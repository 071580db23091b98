"""Every real HAR in ../shared/corpus/real: clean valid output, nothing else changed, or exit 2.

The expectation for each file is worked out here with the standard library, independently of
harscrub's reader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


def credential_text(entry: dict[str, Any]) -> str:
    """Everything an output entry holds where a cookie or credential goes."""
    texts = []
    for side in ("request", "response"):
        message = entry.get(side)
        texts += headers_named(message, COOKIE_HEADERS | CREDENTIAL_HEADERS)
        texts += cookie_array_values(message)
    return "\n".join(texts)


def leftover_secrets(original: dict[str, Any], sanitized: dict[str, Any]) -> int:
    """How many of the original's cookie and credential values are still there (never which)."""
    text = credential_text(sanitized)
    return sum(1 for secret in secrets_in(original) if len(secret) >= 8 and secret in text)


def without_redactable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with the values harscrub may redact blanked out, to compare the rest."""
    for entry in doc["log"]["entries"]:
        for side in ("request", "response"):
            message = entry.get(side)
            if not isinstance(message, dict):
                continue
            for h in message.get("headers") if isinstance(message.get("headers"), list) else []:
                if (
                    isinstance(h, dict)
                    and str(h.get("name")).lower() in CREDENTIAL_HEADERS | COOKIE_HEADERS
                ):
                    h["value"] = None
            cookies = message.get("cookies")
            for c in (
                [cookies]
                if isinstance(cookies, dict)
                else cookies
                if isinstance(cookies, list)
                else []
            ):
                if isinstance(c, dict) and "value" in c:
                    c["value"] = None
    doc["log"].pop("_harscrub", None)
    return doc


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
    assert sanitized["log"].get("pages") == original["log"].get("pages")
    pairs = zip(original["log"]["entries"], sanitized["log"]["entries"], strict=True)
    left = {i: n for i, (o, s) in enumerate(pairs) if (n := leftover_secrets(o, s))}
    assert left == {}, "entries (index: count) still holding a cookie or credential value"
    assert without_redactable(sanitized) == without_redactable(original)


def test_corpus_has_secrets_to_find(corpus: Path) -> None:
    """Guards the test above: the corpus does hold cookies and credentials for it to find."""
    docs = [doc for path in FILES if (doc := load_har(path))]
    held = sum(leftover_secrets(e, e) for doc in docs for e in doc["log"]["entries"])
    assert held > 1000
