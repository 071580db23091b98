"""One large HAR read in parts by several processes at once, written byte for byte as one
process writes it.

harscrub's passes depend on order: the second removes copies of every secret the first found
anywhere in the file, and of each secret found so far in a body, with the rule that saw it
first. Split in parts, the file is still read in that order, in effect:

1. Cuts: where an entry seems to start, near each 1/n of the file (see find_cuts). A guess,
   proven by the reader of the part before, which must stop exactly there (reader.Cut); one
   that does not has read on to the end of the file instead, and the parts after it are
   dropped.
2. First pass: each process learns from its part, keeping a journal of each secret that
   taught it something. Journals replayed in the parts' order teach what one pass over the
   whole file does: what is learnt there never depends on what is known.
3. Second pass: this process takes the first part, a process forked from it (so knowing the
   whole first pass) each other part. A part's output is right if the secrets the parts
   before it found in bodies would have changed nothing in it. Each process keeps the pieces
   of every text it looked for copies in (copies.Probe). The part is kept when none of those
   secrets has its pieces there, or when the part learnt one itself, from its first sighting
   alike and before any text that may hold it (a CSRF token on every page); else it is done
   again here, knowing them. A part another process could not finish (or start: no process
   or descriptor left) is done again here too, which also raises its error as one process
   would.

The output and the report are then exactly one process's (tests/test_parallel.py compares
them). Only a plain file is split, of MIN_PART bytes a part or more, in UTF-8, and only by a
process without threads (fork copies one thread only); stdin is, once copied to a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from typing import Any, BinaryIO

from harscrub import interrupts, passes
from harscrub.copies import Forms, Lesson
from harscrub.engine import Scrubber
from harscrub.options import Options
from harscrub.passes import Discard, Tally
from harscrub.reader import Cut, HarReader, utf16_or_32
from harscrub.rules import Ruleset
from harscrub.writer import HarWriter

MIN_PART = 8 << 20  # bytes; a smaller part costs about as much to start as it saves
_HEAD = 1 << 20  # bytes read to find where the entries start and how they are laid out
_WINDOW = 4 << 20  # bytes searched for an entry's start after each cut's first guess
_FIRST_ENTRY = re.compile(rb'"entries"\s*:\s*\[\s*(\{)')
_FIRST_KEY = re.compile(rb'\{\s*("(?:[^"\\]|\\.)*")\s*:')


def run(
    fin: BinaryIO,
    fout: BinaryIO,
    name: str,
    ruleset: Ruleset,
    options: Options,
    workers: int,
) -> Tally | None:
    """The Tally of sanitizing fin into fout in parts (a passes.Discard: the parts are
    written nowhere); None, having written nothing, where fin is no HAR file to split or one
    process must read it (see _first_pass). fin is then where it was; else at its end, as
    after one process."""
    cuts = _plan(fin, workers)
    if not cuts:
        return None
    start = fin.tell()
    parts = [
        _Part(fin.fileno(), name, start, begin, end)
        for begin, end in zip([0, *cuts], [*cuts, None], strict=True)
    ]
    with _Forks() as forks:
        scrubber = Scrubber(ruleset, options)
        parts = _first_pass(parts, scrubber, forks)
        if parts is None:
            return None  # a part is no HAR: one process says where, as it would have
        tally = _second_pass(parts, scrubber, fout, name, ruleset, options, forks)
    fin.seek(0, os.SEEK_END)
    return tally


def _plan(fin: BinaryIO, workers: int) -> list[int]:
    """Where the parts after the first start, in the reader's offsets (from fin.tell())."""
    if workers < 2 or not _one_thread() or not hasattr(os, "fork"):
        return []
    # A file's own bytes only: a gzip.GzipFile's fileno() is the compressed file's.
    raw = getattr(fin, "raw", fin)
    if not isinstance(raw, io.FileIO):
        return []
    try:
        fd = fin.fileno()
        start = fin.tell()
        size = os.fstat(fd).st_size - start
    except (OSError, ValueError):  # a pipe: no file to share
        return []
    parts = min(workers, size // MIN_PART)
    return find_cuts(lambda n, at: os.pread(fd, n, start + at), size, parts) if parts > 1 else []


def _one_thread() -> bool:
    """Whether this process runs one thread, those a C library started included (Linux)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


def find_cuts(pread: Callable[[int, int], bytes], size: int, parts: int) -> list[int]:
    """Offsets near k/parts of size where an entry seems to start, in the layout the first
    entry shows. Each is a guess; see the module's docstring for how it is proven."""
    head = pread(_HEAD, 0)
    if utf16_or_32(head[:4]) is not None:
        return []  # read through a transcoder: its offsets are not the file's
    first = _FIRST_ENTRY.search(head)
    if first is None:
        return []
    brace = first.start(1)
    entry_in = _entry_finder(head, brace)
    if entry_in is None:
        return []
    cuts: list[int] = []
    for k in range(1, parts):
        at = max(size * k // parts, brace + 1, cuts[-1] + MIN_PART if cuts else 0)
        found = entry_in(pread(_WINDOW, at))
        if found is not None and size - (at + found) >= MIN_PART // 2:
            cuts.append(at + found)
    return cuts


# Two objects side by side in an indented list: "}," and "{" on lines of their own, indented
# alike. Entries are the least indented such pair after the log's pages.
_SIBLINGS = re.compile(rb"\n([ \t]*)\}[ \t]*,[ \t]*\r?\n\1(\{)[ \t]*\r?\n")


def _entry_finder(head: bytes, brace: int) -> Callable[[bytes], int | None] | None:
    """A function giving where an entry starts in a piece of the file, by the layout of the
    entry at brace: indented (a newline after its "{"), or on one line ('},' then the same
    first key)."""
    if re.match(rb"\{[ \t]*\r?\n", head[brace:]):
        return _least_indented_sibling
    key = _FIRST_KEY.match(head, brace)
    if key is None:
        return None
    pattern = re.compile(rb"\}\s*,\s*(\{\s*" + re.escape(key.group(1)) + rb"\s*:)")

    def on_one_line(piece: bytes) -> int | None:
        found = pattern.search(piece)
        return None if found is None else found.start(1)

    return on_one_line


def _least_indented_sibling(piece: bytes) -> int | None:
    pairs = [(len(m.group(1)), m.start(2)) for m in _SIBLINGS.finditer(piece)]
    return min(pairs)[1] if pairs else None


@dataclass(frozen=True)
class _Part:
    """Bytes begin to end (None: to the end of the file) of the HAR at fd, in the reader's
    offsets, which are the file's from start on."""

    fd: int
    name: str
    start: int
    begin: int
    end: int | None

    def events(self, index: int = 0, line: int = 1) -> HarReader:
        """The part's events, with its first entry numbered index, on that line (the file's
        numbers once the parts before are read; till then, the part's own)."""
        read = _pread_from(self.fd, self.start + self.begin)
        if self.begin == 0:
            return HarReader(read, self.name, stop_at=self.end)
        return HarReader.resume(
            read, self.name, offset=self.begin, index=index, line=line, stop_at=self.end
        )


def _pread_from(fd: int, offset: int) -> Callable[[int], bytes]:
    """read(size) of fd from offset on, leaving the descriptor's own position (which the
    processes share) alone."""
    position = offset

    def read(size: int) -> bytes:
        nonlocal position
        data = os.pread(fd, size, position)
        position += len(data)
        return data

    return read


@dataclass(frozen=True)
class _FirstPass:
    """What the first pass over one part found: its journal, and where it ended."""

    journal: list[Lesson[Any]]
    cut: Cut | None  # None: it read on to the end of the file


def _first_pass(parts: list[_Part], scrubber: Scrubber, forks: _Forks) -> list[_Placed] | None:
    """Learn from every part at once; the parts with their place in the file (those after a
    cut that proved no entry's start dropped). None where one process must read the file: a
    part is no HAR, or another process failed."""
    children = [forks.start(_learning(part, scrubber)) for part in parts[1:]]
    cut = passes.learn(parts[0].events(), scrubber)
    if cut is None:  # the first cut was no entry's start: this process read the whole file
        return [_Placed(dataclasses.replace(parts[0], end=None), 0, 1)]
    if cut.index == 0:
        return None  # a cut before the first entry: the writer of the next part needs one
    placed = [_Placed(parts[0], 0, 1)]
    index, line = cut.index, cut.line
    for part, child in zip(parts[1:], children, strict=True):
        learnt: _FirstPass | None = child.result()
        if learnt is None:
            return None
        scrubber.known.replay(learnt.journal)
        if learnt.cut is None:  # it read on to the end: the cuts after were no entries' starts
            placed.append(_Placed(dataclasses.replace(part, end=None), index, line))
            break
        placed.append(_Placed(part, index, line))
        index, line = index + learnt.cut.index, line + learnt.cut.line - 1
    return placed


def _learning(part: _Part, scrubber: Scrubber) -> Callable[[], _FirstPass]:
    def learn() -> _FirstPass:
        journal = scrubber.keep_journal()
        return _FirstPass(journal, passes.learn(part.events(), scrubber))

    return learn


@dataclass(frozen=True)
class _Placed:
    """A part, with the number and line of its first entry in the whole file."""

    part: _Part
    index: int
    line: int

    def events(self) -> HarReader:
        return self.part.events(self.index, self.line)


@dataclass(frozen=True)
class _Sanitized:
    """What the second pass over a part other than the first did."""

    tally: Tally
    journal: list[Lesson[Any]]  # the secrets it learnt, to go on from where it ended


def _second_pass(
    parts: list[_Placed],
    scrubber: Scrubber,
    fout: BinaryIO,
    name: str,
    ruleset: Ruleset,
    options: Options,
    forks: _Forks,
) -> Tally:
    stamp = passes.stamp(ruleset, options)
    first_pass = scrubber.known.size()  # what the second pass learns is known after this
    write = not isinstance(fout, Discard)
    children = []
    for placed in parts[1:]:
        try:
            out = tempfile.TemporaryFile() if write else None  # noqa: SIM115  # closed below
        except OSError:  # no room, no descriptor left: this process does the part instead
            children.append((_Child.failed(), None))
            continue
        work = _sanitizing(placed, scrubber, out, name, ruleset, options, stamp)
        check = functools.partial(_still_right, scrubber, first_pass)
        children.append((forks.start(work, check=check), out))
    tally = Tally(ruleset, options)
    try:
        writer = HarWriter(fout, indent=options.indent)
        passes.sanitize(parts[0].events(), scrubber, writer, stamp, tally, name)
        for placed, (child, out) in zip(parts[1:], children, strict=True):
            done: _Sanitized | None = child.result(scrubber.known.since(first_pass))
            if done is None:  # the secrets before it were in it, or it failed: again, here
                writer = HarWriter(fout, indent=options.indent, after_entry=True)
                passes.sanitize(placed.events(), scrubber, writer, stamp, tally, name)
                continue
            if out is not None:
                out.seek(0)
                shutil.copyfileobj(out, fout, 1 << 20)
            tally.extend(done.tally)
            scrubber.known.replay(done.journal)
    finally:
        for _, out in children:
            if out is not None:
                out.close()
    return tally


def _sanitizing(
    placed: _Placed,
    scrubber: Scrubber,
    out: BinaryIO | None,
    name: str,
    ruleset: Ruleset,
    options: Options,
    stamp: dict[str, Any],
) -> Callable[[], _Sanitized]:
    def sanitize() -> _Sanitized:
        scrubber.probe()
        journal = scrubber.keep_journal()
        tally = Tally(ruleset, options)
        writer = HarWriter(out or Discard(), indent=options.indent, after_entry=True)
        passes.sanitize(placed.events(), scrubber, writer, stamp, tally, name)
        if out is not None:
            out.flush()
        return _Sanitized(tally, journal)

    return sanitize


def _still_right(scrubber: Scrubber, first_pass: tuple[int, int], before: Forms[Any]) -> bool:
    """Whether the part sanitized without knowing the forms before (what the second pass
    learnt in the parts before it) comes out as it would knowing them."""
    if not before:
        return True  # it knew all one process knows there, at the cap or not
    copies = scrubber.known
    probe = copies.probe
    ours = copies.since(first_pass)
    return not (
        probe is None
        or copies.near_capacity(before)  # where the first to come wins
        # Learnt here too: the same from then on if first seen alike, and if no text looked
        # at before may hold it (a CSRF token on every page a body teaches).
        or ours.conflict(before, probe.early)
        or probe.may_hold(before.apart_from(ours))
    )


class _Child:
    """A forked process working on one part: result() is what it sent, or None."""

    def __init__(self, conn: Connection | None) -> None:
        self._conn = conn

    @classmethod
    def failed(cls) -> _Child:
        """One that could not be started."""
        return cls(None)

    def result(self, before: Forms[Any] | None = None) -> Any:
        """What the work returned; None if it failed. Given before (the forms learnt by the
        parts before), None also unless its check says those change nothing."""
        if self._conn is None:
            return None
        try:
            kind, value = self._conn.recv()
            if kind != "done":
                return None
            if before is not None:
                self._conn.send(before)
                if self._conn.recv() != ("checked", True):
                    return None
        except (EOFError, OSError):  # it died
            return None
        return value


class _Forks:
    """The forked processes of one run: each killed and waited for when the run ends, however
    it ends."""

    def __init__(self) -> None:
        self._pids: list[int] = []
        self._conns: list[Connection] = []  # ours: a child closes its copies of them all

    def __enter__(self) -> _Forks:
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in self._pids:
            with contextlib.suppress(OSError):  # gone already
                os.kill(pid, signal.SIGKILL)
        for pid in self._pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for conn in self._conns:
            conn.close()

    def start(
        self, work: Callable[[], Any], *, check: Callable[[Forms[Any]], bool] | None = None
    ) -> _Child:
        """Run work in a forked process; then, with check, answer whether its result holds
        given the forms the parent sends (see _still_right). One that cannot be started
        (no process or descriptor left) is a failed child: its part is done here."""
        try:
            ours, theirs = Pipe()
        except OSError:
            return _Child.failed()
        held = interrupts.hold()  # an interrupt must not unwind the child through our frames
        parent = os.getpid()
        try:
            pid = os.fork()
            if pid == 0:
                # Without the parent's ends of the pipes, a child sees the parent die as EOF.
                for conn in [*self._conns, ours]:
                    conn.close()
                _child_main(work, theirs, held, check, parent)  # never returns
            self._pids.append(pid)  # before an interrupt held meanwhile unwinds this
            self._conns.append(ours)
        except OSError:
            ours.close()
            return _Child.failed()
        finally:
            interrupts.release(held)
            theirs.close()
        return _Child(ours)


def _child_main(
    work: Callable[[], Any],
    conn: Connection,
    held: set[signal.Signals] | None,
    check: Callable[[Forms[Any]], bool] | None,
    parent: int,
) -> None:
    status = 1
    try:
        _die_with(parent)
        interrupts.release(held)
        try:
            value = work()
        except BaseException:  # noqa: BLE001  # the parent does this part again and says why
            conn.send(("failed", None))
            return
        conn.send(("done", value))
        if check is not None:
            before = conn.recv()
            try:
                right = check(before)
            except BaseException:  # noqa: BLE001  # then it is not known to be right
                right = False
            conn.send(("checked", right is True))
        status = 0
    except BaseException:  # noqa: BLE001, S110  # the parent, gone or interrupted, decides
        pass
    finally:
        os._exit(status)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """On Linux, have the kernel kill this process when its parent dies, even by SIGKILL,
    which leaves no chance to stop it: else it would read on for nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only here, in a forked process

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before that
        os._exit(1)
