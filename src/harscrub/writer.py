"""Write a HAR event by event, in the layout browsers use (2-space indent) or compact.

Each whole value is encoded by jsoncodec and indented to its depth, so the output of a streamed
HAR is byte for byte what encoding the whole document at once would give.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from harscrub import jsoncodec
from harscrub.reader import ENTRIES_DEPTH, Close, Entry, Event, Member, Open


class HarWriter:
    def __init__(self, out: BinaryIO, *, indent: bool = True, after_entry: bool = False) -> None:
        """after_entry: write the rest of a document whose start, up to and including an entry,
        another writer wrote (the next part of a split file, see harscrub.parallel)."""
        self._out = out
        self._indent = indent
        # Members written so far in each open container; of those before, only whether there
        # were any counts (for the comma), and there were: the root's "log", the log's
        # "entries" and one entry.
        self._counts: list[int] = [1, 1, 1] if after_entry else []

    def write(self, event: Event) -> None:
        match event:
            case Open(depth=depth, key=key):
                self._start_item(key)
                self._out.write(b"[" if depth == ENTRIES_DEPTH else b"{")
                self._counts.append(0)
            case Member(key=key, value=value):
                self._start_item(key)
                self._value(value)
            case Entry(value=value):
                self._start_item(None)
                self._value(value)
            case Close(depth=depth):
                closer = b"]" if depth == ENTRIES_DEPTH else b"}"
                if self._counts.pop() and self._indent:
                    self._out.write(b"\n" + b"  " * len(self._counts))
                self._out.write(closer)
                if not self._counts:
                    self._out.write(b"\n")

    def _start_item(self, key: str | None) -> None:
        if self._counts:
            if self._counts[-1]:
                self._out.write(b",")
            self._counts[-1] += 1
            if self._indent:
                self._out.write(b"\n" + b"  " * len(self._counts))
        if key is not None:
            self._out.write(jsoncodec.dumps(key, indent=False))
            self._out.write(b": " if self._indent else b":")

    def _value(self, value: Any) -> None:
        data = jsoncodec.dumps(value, indent=self._indent)
        if self._indent and b"\n" in data:
            # JSON strings cannot hold a raw newline, so every newline is layout.
            data = data.replace(b"\n", b"\n" + b"  " * len(self._counts))
        self._out.write(data)
