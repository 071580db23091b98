"""Everything one run needs besides the rules, in one frozen object passed to every part."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Options:
    indent: bool = True  # browsers' 2-space layout; False writes compact JSON
    # The per-run placeholder key. Never printed (repr=False) and never written to the output.
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
