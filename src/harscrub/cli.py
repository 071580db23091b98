"""The command line: a thin click layer over harscrub.api; the one place exit codes are set."""

from __future__ import annotations

import signal
import sys
import traceback
from enum import IntEnum
from types import FrameType
from typing import NoReturn

import click

from harscrub import __version__
from harscrub.api import Report, scrub_file
from harscrub.errors import HarscrubError
from harscrub.options import Options


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

\b
Exit codes: 0 done, 2 bad input or usage (nothing written),
3 internal error (a bug in harscrub; rerun with --debug), 130 interrupted.
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
# Paths stay strings: "-" is stdin/stdout while "./-" is a file, and "out/" is not "out".
# click's readable check is off, so an unreadable file gets harscrub's own one-line error.
@click.argument("src", metavar="INPUT", type=click.Path(allow_dash=True, readable=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(allow_dash=True, readable=False),
    help="Where to write the sanitized HAR ('-' for stdout). "
    "Default: beside the input, login.har -> login.sanitized.har.",
)
@click.option("--in-place", is_flag=True, help="Replace INPUT with its sanitized copy.")
@click.option("--compact", is_flag=True, help="Write compact JSON instead of 2-space indentation.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.version_option(__version__, "-V", "--version", prog_name="harscrub")
def main(
    src: str, output: str | None, in_place: bool, compact: bool, quiet: bool, debug: bool
) -> None:
    """Remove credentials and cookie values from the HAR file INPUT.

    Header and cookie names, URLs, timings and bodies stay, so the HAR is still useful for
    debugging (the rules in use: see rules/README.md). The output is written to a temporary
    file and renamed into place only when complete; on any error nothing is written and the
    input is left untouched.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        report = scrub_file(src, output, in_place=in_place, options=Options(indent=not compact))
    except HarscrubError as e:
        _fail(str(e), Exit.BAD_INPUT)
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
    if not quiet:
        _say(_summary(report))
    sys.exit(Exit.OK)


def _summary(report: Report) -> str:
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(report.redacted.items()))
    values = f"{report.total} value{'s' * (report.total != 1)} redacted"
    return (
        f"wrote {report.output} ({report.entries} entries, {values}"
        f"{f': {by_rule}' if by_rule else ''})"
    )


def _say(message: str) -> None:
    # One line whatever a file name holds: control characters are shown escaped.
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    click.echo(f"harscrub: {line}", err=True)


def _fail(message: str, code: Exit) -> NoReturn:
    _say(message)
    sys.exit(code)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP unwind like Ctrl-C, so the temp file is removed on the way out.
    raise KeyboardInterrupt
