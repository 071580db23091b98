"""The Scrubber: compiled rules applied to every place in one entry, returning Findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harscrub import places
from harscrub.options import Options
from harscrub.redact import is_placeholder, placeholder, split_scheme, tag_for
from harscrub.rules import PLACES, Rule, Ruleset


@dataclass(frozen=True, slots=True)
class Finding:
    """One removed value. There is no field that could hold the value itself."""

    rule_id: str
    entry: int  # index in log.entries
    path: str  # "request.headers[3].value"
    length: int  # of what was removed
    tag: str  # same secret -> same tag within one run


class Scrubber:
    def __init__(self, ruleset: Ruleset, options: Options) -> None:
        self._rules = {place: ruleset.for_place(place) for place in PLACES}
        self._key = options.key

    def scrub_entry(self, entry: dict[str, Any], index: int) -> list[Finding]:
        """Redact every secret in one entry, in place; return what was removed."""
        findings: list[Finding] = []

        def redact(place: str, name: str, value: str, path: str) -> str:
            rule = self._first_rule(place, name)
            if rule is None:
                return value
            keep, secret = split_scheme(value) if rule.action == "keep-scheme" else ("", value)
            if not secret.strip() or is_placeholder(secret):
                return value
            tag = tag_for(secret, self._key)
            findings.append(Finding(rule.id, index, path, len(secret), tag))
            return keep + placeholder(rule.id, tag)

        places.scrub_entry(entry, redact)
        return findings

    def _first_rule(self, place: str, name: str) -> Rule | None:
        for rule in self._rules[place]:
            if rule.matches_name(name):
                return rule
        return None
