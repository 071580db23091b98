"""--check: a read-only scan that says what would be redacted, for pre-commit and CI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harscrub.api import check_file, check_stream, scrub_file
from harscrub.options import Options
from harscrub.rules import Ruleset

from .factories import BEARER_CANARY, CANARY, SECRET_HAR, entry, har_bytes, header
from .test_cli import assert_no_secret, run


def test_a_dirty_har_fails_with_where_and_which_rule(src: Path) -> None:
    result = run("--check", str(src))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    where = f"{src}:1: entry 0 GET https://app.test/api: "
    assert f"{where}request.headers[0].value (authorization)" in lines
    assert f"{where}request.cookies[0].value (session-cookie)" in lines
    assert f"{where}response.headers[0].value (session-cookie)" in lines
    assert len(lines) == 4
    assert "4 values to redact in 1 of 1 file" in result.stderr
    assert_no_secret(result.stdout, result.stderr)
    assert sorted(p.name for p in src.parent.iterdir()) == ["login.har"]  # nothing written
    assert src.read_bytes() == SECRET_HAR


def test_harscrubs_own_output_passes(src: Path) -> None:
    clean = src.with_name("clean.har")
    assert run(str(src), "-o", str(clean)).exit_code == 0
    result = run("--check", str(clean))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "harscrub: 1 file checked, no secrets found\n"


@pytest.mark.parametrize("style", ["tag", "mask", "drop"])
def test_every_placeholder_style_passes_check_and_is_a_fixed_point(src: Path, style: str) -> None:
    once, twice = src.with_name("once.har"), src.with_name("twice.har")
    assert run(str(src), "-o", str(once), "--placeholder", style).exit_code == 0
    assert run("--check", str(once), "--placeholder", style).exit_code == 0
    assert run(str(once), "-o", str(twice), "--placeholder", style).exit_code == 0
    assert twice.read_bytes() == once.read_bytes()


def test_quiet_keeps_the_list_and_drops_the_summary(src: Path) -> None:
    result = run("--check", "-q", str(src))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 4
    assert result.stderr == ""


def test_stdin() -> None:
    result = run("--check", "-", input=SECRET_HAR)
    assert result.exit_code == 1
    assert result.stdout.startswith("<stdin>:1: entry 0 GET")


def test_a_bad_har_is_exit_2_not_clean(tmp_path: Path) -> None:
    bad = tmp_path / "bad.har"
    bad.write_bytes(SECRET_HAR[:100])
    result = run("--check", str(bad))
    assert result.exit_code == 2
    assert "truncated" in result.stderr
    assert_no_secret(result.stdout, result.stderr)


@pytest.mark.parametrize("flag", [["-o", "x.har"], ["--in-place"]])
def test_check_writes_nothing_so_takes_no_output(src: Path, flag: list[str]) -> None:
    result = run("--check", str(src), *flag)
    assert result.exit_code == 2
    assert "--check writes nothing" in result.stderr


def test_findings_of_a_check_are_the_findings_of_a_scrub(src: Path, ruleset: Ruleset) -> None:
    options = Options()  # one key for both runs: equal tags
    checked = check_file(src, ruleset=ruleset, options=options)
    scrubbed = scrub_file(src, src.with_name("out.har"), ruleset=ruleset, options=options)
    assert checked.redactions == scrubbed.redactions
    assert checked.output is None
    assert checked.entries == scrubbed.entries == 1


def test_the_urls_in_findings_are_sanitized(ruleset: Ruleset) -> None:
    url = f"https://app.test/cb?code={CANARY}&state=ok"
    data = har_bytes(entry(url, request_headers=[header("Authorization", BEARER_CANARY)]))
    report = check_stream(io.BytesIO(data), ruleset=ruleset)
    assert len(report.redactions) == 2
    assert all(r.url.startswith("https://app.test/cb?code=[REDACTED:") for r in report.redactions)
    assert all(r.url.endswith("&state=ok") for r in report.redactions)
    assert CANARY not in json.dumps([r.url for r in report.redactions])
