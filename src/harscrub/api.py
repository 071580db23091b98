"""The library API: scrub a HAR stream or file. The CLI is a thin layer over these functions."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from harscrub import passes
from harscrub.engine import Scrubber
from harscrub.errors import InputError, OutputError, UsageError
from harscrub.options import Options
from harscrub.output import STDIO, atomic_output
from harscrub.passes import Discard, Tally, stamp
from harscrub.reader import HarReader
from harscrub.remote import Url, downloaded, place, writable
from harscrub.report import Report
from harscrub.rules import Ruleset, load_ruleset
from harscrub.writer import HarWriter

_WAKE = 0.25  # seconds between checks for a signal while a pipe sends nothing
_COPY_SIZE = 1 << 16


def scrub_stream(
    fin: BinaryIO,
    fout: BinaryIO,
    *,
    name: str = "<stream>",
    output: str = "<stream>",
    ruleset: Ruleset | None = None,
    options: Options | None = None,
    workers: int = 1,
) -> Report:
    """Read a HAR from fin and write it, sanitized, to fout, one entry at a time.

    With workers > 1, a large HAR in a file is read in up to that many parts at once, each by
    a process of its own (see harscrub.parallel); the output is the same, byte for byte.
    Raises BadHar or InputError when the input is not a readable HAR. fout may then hold a
    partial document: scrub_file writes through a temp file for exactly that reason.
    """
    return _run(
        fin, fout, name=name, output=output, ruleset=ruleset, options=options, workers=workers
    )


def check_stream(
    fin: BinaryIO,
    *,
    name: str = "<stream>",
    ruleset: Ruleset | None = None,
    options: Options | None = None,
    workers: int = 1,
) -> Report:
    """What scrub_stream would remove from the HAR in fin, writing nothing (--check).

    The findings are exactly scrub_stream's: the same two passes run, and the sanitized
    document is encoded and thrown away, so a file that could not be written fails here too.
    """
    return _run(
        fin, Discard(), name=name, output=None, ruleset=ruleset, options=options, workers=workers
    )


def _run(
    fin: BinaryIO,
    fout: BinaryIO,
    *,
    name: str,
    output: str | None,
    ruleset: Ruleset | None,
    options: Options | None,
    workers: int,
) -> Report:
    ruleset = ruleset or load_ruleset()
    options = options or Options()
    with _rereadable(fin) as fin:
        tally = None
        if workers > 1:
            from harscrub import parallel  # forks: only for a large file in a file

            tally = parallel.run(fin, fout, name, ruleset, options, workers)
        if tally is None:
            tally = _one_process(fin, fout, name, ruleset, options)
    return Report(name, output, tally.entries, tuple(tally.redactions), tally.counts)


def _one_process(
    fin: BinaryIO, fout: BinaryIO, name: str, ruleset: Ruleset, options: Options
) -> Tally:
    scrubber = Scrubber(ruleset, options)
    start = fin.tell()
    passes.learn(HarReader(fin.read, name), scrubber)
    fin.seek(start)
    tally = Tally(ruleset, options)
    writer = HarWriter(fout, indent=options.indent)
    events = HarReader(fin.read, name)
    passes.sanitize(events, scrubber, writer, stamp(ruleset, options), tally, name)
    return tally


def scrub_file(
    src: Path | Url | str,
    dst: Path | Url | str | None = None,
    *,
    in_place: bool = False,
    ruleset: Ruleset | None = None,
    options: Options | None = None,
    workers: int = 1,
) -> Report:
    """Sanitize the HAR at src into dst, atomically: dst appears only when complete.

    The string ``"-"`` means stdin or stdout (a file named "-" is ``Path("-")`` or ``"./-"``);
    a string such as ``"s3://bucket/key.har"`` is an object in a store (harscrub[cloud]).
    Without dst, a file src is written beside itself as ``NAME.sanitized.har`` (see
    default_output) and stdin goes to stdout. The input is never overwritten unless in_place is
    set; on any error nothing is written. workers: see scrub_stream.
    """
    source = location(src)
    if in_place and (dst is not None or source is None):
        raise UsageError("--in-place rewrites a named input file; it takes no output")
    if isinstance(dst, str) and dst.endswith(("/", os.sep)) and not _is_stdio(dst):
        raise OutputError(f"{dst}: is a folder name; give a file name")
    target = _output_for(source, dst, in_place=in_place)
    if isinstance(target, Url):
        writable(target)  # refused before an object is downloaded for nothing
    with _open_input(source) as fin:
        if dst is None and isinstance(source, Path) and not in_place:
            _refuse_stream(source, fin)
        mode_from = source if in_place and isinstance(source, Path) else None
        with atomic_output(target, mode_from=mode_from) as fout:
            return scrub_stream(
                fin,
                fout,
                name=str(source or "<stdin>"),
                output=str(target or "<stdout>"),
                ruleset=ruleset,
                options=options,
                workers=workers,
            )


def check_file(
    src: Path | Url | str,
    *,
    ruleset: Ruleset | None = None,
    options: Options | None = None,
    workers: int = 1,
) -> Report:
    """What scrub_file would remove from the HAR at src (``"-"``: stdin); writes nothing."""
    source = location(src)
    with _open_input(source) as fin:
        name = str(source or "<stdin>")
        return check_stream(fin, name=name, ruleset=ruleset, options=options, workers=workers)


@contextlib.contextmanager
def _rereadable(fin: BinaryIO) -> Iterator[BinaryIO]:
    """fin itself when it can seek; else a temporary copy of it (a pipe, stdin)."""
    if fin.seekable():
        yield fin
        return
    with tempfile.TemporaryFile() as copy:
        try:
            _copy_waking(fin, copy)
        except OSError as e:
            raise InputError.cannot_read(getattr(fin, "name", "<stream>"), e) from None
        copy.seek(0)
        yield copy


def _copy_waking(fin: BinaryIO, out: BinaryIO) -> None:
    """shutil.copyfileobj, waking every _WAKE seconds while no input comes.

    A signal that lands just before a blocking read() is only seen once the read returns, and
    from a pipe nobody writes to any more that is never: Ctrl-C would then do nothing. Waiting
    in select() with a timeout checks for it again.
    """
    try:
        fd = fin.fileno()
        read = fin.read1  # type: ignore[attr-defined]  # at most one read of the pipe
    except (AttributeError, OSError, ValueError):  # no descriptor (a BytesIO): nothing blocks
        shutil.copyfileobj(fin, out)
        return
    while True:
        if not select.select([fd], [], [], _WAKE)[0]:
            continue
        data = read(_COPY_SIZE)
        if not data:
            return
        out.write(data)


def default_output(src: Path | Url) -> Path | Url:
    """Where a sanitized copy of src goes without -o: ``login.har`` -> ``login.sanitized.har``."""
    return src.with_name(f"{src.stem}.sanitized{src.suffix or '.har'}")


def location(path: Path | Url | str) -> Path | Url | None:
    """What a path given as a string names: None for ``"-"`` (stdin or stdout), a Url for
    ``s3://...`` and the like, else a local Path."""
    return None if _is_stdio(path) else place(path)


