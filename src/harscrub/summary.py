"""What a person reads after a run: the tables on stderr, --check's list, the closing line.

rich is imported only when a table is drawn, so `--version` and a quiet run do not pay for it.
Everything shown comes from a RunReport, which holds no value; file names and URLs are escaped
so that one finding is one line whatever they hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from harscrub.report import Failure, Report, RunReport, utf8

MAX_FILES_SHOWN = 40  # per-file rows beyond this would scroll the totals away; --report has all


def printable(text: str) -> str:
    """text on one line: control characters shown escaped, and a file name's undecodable bytes
    as the reports spell them (\\xe9)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in utf8(text))


def print_tables(run: RunReport, stream: TextIO) -> None:
    """Findings by file, rule and place with counts, then totals when there are several files."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    with_findings = [r for r in run.reports if r.total]
    if not with_findings:
        return
    console = Console(file=stream, highlight=False)
    verb = "found" if run.mode == "check" else "redacted"
    one_file = len(run.reports) == 1  # the closing line names it
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    if not one_file:
        table.add_column("file", overflow="fold")
    table.add_column("rule")
    table.add_column("place")
    table.add_column(verb, justify="right")
    for report in with_findings[:MAX_FILES_SHOWN]:
        first = True
        for (rule, place), n in sorted(report.by_rule_and_place().items()):
            name = [Text(printable(report.source) if first else "")] * (not one_file)
            table.add_row(*name, Text(rule), Text(place), str(n))
            first = False
        table.add_section()
    console.print(table)
    if len(with_findings) > MAX_FILES_SHOWN:
        more = len(with_findings) - MAX_FILES_SHOWN
        console.print(f"... and {more} more files with findings (--report lists every one)")
    if len(with_findings) > 1:
        totals = Table("rule", "place", verb, box=box.SIMPLE_HEAD, show_edge=False)
        totals.title = "all files"
        totals.columns[2].justify = "right"
        for (rule, place), n in sorted(run.by_rule_and_place().items()):
            totals.add_row(Text(rule), Text(place), str(n))
        console.print(totals)


class ProgressBar:
    """Files done out of all, on stderr, only where stderr is a terminal (not a pipe, not CI)."""

    def __init__(self, stream: TextIO, verb: str) -> None:
        self._stream = stream
        self._verb = verb
        self._bar: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        if total < 2 or not self._stream.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            f"[progress.description]{self._verb}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=self._stream),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self._verb, total=total)

    def advance(self, done: Report | Failure) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def check_lines(run: RunReport) -> Iterator[str]:
    """--check's list: ``file:line: entry N METHOD URL: path (rule)``, one per finding."""
    for report in run.reports:
        for r in report.redactions:
            if r.entry < 0:
                where = f"{report.source}: log: {r.path}"
            else:
                line = f":{r.line}" if r.line else ""
                where = f"{report.source}{line}: entry {r.entry} {r.method} {r.url}: {r.path}"
            yield printable(f"{where} ({r.rule})")


def closing_line(run: RunReport, destination: str) -> str:
    """The one-line summary at the end; destination says where a batch's output went."""
    values = plural(run.total, "value")
    if not run.reports and not run.failures:
        return "found no HAR files (folders are searched for *.har; see --glob)"
    if run.mode == "check":
        holding = sum(1 for r in run.reports if r.total)
        checked = plural(len(run.reports), "file")
        if not holding:
            return f"{checked} checked, no secrets found"
        return (
            f"{values} to redact in {holding} of {checked}; "
            "run harscrub on them (without --check) to clean them"
        )
    if len(run.reports) == 1 and not run.failures and not destination:
        return _one_file(run.reports[0])
    return f"wrote {plural(len(run.reports), 'file')} {destination} ({values} redacted)"


def _one_file(report: Report) -> str:
    # By rule and place in the table above; -q prints neither.
    entries = plural(report.entries, "entry", "entries")
    return f"wrote {report.output} ({entries}, {plural(report.total, 'value')} redacted)"


def plural(n: int, word: str, words: str = "") -> str:
    return f"{n:,} {word if n == 1 else words or word + 's'}"
