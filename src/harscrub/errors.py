"""The one exception family: a problem the user can fix. Anything else is a bug in harscrub.

Messages are built from paths, positions, rule ids and key names, never from input text,
so an error can be printed without leaking what the HAR holds.
"""

from __future__ import annotations


class HarscrubError(Exception):
    """A problem the user can fix: bad HAR, bad rule file, unreadable input, unwritable output."""


class BadHar(HarscrubError):
    """The input is not a HAR harscrub can read (not JSON, truncated, wrong shape)."""


class InputError(HarscrubError):
    """The input cannot be opened or read."""

    @classmethod
    def cannot_read(cls, name: str, e: OSError) -> InputError:
        return cls(f"{name}: cannot read ({e.strerror or type(e).__name__})")


class OutputError(HarscrubError):
    """The output cannot be written; nothing was left behind."""


class UsageError(HarscrubError):
    """The options given do not make sense together."""


class RuleError(HarscrubError):
    """A rule pack is missing or invalid."""


class UploadInterrupted(KeyboardInterrupt):
    """Ctrl-C while an output was on its way to a store, which may still finish it: a request
    sent whole is not taken back. Its text is the output's URL."""
