"""The streaming reader: any key order and layout, odd encodings and shapes, clear errors."""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

import pytest

from harscrub import reader as reader_module
from harscrub.errors import BadHar, InputError
from harscrub.reader import Close, Entry, Event, HarReader, Member, Open

from .factories import CANARY, entry, har


def read(data: bytes, *, chunk_size: int = 1 << 20) -> list[Event]:
    return list(HarReader(io.BytesIO(data).read, "in.har", chunk_size=chunk_size))


def rebuild(events: list[Event]) -> dict[str, Any]:
    """The document the events describe, to compare with json.loads of the input."""
    stack: list[Any] = []
    root: dict[str, Any] = {}
    for event in events:
        match event:
            case Open(key=None):
                stack.append(root)
            case Open(key="entries"):
                stack[-1]["entries"] = []
                stack.append(stack[-1]["entries"])
            case Open(key=key):
                stack[-1][key] = {}
                stack.append(stack[-1][key])
            case Member(key=key, value=value):
                stack[-1][key] = value
            case Entry(value=value):
                stack[-1].append(value)
            case Close():
                stack.pop()
    return root


def bad(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(BadHar) as info:
        read(data, **kwargs)
    return str(info.value)


SAMPLE = har(entry("https://a.test/1"), entry("https://a.test/2"), pages=[{"id": "p1"}])


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [None, 2])
def test_events_rebuild_the_document_at_any_chunk_size(chunk_size: int, indent: int | None) -> None:
    data = json.dumps(SAMPLE, indent=indent).encode()
    assert rebuild(read(data, chunk_size=chunk_size)) == SAMPLE


def test_entries_come_one_at_a_time_in_order() -> None:
    entries = [e for e in read(json.dumps(SAMPLE).encode()) if isinstance(e, Entry)]
    assert [(e.index, e.value["request"]["url"]) for e in entries] == [
        (0, "https://a.test/1"),
        (1, "https://a.test/2"),
    ]


def test_entries_before_pages_and_unknown_members_keep_their_order() -> None:
    data = (
        b'{"_vendor": 1, "log": {"entries": [], "pages": [{"id": "p"}], "_x": [1],'
        b' "version": "1.1", "creator": {}}, "_after": true}'
    )
    keys = [(e.depth, e.key) for e in read(data) if isinstance(e, Member | Open)]
    assert keys == [
        (0, None), (0, "_vendor"), (1, "log"), (2, "entries"),
        (1, "pages"), (1, "_x"), (1, "version"), (1, "creator"), (0, "_after"),
    ]  # fmt: skip


@pytest.mark.parametrize("pages", [None, [], "absent"])
def test_pages_absent_null_or_empty(pages: Any) -> None:
    doc = har(entry()) if pages == "absent" else har(entry(), pages=pages)
    assert rebuild(read(json.dumps(doc).encode())) == doc


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [2, 4, None])
def test_each_entry_knows_the_line_it_starts_on(chunk_size: int, indent: int | None) -> None:
    doc = har(*(entry(f"https://app.test/{i}\n") for i in range(5)))
    data = codecs.BOM_UTF8 + json.dumps(doc, indent=indent).encode()
    lines = data.decode("utf-8-sig").splitlines()
    entries = [e for e in read(data, chunk_size=chunk_size) if isinstance(e, Entry)]
    if indent is None:
        assert [e.line for e in entries] == [1] * 5
    else:
        starts = [
            n
            for n, line in enumerate(lines, 1)
            if line.strip() == "{" and lines[n].strip().startswith('"startedDateTime"')
        ]
        assert [e.line for e in entries] == starts


@pytest.mark.parametrize("chunk_size", [1, 2, 1 << 20])
def test_utf8_bom_is_skipped(chunk_size: int) -> None:
    doc = har(entry("https://a.test/é"))
    assert rebuild(read(codecs.BOM_UTF8 + json.dumps(doc).encode(), chunk_size=chunk_size)) == doc


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
)
def test_utf16_and_utf32_are_read(encoding: str) -> None:
    doc = har(entry("https://a.test/Zürich"))
    data = json.dumps(doc, ensure_ascii=False).encode(encoding)
    for chunk_size in (1, 2, 3, 5, 1 << 20):
        assert rebuild(read(data, chunk_size=chunk_size)) == doc


