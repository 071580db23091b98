"""User control: --rules, --disable, allowlists, placeholder styles, JWT claims, config files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harscrub import cli
from harscrub.config import find_config, load_config
from harscrub.errors import UsageError

from .factories import CANARY, entry, har_bytes, header

CLAIMS = base64.urlsafe_b64encode(b'{"sub":"FAKEuser"}').rstrip(b"=").decode()
JWT = f"eyJhbGciOiJIUzI1NiJ9.{CLAIMS}.FAKEsignatureFAKEsignature"
QUERY_CANARY = "FAKEquery5e8c1a"


def har(tmp_path: Path) -> Path:
    path = tmp_path / "in.har"
    path.write_bytes(
        har_bytes(
            entry(
                f"https://api.example.test/v1?access_token={QUERY_CANARY}&page=2",
                request_headers=[
                    header("X-Api-Key", CANARY),
                    header("X-Debug", JWT),
                    header("X-Team-Token", "TEAM-0123456789"),
                    header("X-Note", "see TEAM-0123456789"),
                ],
            )
        )
    )
    return path


def scrub(tmp_path: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    out = tmp_path / "out.har"
    result = CliRunner().invoke(cli.main, [str(har(tmp_path)), "-o", str(out), *args])
    doc = json.loads(out.read_bytes()) if out.exists() else {}
    return result, doc


def request(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["log"]["entries"][0]["request"]


def headers(doc: dict[str, Any]) -> dict[str, str]:
    return {h["name"]: h["value"] for h in request(doc)["headers"]}


@pytest.fixture(autouse=True)
def no_config_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run in a folder of the test's own, so no config file of the machine is found.
    monkeypatch.chdir(tmp_path)


def test_defaults_redact_with_tags(tmp_path: Path) -> None:
    result, doc = scrub(tmp_path)
    assert result.exit_code == 0, result.output
    assert headers(doc)["X-Api-Key"].startswith("[REDACTED:api-key:")
    assert request(doc)["url"].startswith("https://api.example.test/v1?access_token=[REDACTED:")
    assert request(doc)["url"].endswith("&page=2")
    assert doc["log"]["_harscrub"]["placeholder"] == "tag"


@pytest.mark.parametrize(("style", "mark"), [("mask", "[REDACTED]"), ("drop", "")])
def test_placeholder_styles(tmp_path: Path, style: str, mark: str) -> None:
    result, doc = scrub(tmp_path, "--placeholder", style)
    assert result.exit_code == 0, result.output
    assert headers(doc)["X-Api-Key"] == mark
    assert request(doc)["url"] == f"https://api.example.test/v1?access_token={mark}&page=2"
    assert doc["log"]["_harscrub"]["placeholder"] == style


def test_keep_jwt_claims_drops_only_the_signature(tmp_path: Path) -> None:
    result, doc = scrub(tmp_path, "--keep-jwt-claims")
    assert result.exit_code == 0, result.output
    kept = headers(doc)["X-Debug"]
    assert kept.startswith(f"eyJhbGciOiJIUzI1NiJ9.{CLAIMS}.[REDACTED:jwt:")
    assert "FAKEsignature" not in kept
    _, default = scrub(tmp_path)
    assert headers(default)["X-Debug"].startswith("[REDACTED:jwt:")


def test_keep_jwt_claims_output_is_stable(tmp_path: Path) -> None:
    _, first = scrub(tmp_path, "--keep-jwt-claims")
    again = tmp_path / "again.har"
    (tmp_path / "first.har").write_text(json.dumps(first))
    CliRunner().invoke(cli.main, ["first.har", "-o", str(again), "--keep-jwt-claims"])
    assert headers(json.loads(again.read_bytes()))["X-Debug"] == headers(first)["X-Debug"]


def test_disable_and_allowlists(tmp_path: Path) -> None:
    result, doc = scrub(
        tmp_path, "--allow-name", "X-Api-Key", "--disable", "oauth-token", "--allow-value", JWT
    )
    assert result.exit_code == 0, result.output
    assert headers(doc)["X-Api-Key"] == CANARY
    assert headers(doc)["X-Debug"] == JWT
    # access_token is taken by a second rule, the "token" catch-all, when oauth-token is off.
    assert request(doc)["url"].startswith(
        "https://api.example.test/v1?access_token=[REDACTED:token:"
    )


def test_allowed_host_keeps_its_urls(tmp_path: Path) -> None:
    _, doc = scrub(tmp_path, "--allow-host", ".example.test")
    assert QUERY_CANARY in request(doc)["url"]
    assert headers(doc)["X-Api-Key"].startswith("[REDACTED:")  # headers are not URLs


def test_extra_rule_pack(tmp_path: Path) -> None:
    pack = tmp_path / "team.toml"
    pack.write_text(
        '[[rule]]\nid = "team-token"\ndescription = "Team tokens."\nplaces = ["any"]\n'
        "value = 'TEAM-[0-9]{10}'\nkeywords = [\"team-\"]\n"
    )
    _, doc = scrub(tmp_path, "--rules", str(pack))
    assert headers(doc)["X-Note"].startswith("see [REDACTED:team-token:")


def test_unknown_disable_is_an_error(tmp_path: Path) -> None:
    result, doc = scrub(tmp_path, "--disable", "no-such-rule")
    assert result.exit_code == 2
    assert result.stderr == (
        "harscrub: --disable: no rule 'no-such-rule' (`harscrub rules` lists the rule ids)\n"
    )
    assert doc == {}


def test_config_file_is_found_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".harscrub.toml").write_text(
        'disable = ["api-key", "high-entropy-secret"]\nplaceholder = "mask"\n'
        '[allow]\nnames = ["access_token"]\n'
    )
    sub = tmp_path / "tickets" / "2026"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    _, doc = scrub(tmp_path)
    assert headers(doc)["X-Api-Key"] == CANARY
    assert headers(doc)["X-Debug"] == "[REDACTED]"
    assert QUERY_CANARY in request(doc)["url"]
    # The command line overrides single values and --no-config ignores the file.
    _, doc = scrub(tmp_path, "--placeholder", "tag")
    assert headers(doc)["X-Debug"].startswith("[REDACTED:jwt:")
    _, doc = scrub(tmp_path, "--no-config")
    assert headers(doc)["X-Api-Key"].startswith("[REDACTED:api-key:")


def test_pyproject_tool_table_and_rule_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "team.toml").write_text(
        '[[rule]]\nid = "team-token"\ndescription = "Team tokens."\nplaces = ["header"]\n'
        'name = "xteamtoken"\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.harscrub]\nrules = ["rules/team.toml"]\n'
    )
    assert find_config(tmp_path / "deeper") == tmp_path / "pyproject.toml"
    _, doc = scrub(tmp_path)
    assert headers(doc)["X-Team-Token"].startswith("[REDACTED:team-token:")


def test_pyproject_without_a_harscrub_table_is_passed_by(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "y"\n')
    found = find_config(inner)
    assert found is None or not found.is_relative_to(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("disabel = []\n", "unknown key(s) disabel"),
        ("placeholder = 'stars'\n", "key 'placeholder': must be one of tag, mask, drop"),
        ("rules = 'team.toml'\n", "key 'rules': must be a list of strings"),
        ("[allow]\nhost = []\n", "key 'allow': unknown key(s) host"),
        ("keep-jwt-claims = 'yes'\n", "key 'keep-jwt-claims': must be true or false"),
        ("rules = [\n", "not a valid TOML file"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".harscrub.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    result, doc = scrub(tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert doc == {}


def test_rules_command_lists_ids_and_marks_disabled(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["rules", "--disable", "jwt"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("builtin:core (")
    (jwt,) = [line for line in lines if line.split()[0] == "jwt"]
    assert jwt.endswith("(disabled)")
    assert any(line.split()[0] == "gcp-api-key" for line in lines if line.startswith("  "))


def test_a_file_named_like_a_subcommand_needs_a_path(tmp_path: Path) -> None:
    (tmp_path / "rules").write_bytes(har_bytes(entry()))
    result = CliRunner().invoke(cli.main, ["./rules", "-o", "out.har"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.har").exists()


def test_the_stamp_says_how_the_run_was_weakened(tmp_path: Path) -> None:
    pack = tmp_path / "private" / "alice" / "team.toml"
    pack.parent.mkdir(parents=True)
    pack.write_text('[[rule]]\nid = "team"\ndescription = "T."\nplaces = ["header"]\nname = "x"\n')
    _, doc = scrub(
        tmp_path, "--rules", str(pack), "--disable", "jwt", "--allow-name", "x", "--keep-jwt-claims"
    )
    stamp = doc["log"]["_harscrub"]
    assert stamp["rulePacks"][-1] == "team.toml"  # no folder: it may name a person
    assert stamp["disabledRules"] == ["jwt"]
    assert stamp["allowlists"] is True
    assert stamp["keepJwtClaims"] is True
    _, default = scrub(tmp_path)
    assert set(default["log"]["_harscrub"]) == {"version", "placeholder", "rulePacks"}


def test_rules_command_lists_a_users_pack_first(tmp_path: Path) -> None:
    pack = tmp_path / "team.toml"
    pack.write_text('[[rule]]\nid = "team"\ndescription = "T."\nplaces = ["header"]\nname = "x"\n')
    result = CliRunner().invoke(cli.main, ["rules", "--rules", str(pack)])
    assert result.stdout.splitlines()[0] == f"{pack} (1 rules)"
