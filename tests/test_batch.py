"""Batch runs: folders walked, trees mirrored, bad files skipped and named, worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harscrub import batch, scrub_paths
from harscrub.errors import UsageError
from harscrub.options import Options
from harscrub.report import Failure, Report
from harscrub.rules import Ruleset

from .factories import CANARY, SECRET_HAR, entry, har_bytes, header
from .test_cli import assert_no_secret, run

CLEAN_HAR = har_bytes(entry("https://app.test/public", request_headers=[header("Accept", "*/*")]))
BROKEN_HAR = SECRET_HAR[:-40]


def make_tree(root: Path) -> Path:
    """in/{a.har, sub/b.har, sub/deeper/c.har, sub/broken.har, notes.txt, clean.har}"""
    src = root / "in"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.har").write_bytes(SECRET_HAR)
    (src / "sub" / "b.har").write_bytes(SECRET_HAR)
    (src / "sub" / "deeper" / "c.har").write_bytes(SECRET_HAR)
    (src / "sub" / "broken.har").write_bytes(BROKEN_HAR)
    (src / "notes.txt").write_text(f"sid={CANARY}")
    (src / "clean.har").write_bytes(CLEAN_HAR)
    return src


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_tree_is_mirrored_and_the_broken_file_named(tmp_path: Path, jobs: str) -> None:
    src = make_tree(tmp_path)
    out = tmp_path / "out"
    result = run(str(src), "-o", str(out), "-j", jobs)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"harscrub: failed: {src}/sub/broken.har: truncated: the file ends inside log.entries[0]"
    )
    assert f"wrote 4 files into {out}" in result.stderr
    assert "left 1 other file in the folders alone" in result.stderr
    assert files_under(out) == [
        "a.har",
        "clean.har",
        "sub",
        "sub/b.har",
        "sub/deeper",
        "sub/deeper/c.har",
    ]
    for path in out.rglob("*.har"):
        assert json.loads(path.read_bytes())["log"]["entries"]
        assert_no_secret(path.read_bytes())
    assert_no_secret(result.stdout, result.stderr)
    assert (src / "sub" / "broken.har").read_bytes() == BROKEN_HAR  # inputs untouched
    assert (src / "a.har").read_bytes() == SECRET_HAR


def test_no_folder_is_left_for_a_file_that_failed(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "only-broken").mkdir(parents=True)
    (src / "only-broken" / "x.har").write_bytes(BROKEN_HAR)
    (src / "ok.har").write_bytes(SECRET_HAR)
    assert run(str(src), "-o", str(tmp_path / "out"), "-j", "1").exit_code == 2
    assert files_under(tmp_path / "out") == ["ok.har"]


def test_in_place_rewrites_each_file_and_leaves_a_broken_one_alone(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    result = run(str(src), "--in-place", "-j", "2")
    assert result.exit_code == 2
    assert "wrote 4 files in place" in result.stderr
    for name in ("a.har", "sub/b.har", "sub/deeper/c.har"):
        assert_no_secret((src / name).read_bytes())
    assert (src / "sub" / "broken.har").read_bytes() == BROKEN_HAR
    assert not [p for p in src.rglob("*") if p.name.endswith(".tmp")]


def test_check_over_a_folder(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    (src / "sub" / "broken.har").unlink()
    result = run("--check", str(src), "-j", "2")
    assert result.exit_code == 1
    flagged = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert flagged == {f"{src}/a.har", f"{src}/sub/b.har", f"{src}/sub/deeper/c.har"}
    assert "12 values to redact in 3 of 4 files" in result.stderr
    assert run(str(src), "--in-place", "-q").exit_code == 0
    assert run("--check", str(src), "-q").exit_code == 0


def test_a_broken_file_in_a_check_is_exit_2(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    result = run("--check", str(src))
    assert result.exit_code == 2
    assert "failed: " in result.stderr
    assert "broken.har" in result.stderr


def test_glob_chooses_other_names_and_named_files_are_always_taken(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.har.json").write_bytes(SECRET_HAR)
    (src / "y.HAR").write_bytes(SECRET_HAR)
    (src / "z.har").write_bytes(SECRET_HAR)
    named = tmp_path / "named.txt"
    named.write_bytes(SECRET_HAR)
    result = run("--check", "-q", str(src), str(named), "--glob", "*.har.json", "--glob", "*.har")
    flagged = {Path(line.split(":")[0]).name for line in result.stdout.splitlines()}
    assert flagged == {"x.har.json", "y.HAR", "z.har", "named.txt"}
    result = run("--check", "-q", str(src))
    assert {Path(line.split(":")[0]).name for line in result.stdout.splitlines()} == {
        "y.HAR",
        "z.har",
    }


def test_symlink_loops_and_dangling_links_are_skipped_with_a_note(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.har").write_bytes(SECRET_HAR)
    (src / "sub" / "up").symlink_to("..")
    (src / "gone.har").symlink_to("nowhere.har")
    result = run(str(src), "-o", str(tmp_path / "out"), "-j", "1")
    assert result.exit_code == 0
    assert f"skipped {src}/sub/up: a symlink loop" in result.stderr
    assert f"skipped {src}/gone.har: a symlink to nothing" in result.stderr
    assert files_under(tmp_path / "out") == ["sub", "sub/a.har"]


def test_a_linked_folder_is_walked_like_any_other(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.har").write_bytes(SECRET_HAR)
    src = tmp_path / "in"
    src.mkdir()
    (src / "linked").symlink_to(elsewhere)
    assert run(str(src), "-o", str(tmp_path / "out"), "-q").exit_code == 0
    assert files_under(tmp_path / "out") == ["linked", "linked/a.har"]


def test_the_output_folder_inside_the_input_is_not_walked(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    (src / "sub" / "broken.har").unlink()
    out = src / "clean"
    assert run(str(src), "-o", str(out), "-q").exit_code == 0
    result = run(str(src), "-o", str(out))
    assert result.exit_code == 0
    assert "wrote 4 files" in result.stderr
    assert f"skipped {out}: the output folder" in result.stderr
    assert not (out / "clean").exists()


def test_several_named_files_are_written_beside_themselves(tmp_path: Path) -> None:
    for name in ("a.har", "b.har"):
        (tmp_path / name).write_bytes(SECRET_HAR)
    result = run(str(tmp_path / "a.har"), str(tmp_path / "b.har"))
    assert result.exit_code == 0
    assert "wrote 2 files beside their inputs" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.har",
        "a.sanitized.har",
        "b.har",
        "b.sanitized.har",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{in}/a.har", "{in}/sub/a.har", "-o", "{tmp}/out"], "would both be written to"),
        (["{in}/a.har", "{in}/a.har", "-o", "{tmp}/out"], "would both be written to"),
        (["{in}", "-o", "{in}/a.har"], "is not a folder"),
        (["{in}", "{in}/a.har", "-o", "{tmp}/out"], "would both be written to"),
    ],
)
def test_impossible_plans_fail_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.har").write_bytes(SECRET_HAR)
    (src / "sub" / "a.har").write_bytes(SECRET_HAR)
    result = run(*(a.format(tmp=tmp_path, **{"in": src}) for a in args))
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_an_internal_error_on_one_file_is_exit_3_and_the_others_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_tree(tmp_path)
    (src / "sub" / "broken.har").unlink()
    real_scrub = batch.scrub_file

    def buggy(source: Path, *args: object, **kwargs: object) -> Report:
        if source.name == "b.har":
            raise TypeError(f"a message that quotes input: {CANARY}")
        return real_scrub(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "scrub_file", buggy)
    result = run(str(src), "-o", str(tmp_path / "out"), "-j", "1")
    assert result.exit_code == 3
    assert f"failed: {src}/sub/b.har: internal error (TypeError)" in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result.stderr)
    assert (tmp_path / "out" / "sub" / "deeper" / "c.har").exists()
    debug = run(str(src), "-o", str(tmp_path / "out2"), "-j", "1", "--debug")
    assert "in buggy" in debug.stderr  # frames, never the message
    assert_no_secret(debug.stderr)


def test_one_key_gives_the_same_bytes_on_one_or_two_processes(
    tmp_path: Path, ruleset: Ruleset
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        (src / f"{i}.har").write_bytes(SECRET_HAR)
    options = Options(key=b"k" * 32)
    one = scrub_paths([src], tmp_path / "one", workers=1, ruleset=ruleset, options=options)
    two = scrub_paths([src], tmp_path / "two", workers=2, ruleset=ruleset, options=options)
    assert [r.source for r in one.reports] == [r.source for r in two.reports]
    assert [r.redactions for r in one.reports] == [r.redactions for r in two.reports]
    for i in range(6):
        name = f"{i}.har"
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    # Equal secrets get equal tags across the files of a run.
    assert len({r.tag for report in two.reports for r in report.redactions}) == len(
        {r.tag for r in two.reports[0].redactions}
    )


class Recorder:
    def __init__(self) -> None:
        self.total = -1
        self.done: list[Report | Failure] = []

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, done: Report | Failure) -> None:
        self.done.append(done)


def test_library_progress_and_results_in_input_order(tmp_path: Path, ruleset: Ruleset) -> None:
    src = make_tree(tmp_path)
    progress = Recorder()
    run_report = scrub_paths([src], tmp_path / "out", workers=2, ruleset=ruleset, progress=progress)
    assert progress.total == 5
    assert len(progress.done) == 5
    assert [Path(r.source).name for r in run_report.reports] == [
        "a.har",
        "clean.har",
        "b.har",
        "c.har",
    ]
    [failure] = run_report.failures
    assert Path(failure.source).name == "broken.har"
    assert run_report.unmatched == 1


def test_library_refuses_a_folder_without_a_destination(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    with pytest.raises(UsageError, match="is a folder"):
        scrub_paths([src])


def test_an_unreadable_folder_is_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_tree(tmp_path)
    (src / "sub" / "broken.har").unlink()
    locked = src / "sub"
    real_scandir = os.scandir

    def scandir(
        path: Path,
    ) -> object:  # as for a folder without read permission (tests run as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(batch.os, "scandir", scandir)
    result = run("--check", str(src), "-q")
    assert result.exit_code == 2
    assert f"failed: {locked}: cannot read the folder (Permission denied)" in result.stderr


def harscrub(args: list[str]) -> subprocess.Popen[bytes]:
    # A shell starts background jobs with Ctrl-C ignored, and Python keeps it so: a test run
    # in the background would then see harscrub ignore SIGINT, as it should.
    return subprocess.Popen(
        [sys.executable, "-m", "harscrub", *args],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@contextlib.contextmanager
def one_done_one_stuck(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    """harscrub -j 2 on a.har and on a pipe that never ends, paused once a.har is written and
    the pipe's temp file made. Yields (process, pipe, output folder); the pipe stays open
    until the block ends, so the caller acts on a worker that is still mid-file."""
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    fifo = tmp_path / "stuck.har"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    proc = harscrub([str(tmp_path / "a.har"), str(fifo), "-o", str(out), "-j", "2"])
    try:
        with fifo.open("wb") as writer:
            writer.write(SECRET_HAR[:-10])  # the rest never comes
            writer.flush()
            deadline = time.monotonic() + 20
            while not (out / "a.har").exists() or not list(out.glob(".stuck.har.*.tmp")):
                assert time.monotonic() < deadline, "harscrub never got to both files"
                time.sleep(0.02)
            yield proc, fifo, out
    finally:
        proc.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_batch_leaves_no_temp_file_and_no_half_output(
    tmp_path: Path, signum: int
) -> None:
    """A worker blocked mid-file (its input a pipe that never ends) is stopped, not waited for."""
    with one_done_one_stuck(tmp_path) as (proc, _, out):
        proc.send_signal(signum)  # to harscrub alone, as `kill` or a job runner would
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert stderr.decode().splitlines()[-1] == (
        "harscrub: interrupted; files done before it are complete, no other was written"
    )
    assert b"Traceback" not in stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.har"]
    assert json.loads((out / "a.har").read_bytes())["log"]["entries"]


def test_no_file_starts_after_an_interrupt(tmp_path: Path) -> None:
    """Both workers are stuck on pipes; the files queued behind them are never written."""
    stuck = [tmp_path / "stuck1.har", tmp_path / "stuck2.har"]
    for fifo in stuck:
        os.mkfifo(fifo)
    queued = [tmp_path / "c.har", tmp_path / "d.har"]
    for path in queued:
        path.write_bytes(SECRET_HAR)
    out = tmp_path / "out"
    release = threading.Event()

    def feed(fifo: Path) -> None:
        with fifo.open("wb") as writer:
            writer.write(SECRET_HAR[:-10])  # the rest never comes
            writer.flush()
            release.wait(30)

    proc = harscrub([*map(str, stuck + queued), "-o", str(out), "-j", "2"])
    for fifo in stuck:  # after starting harscrub: preexec_fn is unsafe beside threads
        threading.Thread(target=feed, args=(fifo,)).start()
    try:
        deadline = time.monotonic() + 20
        while len(list(out.glob(".stuck*.tmp"))) < 2:
            assert time.monotonic() < deadline, "harscrub never got to both pipes"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
        release.set()
    assert proc.returncode == 130
    assert b"Traceback" not in stderr
    assert not out.exists()  # made for the outputs, removed when none was written


def worker_reading(parent: int, path: Path) -> int:
    """The pid of the worker process of `parent` that has `path` open."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in children:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return int(pid)
    return 0


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_worker_fails_its_file_and_the_run_ends(tmp_path: Path) -> None:
    """As when the OOM killer takes a worker: the run ends, the file is named, no temp file."""
    with one_done_one_stuck(tmp_path) as (proc, fifo, out):
        os.kill(worker_reading(proc.pid, fifo), signal.SIGKILL)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert f"failed: {fifo}: not done: the workers stopped when one of them died" in stderr.decode()
    assert sorted(p.name for p in out.iterdir()) == ["a.har"]