def test_big_integers_and_lone_surrogates_survive_exactly() -> None:
    data = b'{"log": {"entries": [{"n": 123456789012345678901234567890, "s": "a\\ud800b"}]}}'
    (value,) = (e.value for e in read(data) if isinstance(e, Entry))
    assert value == {"n": 123456789012345678901234567890, "s": "a\ud800b"}


def test_odd_entry_shapes_are_kept() -> None:
    odd = {"request": {"cookies": {"name": "a", "value": "b"}}, "response": None}
    odd2 = {"response": {"content": [1, 2]}}
    doc = har(odd, odd2)
    assert rebuild(read(json.dumps(doc).encode())) == doc


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "in.har: empty file, not a HAR"),
        (b"  \n\t", "in.har: empty file, not a HAR"),
        (b"null", "in.har: not a HAR: the file holds JSON that is not an object"),
        (b"nonce,value\n1,2", "in.har:1:1: not valid JSON: expected '{' at the start of a HAR"),
        (b"[]", "in.har: not a HAR: the file holds JSON that is not an object"),
        (b"<html></html>", "in.har:1:1: not valid JSON: expected '{' at the start of a HAR"),
        (b'onInputData({"log": {}})', "in.har:1:1: not a HAR: the JSON is wrapped in a JavaScript"),
        (b"{}", 'in.har: not a HAR: no top-level "log" object'),
        (b'{"log": []}', 'in.har: not a HAR: "log" is a list'),
        (b'{"log": {"version": "1.2"}}', 'in.har: not a HAR: log has no "entries" list'),
        (b'{"log": {"entries": {}}}', "in.har: not a HAR: log.entries is an object, not a list"),
        (b'{"log": {"entries": [{}, "x"]}}', "in.har: log.entries[1] is a string, not an object"),
        (
            b'{"log": {\n  "entries": [],\n  xxx\n}}',
            "in.har:3:3: not valid JSON: expected a key in log",
        ),
        (
            b'{"log": {"entries": [] "a": 1}}',
            "in.har:1:24: not valid JSON: expected ',' or '}' in log",
        ),
        (b'{"log": {"entries": [{"a": 1,}]}}', "in.har:1:29: not valid JSON in log.entries[0]"),
        (b'{"log": {"entries": [{"a": NaN}]}}', "in.har:1:28: not valid JSON in log.entries[0]"),
        (b'{"log": {"entries": []}} {}', "in.har:1:26: unexpected data after the end of the HAR"),
        (b'{"log": {"entries": [], "entries": []}}', 'in.har:1:35: "entries" appears twice in log'),
        (b'{"log": {"entries": [{"a": "\xff"}]}}', "in.har:1:22: not valid JSON in log.entries[0]"),
    ],
)
def test_bad_input_gets_one_line_naming_file_and_place(data: bytes, message: str) -> None:
    got = bad(data)
    assert got.startswith(message)
    assert "\n" not in got


def test_truncated_anywhere_is_reported_as_truncated() -> None:
    data = json.dumps(SAMPLE, indent=2).encode()
    for cut in range(1, len(data) - 1, 7):
        got = bad(data[:cut], chunk_size=16)
        assert "truncated" in got or "not valid JSON" in got, (cut, got)


def test_truncated_inside_an_entry_names_the_entry() -> None:
    data = json.dumps(SAMPLE).encode()
    cut = data.index(b"https://a.test/2")
    assert bad(data[:cut]) == "in.har: truncated: the file ends inside log.entries[1]"


def test_error_messages_do_not_quote_the_input() -> None:
    got = bad(f'{{"log": {{"entries": [{{"a": "{CANARY}" "b"}}]}}}}'.encode())
    assert CANARY not in got


def one_entry_per_line(doc: dict[str, Any]) -> bytes:
    lines = ",\n".join(json.dumps(e) for e in doc["log"]["entries"])
    return f'{{"log": {{"entries": [\n{lines}\n]}}}}'.encode()


@pytest.mark.parametrize(
    "layout",
    [
        lambda doc: json.dumps(doc).encode(),
        lambda doc: json.dumps(doc, indent=2).encode(),
        lambda doc: json.dumps(doc, indent="\t").encode(),
        one_entry_per_line,
    ],
    ids=["compact", "indented", "tabs", "one-per-line"],
)
def test_memory_is_bounded_by_the_entry_not_the_file(layout: Any) -> None:
    """The buffer never holds much more than one entry plus a chunk, whatever the layout."""
    big = har(*(entry(f"https://a.test/{i}") for i in range(300)))
    data = layout(big)
    reader = HarReader(io.BytesIO(data).read, "in.har", chunk_size=4096)
    largest = 0
    for _ in reader:
        largest = max(largest, len(reader._buf))
    assert largest < 3 * 4096 < len(data) / 10


