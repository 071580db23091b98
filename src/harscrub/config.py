"""The project config file: ``.harscrub.toml``, or ``[tool.harscrub]`` in ``pyproject.toml``.

Found from the working directory upwards, the way ruff and pytest find theirs, so a support
repository's settings apply to everyone who runs harscrub in it. Command-line options add to
the lists and override the single values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harscrub.errors import UsageError
from harscrub.redact import STYLES

CONFIG_FILE = ".harscrub.toml"
_KEYS = frozenset({"rules", "disable", "placeholder", "keep-jwt-claims", "allow"})
_ALLOW_KEYS = frozenset({"values", "names", "hosts"})


@dataclass(frozen=True, slots=True)
class Config:
    source: Path | None = None
    rules: tuple[Path, ...] = ()  # resolved against the config file's folder
    disable: tuple[str, ...] = ()
    placeholder: str | None = None
    keep_jwt_claims: bool | None = None
    allow_values: tuple[str, ...] = ()
    allow_names: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = ()


def find_config(start: Path) -> Path | None:
    """The nearest .harscrub.toml, or pyproject.toml with a [tool.harscrub] table."""
    for folder in (start, *start.parents):
        if (candidate := folder / CONFIG_FILE).is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "harscrub" in _read(pyproject).get("tool", {}):
            return pyproject
    return None


def load_config(path: Path) -> Config:
    doc = _read(path)
    if path.name == "pyproject.toml":
        doc = doc.get("tool", {}).get("harscrub", {})
        where = f"{path}: [tool.harscrub]"
    else:
        where = str(path)
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: must be a table")
    if unknown := doc.keys() - _KEYS:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    allow = doc.get("allow", {})
    if not isinstance(allow, dict):
        raise UsageError(f"{where}: key 'allow': must be a table")
    if unknown := allow.keys() - _ALLOW_KEYS:
        raise UsageError(f"{where}: key 'allow': unknown key(s) {', '.join(sorted(unknown))}")
    placeholder = doc.get("placeholder")
    if placeholder is not None and placeholder not in STYLES:
        raise UsageError(f"{where}: key 'placeholder': must be one of {', '.join(STYLES)}")
    keep = doc.get("keep-jwt-claims")
    if keep is not None and not isinstance(keep, bool):
        raise UsageError(f"{where}: key 'keep-jwt-claims': must be true or false")
    return Config(
        source=path,
        rules=tuple(path.parent / p for p in _strings(doc, "rules", where)),
        disable=_strings(doc, "disable", where),
        placeholder=placeholder,
        keep_jwt_claims=keep,
        allow_values=_strings(allow, "values", f"{where}: key 'allow'"),
        allow_names=_strings(allow, "names", f"{where}: key 'allow'"),
        allow_hosts=_strings(allow, "hosts", f"{where}: key 'allow'"),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{path}: not a valid TOML file ({e})") from None


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: key {key!r}: must be a list of strings")
    return tuple(value)
