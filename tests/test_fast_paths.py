"""Each shortcut taken for speed finds exactly what the plain way finds.

The plain ways are written out here, as they were before the shortcuts, and compared with
them on generated text (hypothesis) and on every body of the real corpus.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from harscrub import bodies, places, reader, scrub_stream
from harscrub import copies as copies_module
from harscrub.bodies import quoted_pairs
from harscrub.copies import Copies
from harscrub.engine import Scrubber
from harscrub.errors import HarscrubError
from harscrub.options import Options
from harscrub.rules import Ruleset, ShapeIndex, load_ruleset
from harscrub.urls import is_encoded_url, is_url

from .conftest import CORPUS
from .factories import entry, har, har_bytes, header

# Hypothesis tests take the rules from here, not from a fixture: a failure then shows the
# example alone, not the whole ruleset.
RULES = load_ruleset()
KEY = b"k" * 32

# The one pattern quoted_pairs stands for, as it was.
QUOTED_PAIR = regex.compile(
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
        for item in entries if isinstance(entries, list) else []:
            response = item.get("response") if isinstance(item, dict) else None
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
    plain = copies._tokens(text) + copies_module._each(text, copies._odd)
    # The same copies; one found both as a token's part and as an odd secret may come twice
    # from the loop, and twice is once after merging.
    assert set(copies.find(text)) == set(plain)


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
def test_shape_candidates_are_the_rules_with_a_keyword_in_the_text(data: st.DataObject) -> None:
    keywords = sorted({k for r in RULES.shape_rules("text") for k in r.keywords})
    words = data.draw(st.lists(st.sampled_from(keywords) | st.text(max_size=5), max_size=6))
    lowered = " ".join(words).lower()
    index = ShapeIndex(RULES.shape_rules("text"))
    assert [r.id for r in index.candidates(lowered)] == plain_candidates(RULES, "text", lowered)


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


# JSON bodies: each distinct value scanned once on the parsed document decides whether the
# token walk runs; a body it passes must be one the walk finds nothing in.
# A run that has already removed a session cookie, so that copies of it are looked for too.
LEARNT = "Zq81kT0pLm5Wc9Xv3Rt7"


def scrubber(ruleset: Ruleset) -> Scrubber:
    run = Scrubber(ruleset, Options(key=KEY))
    run.learn(entry(request_headers=[header("Cookie", f"sid={LEARNT}")]))
    return run


def walked_spans(ruleset: Ruleset, text: str) -> object:
    """json_spans without the shortcut."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bodies, "_holds_nothing", lambda *_: False)
        return bodies.json_spans(text, scrubber(ruleset))


def fast_spans(ruleset: Ruleset, text: str) -> object:
    return bodies.json_spans(text, scrubber(ruleset))


NAMES = st.sampled_from(["id", "name", "value", "password", "tokens", "pin", "note", "a" * 20])
VALUES = st.sampled_from(
    [
        *("active", "hunter2hunter2", "ghp_" + "A1b2" * 9, "https://x.test/?token=abcdef123456"),
        *("", LEARNT, f"ref {LEARNT} sent", f"https://x.test/{LEARNT}/a", f"x{LEARNT}"),
    ]
) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    VALUES | st.integers(-99999, 99999) | st.floats(allow_nan=False) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES.filter(lambda v: isinstance(v, dict | list)))
def test_json_shortcut_finds_what_the_token_walk_finds(doc: object) -> None:
    text = json.dumps(doc, indent=1)
    assert fast_spans(RULES, text) == walked_spans(RULES, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"password": "hunter2hunter2", "password": "x"}',  # parsing keeps only the last
        '{"name": "api_key", "value": "hunter2hunter2"}',  # the value sits under its name
        '{"pin": 123456}',
        '{"pin": 1234.5}',
        '{"ghp_' + "A1b2" * 9 + '": {"a": 1}}',  # a key holding a token
        '{"a": 1}\n{"password": "hunter2hunter2"}',  # JSON lines
        '[["ghp_' + "A1b2" * 9 + '"]]',
        '{"url": "https:\\/\\/x.test\\/?token=abcdef123456"}',
        '{"note": "ref ' + LEARNT + ' sent"}',  # a copy in a plain value
    ],
)
def test_json_shortcut_on_hard_bodies(ruleset: Ruleset, text: str) -> None:
    walked = walked_spans(ruleset, text)
    assert walked, "each of these bodies holds a secret"
    assert fast_spans(ruleset, text) == walked


