"""The streaming writer: valid JSON, browsers' layout, every value unchanged."""

from __future__ import annotations

import io
import json

import orjson
import pytest

from harscrub.reader import HarReader
from harscrub.writer import HarWriter

from .factories import entry, har


def roundtrip(data: bytes, *, indent: bool = True, chunk_size: int = 1 << 20) -> bytes:
    out = io.BytesIO()
    writer = HarWriter(out, indent=indent)
    for event in HarReader(io.BytesIO(data).read, "in.har", chunk_size=chunk_size):
        writer.write(event)
    return out.getvalue()


DOC = har(
    entry(), entry("https://a.test/Zürich?q=ü"), pages=[{"id": "p", "title": "日本語"}], _x={}
)


@pytest.mark.parametrize("chunk_size", [3, 1 << 20])
def test_indented_output_is_what_browsers_write(chunk_size: int) -> None:
    out = roundtrip(json.dumps(DOC).encode(), chunk_size=chunk_size)
    assert out == json.dumps(DOC, indent=2, ensure_ascii=False).encode() + b"\n"


def test_compact_output() -> None:
    out = roundtrip(json.dumps(DOC, indent=2).encode(), indent=False)
    assert out == orjson.dumps(DOC) + b"\n"


def test_non_ascii_is_written_as_utf8_not_escapes() -> None:
    out = roundtrip(json.dumps(DOC, ensure_ascii=True).encode())
    assert "Zürich".encode() in out
    assert "日本語".encode() in out
    assert b"\\u" not in out


def test_empty_containers() -> None:
    assert roundtrip(b'{"log": {"entries": []}}') == b'{\n  "log": {\n    "entries": []\n  }\n}\n'
    assert roundtrip(b'{"log":{"entries":[]}}', indent=False) == b'{"log":{"entries":[]}}\n'


@pytest.mark.parametrize("indent", [True, False])
def test_numbers_and_strings_come_out_unchanged(indent: bool) -> None:
    data = (
        b'{"log": {"entries": [{"big": 123456789012345678901234567890,'
        b' "neg": -98765432109876543210,'
        b' "u64": 18446744073709551615, "f": 0.1, "t": 1234.567, "e": 1e-07,'
        b' "s": "lone \\ud83d surrogate", "pair": "\\ud83d\\ude00"}]}}'
    )
    out = roundtrip(data, indent=indent)
    assert b"123456789012345678901234567890" in out
    assert b"-98765432109876543210" in out
    assert b"18446744073709551615" in out
    assert b'"lone \\ud83d surrogate"' in out
    assert json.loads(out) == json.loads(data)
    assert "😀".encode() in out
