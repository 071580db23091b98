"""The command line: a thin click layer over harscrub.api; the one place exit codes are set."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson

from harscrub import __version__, interrupts, remote
from harscrub.api import check_file, location, scrub_file
from harscrub.batch import (
    PATTERNS,
    Place,
    default_workers,
    name_matches,
    same_place,
    scrub_paths,
)
from harscrub.config import Config, find_config, load_config
from harscrub.errors import HarscrubError, UploadInterrupted, UsageError
from harscrub.options import Options
from harscrub.output import STDIO, atomic_output
from harscrub.redact import STYLES
from harscrub.report import RunReport, to_json
from harscrub.rules import PLACES, Ruleset, load_ruleset
from harscrub.sarif import to_sarif
from harscrub.summary import (
    ProgressBar,
    check_lines,
    closing_line,
    plural,
    print_tables,
    printable,
)

_GC_THRESHOLD = 50_000  # allocations between two collections of the youngest generation


class Exit(IntEnum):
    OK = 0
    SECRETS_FOUND = 1
    BAD_INPUT = 2
    INTERNAL_ERROR = 3
    INTERRUPTED = 130


EPILOG = """\b
Examples:
  harscrub login.har                 writes login.sanitized.har beside it
  harscrub login.har -o clean.har    writes clean.har
  harscrub login.har --in-place      replaces login.har with its sanitized copy
  harscrub - < in.har > out.har      stdin to stdout
  harscrub --check tickets/          lists what would be redacted; exit 1 if anything
  harscrub incoming/ -o clean/       mirrors a folder's HARs into clean/
  harscrub s3://tickets/ -o s3://clean/ --dask tcp://scheduler:8786
                                     the same for a bucket's prefix, on a Dask cluster
  harscrub rules                     lists the rules in use

\b
Settings also come from .harscrub.toml, or [tool.harscrub] in pyproject.toml, in the
working folder or above it (see the README); options given here add to its lists.

\b
Exit codes: 0 done (with --check: nothing to redact); 1 with --check, something
would be redacted; 2 bad input or usage (a file that fails writes nothing; a batch
names each one and does the rest); 3 internal error (a bug in harscrub; rerun with
--debug); 130 interrupted. The highest that applies wins.
"""


class _DefaultToScrub(click.Group):
    """`harscrub FILE` scrubs; `harscrub rules` lists rules. A file named "rules" is ./rules."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["scrub", *args]
        return super().parse_args(ctx, args)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as e:  # stdout closed or full under --help, --version or `rules`
            _stdout_failed(e)


