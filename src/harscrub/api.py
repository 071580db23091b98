"""The library API: scrub a HAR stream or file. The CLI is a thin layer over these functions."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from harscrub import __version__
from harscrub.engine import Scrubber
from harscrub.errors import InputError, UsageError
from harscrub.options import Options
from harscrub.output import STDIO, atomic_output
from harscrub.reader import LOG_DEPTH, Close, Entry, HarReader, Member
from harscrub.rules import Ruleset, load_ruleset
from harscrub.writer import HarWriter

STAMP_KEY = "_harscrub"


@dataclass(frozen=True, slots=True)
class Report:
    """What one run removed from one HAR: counts by rule, never values."""

    source: str
    output: str
    entries: int
    redacted: dict[str, int] = field(default_factory=dict)  # rule id -> values removed

    @property
    def total(self) -> int:
        return sum(self.redacted.values())


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
    ruleset = ruleset or load_ruleset()
    options = options or Options()
    scrubber = Scrubber(ruleset, options)
    writer = HarWriter(fout, indent=options.indent)
    redacted: Counter[str] = Counter()
    entries = 0
    for event in HarReader(fin.read, name):
        match event:
            case Entry(index=index, value=entry):
                redacted.update(f.rule_id for f in scrubber.scrub_entry(entry, index))
                entries += 1
            case Member(depth=depth, key=key) if depth == LOG_DEPTH and key == STAMP_KEY:
                continue  # a second run replaces the first run's stamp
            case Close(depth=depth) if depth == LOG_DEPTH:
                writer.write(Member(LOG_DEPTH, STAMP_KEY, _stamp(ruleset)))
        writer.write(event)
    return Report(name, output, entries, dict(redacted))


def scrub_file(
    src: Path,
    dst: Path | None = None,
    *,
    in_place: bool = False,
    ruleset: Ruleset | None = None,
    options: Options | None = None,
) -> Report:
    """Sanitize the HAR at src into dst, atomically: dst appears only when complete.

    ``Path("-")`` means stdin or stdout. Without dst, a file src is written beside itself as
    ``NAME.sanitized.har`` (see default_output) and stdin goes to stdout. The input is never
    overwritten unless in_place is set.
    """
    if in_place:
        if dst is not None or src == STDIO:
            raise UsageError("--in-place rewrites a named input file; it takes no output")
        dst = src.resolve()  # through a symlink, to the file it names
    elif dst is None:
        dst = STDIO if src == STDIO else default_output(src)
    elif src != STDIO and dst != STDIO and _same_file(src, dst):
        raise UsageError(f"{dst}: the output is the input; use --in-place to overwrite it")
    with _open_input(src) as fin, atomic_output(dst, mode_from=src if in_place else None) as fout:
        return scrub_stream(
            fin,
            fout,
            name=_display(src, "<stdin>"),
            output=_display(dst, "<stdout>"),
            ruleset=ruleset,
            options=options,
        )


def default_output(src: Path) -> Path:
    """Where a sanitized copy of src goes without -o: ``login.har`` -> ``login.sanitized.har``."""
    return src.with_name(f"{src.stem}.sanitized{src.suffix or '.har'}")


def _stamp(ruleset: Ruleset) -> dict[str, Any]:
    # No key and no time stamp: a second run over the same input gives the same bytes.
    return {"version": __version__, "placeholder": "tag", "rulePacks": list(ruleset.packs)}


def _open_input(src: Path) -> contextlib.AbstractContextManager[BinaryIO]:
    if src == STDIO:
        return contextlib.nullcontext(sys.stdin.buffer)  # stdin is not ours to close
    if src.is_dir():
        raise InputError(f"{src}: is a directory, not a HAR file")
    try:
        return src.open("rb")
    except OSError as e:
        raise InputError(f"{src}: cannot read ({e.strerror or type(e).__name__})") from e


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def _display(path: Path, stdio_name: str) -> str:
    return stdio_name if path == STDIO else str(path)
