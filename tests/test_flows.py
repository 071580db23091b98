"""End to end: realistic captures through harscrub. No planted secret survives; the rest does.

Failure messages name the flow, the secret's index and the encoding, or a path: never a secret.
Assertions compare booleans or lists of such descriptions, so that pytest's introspection of the
compared operands has nothing secret to print either.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
import pytest

from harscrub.api import scrub_stream
from harscrub.options import Options

from .flows import CHUNK, Flow, SecretIndex, all_flows, check_har, describe, find_leaks, resolve

KEY = b"k" * 32
FLOWS = all_flows()
BY_NAME = {flow.name: flow for flow in FLOWS}
each_flow = pytest.mark.parametrize("flow", FLOWS, ids=[flow.name for flow in FLOWS])


def scrub(data: bytes) -> bytes:
    out = io.BytesIO()
    scrub_stream(io.BytesIO(data), out, options=Options(key=KEY))
    return out.getvalue()


@cache
def raw(name: str) -> bytes:
    return orjson.dumps(BY_NAME[name].har)


@cache
def scrubbed(name: str) -> bytes:
    return scrub(raw(name))


def same(a: Any, b: Any) -> bool:
    """Equal and of the same JSON type (3600 is not "3600", 1 is not True)."""
    return type(a) is type(b) and a == b


# --- The fixtures themselves ------------------------------------------------------------------


@each_flow
def test_flow_is_a_valid_har_with_its_secrets_planted(flow: Flow) -> None:
    """Guards against a test that passes vacuously: every expectation holds of the input."""
    problems = check_har(flow.har, strict=True)
    assert not problems, f"flow {flow.name}: the input is not a valid HAR"
    assert 4 <= len(flow.har["log"]["entries"]) <= 10
    assert flow.secrets, f"flow {flow.name}: no secrets planted"
    assert len(set(flow.secrets)) == len(flow.secrets)

    found = {i for i, encoding in find_leaks(raw(flow.name), flow.secrets) if encoding != CHUNK}
    missing = [f"#{i}" for i in range(len(flow.secrets)) if i not in found]
    assert not missing, f"flow {flow.name}: secrets not in the input"
    unmarked = [f"#{i}" for i, secret in enumerate(flow.secrets) if not _marked(secret)]
    assert not unmarked, f"flow {flow.name}: secrets without the FAKE marker"

    wrong = []
    for path, expected in flow.benign:
        try:
            ok = same(resolve(flow.har, path), expected)
        except LookupError:
            ok = False
        if not ok:
            wrong.append(path)
    assert not wrong, f"flow {flow.name}: benign values not in the input as given"

    index = SecretIndex(flow.secrets)
    leaky = [p for p, v in flow.benign if isinstance(v, str) and index.holds(v)]
    assert not leaky, f"flow {flow.name}: benign values holding a secret"

    # A shape around a secret must demand a change; one around text that may stay or go
    # (Capture.neutral) must accept the input as it is.
    vacuous = []
    for path, regex in flow.shapes:
        value = resolve(flow.har, path)
        matches = isinstance(value, str) and re.fullmatch(regex, value) is not None
        if not isinstance(value, str) or matches == index.holds(value):
            vacuous.append(path)
    assert not vacuous, f"flow {flow.name}: shapes that do not fit the input"
    assert flow.benign
    assert flow.shapes


def _marked(secret: str) -> bool:
    """The marker is in the secret, or in what it decodes to (Basic, SAML messages)."""
    if "FAKE" in secret or secret.startswith("fa4e"):
        return True
    try:
        decoded = base64.b64decode(secret, validate=True)
    except ValueError:
        return False
    if b"FAKE" in decoded:
        return True
    try:
        return b"FAKE" in zlib.decompress(decoded, -15)
    except zlib.error:
        return False


def test_secrets_differ_between_flows() -> None:
    secrets = [secret for flow in FLOWS for secret in flow.secrets]
    assert len(set(secrets)) == len(secrets)


def test_the_leak_detector_sees_every_encoding() -> None:
    """find_leaks must see a secret however it is written, or the tests above prove nothing."""
    secret = BY_NAME["presigned_urls"].secrets[1]  # a session token: base64 with + and /
    secrets = (secret,)
    json_body = orjson.dumps({"token": secret}).decode().replace("+", "\\u002b")
    planted = {
        "raw": {"url": f"https://x.test/?t={secret}"},
        "percent": {"url": "https://x.test/?t=" + quote(secret, safe="")},
        "form": {"text": "a=1&t=" + quote_plus(secret)},
        "nested url": {"url": "https://x.test/?r=" + quote("https://y.test/?t=" + quote(secret))},
        "json in a string": {"text": json_body},
        "base64 body": {
            "encoding": "base64",
            "text": base64.b64encode(json_body.encode()).decode(),
        },
        "piece": {"text": "prefix " + secret[40:52] + " suffix"},
    }
    missed = [name for name, doc in planted.items() if not find_leaks(orjson.dumps(doc), secrets)]
    assert not missed
    assert not find_leaks(orjson.dumps({"text": secret[40:51]}), secrets)  # 11 chars: too short


def test_flows_are_deterministic() -> None:
    again = all_flows()
    changed = [a.name for a, b in zip(FLOWS, again, strict=True) if a.har != b.har]
    assert not changed


# --- Through harscrub ---------------------------------------------------------------------------


@each_flow
def test_output_is_the_same_har(flow: Flow) -> None:
    doc = orjson.loads(scrubbed(flow.name))
    problems = check_har(doc)
    assert not problems, f"flow {flow.name}: the output is not a valid HAR: {problems}"
    log, before = doc["log"], flow.har["log"]
    assert len(log["entries"]) == len(before["entries"])
    assert len(log["pages"]) == len(before["pages"])
    assert "_harscrub" in log


def fits_shape(value: Any, pattern: str) -> bool:
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def misfits(
    flow: Flow, expectations: tuple[tuple[str, Any], ...], fits: Callable[[Any, Any], bool]
) -> list[tuple[str, Any, str]]:
    """(path, expected, what is there, never a secret) where the output does not fit."""
    doc = orjson.loads(scrubbed(flow.name))
    wrong = []
    for path, expected in expectations:
        try:
            value = resolve(doc, path)
        except LookupError:
            wrong.append((path, expected, "gone"))
            continue
        if not fits(value, expected):
            wrong.append((path, expected, describe(value, flow.secrets)))
    return wrong


@each_flow
def test_no_planted_secret_survives(flow: Flow) -> None:
    leaks = find_leaks(scrubbed(flow.name), flow.secrets)
    survivors = [f"secret #{i} survives ({encoding})" for i, encoding in leaks]
    clean = not survivors
    assert clean, f"flow {flow.name}: " + "; ".join(survivors)


@each_flow
def test_benign_values_survive_byte_for_byte(flow: Flow) -> None:
    changed = [
        f"{path}: {got} != {expected!r}" for path, expected, got in misfits(flow, flow.benign, same)
    ]
    kept = not changed
    assert kept, f"flow {flow.name}: {len(changed)} benign values changed:\n" + "\n".join(changed)


@each_flow
def test_values_with_secrets_keep_their_shape(flow: Flow) -> None:
    wrong = [f"{path}: {got}" for path, _, got in misfits(flow, flow.shapes, fits_shape)]
    shaped = not wrong
    assert shaped, f"flow {flow.name}: {len(wrong)} values out of shape:\n" + "\n".join(wrong)


@each_flow
def test_second_run_changes_nothing(flow: Flow) -> None:
    once = scrubbed(flow.name)
    unchanged = scrub(once) == once
    assert unchanged, f"flow {flow.name}: a second run with the same key changed the output"


def test_command_line_end_to_end(tmp_path: Path) -> None:
    flow = BY_NAME["oauth_code_pkce"]
    (tmp_path / "in.har").write_bytes(raw(flow.name))
    done = subprocess.run(
        [sys.executable, "-m", "harscrub", "in.har", "-o", "out.har"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"flow {flow.name}: exit code {done.returncode}"
    assert (tmp_path / "in.har").read_bytes() == raw(flow.name)
    data = (tmp_path / "out.har").read_bytes()
    assert not check_har(orjson.loads(data))
    survivors = [f"secret #{i} ({enc})" for i, enc in find_leaks(data, flow.secrets)]
    clean = not survivors
    assert clean, f"flow {flow.name}: the CLI's output keeps " + "; ".join(survivors)
    leaked = any(secret.encode() in done.stdout + done.stderr for secret in flow.secrets)
    assert not leaked, f"flow {flow.name}: the CLI printed a secret"