@click.group(cls=_DefaultToScrub, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Remove secrets from HAR files."""


def _rule_options(command: Callable[..., None]) -> Callable[..., None]:
    """Options that choose the rules: shared by scrubbing and `harscrub rules`."""
    for option in reversed(
        [
            click.option(
                "--rules",
                "rule_packs",
                multiple=True,
                metavar="FILE",
                type=click.Path(dir_okay=False, readable=False),
                help="Add a rule pack (TOML, see rules/README.md). Repeatable.",
            ),
            click.option(
                "--disable", multiple=True, metavar="RULE_ID", help="Turn a rule off. Repeatable."
            ),
            click.option(
                "--config",
                "config_file",
                metavar="FILE",
                type=click.Path(dir_okay=False, readable=False),
                help="Read settings from this file instead of looking for one.",
            ),
            click.option("--no-config", is_flag=True, help="Ignore any config file."),
        ]
    ):
        command = option(command)
    return command


class _Scrub(click.Command):
    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("harscrub", "[OPTIONS] INPUT...")  # the "scrub" is implied


@main.command(
    "scrub", cls=_Scrub, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
# Paths stay strings: "-" is stdin/stdout while "./-" is a file, and "out/" is not "out".
# click's readable check is off, so an unreadable file gets harscrub's own one-line error.
@click.argument(
    "inputs",
    metavar="INPUT...",
    nargs=-1,
    required=True,
    type=click.Path(allow_dash=True, readable=False),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(allow_dash=True, readable=False),
    help="Where to write the sanitized HAR ('-' for stdout), or for several inputs or a "
    "folder, the folder to mirror them into. Default: beside the input, "
    "login.har -> login.sanitized.har.",
)
@click.option("--in-place", is_flag=True, help="Replace each input with its sanitized copy.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; list what would be redacted and exit 1 if anything would be.",
)
@click.option(
    "--report",
    "report_path",
    metavar="PATH",
    type=click.Path(allow_dash=True, dir_okay=False, readable=False),
    help="Write what was found to PATH ('-' for stdout): file, entry, URL, place, rule; "
    "never a value.",
)
@click.option(
    "--report-format",
    type=click.Choice(["json", "sarif"]),
    help="json (default), or sarif for code-scanning uploads.",
)
@click.option(
    "--glob",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Which files to take from folders (default *.har). Repeatable.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes: for several files, or the parts of one large HAR. "
    "Default: one per core.",
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Spread the files over the workers of this Dask scheduler (tcp://host:8786); "
    "they must reach the paths too: URLs, or a shared filesystem.",
)
@_rule_options
@click.option(
    "--placeholder",
    type=click.Choice(STYLES),
    help="What replaces a secret: tag [REDACTED:rule:5f2a9c] (default), mask [REDACTED], "
    "or drop (nothing).",
)
@click.option(
    "--keep-jwt-claims",
    is_flag=True,
    default=None,
    help="Keep a JWT's header and claims for debugging; only its signature goes.",
)
@click.option("--allow-value", multiple=True, metavar="VALUE", help="Never redact this value.")
@click.option(
    "--allow-name",
    multiple=True,
    metavar="NAME",
    help="Never redact by this name (a header, "
    "cookie, parameter or key); token shapes in its value still go.",
)
@click.option(
    "--allow-host",
    multiple=True,
    metavar="HOST",
    help="Leave URLs to this host as they are (.example.com: and its subdomains).",
)
@click.option("--compact", is_flag=True, help="Write compact JSON instead of 2-space indentation.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures (and --check's list).")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.version_option(__version__, "-V", "--version", prog_name="harscrub")
def scrub(
    inputs: tuple[str, ...],
    output: str | None,
    in_place: bool,
    check: bool,
    report_path: str | None,
    report_format: str | None,
    patterns: tuple[str, ...],
    jobs: int | None,
    dask_address: str | None,
    compact: bool,
    quiet: bool,
    debug: bool,
    **settings: Any,
) -> None:
    """Remove credentials, tokens and session cookies from HAR files and folders of them.

    Names, URLs, timings and bodies stay, with each secret cut out and replaced by a
    placeholder, so the HAR is still useful for debugging. Each output is written to a
    temporary file and renamed into place only when complete; on any error nothing is
    written for that file and its input is left untouched.
    """
    interrupts.install()
    # harscrub makes millions of short-lived objects and hardly any cycles. At the default
    # threshold (700) the collector ran so often that an entry with 100,000 cookies took 6.3 s
    # instead of 2.2 s, growing faster than its size; a normal HAR gains 5 to 10%. The
    # library leaves this process-wide setting to its caller.
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])
    with _errors(debug):
        config = _config(settings)
        ruleset = _ruleset(settings, config)
        # Each finding is kept only where it is shown: in a report, or in --check's list.
        keep_findings = check or report_path is not None
        options = _options(settings, config, indent=not compact, keep_findings=keep_findings)
        batch = _is_batch(inputs, output) or dask_address is not None
        patterns = patterns or PATTERNS
        _check_usage(
            inputs, output, batch=batch, check=check, in_place=in_place, dask=bool(dask_address)
        )
        if report_format is not None and report_path is None:
            raise UsageError("--report-format says how to write --report PATH; give that too")
        if report_path is not None:
            _check_report_path(
                report_path, inputs, output, check=check, batch=batch, patterns=patterns
            )
        if batch:
            result = _run_batch(
                inputs,
                output,
                in_place=in_place,
                check=check,
                patterns=patterns,
                workers=jobs,
                dask=dask_address,
                ruleset=ruleset,
                options=options,
                quiet=quiet,
            )
        elif check:
            workers = jobs or default_workers()
            one = check_file(inputs[0], ruleset=ruleset, options=options, workers=workers)
            result = RunReport("check", (one,))
        else:
            one = scrub_file(
                inputs[0],
                output,
                in_place=in_place,
                ruleset=ruleset,
                options=options,
                workers=jobs or default_workers(),
            )
            result = RunReport("scrub", (one,))
        _tell(result, _where(batch, output, in_place), quiet=quiet, listed=report_path != STDIO)
        if report_path is not None:
            _write_report(result, report_path, report_format or "json", ruleset)
    _exit(result, debug=debug)


def _is_batch(inputs: tuple[str, ...], output: str | None) -> bool:
    """Several inputs, a folder (or a prefix in a store), or -o naming one: each file's output
    goes under -o (or beside it, or in place), and a file that fails does not stop the others."""
    if len(inputs) > 1 or (inputs[0] not in ("", STDIO) and _is_folder(inputs[0])):
        return True
    if output in (None, STDIO):
        return False
    return output.endswith(("/", os.sep)) or _is_folder(output, writing=True)


def _is_folder(path: str, *, writing: bool = False) -> bool:
    place = location(path)
    if isinstance(place, remote.Url):
        if writing:
            remote.writable(place)  # refused before it is asked anything
        return remote.kind(place, output=writing) == "prefix"
    return place is not None and place.is_dir()


def _check_usage(
    inputs: tuple[str, ...],
    output: str | None,
    *,
    batch: bool,
    check: bool,
    in_place: bool,
    dask: bool,
) -> None:
    if "" in inputs:
        raise UsageError("an input path is empty")
    if STDIO in inputs and len(inputs) > 1:
        raise UsageError("'-' (stdin) can only be the one input")
    if check and (output is not None or in_place):
        raise UsageError("--check writes nothing; it takes no -o or --in-place")
    if dask and (STDIO in inputs or (output is not None and _is_stdout(output))):
        raise UsageError("--dask works on named files, folders and prefixes; not stdin or stdout")
    if batch and output is not None and _is_stdout(output):
        raise UsageError("several HARs cannot go to stdout; give -o a folder")


def _check_report_path(
    path: str,
    inputs: tuple[str, ...],
    output: str | None,
    *,
    check: bool,
    batch: bool,
    patterns: tuple[str, ...],
) -> None:
    """Refuse, before any work, a report that would mix with the HAR on stdout, overwrite a
    file the run reads or writes, or has no folder to go in."""
    if remote.is_url(path):
        _check_report_url(path, inputs, output, batch=batch, patterns=patterns)
        return
    if _is_stdout(path):
        har_to_stdout = inputs == (STDIO,) and output is None and not check
        if har_to_stdout or (output is not None and _is_stdout(output)):
            raise UsageError("the HAR goes to stdout; give --report a file name")
        return
    _refuse_clash(Path(path), [*inputs, output])
    walked = [Path(p) for p in inputs if p != STDIO and Path(p).is_dir()]
    written = [Path(output)] if batch and output is not None else []
    if name_matches(Path(path).name, patterns) and any(
        _inside(Path(path), folder) for folder in walked + written
    ):
        raise UsageError(f"{path}: would be taken for a HAR of this run; name the report apart")
    folder = Path(path).parent
    in_output = output is not None and Path(output) in (folder, *folder.parents)
    if not folder.is_dir() and not in_output:  # a batch makes its output folder
        raise UsageError(f"{path}: the report's folder does not exist")


def _check_report_url(
    path: str,
    inputs: tuple[str, ...],
    output: str | None,
    *,
    batch: bool,
    patterns: tuple[str, ...],
) -> None:
    """_check_report_path's checks for a report that goes to a store."""
    report = remote.Url.parse(path)
    if path.endswith("/"):
        raise UsageError(f"{path}: is a prefix; give the report an object name")
    remote.writable(report)
    _refuse_clash(report, [*inputs, output])
    prefixes = [p for p in (*inputs, output if batch else None) if remote.is_url(p)]
    below = [remote.Url.parse(p).same_as().text + "/" for p in prefixes]  # type: ignore[arg-type]
    if name_matches(report.name, patterns) and report.same_as().text.startswith(tuple(below)):
        raise UsageError(f"{path}: would be taken for a HAR of this run; name the report apart")


def _refuse_clash(report: Place, paths: Iterable[str | None]) -> None:
    for other in paths:
        if other not in (None, STDIO) and same_place(report, location(other)):  # type: ignore[arg-type]
            raise UsageError(f"{report}: is a HAR this run reads or writes; name the report apart")


def _run_batch(
    inputs: tuple[str, ...], output: str | None, *, quiet: bool, **options: Any
) -> RunReport:
    bar = ProgressBar(sys.stderr, "checking" if options["check"] else "scrubbing")
    try:
        return scrub_paths(inputs, output, progress=None if quiet else bar, **options)
    except KeyboardInterrupt:
        bar.stop()  # before the message, which would otherwise land inside the bar
        rest = "no other was written"
        if options["dask"] is not None:  # a cluster's worker cannot be stopped mid-task
            rest = "files the cluster was still running may yet be written, each whole"
        elif not options["check"] and (
            remote.is_url(output) or (output is None and any(map(remote.is_url, inputs)))
        ):  # into a store, beside the input objects or in place
            rest = "no other was written, but for an upload under way, which may still land whole"
        _fail(f"interrupted; files done before it are complete, {rest}", Exit.INTERRUPTED)
    finally:
        bar.stop()


def _where(batch: bool, output: str | None, in_place: bool) -> str:
    """Where a batch's output went, for the closing line; "" for one file."""
    if not batch:
        return ""
    if in_place:
        return "in place"
    return f"into {output}" if output else "beside their inputs"


def _write_report(result: RunReport, path: str, form: str, ruleset: Ruleset) -> None:
    target = location(path)
    if target is not None and not _is_stdout(path):  # the files found in folders: known now
        _refuse_clash(target, [p for r in result.reports for p in (r.source, r.output)])
    document = to_sarif(result, ruleset) if form == "sarif" else to_json(result)
    with atomic_output(target) as out:
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def _tell(result: RunReport, where: str, *, quiet: bool, listed: bool) -> None:
    """--check's list on stdout; the tables, notes and closing line on stderr."""
    try:
        if result.mode == "check" and listed:
            for line in check_lines(result):
                click.echo(line)
            sys.stdout.flush()
    except OSError as e:
        _stdout_failed(e)
    if quiet:
        return
    print_tables(result, sys.stderr)
    if result.reports or not result.failures:
        _say(closing_line(result, where))
    for skipped in result.skipped:
        _say(f"skipped {skipped.path}: {skipped.reason}")
    if result.unmatched:
        _say(f"left {plural(result.unmatched, 'other file')} in the folders alone (see --glob)")


def _exit(result: RunReport, *, debug: bool) -> NoReturn:
    """Name each failure; exit with the code that sums the run up (the worst one wins)."""
    for failure in result.failures:
        _say(f"failed: {failure.message}")
        if debug and failure.frames:
            click.echo(failure.frames, err=True)
    if any(f.internal for f in result.failures):
        sys.exit(Exit.INTERNAL_ERROR)
    if result.failures:
        sys.exit(Exit.BAD_INPUT)
    if result.mode == "check" and result.total:
        sys.exit(Exit.SECRETS_FOUND)
    sys.exit(Exit.OK)


def _stdout_failed(e: OSError) -> NoReturn:
    # Else Python flushes stdout again on the way out and prints a second error about it.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    _fail(f"<stdout>: cannot write ({e.strerror or type(e).__name__})", Exit.BAD_INPUT)


def _is_stdout(path: str) -> bool:
    """'-', or another name for stdout's file (/dev/stdout, /proc/self/fd/1)."""
    if path == STDIO:
        return True
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # no such file; stdout closed or not a file
        return False


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.abspath(folder)) in Path(os.path.abspath(path)).parents


