"""Rule packs: the built-in pack loads; a bad pack is an error naming file, rule and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harscrub.errors import RuleError
from harscrub.rules import builtin_pack_dir, load_ruleset

REPO_RULES = Path(__file__).resolve().parents[1] / "rules"


def test_builtin_pack_is_found_and_has_the_core_rules() -> None:
    ruleset = load_ruleset()
    assert {"authorization", "cookie"} <= {rule.id for rule in ruleset.rules}
    assert "builtin:core" in ruleset.packs
    for rule in ruleset.rules:
        assert rule.description


def test_installed_packs_match_the_checkout() -> None:
    """The wheel's copy of rules/ is the checkout's (a stale install would pass other tests)."""
    installed = {
        p.name: p.read_bytes() for p in builtin_pack_dir().iterdir() if p.name.endswith(".toml")
    }
    checkout = {p.name: p.read_bytes() for p in REPO_RULES.glob("*.toml")}
    assert installed == checkout


def test_rules_folder_holds_only_packs_and_their_readme() -> None:
    # The wheel copies whatever is on disk in rules/.
    assert {p.suffix for p in REPO_RULES.iterdir()} <= {".toml", ".md"}


def pack(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(text)
    return path


GOOD = 'id = "team-token"\ndescription = "Team token header"\nplaces = ["header"]\n'


def test_an_extra_pack_adds_its_rules(tmp_path: Path) -> None:
    ruleset = load_ruleset((pack(tmp_path, f'[[rule]]\n{GOOD}name = "xteamtoken"\n'),))
    (rule,) = [r for r in ruleset.rules if r.id == "team-token"]
    assert rule.matches_name("X-Team-Token")
    assert not rule.matches_name("X-Team-Token-Id")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"[[rule]]\n{GOOD}keywrods = ['x']\n", "rule 'team-token': unknown key(s) keywrods"),
        (f"[[rule]]\n{GOOD}name = 'a('\n", "rule 'team-token': key 'name': not a valid regex"),
        (f"[[rule]]\n{GOOD}action = 'shred'\n", "rule 'team-token': key 'action': must be one of"),
        ("[[rule]]\nid = 'x'\nplaces = ['header']\n", "rule 'x': key 'description': missing"),
        ("[[rule]]\nid = 'x'\ndescription = 'd'\nplaces = ['body']\n", "unknown place(s) body"),
        ("[[rule]]\nid = 'x'\ndescription = 'd'\n", "rule 'x': key 'places'"),
        ("[[rule]]\ndescription = 'd'\n", "a rule has no valid 'id'"),
        (
            "[[rule]]\nid = 'cookie'\ndescription = 'd'\nplaces = ['cookie']\n",
            "id already used in core.toml",
        ),
        ("[[rule]\n", "not a valid TOML file"),
        ("rules = []\n", "unknown top-level key(s) rules"),
        ("", "no [[rule]] tables"),
        ('rule = ["x"]\n', "'rule' must be a list of tables"),
        (
            f"[[rule]]\n{GOOD}action = ['redact']\n",
            "rule 'team-token': key 'action': must be one of",
        ),
    ],
)
def test_bad_pack_is_an_error_naming_file_rule_and_key(
    tmp_path: Path, body: str, message: str
) -> None:
    path = pack(tmp_path, body)
    with pytest.raises(RuleError) as info:
        load_ruleset((path,))
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_missing_pack_file(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read rule pack"):
        load_ruleset((tmp_path / "nope.toml",))
