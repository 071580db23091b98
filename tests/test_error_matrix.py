"""Every kind of broken or odd input, and exactly what the user gets for it.

Two outcomes only. A HAR harscrub can read, however odd, is sanitized with nothing lost (exit
0). Anything else gets one line on stderr naming the file, the place and the problem, exit 2,
and nothing written. No input may end in a traceback, and no message may quote the input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harscrub import cli

from .factories import BEARER_CANARY, CANARY, SECRET_HAR

COOKIE = f"sid={CANARY}".encode()
ENTRY = json.dumps(json.loads(SECRET_HAR)["log"]["entries"][0]).encode()


def log(entries: bytes, *, before: bytes = b"") -> bytes:
    """A HAR whose log holds before (raw members) and then the raw entries list."""
    return (
        b'{"log": {"version": "1.2", "creator": {"name": "t", "version": "0"}, '
        + before
        + (b'"entries": ' + entries + b"}}")
    )


def one(entry: bytes) -> bytes:
    return log(b"[" + entry + b"]")


def cookie_entry(value: bytes, *, extra: bytes = b"") -> bytes:
    """An entry whose Cookie header holds value (raw JSON string content)."""
    return (
        b'{"request": {"headers": [{"name": "Cookie", "value": "' + value + b'"}]' + extra + b"}}"
    )


@dataclass(frozen=True)
class Fails:
    """Exit 2 with one line holding this message; nothing written."""

    message: str


@dataclass(frozen=True)
class Kept:
    """Exit 0: sanitized; the output holds these raw bytes (the odd thing, kept) and no canary."""

    present: tuple[bytes, ...] = ()
    entries: int = 1


MATRIX: dict[str, tuple[bytes, Fails | Kept]] = {
    # Not a HAR at all
    "empty file": (b"", Fails("in.har: empty file, not a HAR")),
    "whitespace": (b" \n\t\r\n", Fails("in.har: empty file, not a HAR")),
    "null": (b"null", Fails("not a HAR: the file holds JSON that is not an object")),
    "a list": (b"[]", Fails("not a HAR: the file holds JSON that is not an object")),
    "an HTML page": (b"<html>", Fails("in.har:1:1: not valid JSON: expected '{' at the start")),
    "JSON without log": (b'{"version": 1}', Fails('not a HAR: no top-level "log" object')),
    "log without entries": (b'{"log": {"version": "1.2"}}', Fails('log has no "entries" list')),
    "entries not a list": (
        b'{"log": {"entries": "x"}}',
        Fails("not a HAR: log.entries is a string, not a list"),
    ),
    "an entry that is not an object": (
        log(b"[" + ENTRY + b", 42]"),
        Fails("in.har: log.entries[1] is a number, not an object"),
    ),
    "JSONP-wrapped": (
        b"callback(" + SECRET_HAR + b");",
        Fails("in.har:1:1: not a HAR: the JSON is wrapped in a JavaScript call (JSONP)"),
    ),
    "two HARs in one file": (SECRET_HAR + SECRET_HAR, Fails("unexpected data after the end")),
    "log twice": (
        b'{"log": {"entries": []}, "log": {"entries": []}}',
        Fails('"log" appears twice'),
    ),
    "entries twice": (
        b'{"log": {"entries": [], "entries": []}}',
        Fails('"entries" appears twice in log'),
    ),
    # Broken JSON
    "truncated in an entry": (
        SECRET_HAR[:200],
        Fails("in.har: truncated: the file ends inside log.entries[0]"),
    ),
    "truncated after the entries": (SECRET_HAR[:-1], Fails("in.har: truncated: the file ends")),
    "a trailing comma": (one(b'{"a": 1,}'), Fails("not valid JSON in log.entries[0]")),
    "NaN": (one(b'{"time": NaN}'), Fails("(NaN is not a JSON number)")),
    "Infinity": (one(b'{"time": -Infinity}'), Fails("(-Infinity is not a JSON number)")),
    "a number no float holds": (one(b'{"time": 1e999}'), Fails("(number too large for JSON)")),
    "an integer of 4,301 digits": (
        one(b'{"time": ' + b"1" * 4301 + b"}"),
        Fails("(an integer of more than 4300 digits)"),
    ),
    "invalid UTF-8 bytes": (
        one(cookie_entry(b"sid=\xff" + CANARY.encode())),
        Fails("not valid JSON in log.entries[0] (a byte that is not UTF-8; save the HAR as UTF-8)"),
    ),
    "Latin-1 text": (
        one(b'{"comment": "caf\xe9"}'),
        Fails("(a byte that is not UTF-8; save the HAR as UTF-8)"),
    ),
    "a NUL byte after the HAR": (SECRET_HAR + b"\0", Fails("unexpected data after the end")),
    "nested 1,000 deep": (
        one(b'{"_x": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
        Fails("in.har: log.entries[0]: nested too deeply for an exact copy"),
    ),
    "nested 100,000 deep": (
        one(b'{"_x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        Fails("log.entries[0]: nested too deeply for an exact copy"),
    ),
    "nested 100,000 deep outside the entries": (
        log(b"[]", before=b'"_x": ' + b"[" * 100_000 + b"]" * 100_000 + b", "),
        Fails("log._x: nested too deeply for an exact copy"),
    ),
    # Odd but readable: sanitized, with the odd part kept as it was
    "UTF-8 with a BOM": (b"\xef\xbb\xbf" + SECRET_HAR, Kept()),
    "UTF-16 with a BOM": (SECRET_HAR.decode().encode("utf-16"), Kept()),
    "UTF-16 without a BOM": (SECRET_HAR.decode().encode("utf-16-le"), Kept()),
    "UTF-32": (SECRET_HAR.decode().encode("utf-32"), Kept()),
    "lone surrogate escapes": (
        one(cookie_entry(b"sid=" + CANARY.encode() + b"\\ud800", extra=b', "url": "/\\udfff"')),
        Kept((b'"/\\udfff"',)),
    ),
    "a lone surrogate in a key": (
        one(b'{"_\\ud800": "\\udc00", ' + cookie_entry(COOKIE)[1:]),
        Kept((b'"_\\ud800": "\\udc00"',)),
    ),
    "integers beyond 64 bits": (
        one(b'{"time": 123456789012345678901234567890, ' + cookie_entry(COOKIE)[1:]),
        Kept((b"123456789012345678901234567890",)),
    ),
    "a duplicate key in an entry (the last one counts, as in every JSON reader)": (
        one(cookie_entry(COOKIE + b'", "value": "' + COOKIE + b"x")),
        Kept(),
    ),
    "headers and cookies with null and non-string names and values": (
        one(
            b'{"request": {"headers": [{"name": null, "value": "x"}, {"name": "Cookie", "value":'
            b' null}, {"name": 5, "value": 7}, {"name": "Cookie", "value": "' + COOKIE + b'"}],'
            b' "cookies": [{"name": null, "value": "' + CANARY.encode() + b'"}, {"value": 3}]}}'
        ),
        # A cookie's value is redacted whatever its type: a number can be a session id.
        Kept((b'"name": null', b'"value": null', b'"value": 7')),
    ),
    "headers given as strings": (
        one(b'{"request": {"headers": ["Cookie: ' + COOKIE + b'", "Accept: */*"]}}'),
        Kept((b'"Accept: */*"',)),
    ),
    "an entry with no request and a null response": (
        log(b'[{"response": null}, ' + ENTRY + b"]"),
        Kept((b'"response": null',), entries=2),
    ),
    "no entries": (log(b"[]"), Kept(entries=0)),
    "a body marked base64 that is not base64 (scanned as the text it is)": (
        one(
            b'{"response": {"content": {"mimeType": "image/png", "encoding": "base64", "text": '
            b'"not base64: ' + COOKIE + b'"}}}'
        ),
        Kept((b'"text": "not base64: sid=[REDACTED:',)),
    ),
}


def run_cli(args: list[str]) -> Any:
    return CliRunner().invoke(cli.main, args)


def expect(outcome: Fails | Kept, code: int, stderr: str, folder: Path, data: bytes) -> None:
    out = folder / "out.har"
    src = folder / "in.har"
    assert CANARY not in stderr
    assert BEARER_CANARY not in stderr
    assert src.read_bytes() == data  # the input is never touched
    if isinstance(outcome, Fails):
        assert code == 2
        assert stderr.startswith("harscrub: ")
        assert stderr.count("\n") == 1
        assert outcome.message in stderr
        assert sorted(p.name for p in folder.iterdir()) == ["in.har"]
        return
    assert code == 0, stderr.splitlines()[-1:]  # the closing line: it quotes no input
    written = out.read_bytes()
    assert CANARY.encode() not in written
    assert BEARER_CANARY.encode() not in written
    document = json.loads(written)  # not orjson: it refuses the lone surrogates kept
    assert len(document["log"]["entries"]) == outcome.entries
    for kept in outcome.present:
        assert kept in written


@pytest.mark.parametrize("case", MATRIX)
def test_each_bad_or_odd_input_gets_what_a_user_expects(tmp_path: Path, case: str) -> None:
    data, outcome = MATRIX[case]
    (tmp_path / "in.har").write_bytes(data)
    result = run_cli([str(tmp_path / "in.har"), "-o", str(tmp_path / "out.har"), "-q"])
    expect(outcome, result.exit_code, result.stderr, tmp_path, data)


@pytest.mark.parametrize("case", [c for c, (_, o) in MATRIX.items() if isinstance(o, Fails)])
def test_check_and_in_place_refuse_bad_input_alike(tmp_path: Path, case: str) -> None:
    data, outcome = MATRIX[case]
    src = tmp_path / "in.har"
    src.write_bytes(data)
    for args in (["--check"], ["--in-place"]):
        result = run_cli([str(src), *args])
        expect(outcome, result.exit_code, result.stderr, tmp_path, data)


def test_a_single_50_mb_string(tmp_path: Path) -> None:
    # In a process of its own: the string's copies would stay in this one's memory.
    blob = b"x" * (50 << 20)
    data = one(
        b'{"request": {"url": "https://a.test/?token=' + CANARY.encode() + b'"}, "response": '
        b'{"content": {"mimeType": "text/plain", "text": "' + blob + b" sid=" + CANARY.encode()
        + b'"}}}'
    )  # fmt: skip
    (tmp_path / "in.har").write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-m", "harscrub", tmp_path / "in.har", "-o", tmp_path / "out.har", "-q"],
        capture_output=True,
        check=False,
    )
    expect(Kept((blob,)), done.returncode, done.stderr.decode(), tmp_path, data)


SURROGATE = "\ud800"  # browsers write it, escaped, when a page holds a broken string

# Each holds the canary where a rule takes it, with a lone surrogate beside or around it.
SURROGATE_PLACES: dict[str, dict[str, Any]] = {
    "Cookie header": {"headers": [{"name": "Cookie", "value": f"sid={CANARY}{SURROGATE}"}]},
    "header name": {"headers": [{"name": f"X-{SURROGATE}", "value": f"Bearer {CANARY}"}]},
    "cookie": {"cookies": [{"name": f"sid{SURROGATE}", "value": f"{CANARY}{SURROGATE}"}]},
    "URL query": {"url": f"https://a.test/p{SURROGATE}?token={CANARY}&x={SURROGATE}"},
    "JSON in a URL query": {
        "url": "https://a.test/?state="
        + json.dumps({"password": CANARY, "s": SURROGATE}, ensure_ascii=False)
    },
    "URL path": {"url": f"https://a.test/{SURROGATE}/?sid={CANARY}"},
    "form body": {
        "postData": {
            "mimeType": "application/x-www-form-urlencoded",
            "text": f"password={CANARY}{SURROGATE}&a={SURROGATE}",
        }
    },
    "JSON body": {
        "postData": {
            "mimeType": "application/json",
            "text": json.dumps({"password": CANARY, "x": SURROGATE}, ensure_ascii=False),
        }
    },
    "multipart body": {
        "postData": {
            "mimeType": "multipart/form-data; boundary=XX",
            "text": f'--XX\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
            f"{CANARY}{SURROGATE}\r\n--XX--\r\n",
        }
    },
    "text body and a copy": {
        "headers": [{"name": "Cookie", "value": f"sid={CANARY}"}],
        "postData": {"mimeType": "text/plain", "text": f"{SURROGATE} {CANARY} {SURROGATE}"},
    },
}


@pytest.mark.parametrize("place", SURROGATE_PLACES)
def test_lone_surrogates_beside_a_secret_are_kept_and_the_secret_goes(
    tmp_path: Path, place: str
) -> None:
    # The URL holds one apart from the secret, which must come out as it went in.
    request = {"method": "POST", "url": f"https://a.test/{SURROGATE}", "headers": []}
    entry = {"request": {**request, **SURROGATE_PLACES[place]}}
    data = json.dumps({"log": {"version": "1.2", "entries": [entry]}}).encode()  # \ud800
    (tmp_path / "in.har").write_bytes(data)
    result = run_cli([str(tmp_path / "in.har"), "-o", str(tmp_path / "out.har"), "-q"])
    expect(Kept(), result.exit_code, result.stderr, tmp_path, data)
    written = (tmp_path / "out.har").read_bytes()
    assert b"\\ud800" in written or b"%ED%A0%80" in written  # in a URL, percent-encoded
