"""The detector plug-in contract and its one door: the ``harscrub.detectors`` entry-point group.

A rule that needs more than a regex names a detector (``detector = "jwt"``). harscrub's own
Python detectors are registered through the same group (see pyproject.toml), so a third-party
detector is a peer of the built-in ones, not a special case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import regex

from harscrub.errors import RuleError

GROUP = "harscrub.detectors"


@runtime_checkable
class Detector(Protocol):
    """Finds secrets by their shape in a piece of (already decoded) text."""

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """Yield (start, end) spans of secrets in text, in order, not overlapping."""
        ...


@dataclass(frozen=True, slots=True)
class RegexDetector:
    """A rule's ``value`` regex. A named group ``secret`` marks the part to remove."""

    pattern: regex.Pattern[str]

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        secret = "secret" in self.pattern.groupindex
        for match in self.pattern.finditer(text):
            yield match.span("secret") if secret else match.span()


def load_detectors(group: str = GROUP) -> dict[str, Detector]:
    """Every installed detector by name. A detector that fails to load is named in the error."""
    detectors: dict[str, Detector] = {}
    for ep in sorted(entry_points(group=group), key=lambda ep: ep.name):
        try:
            detector = ep.load()
        except Exception as e:  # noqa: BLE001 - any failure of third-party code is its own
            raise RuleError(
                f"detector {ep.name!r} ({ep.value}) failed to load: {type(e).__name__}"
            ) from None
        if not isinstance(detector, Detector):
            raise RuleError(f"detector {ep.name!r} ({ep.value}) has no find(text) method")
        detectors[ep.name] = detector
    return detectors
