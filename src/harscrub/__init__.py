"""harscrub: remove secrets from HAR files before they are shared.

The library API, importable from here (loaded on first use, so ``harscrub --version`` stays
fast)::

    from harscrub import scrub_file, check_file, scrub_paths, scrub_stream, check_stream
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "scrub_stream": "harscrub.api",
    "check_stream": "harscrub.api",
    "scrub_file": "harscrub.api",
    "check_file": "harscrub.api",
    "default_output": "harscrub.api",
    "scrub_paths": "harscrub.batch",
    "Options": "harscrub.options",
    "load_ruleset": "harscrub.rules",
    "Ruleset": "harscrub.rules",
    "Report": "harscrub.report",
    "RunReport": "harscrub.report",
    "Redaction": "harscrub.report",
    "Failure": "harscrub.report",
    "to_json": "harscrub.report",
    "to_sarif": "harscrub.sarif",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harscrub' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
