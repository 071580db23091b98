"""One HAR read in parts by several processes comes out exactly as one process writes it.

Parts are made tiny here (MIN_PART of a few hundred bytes), so that the real corpus and
generated HARs are cut in many places, in every layout. What a user relies on: the same bytes,
the same report, the same error; a secret a body taught in one part removed from the others;
nothing left behind when interrupted.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given

from harscrub import copies, parallel, passes
from harscrub.api import check_stream, scrub_stream
from harscrub.errors import HarscrubError
from harscrub.options import Options
from harscrub.report import Report
from harscrub.rules import Ruleset

from .conftest import CORPUS
from .factories import CANARY, entry, har_bytes, header
from .test_properties import GENERATOR, KEY, RULES, Case, har_cases

FILES = sorted(CORPUS.glob("*.har")) if CORPUS.is_dir() else []
PARAMS = [pytest.param(p, id=p.name) for p in FILES] or [pytest.param(None, id="no-corpus")]
BODY_TOKEN = "FAKEbodytoken9c41d2e8a7b6f503"  # noqa: S105  # only a JSON body holds it, by name
DEFAULT_MIN_PART = parallel.MIN_PART  # before the fixture below makes parts small


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Else every test here would pass by reading in one process (conftest runs these first).
    assert threading.active_count() == 1, "another test left a thread running: no fork here"
    monkeypatch.setattr(parallel, "MIN_PART", 256)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How each parallel.run ended: "parts" when it split the file, "one" when it did not."""
    ended: list[str] = []
    run = parallel.run

    def spy(*args: Any, **kwargs: Any) -> Any:
        tally = run(*args, **kwargs)
        ended.append("one" if tally is None else "parts")
        return tally

    monkeypatch.setattr(parallel, "run", spy)
    return ended


def scrubbed(
    path: Path, workers: int, *, ruleset: Ruleset = RULES, **options: Any
) -> tuple[bytes, Report] | str:
    """The output and report of path in workers processes; the error message if it fails."""
    out = io.BytesIO()
    try:
        with path.open("rb") as fin:
            report = scrub_stream(
                fin,
                out,
                name=path.name,
                ruleset=ruleset,
                options=Options(key=KEY, **options),
                workers=workers,
            )
    except HarscrubError as e:
        return str(e)
    return out.getvalue(), report


def assert_same(one: tuple[bytes, Report] | str, parts: tuple[bytes, Report] | str) -> None:
    if isinstance(one, str) or isinstance(parts, str):
        assert parts == one
        return
    assert parts[0] == one[0], "the outputs differ"  # never the bytes: they may hold secrets
    assert parts[1] == one[1], "the reports differ"


def assert_split_alike(
    path: Path, runs: list[str], again: list[int], *, done_again: int, workers: int = 4
) -> None:
    """In parts as in one process; the file was split, no copy of the body's token is left,
    and done_again parts were done again in this process."""
    one, parts = scrubbed(path, 1), scrubbed(path, workers)
    assert runs == ["parts"]
    assert_same(one, parts)
    assert isinstance(parts, tuple)
    assert BODY_TOKEN.encode() not in parts[0]
    assert again == [done_again]


@pytest.mark.parametrize("path", PARAMS)
@pytest.mark.parametrize("workers", [2, 3, 7])
def test_a_real_har_in_parts_comes_out_as_in_one_process(
    corpus: Path, path: Path, workers: int, runs: list[str]
) -> None:
    assert_same(scrubbed(path, 1), scrubbed(path, workers))


def test_the_real_corpus_is_cut_in_every_layout_it_has(corpus: Path, runs: list[str]) -> None:
    """Not a test that passes by never splitting: most real HARs are cut in parts."""
    for path in FILES:
        scrubbed(path, 3)
    assert runs.count("parts") >= len(FILES) * 3 // 4, runs


@GENERATOR
@given(case=har_cases())
def test_a_generated_har_in_parts_comes_out_as_in_one_process(case: Case) -> None:
    # Hypothesis runs this without fixtures: its own small file and small parts.
    with _small_parts(), _file(case.data) as path:
        for workers in (2, 4):
            assert_same(scrubbed(path, 1), scrubbed(path, workers))


