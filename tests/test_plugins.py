"""Detectors plug in through the harscrub.detectors entry-point group; the built-ins too."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from harscrub import detect
from harscrub.engine import Scrubber
from harscrub.errors import RuleError
from harscrub.options import Options
from harscrub.plugins import load_detectors
from harscrub.rules import load_ruleset

from .factories import CANARY, entry, header


def install_plugin(folder: Path, module: str, source: str, target: str) -> None:
    """A third-party package as pip would leave it: a module and its dist-info entry points."""
    (folder / f"{module}.py").write_text(source)
    info = folder / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[harscrub.detectors]\n{target}\n")


def test_builtin_detectors_come_through_the_entry_point_group() -> None:
    detectors = load_detectors()
    assert detectors["jwt"] is detect.JWT
    assert detectors["high-entropy"] is detect.HIGH_ENTROPY


def test_a_third_party_detector_is_used_by_a_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path,
        "teamdetect",
        "import re\n"
        "class Team:\n"
        "    def find(self, text):\n"
        "        for m in re.finditer(r'TEAM-[0-9A-Z]{12}', text):\n"
        "            yield m.span()\n"
        "DETECTOR = Team()\n",
        "team-token = teamdetect:DETECTOR",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    pack = tmp_path / "team.toml"
    pack.write_text(
        '[[rule]]\nid = "team-token"\ndescription = "Team tokens."\nplaces = ["any"]\n'
        'detector = "team-token"\nkeywords = ["team-"]\n'
    )
    scrubber = Scrubber(load_ruleset((pack,)), Options(key=b"k" * 32))
    e = entry(request_headers=[header("X-Note", "see TEAM-FAKE12345678 here")])
    out = copy.deepcopy(e)
    findings = scrubber.scrub_entry(out, 0)
    assert [f.rule_id for f in findings] == ["team-token"]
    assert out["request"]["headers"][0]["value"].startswith("see [REDACTED:team-token:")
    assert out["request"]["headers"][0]["value"].endswith("] here")


def test_a_plugin_that_fails_to_load_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path, "brokendetect", f"raise ValueError({CANARY!r})\n", "bad = brokendetect:X"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuleError) as info:
        load_detectors()
    assert str(info.value) == "detector 'bad' (brokendetect:X) failed to load: ValueError"


def test_a_plugin_without_find_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, "oddetect", "X = 42\n", "odd = oddetect:X")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuleError, match=r"detector 'odd' \(oddetect:X\) has no find\(text\)"):
        load_detectors()


def test_a_rule_naming_an_unknown_detector_lists_the_known_ones(tmp_path: Path) -> None:
    pack = tmp_path / "team.toml"
    pack.write_text('[[rule]]\nid = "x"\ndescription = "X."\nplaces = ["any"]\ndetector = "nope"\n')
    with pytest.raises(RuleError, match=r"rule 'x': key 'detector': no detector 'nope'.*jwt"):
        load_ruleset((pack,))
