"""Rule packs: TOML data validated once, at the edge, into frozen Rules (see rules/README.md)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, get_args

import regex

from harscrub.errors import RuleError

Place = Literal["header", "cookie"]
Action = Literal["redact", "keep-scheme"]

PLACES: frozenset[str] = frozenset(get_args(Place))
ACTIONS: frozenset[str] = frozenset(get_args(Action))
_KEYS = frozenset({"id", "description", "places", "name", "action"})
_ID = regex.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    places: frozenset[str]
    name: regex.Pattern[str] | None  # None: every name
    action: Action = "redact"
    source: str = "<builtin>"

    def matches_name(self, name: str) -> bool:
        return self.name is None or self.name.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class Ruleset:
    rules: tuple[Rule, ...]
    packs: tuple[str, ...]  # pack names, for the _harscrub stamp in the output

    def for_place(self, place: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if place in rule.places)


def builtin_pack_dir() -> Traversable:
    """The built-in packs: inside the installed package, else the checkout's top-level rules/.

    The fallback serves editable installs, where hatchling's force-include copy is not where
    the package is imported from.
    """
    for folder in (files("harscrub") / "rules", Path(__file__).parents[2] / "rules"):
        if folder.is_dir() and any(p.name.endswith(".toml") for p in folder.iterdir()):
            return folder
    raise RuleError("the built-in rule packs are missing; reinstall harscrub with `pip install .`")


def load_ruleset(extra: tuple[Path, ...] = ()) -> Ruleset:
    """Load the built-in packs, then each extra pack file, checking every rule."""
    builtin = sorted(
        (p for p in builtin_pack_dir().iterdir() if p.name.endswith(".toml")),
        key=lambda p: p.name,
    )
    packs: list[tuple[str, list[Rule]]] = [
        (f"builtin:{p.name.removesuffix('.toml')}", _load_pack(p.read_bytes(), p.name))
        for p in builtin
    ]
    for path in extra:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise RuleError(f"{path}: cannot read rule pack ({e.strerror})") from e
        packs.append((str(path), _load_pack(data, str(path))))
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for _, pack_rules in packs:
        for rule in pack_rules:
            if rule.id in seen:
                where = f"{rule.source}: rule {rule.id!r}"
                raise RuleError(f"{where}: id already used in {seen[rule.id]}")
            seen[rule.id] = rule.source
            rules.append(rule)
    return Ruleset(tuple(rules), tuple(name for name, _ in packs))


def _load_pack(data: bytes, source: str) -> list[Rule]:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise RuleError(f"{source}: not a valid TOML file ({e})") from None
    if unknown := doc.keys() - {"rule"}:
        raise RuleError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError(f"{source}: no [[rule]] tables")
    if not all(isinstance(raw, dict) for raw in raw_rules):
        raise RuleError(f"{source}: 'rule' must be a list of tables, written [[rule]]")
    return [_rule(raw, source) for raw in raw_rules]


def _rule(raw: dict[str, Any], source: str) -> Rule:
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        raise RuleError(f"{source}: a rule has no valid 'id' (lower-case letters, digits and '-')")
    where = f"{source}: rule {rule_id!r}"
    if unknown := raw.keys() - _KEYS:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise RuleError(f"{where}: key 'description': missing or empty")
    places = raw.get("places")
    if not isinstance(places, list) or not places or not all(isinstance(p, str) for p in places):
        raise RuleError(f"{where}: key 'places': must be a non-empty list of place names")
    if unknown_places := set(places) - PLACES:
        known = ", ".join(sorted(PLACES))
        raise RuleError(
            f"{where}: key 'places': unknown place(s) {', '.join(sorted(unknown_places))} "
            f"(known: {known})"
        )
    action = raw.get("action", "redact")
    if not isinstance(action, str) or action not in ACTIONS:
        raise RuleError(f"{where}: key 'action': must be one of {', '.join(sorted(ACTIONS))}")
    return Rule(
        id=rule_id,
        description=description.strip(),
        places=frozenset(places),
        name=_pattern(raw.get("name"), where, "name"),
        action=action,
        source=source,
    )


def _pattern(text: Any, where: str, key: str) -> regex.Pattern[str] | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise RuleError(f"{where}: key {key!r}: must be a string")
    try:
        return regex.compile(text, regex.IGNORECASE)
    except regex.error as e:
        raise RuleError(f"{where}: key {key!r}: not a valid regex ({e})") from None
