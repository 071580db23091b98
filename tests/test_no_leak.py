"""No planted secret leaves through any door: outputs, stdout, stderr, reports, error paths.

The realistic captures of tests/flows.py (every secret planted where it really travels, in every
encoding) go through each way of running harscrub, the failing ones included, and everything the
run wrote is searched with find_leaks: whole secrets in any encoding, decoded JSON, base64 bodies,
and any 12-character piece. Failure messages name the door and the flow, never a value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from .flows import all_flows, find_leaks

FLOWS = all_flows()
SECRETS = tuple(secret for flow in FLOWS for secret in flow.secrets)
HARSCRUB = [sys.executable, "-m", "harscrub"]


def run(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Exit code, and stdout + stderr together."""
    done = subprocess.run([*HARSCRUB, *args], capture_output=True, cwd=cwd, check=False)
    return done.returncode, done.stdout + done.stderr


def leaks_in(folder: Path, printed: bytes, inputs: set[Path]) -> list[str]:
    """'where: secret #i (encoding)' for every leak in what the run printed or wrote."""
    found = [f"printed: secret #{i} ({how})" for i, how in find_leaks(printed, SECRETS)]
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path not in inputs:
            leaks = find_leaks(_without_rule_catalogue(path), SECRETS)
            found += [f"{path.name}: secret #{i} ({how})" for i, how in leaks]
    return found


def _without_rule_catalogue(path: Path) -> bytes:
    """The file's bytes; a SARIF log without its list of rules, text fixed in harscrub that
    names public token prefixes (an AWS session token's IQoJb3JpZ2luX2Vj)."""
    if path.suffix != ".sarif":
        return path.read_bytes()
    sarif = orjson.loads(path.read_bytes())
    for run in sarif["runs"]:
        del run["tool"]["driver"]["rules"]
    return orjson.dumps(sarif)


@pytest.fixture
def captures(tmp_path: Path) -> tuple[Path, set[Path]]:
    """A folder with each flow as a HAR, and one broken HAR with secrets before the break."""
    folder = tmp_path / "in"
    folder.mkdir()
    for flow in FLOWS:
        (folder / f"{flow.name}.har").write_bytes(orjson.dumps(flow.har))
    whole = orjson.dumps(FLOWS[0].har, option=orjson.OPT_INDENT_2)
    (folder / "zz-broken.har").write_bytes(whole[: len(whole) * 2 // 3])
    return folder, set(folder.iterdir())


DOORS: dict[str, str] = {
    "batch to a folder, report": "in -o out/ --report report.json",
    "batch on two workers, SARIF": "in -o out/ -j 2 --report r.sarif --report-format sarif",
    "check, report on stdout": "--check in --report -",
    "check, debug": "--check in --debug",
    "in place": "in --in-place --debug",
}


@pytest.mark.parametrize("door", DOORS)
def test_no_secret_leaves_by_any_door(captures: tuple[Path, set[Path]], door: str) -> None:
    folder, inputs = captures
    code, printed = run(DOORS[door].split(), folder.parent)
    assert code == 2  # the broken file fails the run, the others are done
    if door == "in place":
        inputs = {folder / "zz-broken.har"}  # the rest were rewritten and are outputs now
    assert leaks_in(folder.parent, printed, inputs) == []


@pytest.mark.parametrize("flow", FLOWS[:6], ids=[flow.name for flow in FLOWS[:6]])
def test_one_file_to_stdout_and_to_a_file(tmp_path: Path, flow: object) -> None:
    (tmp_path / "in.har").write_bytes(orjson.dumps(flow.har))  # type: ignore[attr-defined]
    for args in (["in.har", "-o", "-"], ["in.har", "-o", "out.har", "--report", "-"]):
        code, printed = run(list(args), tmp_path)
        assert code == 0
        assert leaks_in(tmp_path, printed, {tmp_path / "in.har"}) == []


def test_broken_right_after_each_secret_says_nothing_of_it(tmp_path: Path) -> None:
    """Cut or corrupted just after a secret: the error's place is next to the secret, and the
    message must still not quote it."""
    data = orjson.dumps(FLOWS[0].har)
    problems = []
    for i, secret in enumerate(FLOWS[0].secrets):
        at = data.find(secret.encode())
        if at < 0:
            continue
        end = at + len(secret)
        for how, broken in {
            "cut": data[:end],
            "a stray quote": data[:end] + b'"' + data[end:],
            "a NaN": data[:end] + b'", "x": NaN, "y": "' + data[end:],
            "a bad byte": data[:end] + b"\xff" + data[end:],
        }.items():
            (tmp_path / "in.har").write_bytes(broken)
            code, printed = run(["in.har", "-o", "out.har"], tmp_path)
            lines = printed.count(b"\n")
            if code != 2 or lines != 1:
                problems.append(f"secret #{i}, {how}: exit {code}, {lines} lines")
            if find_leaks(printed, SECRETS):
                problems.append(f"secret #{i}, {how}: the message quotes a secret")
            if (tmp_path / "out.har").exists():
                problems.append(f"secret #{i}, {how}: an output was written")
    assert problems == []
