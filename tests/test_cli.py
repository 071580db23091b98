"""The command line as a user meets it: files written, messages, exit codes, nothing left behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import regex
from click.testing import CliRunner, Result

from harscrub import __version__, cli

from .factories import BEARER_CANARY, CANARY, SECRET_HAR
from .test_rules import REPO_RULES


def run(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(cli.main, list(args), input=input)


def assert_no_secret(*texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert CANARY.encode() not in data
        assert BEARER_CANARY.encode() not in data


def test_writes_clean_har_and_says_where(src: Path) -> None:
    out = src.with_name("clean.har")
    result = run(str(src), "-o", str(out))
    assert result.exit_code == 0
    assert result.stderr.endswith(f"\nharscrub: wrote {out} (1 entry, 4 values redacted)\n")
    table = [line.split() for line in result.stderr.splitlines()[:-1]]
    assert ["authorization", "header", "1"] in table
    assert ["session-cookie", "cookie", "3"] in table
    doc = json.loads(out.read_bytes())
    assert doc["log"]["pages"] == [{"id": "page_1", "title": "Zürich"}]
    assert doc["log"]["entries"][0]["request"]["headers"][0]["value"].startswith(
        "Bearer [REDACTED:"
    )
    assert doc["log"]["_harscrub"] == {
        "version": __version__,
        "placeholder": "tag",
        "rulePacks": [f"builtin:{p.stem}" for p in sorted(REPO_RULES.glob("*.toml"))],
    }
    assert_no_secret(out.read_bytes(), result.stdout, result.stderr)
    assert src.read_bytes() == SECRET_HAR


def test_without_output_writes_beside_the_input(src: Path) -> None:
    result = run(str(src))
    expected = src.with_name("login.sanitized.har")
    assert result.exit_code == 0
    assert f"wrote {expected}" in result.stderr
    assert_no_secret(expected.read_bytes())
    assert src.read_bytes() == SECRET_HAR


def test_stdin_to_stdout() -> None:
    result = run("-", input=SECRET_HAR)
    assert result.exit_code == 0
    assert (
        json.loads(result.stdout)["log"]["entries"][0]["request"]["url"] == "https://app.test/api"
    )
    assert "wrote <stdout>" in result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_in_place_replaces_the_input_and_keeps_its_mode(src: Path) -> None:
    src.chmod(0o640)
    result = run(str(src), "--in-place", "-q")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert_no_secret(src.read_bytes())
    assert stat.S_IMODE(src.stat().st_mode) == 0o640
    assert sorted(p.name for p in src.parent.iterdir()) == ["login.har"]


def test_a_second_run_gives_the_same_bytes(src: Path) -> None:
    once, twice = src.with_name("once.har"), src.with_name("twice.har")
    assert run(str(src), "-o", str(once)).exit_code == 0
    result = run(str(once), "-o", str(twice))
    assert result.exit_code == 0
    assert "0 values redacted" in result.stderr
    assert twice.read_bytes() == once.read_bytes()


def test_compact(src: Path) -> None:
    out = src.with_name("clean.har")
    assert run(str(src), "-o", str(out), "--compact").exit_code == 0
    assert out.read_bytes().count(b"\n") == 1


def test_version_and_help() -> None:
    assert run("--version").stdout == f"harscrub, version {__version__}\n"
    help_text = run("--help").stdout
    assert "Examples:" in help_text
    assert "--in-place" in help_text


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harscrub", "--version"], capture_output=True, check=False
    )
    assert done.returncode == 0
    assert __version__.encode() in done.stdout


def expect_failure(result: Result, message: str, folder: Path, before: set[str]) -> None:
    """Exit 2, one line naming the problem, and the folder exactly as it was."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("harscrub: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert {p.name for p in folder.iterdir()} == before
    assert_no_secret(result.stdout, result.stderr)


