"""A run's findings as SARIF 2.1.0, for code-scanning uploads (GitHub, GitLab, Azure DevOps).

Rules become SARIF rules; each finding is a result at the input file and, where known, the line
where its entry starts. Like the JSON report it holds no value, only where one was.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any
from urllib.parse import quote_from_bytes

from harscrub import __version__
from harscrub.report import Failure, Redaction, RunReport, utf8
from harscrub.rules import Ruleset

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def to_sarif(run: RunReport, ruleset: Ruleset) -> dict[str, Any]:
    index = {rule.id: i for i, rule in enumerate(ruleset.rules)}
    results = [
        _result(report.source, r, index) for report in run.reports for r in report.redactions
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harscrub",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule.id,
                                "name": rule.id,
                                "shortDescription": {"text": rule.description},
                                "defaultConfiguration": {"level": "error"},
                                "properties": {"pack": rule.pack, "action": rule.action},
                            }
                            for rule in ruleset.rules
                        ],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not run.failures,
                        "toolExecutionNotifications": [_failure(f) for f in run.failures],
                    }
                ],
                "results": results,
            }
        ],
    }


def _result(source: str, r: Redaction, index: dict[str, int]) -> dict[str, Any]:
    where = f"entry {r.entry} ({r.method} {r.url})" if r.entry >= 0 else "the log"
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(source)}}
    if r.line:
        location["region"] = {"startLine": r.line}
    result: dict[str, Any] = {
        "ruleId": r.rule,
        "level": "error",
        "message": {"text": utf8(f"A secret ({r.length} characters) at {r.path} in {where}.")},
        "locations": [{"physicalLocation": location}],
        "properties": {"entry": r.entry, "path": r.path, "place": r.place, "tag": r.tag},
    }
    if r.rule in index:
        result["ruleIndex"] = index[r.rule]
    return result


def _failure(f: Failure) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": utf8(f.message)},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(f.source)}}}],
    }


def _uri(path: str) -> str:
    """A relative path stays relative (code scanning resolves it against the repository).
    Bytes, not characters, are quoted: a file name need not be UTF-8."""
    pure = PurePath(path)
    quoted = quote_from_bytes(os.fsencode(pure.as_posix()), safe="/")
    return f"file://{quoted}" if pure.is_absolute() else quoted