def _entries_with_a_body_token(copy_in: str) -> bytes:
    """A token a JSON response taught (no header or cookie holds it), then many entries, then
    the same token copied into a later body, as copy_in says."""
    first = entry("https://login.test/oauth/token")
    first["response"]["content"] = {
        "size": 60,
        "mimeType": "application/json",
        "text": orjson.dumps({"access_token": BODY_TOKEN, "token_type": "bearer"}).decode(),
    }
    filler = [entry(f"https://app.test/page/{i}") for i in range(40)]
    later = entry("https://app.test/later")
    text = f"var session = init({BODY_TOKEN!r});"
    content: dict[str, Any] = {"size": len(text), "mimeType": "application/javascript"}
    if copy_in == "base64":
        content["text"], content["encoding"] = base64.b64encode(text.encode()).decode(), "base64"
    elif copy_in == "url":
        later["request"]["url"] = f"https://app.test/later?t={BODY_TOKEN}"
        content["text"] = "ok"
    else:
        content["text"] = text
    later["response"]["content"] = content
    return orjson.dumps(
        {"log": {"version": "1.2", "entries": [first, *filler, later]}}, option=orjson.OPT_INDENT_2
    )


@pytest.mark.parametrize("copy_in", ["text", "base64", "url"])
def test_a_secret_a_body_taught_in_an_earlier_part_is_removed_from_a_later_one(
    tmp_path: Path, copy_in: str, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "in.har"
    path.write_bytes(_entries_with_a_body_token(copy_in))
    again = _count_parts_done_again(monkeypatch)
    # The part holding the copy was sanitized not knowing the token, and so done again.
    assert_split_alike(path, runs, again, done_again=1)


def test_a_secret_taught_before_a_part_it_is_not_in_leaves_that_part_alone(
    tmp_path: Path, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's point: a part holding no copy of what came before is kept as it was."""
    data = _entries_with_a_body_token("text").replace(BODY_TOKEN.encode()[-8:], b"00000000", 1)
    path = tmp_path / "in.har"
    path.write_bytes(data.replace(b"var session", b"var other", 1))
    again = _count_parts_done_again(monkeypatch)
    assert_same(scrubbed(path, 1), scrubbed(path, 4))
    assert runs == ["parts"]
    assert again == [0]


def test_a_secret_every_part_learns_alike_from_bodies_leaves_the_parts_alone(
    tmp_path: Path, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSRF token that only pages hold, on every page: each part learns it from its first
    page, as one process knew it from the first part on, and so the parts agree."""
    page = '<form><input type="hidden" name="csrf_token" value="{}"></form>'
    entries = []
    for i in range(60):
        e = entry(f"https://app.test/page/{i}")
        text = page.format(BODY_TOKEN)
        e["response"]["content"] = {"size": len(text), "mimeType": "text/html", "text": text}
        entries.append(e)
    path = tmp_path / "in.har"
    path.write_bytes(orjson.dumps({"log": {"entries": entries}}, option=orjson.OPT_INDENT_2))
    again = _count_parts_done_again(monkeypatch)
    assert_split_alike(path, runs, again, done_again=0)


def test_two_secrets_a_part_learnt_in_another_order_come_out_as_in_one_process(
    tmp_path: Path, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two odd secrets as long as each other, overlapping in a header: the leftmost copy is
    removed, whichever was learnt first (the last part learns them in another order than
    one process, which knew the first from part 0)."""
    first = "ab|cd12ef34|gh56"  # odd: no single token
    note = first + "|zz99"
    second = note[5:21]

    def teaching(url: str, value: str) -> dict[str, Any]:
        e = entry(url)
        text = orjson.dumps({"access_token": value}).decode()
        e["response"]["content"] = {"size": len(text), "mimeType": "application/json", "text": text}
        return e

    entries = [
        teaching("https://login.test/token", first),
        *[entry(f"https://app.test/page/{i}") for i in range(40)],
        teaching("https://login.test/a", second),
        teaching("https://login.test/b", first),
        entry("https://app.test/c", response_headers=[header("X-Note", note)]),
        *[entry(f"https://app.test/more/{i}") for i in range(2)],
    ]
    path = tmp_path / "in.har"
    path.write_bytes(orjson.dumps({"log": {"entries": entries}}, option=orjson.OPT_INDENT_2))
    assert_same(scrubbed(path, 1), scrubbed(path, 2))
    assert runs == ["parts"]


def test_the_input_is_left_at_its_end_as_by_one_process(tmp_path: Path, runs: list[str]) -> None:
    path = tmp_path / "in.har"
    path.write_bytes(_many_entries())
    for workers in (1, 4):
        with path.open("rb") as fin:
            scrub_stream(fin, io.BytesIO(), options=Options(key=KEY), workers=workers)
            assert fin.tell() == path.stat().st_size
    assert runs == ["parts"]


def test_a_value_the_first_pass_saw_is_looked_at_again_in_a_later_part(
    tmp_path: Path, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the first pass met (an odd header item, walked as JSON), met again in a later
    part's JSON body, holding a copy of what a body teaches only in the second pass: the
    later part must not take what this process found for it before the fork, when that secret
    was not known, but look at it again (and so see it is wrong)."""
    value = f"see a/b {BODY_TOKEN}"  # the '/' takes it past the look at a body's plain values
    doc = orjson.loads(_entries_with_a_body_token("text"))
    entries = doc["log"]["entries"]
    entries[0]["request"]["headers"] = [["X-Data", value]]
    later = entries[-1]["response"]["content"]
    later["mimeType"], later["text"] = "application/json", orjson.dumps({"X-Data": value}).decode()
    path = tmp_path / "in.har"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    again = _count_parts_done_again(monkeypatch)
    assert_split_alike(path, runs, again, done_again=1, workers=2)


def test_secrets_past_the_cap_come_out_as_in_one_process(
    tmp_path: Path, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cap on remembered secrets, what comes first wins: the parts must agree with
    one process on which those are, and a part that learnt nothing new is still kept."""
    monkeypatch.setattr(copies, "_MAX_SECRETS", 25)
    path = tmp_path / "in.har"
    path.write_bytes(_many_entries())  # a session cookie of its own in each of 60 entries
    again = _count_parts_done_again(monkeypatch)
    assert_same(scrubbed(path, 1), scrubbed(path, 4))
    assert runs == ["parts"]
    assert again == [0]
    # A body's secret past the cap is not learnt, in one process or in parts.
    doc = orjson.loads(_entries_with_a_body_token("text"))
    for i, e in enumerate(doc["log"]["entries"]):
        e["request"]["headers"].append(header("Cookie", f"sid={CANARY}{i}"))
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    assert_same(scrubbed(path, 1), scrubbed(path, 4))


def _count_parts_done_again(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many parts each run did again in this process, appended when it ends."""
    counts: list[int] = []
    second_pass = parallel._second_pass
    sanitize = passes.sanitize

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls = 0

        def counted(*a: Any, **k: Any) -> Any:
            nonlocal calls
            calls += 1
            return sanitize(*a, **k)

        monkeypatch.setattr(passes, "sanitize", counted)
        try:
            return second_pass(*args, **kwargs)
        finally:
            monkeypatch.setattr(passes, "sanitize", sanitize)
            counts.append(calls - 1)  # the first part is always done here

    monkeypatch.setattr(parallel, "_second_pass", counting)
    return counts


def _many_entries(count: int = 60) -> bytes:
    entries = [
        entry(
            f"https://app.test/api/{i}?page={i}",
            request_headers=[header("Cookie", f"sid={CANARY}{i}; theme=dark")],
        )
        for i in range(count)
    ]
    return har_bytes(*entries, pages=[{"id": "page_1", "title": "x"}])


def test_a_cut_that_is_no_entry_start_is_read_through(
    tmp_path: Path, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guess inside an entry (in a string, at a nested object) proves wrong at the reader
    of the part before, which reads on instead: the same output, whatever the guesses."""
    data = _many_entries()
    path = tmp_path / "in.har"
    path.write_bytes(data)
    inside_string = data.index(b"theme=dark", len(data) // 3)
    nested_object = data.index(b'{"name":"Cookie"', len(data) // 2)
    guesses = [inside_string, nested_object, len(data) - 40]
    monkeypatch.setattr(parallel, "find_cuts", lambda *args: guesses)
    assert_same(scrubbed(path, 1), scrubbed(path, 4))
    # The first entry's start: proven, but with no entry before it for the next part's comma.
    monkeypatch.setattr(parallel, "find_cuts", lambda *args: [data.index(b'{"startedDateTime"')])
    assert_same(scrubbed(path, 1), scrubbed(path, 4))
    assert runs == ["parts", "one"]


@pytest.mark.parametrize(
    ("module", "fails_in"),
    [(passes, "learn"), (passes, "sanitize"), (parallel, "_still_right")],
    ids=["learn", "sanitize", "check"],
)
def test_a_part_another_process_fails_on_is_done_here(
    tmp_path: Path, module: Any, fails_in: str, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that fails (a bug, out of memory, a signal of its own) never has its part
    taken as right: the part is done here, or the file read in one process."""
    path = tmp_path / "in.har"
    path.write_bytes(_entries_with_a_body_token("text"))  # the check has forms to look at
    here = os.getpid()
    work = getattr(module, fails_in)

    def failing_elsewhere(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != here:
            raise MemoryError  # as a child killed for memory would end, or any bug
        return work(*args, **kwargs)

    monkeypatch.setattr(module, fails_in, failing_elsewhere)
    one, parts = scrubbed(path, 1), scrubbed(path, 3)
    assert_same(one, parts)
    assert isinstance(parts, tuple)
    assert BODY_TOKEN.encode() not in parts[0]


@pytest.mark.parametrize("fails", ["fork", "temp file"])
def test_no_process_or_descriptor_left_is_this_process_work(
    tmp_path: Path, fails: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container's process limit, a full descriptor table: as without -j, not an error."""
    path = tmp_path / "in.har"
    path.write_bytes(_many_entries())
    one = scrubbed(path, 1)

    def no_more(*args: Any, **kwargs: Any) -> Any:
        raise OSError(11, "Resource temporarily unavailable")

    module, name = (os, "fork") if fails == "fork" else (tempfile, "TemporaryFile")
    monkeypatch.setattr(module, name, no_more)
    again = _count_parts_done_again(monkeypatch)
    assert_same(one, scrubbed(path, 3))
    # No process for the first pass: the file is read in one. No temp file for the second:
    # each later part is done here.
    assert again == ([] if fails == "fork" else [2])


def test_a_compressed_file_object_is_read_in_one_process(tmp_path: Path, runs: list[str]) -> None:
    """gzip's fileno() is the compressed file's: its bytes are not the HAR's."""
    path = tmp_path / "in.har.gz"
    with gzip.open(path, "wb", compresslevel=0) as f:
        f.write(_many_entries())
    results = []
    for workers in (1, 4):
        out = io.BytesIO()
        with gzip.open(path, "rb") as fin:
            report = scrub_stream(fin, out, options=Options(key=KEY), workers=workers)
        results.append((out.getvalue(), report))
    assert_same(results[0], results[1])
    assert runs == ["one"]


def test_a_har_that_breaks_in_a_later_part_fails_as_in_one_process(tmp_path: Path) -> None:
    data = _many_entries()
    path = tmp_path / "in.har"
    for broken in (data[: len(data) * 3 // 4], data.replace(b'"url"', b'"url" 1', 40)):
        path.write_bytes(broken)
        one = scrubbed(path, 1)
        assert isinstance(one, str), "the broken HAR was read"
        assert_same(one, scrubbed(path, 4))


def test_a_check_in_parts_finds_what_one_process_finds(tmp_path: Path, runs: list[str]) -> None:
    path = tmp_path / "in.har"
    path.write_bytes(_entries_with_a_body_token("text"))
    reports = []
    for workers in (1, 4):
        with path.open("rb") as fin:
            options = Options(key=KEY)
            reports.append(check_stream(fin, ruleset=RULES, options=options, workers=workers))
    assert reports[0] == reports[1]
    assert runs == ["parts"]


def test_counts_only_are_the_same_in_parts(tmp_path: Path, runs: list[str]) -> None:
    path = tmp_path / "in.har"
    path.write_bytes(_entries_with_a_body_token("text"))
    assert_same(scrubbed(path, 1, keep_findings=False), scrubbed(path, 3, keep_findings=False))
    assert runs == ["parts"]


def test_a_process_with_threads_reads_in_one_process(tmp_path: Path, runs: list[str]) -> None:
    """fork() copies only the thread that calls it: a lock another thread held stays held."""
    path = tmp_path / "in.har"
    path.write_bytes(_many_entries())
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert_same(scrubbed(path, 1), scrubbed(path, 4))
    finally:
        stop.set()
        thread.join()
    assert runs == ["one"]


def test_a_small_or_odd_input_is_read_in_one_process(tmp_path: Path, runs: list[str]) -> None:
    data = _many_entries()
    path = tmp_path / "in.har"
    path.write_bytes(data.decode().encode("utf-16"))  # read through a transcoder
    assert_same(scrubbed(path, 1), scrubbed(path, 4))
    out = io.BytesIO()
    scrub_stream(io.BytesIO(data), out, options=Options(key=KEY), workers=4)  # no file
    assert runs == ["one", "one"]


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(lambda doc: orjson.dumps(doc, option=orjson.OPT_INDENT_2), id="indented"),
        pytest.param(orjson.dumps, id="one-line"),
        pytest.param(lambda doc: orjson.dumps(doc).replace(b"},{", b"}, {"), id="spaced"),
        pytest.param(
            lambda doc: (
                orjson.dumps(doc, option=orjson.OPT_INDENT_2)
                .replace(b"  ", b"\t")
                .replace(b"\n", b"\r\n")
            ),
            id="tabs-crlf",
        ),
    ],
)
def test_cuts_fall_where_entries_start(layout: Callable[[Any], bytes]) -> None:
    doc = orjson.loads(_many_entries(200))
    data = layout(doc)
    cuts = parallel.find_cuts(lambda n, at: data[at : at + n], len(data), 4)
    assert len(cuts) == 3
    for cut in cuts:
        assert data[cut : cut + 1] == b"{"
        assert data[:cut].rstrip().endswith(b",")
        assert orjson.loads(_one_value(data, cut)).keys() == doc["log"]["entries"][0].keys()


def _one_value(data: bytes, start: int) -> bytes:
    depth = 0
    for end, byte in enumerate(data[start:], start):  # the test HAR's strings hold no braces
        depth += {ord("{"): 1, ord("}"): -1}.get(byte, 0)
        if depth == 0:
            return data[start : end + 1]
    raise AssertionError("no whole value there")


def test_no_cut_without_entries_or_in_utf16() -> None:
    for data in (b'{"log": {"version": "1.2"}}' * 100, _many_entries().decode().encode("utf-16")):
        assert parallel.find_cuts(lambda n, at, d=data: d[at : at + n], len(data), 4) == []


@pytest.fixture
def big_har(tmp_path: Path) -> Path:
    """A HAR read in two parts at the default MIN_PART (40 MB)."""
    src = tmp_path / "big.har"
    one = entry("https://a.test/x", request_headers=[header("Cookie", f"sid={CANARY}")])
    one["response"]["content"] = {"size": 9000, "mimeType": "text/plain", "text": "word " * 1800}
    src.write_bytes(har_bytes(*[one] * 4000))
    assert src.stat().st_size > 3 * DEFAULT_MIN_PART
    return src


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
@pytest.mark.parametrize("during", ["first pass", "second pass"])
def test_stopped_in_parts_leaves_nothing_behind(big_har: Path, signum: int, during: str) -> None:
    """Ctrl-C while the parts are read: exit 130, no output, no temp file, no process left.
    Killed outright (the out-of-memory killer), the other processes stop too."""
    out = big_har.with_name("out.har")
    args = [sys.executable, "-m", "harscrub", str(big_har), "-o", str(out), "-j2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        children = _wait_for_children(proc.pid)
        if during == "second pass":  # the first pass's process gone, the second's started
            children = _wait_for_children(proc.pid, other_than=children)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children):
        assert time.monotonic() < deadline, "a process reading a part was left running"
        time.sleep(0.05)
    assert not out.exists()
    if signum == signal.SIGINT:
        assert proc.returncode == 130
        assert stderr == b"harscrub: interrupted; nothing was written\n"
        assert sorted(p.name for p in big_har.parent.iterdir()) == ["big.har"]


def _wait_for_children(pid: int, other_than: list[int] = ()) -> list[int]:  # type: ignore[assignment]
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see the processes reading the parts")
    deadline = time.monotonic() + 60
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        found = [int(c) for c in children.read_text().split()] if children.exists() else []
        if set(found) - set(other_than):
            return found
        assert time.monotonic() < deadline, "harscrub never split its input"
        time.sleep(0.01)


# Hypothesis calls the test once per example, outside pytest's fixtures.


@contextlib.contextmanager
def _small_parts() -> Iterator[None]:
    was, parallel.MIN_PART = parallel.MIN_PART, 256
    try:
        yield
    finally:
        parallel.MIN_PART = was


@contextlib.contextmanager
def _file(data: bytes) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(suffix=".har")
    try:
        os.write(fd, data)
        os.close(fd)
        yield Path(name)
    finally:
        os.unlink(name)