BAD_INPUTS: dict[str, tuple[bytes, str]] = {
    "not json": (
        b'{"log": {"entries": [}',
        "login.har:1:22: not valid JSON: expected a JSON value",
    ),
    "jsonp": (b"cb(" + SECRET_HAR + b")", "wrapped in a JavaScript call (JSONP)"),
    "not a har": (b'{"request": {}}', 'not a HAR: no top-level "log" object'),
    "truncated": (
        SECRET_HAR[: len(SECRET_HAR) // 2],
        "truncated: the file ends inside log.entries[0]",
    ),
    "empty": (b"", "empty file, not a HAR"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exit_2_one_line_nothing_written(tmp_path: Path, case: str) -> None:
    data, message = BAD_INPUTS[case]
    src = tmp_path / "login.har"
    src.write_bytes(data)
    before = {p.name for p in tmp_path.iterdir()}
    expect_failure(run(str(src), "-o", str(tmp_path / "out.har")), message, tmp_path, before)
    assert src.read_bytes() == data


def test_bad_input_in_place_leaves_the_input_untouched(tmp_path: Path) -> None:
    src = tmp_path / "login.har"
    data = SECRET_HAR[:-5]
    src.write_bytes(data)
    expect_failure(run(str(src), "--in-place"), "truncated", tmp_path, {"login.har"})
    assert src.read_bytes() == data


def test_bad_stdin_writes_nothing_to_stdout() -> None:
    result = run("-", input=SECRET_HAR[:-5])
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{src}", "-o", "{src}"], "the output is the input; use --in-place to overwrite it"),
        (["{src}", "--in-place", "-o", "{dir}/x.har"], "--in-place rewrites a named input file"),
        (["{dir}"], "is a folder; say where its files go with -o DIR, or use --in-place"),
        (["{src}", "{src}", "-o", "{dir}/out"], "would both be written to"),
        (["{src}", "-"], "'-' (stdin) can only be the one input"),
        (["{src}", "--check", "-o", "{dir}/x.har"], "--check writes nothing"),
        (["{src}", "-o", "-", "--report", "-"], "give --report a file name"),
        (["{dir}/missing.har"], "missing.har: cannot read (No such file or directory)"),
        (["{src}", "-o", "{dir}/no/such/folder/out.har"], "the output folder does not exist"),
        (["{src}", "-o", "{dir}"], "is also an input; only --in-place overwrites an input"),
    ],
)
def test_usage_and_path_errors(src: Path, args: list[str], message: str) -> None:
    folder = src.parent
    before = {p.name for p in folder.iterdir()}
    argv = [a.format(src=src, dir=folder) for a in args]
    expect_failure(run(*argv), message, folder, before)
    assert src.read_bytes() == SECRET_HAR


def test_unreadable_input(src: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:  # root reads any file, so make the open fail as it would for a user
        real_open = Path.open

        def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self == src:
                raise PermissionError(13, "Permission denied")
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", denied)
    src.chmod(0)
    expect_failure(run(str(src)), "cannot read (Permission denied)", src.parent, {"login.har"})


def test_symlinked_output_is_written_through(src: Path) -> None:
    real = src.with_name("real.har")
    real.write_bytes(b"old")
    link = src.with_name("link.har")
    link.symlink_to(real.name)
    assert run(str(src), "-o", str(link)).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_bytes())["log"]["entries"]


def test_output_to_a_device_keeps_the_device(src: Path) -> None:
    null = src.with_name("null")
    null.symlink_to("/dev/null")
    result = run(str(src), "-o", str(null))
    assert result.exit_code == 0
    assert null.is_symlink()
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert sorted(p.name for p in src.parent.iterdir()) == ["login.har", "null"]


def test_a_file_named_dash_is_a_file(src: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(src.parent)
    src.rename("-")
    result = run("./-", "-o", "./out.har")
    assert result.exit_code == 0, result.output
    assert_no_secret(Path("out.har").read_bytes())


def test_default_output_that_links_to_the_input(src: Path) -> None:
    src.with_name("login.sanitized.har").symlink_to(src.name)
    before = {p.name for p in src.parent.iterdir()}
    expect_failure(run(str(src)), "the output is the input", src.parent, before)
    assert src.read_bytes() == SECRET_HAR


def test_input_that_is_not_a_file_needs_an_output(src: Path) -> None:
    done = run_subprocess(["/dev/stdin"], input=src.read_bytes())  # stdin is a pipe
    assert done.returncode == 2
    assert (
        done.stderr
        == b"harscrub: /dev/stdin: not a regular file; say where the output goes with -o\n"
    )


def test_output_to_dev_stdout_when_it_is_a_pipe(src: Path) -> None:
    done = run_subprocess([str(src), "-o", "/dev/stdout", "-q"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["log"]["entries"]
    assert_no_secret(done.stdout)


@pytest.mark.parametrize(
    ("folder", "message"), [(".", "is a folder; say where"), ("", "an input path is empty")]
)
def test_a_folder_without_output(
    src: Path, folder: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(src.parent)
    expect_failure(run(folder), message, src.parent, {"login.har"})


def test_nesting_deeper_than_an_exact_copy_can_go(tmp_path: Path) -> None:
    deep = "[" * 990 + "1" + "]" * 990
    src = tmp_path / "deep.har"
    src.write_text(f'{{"log": {{"entries": [{{"n": 12345678901234567890123, "a": {deep}}}]}}}}')
    expect_failure(
        run(str(src), "-o", str(tmp_path / "out.har")), "nested too deeply", tmp_path, {"deep.har"}
    )


def test_file_names_are_shown_on_one_line(tmp_path: Path) -> None:
    src = tmp_path / "two\nlines.har"
    src.write_bytes(b"")
    expect_failure(run(str(src)), "two\\nlines.har: empty file", tmp_path, {src.name})


def test_output_named_like_a_folder_takes_the_file(src: Path) -> None:
    result = run(str(src), "-o", f"{src.parent}/new/")
    assert result.exit_code == 0
    assert_no_secret((src.parent / "new" / "login.har").read_bytes())


def test_input_behind_a_symlink_loop(src: Path) -> None:
    loop = src.with_name("loop")
    loop.symlink_to("loop")
    message = "loop: cannot read (Too many levels of symbolic links)"
    expect_failure(run(str(loop)), message, src.parent, {"login.har", "loop"})


def test_stdin_that_is_the_output_file(src: Path) -> None:
    with src.open("rb") as stdin:
        done = run_subprocess(["-", "-o", str(src)], stdin=stdin)
    assert done.returncode == 2
    assert b"the output is the input; use --in-place" in done.stderr
    assert src.read_bytes() == SECRET_HAR


def test_closed_stdin_and_stdout(src: Path) -> None:
    done = run_subprocess(["-"], stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    assert (done.returncode, done.stderr) == (2, b"harscrub: <stdin>: not open\n")
    done = subprocess.run(
        [sys.executable, "-m", "harscrub", str(src), "-o", "-"],
        stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (2, b"harscrub: <stdout>: not open\n")


def run_harscrub(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """harscrub in a process of its own, as a user runs it; env is the whole environment."""
    return subprocess.run(
        [sys.executable, "-m", "harscrub", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=cwd,
    )


def run_subprocess(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "harscrub", *args], capture_output=True, check=False, **kwargs
    )


def test_internal_error_is_one_line_exit_3_and_never_quotes_the_input(
    src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(f"bad value {CANARY}")

    monkeypatch.setattr(cli, "scrub_file", broken)
    result = run(str(src))
    assert result.exit_code == 3
    assert (
        result.stderr
        == "harscrub: internal error (ValueError); rerun with --debug for a traceback\n"
    )
    debug = run(str(src), "--debug")
    assert debug.exit_code == 3
    assert "in broken" in debug.stderr  # the traceback's frames are there
    assert_no_secret(result.stderr, debug.stderr)


def test_bundled_example_keeps_only_its_ids(tmp_path: Path) -> None:
    """The README's first command: every planted FAKE secret in examples/login.har goes."""
    example = Path(__file__).resolve().parents[1] / "examples" / "login.har"
    out = tmp_path / "login.clean.har"
    result = run(str(example), "-o", str(out))
    assert result.exit_code == 0
    left = set(regex.findall(r"[\w.-]*FAKE[\w.-]*", out.read_text("utf-8")))
    assert left == {"0oaFAKEclient", "00uFAKE1234"}  # the OAuth client id and the user id
    assert example.read_text("utf-8").count("FAKE") > 20