@pytest.mark.parametrize(
    "layout",
    [
        # inner objects closing at the entry's own indentation: the layout shortcut must not cut
        b'{"log": {"entries": [\n    {"a": {\n    },\n    "b": "x\\n    }"\n    },'
        b'\n    {"c": 2}\n]}}',
        # each entry indented differently, CRLF line ends and tabs
        b'{"log": {"entries": [\r\n  {"a": 1\r\n  },\r\n\t\t{"b": [\r\n\t\t]\r\n\t\t},'
        b' {"c": {}}]}}',
        # a string holding an escaped newline and the closing text
        b'{"log": {"entries": [\n  {"s": "\\n  }"\n  }\n]}}',
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 5, 1 << 20])
def test_odd_layouts_read_exactly(layout: bytes, chunk_size: int) -> None:
    assert rebuild(read(layout, chunk_size=chunk_size)) == json.loads(layout)


def test_read_errors_become_input_errors() -> None:
    def failing_read(size: int) -> bytes:
        raise OSError(5, "Input/output error")

    with pytest.raises(InputError, match=r"^in.har: cannot read \(Input/output error\)$"):
        list(HarReader(failing_read, "in.har"))


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("_webSocketMessages", "_webSocketMessages"),
        ("x\nSECOND LINE" + "y" * 100 + "\ud800", "<a key of 114 characters>"),
        (CANARY, "<a key of 20 characters>"),  # a map keyed by session id
    ],
)
def test_keys_in_messages_only_when_they_read_as_field_names(key: str, shown: str) -> None:
    got = bad(json.dumps({"log": {"entries": [], key: "unterminated"}}).encode()[:-4])
    assert got == f"in.har: truncated: the file ends inside log.{shown}"


def test_a_wrong_layout_guess_reads_ahead_no_further_than_the_lookahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry that opens like the indented layout but never closes like it is read on for
    its closing line only so far; the scanner then takes it, and the rest of the file."""
    monkeypatch.setattr(reader_module, "_LOOKAHEAD", 8192)
    rest = ", ".join(json.dumps(entry(f"https://a.test/{i}")) for i in range(400))
    data = f'{{"log": {{"entries": [\n  {{\n"a": 1}}, {rest}]}}}}'.encode()
    reader = HarReader(io.BytesIO(data).read, "in.har", chunk_size=1024)
    largest, events = 0, []
    for event in reader:
        events.append(event)
        largest = max(largest, len(reader._buf))
    assert rebuild(events) == json.loads(data)
    assert largest <= 2 * 8192 + 1024 < len(data) / 10  # reading doubles what is pending


def _one_line_entries() -> list[dict[str, Any]]:
    """Entries written alike, with what could fool a guess at where one ends: an inner list of
    objects beginning like an entry, and strings holding the separator, escaped."""
    inner = entry("https://a.test/1")
    inner["_inner"] = [{"startedDateTime": "x"}, {"startedDateTime": "y"}]
    quoted = entry("https://a.test/3")
    quoted["comment"] = '},{"startedDateTime": "not an entry"}'
    return [entry("https://a.test/0"), inner, entry("https://a.test/2"), quoted, entry("/4")]


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")], ids=["compact", "spaced"])
@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_entries_on_one_line_read_exactly(separators: tuple[str, str], chunk_size: int) -> None:
    doc = har(*_one_line_entries())
    data = json.dumps(doc, separators=separators).encode()
    assert rebuild(read(data, chunk_size=chunk_size)) == doc


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")], ids=["compact", "spaced"])
def test_entries_on_one_line_take_the_shortcut(
    separators: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first entry (which shows the layout) and the last (no entry after it) go
    through the scanner."""
    scanned = []
    take = HarReader._take

    def counting_take(self: HarReader, where: str) -> Any:
        scanned.append(where)
        return take(self, where)

    monkeypatch.setattr(HarReader, "_take", counting_take)
    data = json.dumps(har(*(entry(f"/{i}") for i in range(5))), separators=separators).encode()
    list(HarReader(io.BytesIO(data).read, "in.har"))
    entries = [where for where in scanned if where.startswith("log.entries[")]
    assert entries == ["log.entries[0]", "log.entries[4]"]