@main.command("rules", context_settings={"help_option_names": ["-h", "--help"]})
@_rule_options
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
def list_rules(debug: bool, **settings: Any) -> None:
    """List the rules in use: id, where each looks, and what it removes."""
    with _errors(debug):
        config = _config(settings)
        everything = load_ruleset(_packs(settings, config))
        active = {r.id for r in _ruleset(settings, config).rules}
    # In the order rules are tried: a user's packs before the built-in ones.
    for pack in sorted(everything.packs, key=lambda p: p.startswith("builtin:")):
        rules = [r for r in everything.rules if r.pack == pack]
        click.echo(f"{pack} ({len(rules)} rules)")
        for rule in rules:
            places = "any" if rule.places == PLACES else ",".join(sorted(rule.places))
            off = "" if rule.id in active else " (disabled)"
            click.echo(f"  {rule.id:<26} {places:<28} {rule.description}{off}")
    sys.exit(Exit.OK)


def _config(settings: dict[str, Any]) -> Config:
    if settings.get("no_config"):
        return Config()
    if path := settings.get("config_file"):
        return load_config(Path(path))
    found = find_config(Path.cwd())
    return load_config(found) if found else Config()


def _packs(settings: dict[str, Any], config: Config) -> tuple[Path, ...]:
    return (*config.rules, *map(Path, settings.get("rule_packs", ())))


