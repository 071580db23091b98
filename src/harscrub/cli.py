"""The command line: a thin click layer over harscrub.api; the one place exit codes are set."""

from __future__ import annotations

import contextlib
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from harscrub import __version__
from harscrub.api import Report, scrub_file
from harscrub.config import Config, find_config, load_config
from harscrub.errors import HarscrubError
from harscrub.options import Options
from harscrub.redact import STYLES
from harscrub.rules import PLACES, Ruleset, load_ruleset


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
  harscrub rules                     lists the rules in use

\b
Settings also come from .harscrub.toml, or [tool.harscrub] in pyproject.toml, in the
working folder or above it (see the README); options given here add to its lists.

\b
Exit codes: 0 done, 2 bad input or usage (nothing written),
3 internal error (a bug in harscrub; rerun with --debug), 130 interrupted.
"""


class _DefaultToScrub(click.Group):
    """`harscrub FILE` scrubs; `harscrub rules` lists rules. A file named "rules" is ./rules."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["scrub", *args]
        return super().parse_args(ctx, args)


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
        formatter.write_usage("harscrub", "[OPTIONS] INPUT")  # the "scrub" is implied


@main.command(
    "scrub", cls=_Scrub, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
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
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.version_option(__version__, "-V", "--version", prog_name="harscrub")
def scrub(
    src: str,
    output: str | None,
    in_place: bool,
    compact: bool,
    quiet: bool,
    debug: bool,
    **settings: Any,
) -> None:
    """Remove credentials, tokens and session cookies from the HAR file INPUT.

    Names, URLs, timings and bodies stay, with each secret cut out and replaced by a
    placeholder, so the HAR is still useful for debugging. The output is written to a
    temporary file and renamed into place only when complete; on any error nothing is
    written and the input is left untouched.
    """
    _install_signal_handlers()
    with _errors(debug):
        config = _config(settings)
        ruleset = _ruleset(settings, config)
        options = _options(settings, config, indent=not compact)
        report = scrub_file(src, output, in_place=in_place, ruleset=ruleset, options=options)
    if not quiet:
        _say(_summary(report))
    sys.exit(Exit.OK)


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


def _options(settings: dict[str, Any], config: Config, *, indent: bool) -> Options:
    keep = settings.get("keep_jwt_claims")
    return Options(
        indent=indent,
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


def _install_signal_handlers() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)


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
