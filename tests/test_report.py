"""--report: the JSON report (a versioned schema) and SARIF, which name places, never values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

import harscrub
from harscrub.report import REPORT_VERSION

from .factories import BEARER_CANARY, CANARY, SECRET_HAR, entry, har, header
from .test_cli import assert_no_secret, run

SCHEMA = json.loads((Path(harscrub.__file__).parent / "report.schema.json").read_text())


def indented_har(tmp_path: Path) -> Path:
    """Two entries in the 2-space layout browsers write, so each starts on its own line."""
    doc = har(
        entry("https://app.test/home"),
        entry(
            f"https://app.test/cb?code={CANARY}&state=ok",
            request_headers=[header("Authorization", f"Bearer {BEARER_CANARY}")],
        ),
    )
    path = tmp_path / "two.har"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return path


def report_of(*args: str) -> tuple[int, dict[str, Any], bytes]:
    *_, path = args
    result = run(*args)
    data = Path(path).read_bytes()
    assert_no_secret(data, result.stdout, result.stderr)
    return result.exit_code, json.loads(data), data


def test_json_report_follows_its_schema_and_names_each_finding(tmp_path: Path) -> None:
    src = indented_har(tmp_path)
    out = tmp_path / "clean.har"
    code, report, _ = report_of(str(src), "-o", str(out), "--report", str(tmp_path / "r.json"))
    assert code == 0
    jsonschema.validate(report, SCHEMA)
    assert (report["schema"], report["version"], report["mode"]) == (
        "harscrub-report",
        REPORT_VERSION,
        "scrub",
    )
    [file] = report["files"]
    assert (file["file"], file["output"], file["status"], file["entries"]) == (
        str(src),
        str(out),
        "ok",
        2,
    )
    by_path = {f["path"]: f for f in file["findings"]}
    auth = by_path["request.headers[0].value"]
    assert (auth["entry"], auth["method"], auth["rule"], auth["action"], auth["place"]) == (
        1,
        "GET",
        "authorization",
        "keep-scheme",
        "header",
    )
    assert auth["length"] == len(BEARER_CANARY)
    assert auth["url"].startswith("https://app.test/cb?code=[REDACTED:oauth-code:")
    # The line is where the entry's "{" stands in the input.
    lines = src.read_text().splitlines()
    assert lines[auth["line"] - 1].strip() == "{"
    assert lines[auth["line"]].strip().startswith('"startedDateTime"')
    assert by_path["request.url"]["rule"] == "oauth-code"
    assert report["totals"]["findings"] == len(file["findings"]) == 2
    # The tag in the report is the tag in the output.
    assert f":{auth['tag']}]" in out.read_text()


def test_check_report_to_stdout_replaces_the_list(tmp_path: Path) -> None:
    src = tmp_path / "login.har"
    src.write_bytes(SECRET_HAR)
    result = run("--check", str(src), "--report", "-")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["mode"] == "check"
    assert report["files"][0]["output"] is None
    assert report["totals"]["byRule"] == {"authorization": 1, "session-cookie": 3}
    assert_no_secret(result.stdout, result.stderr)


def test_a_batch_report_lists_failures_and_skips(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.har").write_bytes(SECRET_HAR)
    (folder / "broken.har").write_bytes(SECRET_HAR[:-40])
    (folder / "loop").symlink_to(folder)
    code, report, _ = report_of(
        str(folder), "-o", str(tmp_path / "out"), "-j", "1", "--report", str(tmp_path / "r.json")
    )
    assert code == 2
    jsonschema.validate(report, SCHEMA)
    status = {Path(f["file"]).name: (f["status"], f.get("error", "")) for f in report["files"]}
    assert status["good.har"] == ("ok", "")
    assert status["broken.har"][0] == "failed"
    assert "truncated" in status["broken.har"][1]
    assert [s["path"] for s in report["skipped"]] == [str(folder / "loop")]
    assert (report["totals"]["files"], report["totals"]["failed"]) == (2, 1)


def test_sarif(tmp_path: Path) -> None:
    src = indented_har(tmp_path)
    code, sarif, _ = report_of(
        "--check", str(src), "--report-format", "sarif", "--report", str(tmp_path / "r.sarif")
    )
    assert code == 1
    assert sarif["version"] == "2.1.0"
    [sarif_run] = sarif["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert {"authorization", "oauth-code", "jwt"} <= {r["id"] for r in rules}
    results = sarif_run["results"]
    assert len(results) == 2
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == src.as_uri()
        line = location["region"]["startLine"]
        assert src.read_text().splitlines()[line - 1].strip() == "{"
    assert sarif_run["invocations"][0]["executionSuccessful"] is True


def test_sarif_uris_of_relative_paths_stay_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("my tickets").mkdir()
    Path("my tickets/a.har").write_bytes(SECRET_HAR)
    result = run("--check", "my tickets", "--report-format", "sarif", "--report", "r.sarif")
    assert result.exit_code == 1
    sarif = json.loads(Path("r.sarif").read_text())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {"my%20tickets/a.har"}


def test_no_report_is_written_when_the_run_fails_as_a_whole(tmp_path: Path) -> None:
    src = tmp_path / "bad.har"
    src.write_bytes(b"[]")
    result = run(str(src), "-o", str(tmp_path / "out.har"), "--report", str(tmp_path / "r.json"))
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.har"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{src}", "--check", "--report", "{src}"], "is a HAR this run reads or writes"),
        (["{src}", "-o", "{tmp}/out.har", "--report", "{tmp}/out.har"], "reads or writes"),
        (["{tmp}", "--check", "--report", "{src}"], "would be taken for a HAR of this run"),
        (["{src}", "--check", "--report", "{tmp}/no/r.json"], "the report's folder does not"),
        (["{src}", "--check", "--report-format", "sarif"], "give that too"),
    ],
)
def test_a_report_never_replaces_a_har(tmp_path: Path, args: list[str], message: str) -> None:
    src = tmp_path / "login.har"
    src.write_bytes(SECRET_HAR)
    result = run(*(a.format(src=src, tmp=tmp_path) for a in args), input=SECRET_HAR)
    assert result.exit_code == 2
    assert message in result.stderr
    assert src.read_bytes() == SECRET_HAR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["login.har"]


def test_a_report_clashing_with_an_output_is_refused_after_the_run(tmp_path: Path) -> None:
    """A named file is taken whatever its name, so only the run knows it: the HAR stays."""
    notes, other = tmp_path / "notes.txt", tmp_path / "b.har"
    notes.write_bytes(SECRET_HAR)
    other.write_bytes(SECRET_HAR)
    out = tmp_path / "out"
    result = run(str(notes), str(other), "-o", str(out), "--report", str(out / "notes.txt"))
    assert result.exit_code == 2
    assert "is a HAR this run reads or writes" in result.stderr
    assert_no_secret((out / "notes.txt").read_bytes())  # the HAR, not a report over it


def test_a_report_to_stdout_by_another_name_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harscrub", "-", "--report", "/dev/stdout"],
        input=SECRET_HAR,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == b"harscrub: the HAR goes to stdout; give --report a file name\n"
    assert done.stdout == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "login.har"
    src.write_bytes(SECRET_HAR)
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "harscrub", "--check", "-q", str(src)],
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == b"harscrub: <stdout>: cannot write (No space left on device)\n"


def test_a_report_named_like_a_har_in_a_walked_folder_is_refused_up_front(
    tmp_path: Path,
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.har").write_bytes(SECRET_HAR)
    for report in (src / "report.har", tmp_path / "out" / "sub" / "r.har"):
        result = run(str(src), "-o", str(tmp_path / "out"), "--report", str(report))
        assert result.exit_code == 2
        assert "would be taken for a HAR of this run" in result.stderr
        assert (src / "a.har").read_bytes() == SECRET_HAR
        assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["rules"], ["--help"], ["--version"]])
def test_other_commands_on_a_full_stdout_are_one_line(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "harscrub", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == b"harscrub: <stdout>: cannot write (No space left on device)\n"


def test_a_run_can_keep_counts_only_with_the_same_totals(tmp_path: Path) -> None:
    """What the CLI does without --report or --check: memory does not grow with findings."""
    src = tmp_path / "in.har"
    src.write_bytes(SECRET_HAR)
    key = b"k" * 32
    full = harscrub.scrub_file(src, tmp_path / "a.har", options=harscrub.Options(key=key))
    counts = harscrub.scrub_file(
        src, tmp_path / "b.har", options=harscrub.Options(key=key, keep_findings=False)
    )
    assert full.redactions
    assert counts.redactions == ()
    assert (counts.total, counts.redacted) == (full.total, full.redacted)
    assert counts.by_rule_and_place() == full.by_rule_and_place()
    assert (tmp_path / "a.har").read_bytes() == (tmp_path / "b.har").read_bytes()