def _ruleset(settings: dict[str, Any], config: Config) -> Ruleset:
    disabled = (*config.disable, *settings.get("disable", ()))
    return load_ruleset(_packs(settings, config), disabled=disabled)


def _options(
    settings: dict[str, Any], config: Config, *, indent: bool, keep_findings: bool
) -> Options:
    keep = settings.get("keep_jwt_claims")
    return Options(
        indent=indent,
        keep_findings=keep_findings,
        placeholder=settings.get("placeholder") or config.placeholder or "tag",
        keep_jwt_claims=bool(config.keep_jwt_claims if keep is None else keep),
        allow_values=frozenset((*config.allow_values, *settings.get("allow_value", ()))),
        allow_names=frozenset((*config.allow_names, *settings.get("allow_name", ()))),
        allow_hosts=frozenset((*config.allow_hosts, *settings.get("allow_host", ()))),
    )


@contextlib.contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """The one place that turns exceptions into exit codes and one line on stderr."""
    try:
        yield
    except HarscrubError as e:
        _fail(str(e), Exit.BAD_INPUT)
    except UploadInterrupted as e:
        _fail(f"interrupted while {e} was uploaded; it may still appear, whole", Exit.INTERRUPTED)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was written", Exit.INTERRUPTED)
    except Exception as e:
        if debug:
            # Frames only: an exception's message may quote input, and input may be a secret.
            click.echo("".join(traceback.format_tb(e.__traceback__)).rstrip(), err=True)
        _fail(
            f"internal error ({type(e).__name__}); rerun with --debug for a traceback",
            Exit.INTERNAL_ERROR,
        )


def _say(message: str) -> None:
    click.echo(f"harscrub: {printable(message)}", err=True)


def _fail(message: str, code: Exit) -> NoReturn:
    _say(message)
    sys.exit(code)
