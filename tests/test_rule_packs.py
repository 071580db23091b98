"""Meta-tests: every built-in rule is documented, its examples behave, and it works end to end."""

from __future__ import annotations

import copy
from urllib.parse import quote, unquote

import pytest

from harscrub.engine import Scrubber
from harscrub.options import Options
from harscrub.redact import is_placeholder
from harscrub.rules import Rule, load_ruleset

from .factories import entry, header

RULESET = load_ruleset()
RULES = [pytest.param(rule, id=rule.id) for rule in RULESET.rules]
SHAPE_RULES = [p for p in RULES if p.values[0].detector is not None]
NAME_RULES = [p for p in RULES if p.values[0].name is not None]


def spans(rule: Rule, text: str) -> list[tuple[int, int]]:
    return list(rule.find(text))


def has_secret_group(rule: Rule) -> bool:
    pattern = getattr(rule.detector, "pattern", None)
    return pattern is not None and "secret" in pattern.groupindex


@pytest.mark.parametrize("rule", RULES)
def test_rule_is_documented(rule: Rule) -> None:
    assert rule.description.endswith((".", ")")), "a description is a sentence"
    if rule.name is not None:
        assert rule.examples.names, "a name rule ships names it matches"
    if rule.detector is not None:
        assert rule.examples.secret, "a shape rule ships at least one positive example"
        assert rule.examples.benign, "and at least one near miss"


@pytest.mark.parametrize("rule", SHAPE_RULES)
def test_secret_examples_are_found_exactly(rule: Rule) -> None:
    for i, example in enumerate(rule.examples.secret):
        found = spans(rule, example)
        assert found, f"{rule.id}: secret example #{i} not found"
        if not has_secret_group(rule):
            assert found == [(0, len(example))], f"{rule.id}: example #{i} found in part"
        if rule.name is not None:
            continue  # a rule that judges whole values under a name
        # Inside other text, the same secret is found at the same place.
        for before, after in (('x "', '" y'), ("a=", "&b=1"), ("\n", "\n")):
            shifted = [(s + len(before), e + len(before)) for s, e in found]
            assert spans(rule, before + example + after) == shifted, (
                f"{rule.id}: #{i} in {before!r}"
            )


@pytest.mark.parametrize("rule", SHAPE_RULES)
def test_benign_examples_are_not_found(rule: Rule) -> None:
    for i, example in enumerate(rule.examples.benign):
        assert spans(rule, example) == [], f"{rule.id}: benign example #{i} matched"


@pytest.mark.parametrize("rule", SHAPE_RULES)
def test_keywords_are_in_every_secret_example(rule: Rule) -> None:
    # The keyword prefilter must never hide a secret the regex would find.
    for i, example in enumerate(rule.examples.secret):
        lowered = example.lower()
        assert not rule.keywords or any(k in lowered for k in rule.keywords), f"#{i}"


@pytest.mark.parametrize("rule", NAME_RULES)
def test_name_examples(rule: Rule) -> None:
    for name in rule.examples.names:
        assert rule.matches_name(name), f"{rule.id}: {name!r} not matched"
    for name in rule.examples.other_names:
        assert not rule.matches_name(name), f"{rule.id}: {name!r} matched"


@pytest.mark.parametrize("rule", [p for p in SHAPE_RULES if p.values[0].name is None])
def test_shape_rule_removes_its_examples_through_the_engine(rule: Rule) -> None:
    """A token in a harmless header, a JSON body and a URL query goes, wherever it sits."""
    scrubber = Scrubber(RULESET, Options(key=b"k" * 32))
    for i, example in enumerate(rule.examples.secret):
        e = entry(f"https://app.test/x?note={quote(example, safe='')}&page=2")
        e["request"]["headers"] = [header("X-Note", example)]
        e["response"]["content"]["text"] = f'{{"note": {orjson_string(example)}}}'
        out = copy.deepcopy(e)
        findings = scrubber.scrub_entry(out, 0)
        assert findings, f"{rule.id}: example #{i} not found by the engine"
        secret = example[slice(*spans(rule, example)[0])]
        # Booleans only, so that a failure never prints the example.
        in_header = secret in out["request"]["headers"][0]["value"]
        in_body = secret in out["response"]["content"]["text"]
        in_url = secret in unquote(out["request"]["url"])
        assert not in_header, f"{rule.id}: #{i} left in a header"
        assert not in_body, f"{rule.id}: #{i} left in a JSON body"
        assert not in_url, f"{rule.id}: #{i} left in a URL query"
        assert out["request"]["url"].endswith("&page=2")


def orjson_string(text: str) -> str:
    import orjson

    return orjson.dumps(text).decode()


def test_enough_token_formats() -> None:
    tokens = [r for r in RULESET.rules if r.pack == "builtin:tokens"]
    assert len(tokens) >= 40


def test_rule_ids_are_unique_across_packs() -> None:
    ids = [r.id for r in RULESET.rules]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("name", "rule_id"),
    [
        ("access_token", "oauth-token"),
        ("accessToken", "oauth-token"),
        ("Access-Token", "oauth-token"),
        ("ACCESS.TOKEN", "oauth-token"),
        ("user[access_token]", "token"),  # useraccesstoken: the catch-all for *token
    ],
)
def test_names_are_matched_in_any_spelling(name: str, rule_id: str) -> None:
    first = next(
        r for r in RULESET.name_rules("json") if r.name is not None and r.matches_name(name)
    )
    assert first.id == rule_id


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("token_type", "Bearer"),
        ("expires_in", "3600"),
        ("next_page_token", "CAUQAA"),
        ("state", "af0ifjsldkj"),
        ("client_id", "0oa1b2c3d4e5"),
        ("scope", "openid profile"),
        ("Content-Type", "application/json"),
        ("x-request-id", "5f2a9c8d-1b2c-4d5e-8f90-123456789abc"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("etag", 'W/"3f9a1c2b4d5e6f70"'),
    ],
)
def test_benign_names_and_values_are_kept(name: str, value: str) -> None:
    scrubber = Scrubber(RULESET, Options(key=b"k" * 32))
    for place in ("header", "query", "form", "json"):
        assert scrubber.under_name(value, place, name) == [], f"{name} at {place}"


def test_rules_sorted_so_named_rules_come_before_catch_alls() -> None:
    named = RULESET.name_rules("cookie")
    assert named[-1].id == "cookie"
    assert all(r.name is not None for r in named[:-1])


def test_placeholders_are_never_found_again() -> None:
    scrubber = Scrubber(RULESET, Options(key=b"k" * 32))
    for rule in RULESET.rules:
        mark = f"[REDACTED:{rule.id}:5f2a9c]"
        assert is_placeholder(mark)
        assert scrubber.in_text(mark, "text") == []
        assert scrubber.under_name(mark, "json", "access_token") == []