def test_hard_links_are_each_rewritten_in_place(tmp_path: Path) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    (tmp_path / "b.har").hardlink_to(tmp_path / "a.har")
    (tmp_path / "c.har").symlink_to("a.har")
    assert run(str(tmp_path), "--in-place", "-q").exit_code == 0
    for name in ("a.har", "b.har", "c.har"):
        assert_no_secret((tmp_path / name).read_bytes())
    assert (tmp_path / "c.har").is_symlink()


def test_the_same_file_named_twice_is_checked_once(tmp_path: Path) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    result = run("--check", "-q", str(tmp_path / "a.har"), f"{tmp_path}/./a.har")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/a.har", "{tmp}/a.sanitized.har"], "is also an input; only --in-place"),
        (["{tmp}", "-o", "{tmp}"], "is an input folder; use --in-place"),
        (["{tmp}", "-o", "{tmp}/"], "is an input folder; use --in-place"),
        (["{tmp}/a.har", "{tmp}/a.sanitized.har", "-o", "-"], "several HARs cannot go to stdout"),
        (["{tmp}", "--check", "--glob", "sub/*.har"], "a pattern matches file names, not paths"),
    ],
)
def test_a_batch_never_overwrites_an_input(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    (tmp_path / "a.sanitized.har").write_bytes(CLEAN_HAR)
    result = run(*(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == 2
    assert message in result.stderr
    assert (tmp_path / "a.sanitized.har").read_bytes() == CLEAN_HAR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har", "a.sanitized.har"]


def test_tool_folders_are_not_walked_unless_named(tmp_path: Path) -> None:
    for folder in (".git", "node_modules/pkg", ".venv/lib", "tickets"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "x.har").write_bytes(SECRET_HAR)
    result = run("--check", "-q", str(tmp_path))
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {
        f"{tmp_path}/tickets/x.har"
    }
    assert run("--check", "-q", str(tmp_path / "node_modules")).exit_code == 1


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff.har")
    (tmp_path / name).write_bytes(SECRET_HAR)
    report = tmp_path / "r.json"
    result = run("--check", "-q", str(tmp_path), "--report", str(report))
    assert result.exit_code == 1
    assert json.loads(report.read_bytes())["files"][0]["file"] == f"{tmp_path}/bad\\xff.har"
    sarif = tmp_path / "r.sarif"
    args = ["--report-format", "sarif", "--report", str(sarif)]
    assert run("--check", "-q", str(tmp_path / name), *args).exit_code == 1
    [result_] = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.read_bytes())["runs"][0]["results"]
    }
    assert result_.endswith("/bad%FF.har")
