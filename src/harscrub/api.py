"""The library API: scrub a HAR stream or file. The CLI is a thin layer over these functions."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import stat
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from harscrub import __version__
from harscrub.engine import Finding, Scrubber
from harscrub.errors import BadHar, InputError, OutputError, UsageError
from harscrub.jsoncodec import JsonError
from harscrub.options import Options
from harscrub.output import STDIO, atomic_output
from harscrub.reader import LOG_DEPTH, Close, Entry, Event, HarReader, Member
from harscrub.remote import Url, downloaded, place, writable
from harscrub.report import Redaction, Report
from harscrub.rules import Ruleset, load_ruleset
from harscrub.writer import HarWriter

STAMP_KEY = "_harscrub"
_MAX_REPORTED = 2048  # characters of a request URL a report keeps
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
) -> Report:
    """Read a HAR from fin and write it, sanitized, to fout, one entry at a time.

    Raises BadHar or InputError when the input is not a readable HAR. fout may then hold a
    partial document: scrub_file writes through a temp file for exactly that reason.
    """
    return _run(fin, fout, name=name, output=output, ruleset=ruleset, options=options)


def check_stream(
    fin: BinaryIO,
    *,
    name: str = "<stream>",
    ruleset: Ruleset | None = None,
    options: Options | None = None,
) -> Report:
    """What scrub_stream would remove from the HAR in fin, writing nothing (--check).

    The findings are exactly scrub_stream's: the same two passes run, and the sanitized
    document is encoded and thrown away, so a file that could not be written fails here too.
    """
    return _run(fin, _Discard(), name=name, output=None, ruleset=ruleset, options=options)


def _run(
    fin: BinaryIO,
    fout: BinaryIO,
    *,
    name: str,
    output: str | None,
    ruleset: Ruleset | None,
    options: Options | None,
) -> Report:
    ruleset = ruleset or load_ruleset()
    options = options or Options()
    scrubber = Scrubber(ruleset, options)
    with _rereadable(fin) as fin:
        # Two passes: the first learns the session secrets in headers, cookies and URLs, so
        # that a copy of one is removed even from an entry that comes before it (a tracking
        # cookie's value sent in a URL before the server set it). A bad HAR fails here,
        # before anything is written.
        start = fin.tell()
        for event in HarReader(fin.read, name):
            if isinstance(event, Entry):
                scrubber.learn(event.value)
        fin.seek(start)
        writer = HarWriter(fout, indent=options.indent)
        stamp = _stamp(ruleset, options)
        actions = {rule.id: rule.action for rule in ruleset.rules}
        redactions: list[Redaction] = []
        # A report holds every finding; their paths and tags repeat ("request.headers[3].value",
        # one tag per secret), and one copy of each halves what a finding costs in memory. A
        # dict of this run's, not sys.intern: interned strings outlive the run in a library.
        shared: dict[str, str] = {}
        counts: Counter[tuple[str, str]] = Counter()
        entries = 0
        for event in HarReader(fin.read, name):
            for out, findings in _scrubbed(event, scrubber, stamp):
                for f in findings:
                    counts[f.rule_id, f.place] += 1
                if findings and options.keep_findings:
                    redactions += _redactions(out, findings, actions, shared)
                entries += isinstance(out, Entry)
                _write(writer, out, name)
    return Report(name, output, entries, tuple(redactions), counts)


def _redactions(
    event: Event, findings: list[Finding], actions: dict[str, str], shared: dict[str, str]
) -> list[Redaction]:
    """Findings as a report gives them: with the entry's line, method and sanitized URL."""
    line, method, url = 0, "", ""
    if isinstance(event, Entry):
        line = event.line
        request = event.value.get("request")
        if isinstance(request, dict):
            method = _text(request.get("method"))
            url = _text(request.get("url"))
    return [
        Redaction(
            f.entry,
            line,
            method,
            url,
            shared.setdefault(f.path, f.path),
            f.place,
            f.rule_id,
            actions.get(f.rule_id, "redact"),
            shared.setdefault(f.tag, f.tag),
            f.length,
        )
        for f in findings
    ]


def _text(value: Any) -> str:
    # A data: URL can be megabytes long; a report names the request, it does not copy it.
    return value[:_MAX_REPORTED] if isinstance(value, str) else ""


class _Discard:
    """A binary sink that keeps nothing: check_stream's output."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _scrubbed(
    event: Event, scrubber: Scrubber, stamp: dict[str, Any]
) -> Iterator[tuple[Event, list[Finding]]]:
    """The events to write for one read, each with what was removed from it."""
    match event:
        case Entry(index=index, value=entry):
            yield event, scrubber.scrub_entry(entry, index)
        case Member(depth=depth, key=key) if depth == LOG_DEPTH and key == STAMP_KEY:
            return  # a second run replaces the first run's stamp
        case Member(depth=depth, key=key, value=value):
            # pages[].title, comments, vendor fields: anything outside the entries
            prefix = "log." if depth == LOG_DEPTH else ""
            value, findings = scrubber.scrub_member(prefix, key, value)
            yield Member(depth, key, value), findings
        case Close(depth=depth) if depth == LOG_DEPTH:
            yield Member(LOG_DEPTH, STAMP_KEY, stamp), []
            yield event, []
        case _:
            yield event, []


def _write(writer: HarWriter, event: Event, name: str) -> None:
    try:
        writer.write(event)
    except JsonError as e:  # a value deeper than the exact encoder goes
        where = f"log.entries[{event.index}]" if isinstance(event, Entry) else "log"
        raise BadHar(f"{name}: {where}: {e.msg}") from None


def scrub_file(
    src: Path | Url | str,
    dst: Path | Url | str | None = None,
    *,
    in_place: bool = False,
    ruleset: Ruleset | None = None,
    options: Options | None = None,
) -> Report:
    """Sanitize the HAR at src into dst, atomically: dst appears only when complete.

    The string ``"-"`` means stdin or stdout (a file named "-" is ``Path("-")`` or ``"./-"``);
    a string such as ``"s3://bucket/key.har"`` is an object in a store (harscrub[cloud]).
    Without dst, a file src is written beside itself as ``NAME.sanitized.har`` (see
    default_output) and stdin goes to stdout. The input is never overwritten unless in_place is
    set; on any error nothing is written.
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
            )


def check_file(
    src: Path | Url | str, *, ruleset: Ruleset | None = None, options: Options | None = None
) -> Report:
    """What scrub_file would remove from the HAR at src (``"-"``: stdin); writes nothing."""
    source = location(src)
    with _open_input(source) as fin:
        return check_stream(fin, name=str(source or "<stdin>"), ruleset=ruleset, options=options)


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


def _stamp(ruleset: Ruleset, options: Options) -> dict[str, Any]:
    """What a support system needs to tell a cleaned HAR from a raw one, and a default run
    from a weakened one. No key and no time stamp: a second run gives the same bytes; a user's
    pack by file name only, since its folder may name a person."""
    stamp: dict[str, Any] = {
        "version": __version__,
        "placeholder": options.placeholder,
        "rulePacks": [p if p.startswith("builtin:") else Path(p).name for p in ruleset.packs],
    }
    if ruleset.disabled:
        stamp["disabledRules"] = list(ruleset.disabled)
    if options.allow_values or options.allow_names or options.allow_hosts:
        stamp["allowlists"] = True
    if options.keep_jwt_claims:
        stamp["keepJwtClaims"] = True
    return stamp


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
