"""harscrub: remove secrets from HAR files before they are shared."""

from __future__ import annotations

__version__ = "0.1.0"
