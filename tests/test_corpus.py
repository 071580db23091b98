"""Every real HAR in ../shared/corpus/real: clean valid output, nothing else changed, or exit 2.

The expectation for each file is worked out here with the standard library, independently of
harscrub's reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harscrub import cli
from harscrub.redact import PLACEHOLDER

from .conftest import CORPUS

FILES = sorted(CORPUS.glob("*.har")) if CORPUS.is_dir() else []
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


def clean_cookie_value(value: str) -> bool:
    return not value.strip() or PLACEHOLDER.fullmatch(value.strip()) is not None


def clean_cookie_pair(segment: str) -> bool:
    _name, eq, value = segment.partition("=")
    return clean_cookie_value(value if eq else segment)


def leftover_secrets(entry: dict[str, Any]) -> list[str]:
    """Paths of cookie and credential values that are still there (paths only, never values)."""
    left = []
    for side in ("request", "response"):
        message = entry.get(side)
        if not isinstance(message, dict):
            continue
        headers = message.get("headers")
        for i, h in enumerate(headers if isinstance(headers, list) else []):
            name = (
                h.get("name", "").lower()
                if isinstance(h, dict) and isinstance(h.get("name"), str)
                else ""
            )
            for value in values(h.get("value")) if name else []:
                if name in CREDENTIAL_HEADERS:
                    secret = value.split(" ", 1)[-1]
                    ok = not secret.strip() or PLACEHOLDER.fullmatch(secret) is not None
                elif name == "cookie":
                    ok = all(clean_cookie_pair(p) for p in value.split(";"))
                elif name == "set-cookie":
                    ok = all(clean_cookie_pair(line.split(";", 1)[0]) for line in value.split("\n"))
                else:
                    continue
                if not ok:
                    left.append(f"{side}.headers[{i}]")
        cookies = message.get("cookies")
        cookies = (
            [cookies] if isinstance(cookies, dict) else cookies if isinstance(cookies, list) else []
        )
        for i, c in enumerate(cookies):
            v = c.get("value") if isinstance(c, dict) else None
            if isinstance(v, str) and not clean_cookie_value(v):
                left.append(f"{side}.cookies[{i}]")
    return left


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


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
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
    left = {i: p for i, e in enumerate(sanitized["log"]["entries"]) if (p := leftover_secrets(e))}
    assert left == {}
    assert without_redactable(sanitized) == without_redactable(original)


def test_corpus_has_secrets_to_find(corpus: Path) -> None:
    """Guards the test above: the corpus does hold cookies and credentials for it to check."""
    held = sum(
        len(leftover_secrets(e))
        for path in FILES
        if (doc := load_har(path))
        for e in doc["log"]["entries"]
    )
    assert held > 100