# Text without any of the characters text_spans looks for first is looked at for token shapes
# alone: no URL, pair, element or header line can be in it.
PLAIN_TEXT = st.lists(
    st.sampled_from(["password", "token", "Bearer", "x", " ", "\n", '"', "'", "&amp;", "+", "é"])
    | st.text(alphabet=st.characters(blacklist_characters=":=%<{[/"), max_size=8),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(PLAIN_TEXT)
def test_text_without_structure_characters_holds_no_structure(text: str) -> None:
    assert not bodies._STRUCTURE.search(text)
    scrubber = Scrubber(RULES, Options(key=KEY))
    assert not is_url(text)
    assert not is_encoded_url(text)
    for place in ("json", "text", "header"):
        assert bodies.text_structure(text, scrubber, place) == []


# A value met again is looked at once, while the run's secrets stay the same.
def test_a_value_met_again_after_a_secret_was_learnt_is_looked_at_again() -> None:
    learnt = "Zq81kT0pLm5Wc9Xv3Rt7"  # from a body, after the note was first seen
    note = f"support ref {learnt} attached"

    def with_body(text: str, post: str | None = None) -> dict[str, object]:
        e = entry()
        e["response"]["content"] = {"size": 1, "mimeType": "application/json", "text": text}
        if post is not None:
            e["request"]["postData"] = {"mimeType": "application/json", "text": post}
        return e

    doc = har(
        with_body(json.dumps({"note": note})),
        with_body(json.dumps({"note": note}), post=json.dumps({"password": learnt})),
        with_body(json.dumps({"note": note})),
    )
    out = io.BytesIO()
    report = scrub_stream(io.BytesIO(json.dumps(doc).encode()), out, options=Options(key=KEY))
    bodies_out = [
        e["response"]["content"]["text"] for e in json.loads(out.getvalue())["log"]["entries"]
    ]
    # The first note came before the secret was known: copies run forward in bodies.
    assert [learnt in text for text in bodies_out] == [True, False, False]
    assert {r.rule for r in report.redactions} == {"password"}


def test_a_memo_replay_reports_its_finding_each_time() -> None:
    value = "Bearer FAKEtoken0123456789abcdef"
    doc = har(*(entry(request_headers=[header("Authorization", value)]) for _ in range(3)))
    report = scrub_stream(
        io.BytesIO(json.dumps(doc).encode()), io.BytesIO(), options=Options(key=KEY)
    )
    assert [r.entry for r in report.redactions] == [0, 1, 2]
    assert len({r.tag for r in report.redactions}) == 1


# Whole runs: every shortcut off writes the same bytes and reports the same findings.
def every_candidate(self: ShapeIndex, lowered: str) -> list[object]:
    return [r for r in self._rules if not r.keywords or any(k in lowered for k in r.keywords)]


def plain_copies_everywhere(
    holder: dict[str, object], prefix: str, scan: Scrubber, found: list[object], skip: object
) -> None:
    nodes = [(holder, k, k, f"{prefix}{k}") for k in holder]
    for parent, key, _, path in places._strings(nodes, skip_paths=skip):
        parent[key] = places._scalar(parent[key], path, scan.copies, found)


def run(data: bytes, *, shortcuts: bool, **options: object) -> tuple[bytes, list[object]]:
    with pytest.MonkeyPatch.context() as patch:
        if not shortcuts:
            patch.setattr(bodies, "_holds_nothing", lambda *_: False)
            patch.setattr(bodies, "_STRUCTURE", re.compile(""))  # nothing looks plain
            patch.setattr(bodies, "quoted_pairs", plain_pairs)
            patch.setattr(Copies, "_may_hold_token", lambda *_: True)
            patch.setattr(places, "_copies_everywhere", plain_copies_everywhere)
            patch.setattr(Scrubber, "_remembered", lambda self, *key: self._value(*key))
            patch.setattr(ShapeIndex, "candidates", every_candidate)
            patch.setattr(reader, "_LOOKAHEAD", 0)
        out = io.BytesIO()
        report = scrub_stream(io.BytesIO(data), out, options=Options(key=KEY, **options))
    return out.getvalue(), list(report.redactions)


PART = 'Content-Disposition: form-data; name="csrf"'
PART = 'Content-Disposition: form-data; name="csrf"'
SECRETS = ("Zq81kT0pLm5Wc9Xv3Rt7", "ab/cd1234efgh5678", "hunter2hunter2xy", "tok==")
PIECE = st.sampled_from(SECRETS) | st.sampled_from(
    ["ref ", "=", "%2F", "/", "&", "?code=", "; sid=", "==", '"', "\\u0041", " ", "\n", "é", "x"]
)
TEXT = st.lists(PIECE, max_size=8).map("".join)
BODY = st.one_of(
    st.tuples(st.just("application/json"), JSON_VALUES.map(json.dumps)),
    st.tuples(st.sampled_from(["text/plain", "application/javascript", "text/html"]), TEXT),
    st.tuples(
        st.just("multipart/form-data; boundary=b0"),
        TEXT.map(lambda t: f"preamble\r\n--b0\r\n{PART}\r\n\r\n{t}\r\n--b0--\r\n"),
    ),
)
NAME = st.sampled_from(["Cookie", "Authorization", "X-Note", "Referer", "password", "state"])


@st.composite
def generated_hars(draw: st.DrawFn) -> bytes:
    entries = []
    for _ in range(draw(st.integers(1, 4))):
        headers = [header(draw(NAME), draw(TEXT)) for _ in range(draw(st.integers(0, 3)))]
        e = entry(f"https://app.test/{draw(TEXT)}?q={draw(TEXT)}", request_headers=headers)
        mime, text = draw(BODY)
        e["response"]["content"] = {"size": len(text), "mimeType": mime, "text": text}
        if draw(st.booleans()):
            mime, text = draw(BODY)
            e["request"]["postData"] = {"mimeType": mime, "text": text}
        entries.append(e)
    return json.dumps(har(*entries), indent=2).encode()


@settings(max_examples=300, deadline=None)
@given(generated_hars())
def test_a_run_without_shortcuts_writes_the_same(data: bytes) -> None:
    assert run(data, shortcuts=True) == run(data, shortcuts=False)


def test_the_real_corpus_without_shortcuts_comes_out_the_same(corpus: object) -> None:
    differ = []
    for path in sorted(CORPUS.glob("*.har")):
        data = path.read_bytes()
        try:
            fast = run(data, shortcuts=True)
        except HarscrubError:
            continue  # a file harscrub refuses either way
        if fast != run(data, shortcuts=False):
            differ.append(path.name)
    assert differ == []


# What a review of the shortcuts found, each once wrong.
def scrubbed(*entries: dict[str, object]) -> list[dict[str, object]]:
    out = io.BytesIO()
    scrub_stream(io.BytesIO(har_bytes(*entries)), out, options=Options(key=KEY))
    return json.loads(out.getvalue())["log"]["entries"]


def test_a_copy_before_the_secret_in_the_same_url_is_removed() -> None:
    encoded = "".join(f"%{ord(c):02X}" for c in LEARNT)  # learnt only after state= was looked at
    (out,) = scrubbed(entry(f"https://app.test/cb?state={encoded}&access_token={LEARNT}"))
    query = out["request"]["url"].partition("?")[2]
    assert [p.partition("=")[2].startswith("[REDACTED:") for p in query.split("&")] == [True, True]


def test_a_repeated_multipart_preamble_keeps_each_body_whole() -> None:
    def post(token: str, note: str = "") -> dict[str, object]:
        text = f"Preamble text.\r\n--b0\r\n{note}{PART}\r\n\r\n{token}\r\n--b0--\r\n"
        e = entry(request_headers=[header("Cookie", f"csrftoken={token}")])
        e["request"]["postData"] = {"mimeType": "multipart/form-data; boundary=b0", "text": text}
        return e

    first, second = "FAKEcsrf0a1b2c3d4e5f6a7b8c9d", "FAKEcsrf9f8e7d6c5b4a3f2e1d0c"
    # The first body's token sits further in, so stale positions would cut the second wrong.
    note = f'Content-Disposition: form-data; name="note"\r\n\r\n{"x" * 300}\r\n--b0\r\n'
    posts = scrubbed(post(first, note), post(second))
    bodies_out = [e["request"]["postData"]["text"] for e in posts]
    assert [b.startswith("Preamble text.\r\n--b0\r\n") for b in bodies_out] == [True, True]
    assert (first in bodies_out[0], second in bodies_out[1]) == (False, False)


def test_a_copy_encoded_twice_is_removed() -> None:
    slashed = "ab/cd1234efgh5678"
    first = entry(request_headers=[header("Cookie", f"sid={slashed}")])
    first["response"]["content"]["text"] = json.dumps({"session_token": quote(slashed, safe="")})
    twice = quote(quote(slashed, safe=""), safe="")
    _, later = scrubbed(first, entry(request_headers=[header("X-Debug", twice)]))
    assert later["request"]["headers"][0]["value"].startswith("[REDACTED:")


def test_a_copy_with_padding_is_removed_from_a_long_body() -> None:
    e = entry(request_headers=[header("Cookie", f"sid={LEARNT}")])
    text = "log line\n" * 600 + f"session {LEARNT}== restored\n"
    e["response"]["content"] = {"size": len(text), "mimeType": "text/plain", "text": text}
    (out,) = scrubbed(e)
    assert LEARNT not in out["response"]["content"]["text"]


def test_a_secret_that_is_no_token_is_removed_between_any_characters() -> None:
    odd = "1.2.utmcsr=(direct)|x=Q81kT0pLm5Wc"
    e = entry(request_headers=[header("Cookie", f"__utmz={odd}")])
    text = f"var t='{odd}'; log({odd}), end.{odd}."
    e["response"]["content"] = {
        "size": len(text),
        "mimeType": "application/javascript",
        "text": text,
    }
    (out,) = scrubbed(e)
    assert odd not in out["response"]["content"]["text"]


def test_a_copy_inside_a_longer_one_is_removed_where_the_longer_one_cannot_be() -> None:
    # The whole header value is remembered (a long secret that is no single token); in the
    # body it overlaps a GitHub token found by shape, so the cookie copy inside must go alone.
    ghp = "ghp_" + "A1b2" * 9
    text = f"see {LEARNT} and {ghp}"
    first = entry(request_headers=[header("Cookie", f"sid={LEARNT}"), header("X-Api-Key", text)])
    second = entry()
    second["response"]["content"] = {"size": len(text), "mimeType": "text/plain", "text": text}
    outs = scrubbed(first, second)
    assert LEARNT not in json.dumps(outs)


def test_padding_alone_is_no_secret() -> None:
    e = entry(request_headers=[header("X-Api-Key", "1=======")])
    body = '{"page": "1", "count": "1="}'
    e["response"]["content"] = {"size": len(body), "mimeType": "application/json", "text": body}
    (out,) = scrubbed(e)
    assert out["response"]["content"]["text"] == body
