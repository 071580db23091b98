"""Each shortcut taken for speed finds exactly what the plain way finds.

The plain ways are written out here, as they were before the shortcuts, and compared with
them on generated text (hypothesis) and on every body of the real corpus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harscrub.bodies import quoted_pairs
from harscrub.copies import Copies
from harscrub.rules import Ruleset, ShapeIndex

from .conftest import CORPUS

# The one pattern quoted_pairs stands for.
QUOTED_PAIR = re.compile(
    r"""(?<![\w$])(["']?)([A-Za-z_$][\w$.-]{0,63})\1[ \t]*[:=][ \t]*"""
    r"""(?:"([^"\\\r\n]{0,8192}(?:\\.[^"\\\r\n]{0,8192}){0,64})"|'([^'\\\r\n]{0,8192}(?:\\.[^'\\\r\n]{0,8192}){0,64})')"""
)


def plain_pairs(text: str) -> list[tuple[str, int, str]]:
    pairs = []
    for m in QUOTED_PAIR.finditer(text):
        group = 3 if m.group(3) is not None else 4
        pairs.append((m.group(2), m.start(group), m.group(group)))
    return pairs


def corpus_bodies() -> Iterator[str]:
    for path in sorted(CORPUS.glob("*.har")) if CORPUS.is_dir() else []:
        try:
            entries = json.loads(path.read_bytes().decode("utf-8-sig"))["log"]["entries"]
        except (ValueError, KeyError, TypeError):
            continue
        for entry in entries if isinstance(entries, list) else []:
            response = entry.get("response") if isinstance(entry, dict) else None
            content = response.get("content") if isinstance(response, dict) else None
            text = content.get("text") if isinstance(content, dict) else None
            if isinstance(text, str) and not content.get("encoding"):
                yield text


# Code-like text: names, quotes, separators, escapes, blanks and line ends, densely mixed.
CODE = st.text(alphabet="ab_$.-1 \t\n\r:=\"'\\x", max_size=300)


@settings(max_examples=2000, deadline=None)
@given(CODE)
def test_quoted_pairs_are_the_pattern_s_matches(text: str) -> None:
    assert list(quoted_pairs(text)) == plain_pairs(text)


def test_quoted_pairs_across_a_long_name_and_wide_blanks() -> None:
    name = "n" * 70  # longer than a name may be: the pattern takes its last 64 characters
    for text in (f'{name}: "v"', f'x{" " * 200}= "v"', f"{name}.{name} = 'v'", "a = 'x' = 'y'"):
        assert list(quoted_pairs(text)) == plain_pairs(text)


def test_quoted_pairs_on_the_real_corpus(corpus: object) -> None:
    bodies = [text for text in corpus_bodies() if ":" in text or "=" in text]
    assert bodies
    mismatched = sum(list(quoted_pairs(text)) != plain_pairs(text) for text in bodies)
    assert mismatched == 0, f"{mismatched} of {len(bodies)} bodies differ"


# Copies: the set test before the loop must never say "nothing here" where the loop finds one.
TOKEN_TEXT = st.text(alphabet="aB3/=.-_%+ \"':?&é", max_size=80)


@settings(max_examples=1500, deadline=None)
@given(
    secrets=st.lists(st.text(alphabet="aB3/=.-_%+é", min_size=8, max_size=20), max_size=4),
    pieces=st.lists(TOKEN_TEXT, max_size=6),
)
def test_copies_found_with_the_set_test_are_the_loop_s(
    secrets: list[str], pieces: list[str]
) -> None:
    copies: Copies[int] = Copies()
    for i, secret in enumerate(secrets):
        copies.remember(secret, i)
    # Secrets planted among the pieces, whole or as parts of paths.
    text = "".join(p + (secrets[i % len(secrets)] if secrets else "") for i, p in enumerate(pieces))
    plain = copies._tokens(text) + [
        (start, start + len(s), about)
        for s, about in copies._odd.items()
        for start in _starts(text, s)
    ]
    # The same copies; one found both as a token's part and as an odd secret may come twice
    # from the loop, and twice is once after merging.
    assert set(copies.find(text)) == set(plain)


def _starts(text: str, secret: str) -> Iterator[int]:
    start = text.find(secret)
    while start >= 0:
        yield start
        start = text.find(secret, start + len(secret))


def test_a_copy_between_slashes_is_found_in_a_long_text() -> None:
    copies: Copies[str] = Copies()
    copies.remember("Zq81kT0pLm5Wc9Xv", "seen")
    text = "word " * 5000 + "https://cdn.example/Zq81kT0pLm5Wc9Xv/app.js " + "é" * 10
    (start, end, about), *rest = copies.find(text)
    assert (text[start:end] == "Zq81kT0pLm5Wc9Xv", about, rest) == (True, "seen", [])


# Shape rules: one pass for all keywords picks the rules a str.find per keyword would.
def plain_candidates(ruleset: Ruleset, place: str, lowered: str) -> list[str]:
    rules = ruleset.shape_rules(place)
    return [r.id for r in rules if not r.keywords or any(k in lowered for k in r.keywords)]


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_shape_candidates_are_the_rules_with_a_keyword_in_the_text(
    ruleset: Ruleset, data: st.DataObject
) -> None:
    keywords = sorted({k for r in ruleset.shape_rules("text") for k in r.keywords})
    words = data.draw(st.lists(st.sampled_from(keywords) | st.text(max_size=5), max_size=6))
    lowered = " ".join(words).lower()
    index = ShapeIndex(ruleset.shape_rules("text"))
    assert [r.id for r in index.candidates(lowered)] == plain_candidates(ruleset, "text", lowered)


def test_no_keyword_no_candidate(ruleset: Ruleset) -> None:
    index = ShapeIndex(ruleset.shape_rules("text"))
    assert index.candidates("plain words only, nothing else") == []


@pytest.mark.parametrize("place", ["header", "json", "text"])
def test_shape_candidates_on_the_real_corpus(ruleset: Ruleset, place: str, corpus: object) -> None:
    index = ShapeIndex(ruleset.shape_rules(place))
    differ = sum(
        [r.id for r in index.candidates(text.lower())]
        != plain_candidates(ruleset, place, text.lower())
        for text in corpus_bodies()
    )
    assert differ == 0
