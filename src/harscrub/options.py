"""Everything one run needs besides the rules, in one frozen object passed to every part."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from harscrub.redact import Style
from harscrub.rules import normalize


@dataclass(frozen=True, slots=True)
class Options:
    indent: bool = True  # browsers' 2-space layout; False writes compact JSON
    placeholder: Style = "tag"  # "[REDACTED:rule:tag]", "[REDACTED]" or nothing at all
    keep_jwt_claims: bool = False  # keep a JWT's header and claims, drop only its signature
    allow_values: frozenset[str] = frozenset()  # exact values never redacted
    allow_names: frozenset[str] = frozenset()  # names whose values no name rule takes
    allow_hosts: frozenset[str] = frozenset()  # URLs to these hosts are left as they are
    # Each finding kept in the Report, for --report and --check's list; False keeps counts by
    # rule and place only, so that memory does not grow with what a long HAR holds.
    keep_findings: bool = True
    # The per-run placeholder key. Never printed (repr=False) and never written to the output.
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        # Compared in the form names are matched in, and hosts without case.
        object.__setattr__(self, "allow_names", frozenset(map(normalize, self.allow_names)))
        hosts = frozenset(h.lower().strip().lstrip("*") for h in self.allow_hosts)
        object.__setattr__(self, "allow_hosts", hosts)

    def host_allowed(self, host: str) -> bool:
        """An exact host, or any subdomain of a host given as ``.example.com``/``*.example.com``."""
        host = host.lower()
        return host in self.allow_hosts or any(
            h.startswith(".") and (host.endswith(h) or host == h[1:]) for h in self.allow_hosts
        )