def _is_stdio(path: object) -> bool:
    return isinstance(path, str) and path == STDIO


def _open_input(src: Path | Url | None) -> contextlib.AbstractContextManager[BinaryIO]:
    if isinstance(src, Url):
        return downloaded(src)
    if src is None:
        if sys.stdin is None:
            raise InputError("<stdin>: not open")
        return contextlib.nullcontext(sys.stdin.buffer)  # stdin is not ours to close
    try:
        return src.open("rb")
    except IsADirectoryError:
        raise InputError(f"{src}: is a directory, not a HAR file") from None
    except OSError as e:
        raise InputError.cannot_read(str(src), e) from None


def _output_for(
    source: Path | Url | None, dst: Path | Url | str | None, *, in_place: bool
) -> Path | Url | None:
    """The output (None: stdout), refusing any that would overwrite the input by accident."""
    if in_place:
        return source
    if dst is not None:
        target = location(dst)
    elif source is not None:
        target = default_output(source)
    else:
        return None  # stdin to stdout
    if target is None:
        return None
    if _same_file(source, target):
        raise UsageError(f"{target}: the output is the input; use --in-place to overwrite it")
    return target


def _refuse_stream(source: Path, fin: BinaryIO) -> None:
    """A named input that is no regular file (e.g. <(zcat x.har.gz)) has no "beside" to be
    written to."""
    if not stat.S_ISREG(os.fstat(fin.fileno()).st_mode):
        raise UsageError(f"{source}: not a regular file; say where the output goes with -o")


def _same_file(src: Path | Url | None, dst: Path | Url) -> bool:
    """Whether writing dst would overwrite src (stdin included), through links of any kind."""
    if isinstance(src, Url) or isinstance(dst, Url):
        return isinstance(src, Url) and isinstance(dst, Url) and src.same_as() == dst.same_as()
    try:
        dst_stat = dst.stat()
        src_stat = os.fstat(sys.stdin.fileno()) if src is None else src.stat()
    except (OSError, ValueError):  # no such file yet, a closed stdin or one without a descriptor
        return False
    return os.path.samestat(src_stat, dst_stat)
