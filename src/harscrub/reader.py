"""Stream a HAR: the log's small parts whole, the entries one at a time.

Memory is bounded by the largest single value (usually one entry), never by the file. The scanner
only finds where each value ends: it jumps to the next bracket or quote and skips whole strings with
one regex (measured in DESIGN.md at about 150 MB/s with orjson doing the decoding). Any key order,
pretty or single-line JSON, a UTF-8 BOM, UTF-16/32 and vendor fields are accepted.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harscrub import jsoncodec
from harscrub.errors import BadHar, InputError

CHUNK_SIZE = 1 << 20

_WS = re.compile(rb"[ \t\r\n]*")
_STRUCT = re.compile(rb'[\[\]{}"]')
# Everything after an opening quote up to and including the closing one. Written as runs of
# ordinary bytes between escapes: a per-character alternation is 4x slower (DESIGN.md).
_STRING_TAIL = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A number or literal; orjson decides later whether it is valid.
_BARE = re.compile(rb'[^ \t\r\n,:\[\]{}"]+')
_JSONP = re.compile(rb"[A-Za-z_$][\w$.]*\s*\(")
_JSON_START = re.compile(rb'[\["0-9-]|(?:true|false|null)(?![\w$])')
_FIELD_NAME = re.compile(r"[A-Za-z_$@][\w$@.-]{0,39}", re.ASCII)
_DIGIT = re.compile(r"[0-9]")
_SNIFF = 4096  # bytes of a file that is no HAR looked at to say what it is instead

_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = b"{}[]"
_QUOTE, _COMMA, _COLON = b'",:'
_EOF = -1
_MAX_INDENT = 64
# How far an indented entry is read ahead for (the buffer may reach twice this) before the
# scanner takes it.
_LOOKAHEAD = 16 << 20

ROOT_DEPTH, LOG_DEPTH, ENTRIES_DEPTH = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Open:
    """A container that is streamed: the document (depth 0), ``log`` (1) or ``log.entries`` (2)."""

    depth: int
    key: str | None


@dataclass(frozen=True, slots=True)
class Member:
    """A whole member of the document (depth 0) or of ``log`` (depth 1): version, pages, ..."""

    depth: int
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    value: dict[str, Any]
    line: int = 0  # 1-based line of the input where the entry starts; 0 where unknown


@dataclass(frozen=True, slots=True)
class Close:
    depth: int


@dataclass(frozen=True, slots=True)
class Cut:
    """The last event of a reader given stop_at: the entry at that offset starts here.

    The reader of a split file's part proves with this that the next part's reader started
    where an entry really starts (see harscrub.parallel); it never comes otherwise.
    """

    index: int  # of the entry that starts at the cut
    line: int  # where it starts


Event = Open | Member | Entry | Close | Cut


def describe(value: Any) -> str:
    """Name a JSON value's type for an error message, without showing the value."""
    match value:
        case dict():
            return "an object"
        case list():
            return "a list"
        case str():
            return "a string"
        case bool():
            return "true/false"
        case None:
            return "null"
        case _:
            return "a number"


class HarReader:
    """Iterate over a HAR's events in document order. Raises BadHar or InputError."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        name: str,
        *,
        chunk_size: int = CHUNK_SIZE,
        stop_at: int | None = None,
    ) -> None:
        self._read = read
        self.name = name
        self._chunk = chunk_size
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._base = 0  # absolute offset of _buf[0]
        self._lines = 0  # newlines before _buf[0]
        self._line_start = 0  # absolute offset where the line holding _buf[0] starts
        self._indent: bytes | None = None  # of the last entry that started a line
        self._counted = 0  # newlines in _buf before this offset are in _counted_lines
        self._counted_lines = 0
        self._shortcut = True  # see _take_entry
        self._opening: bytes | None = None  # how the first entry began ('{"startedDateTime":')
        self._separator: bytes | None = None  # what came between the first two entries
        self._last_end: int | None = None  # absolute offset where the last entry ended
        self._stop_at = stop_at  # the offset of an entry to stop at, with a Cut
        self._resume_at: int | None = None  # the index of the first entry, for resume()

    @classmethod
    def resume(
        cls,
        read: Callable[[int], bytes],
        name: str,
        *,
        offset: int,
        index: int = 0,
        line: int = 1,
        stop_at: int | None = None,
    ) -> HarReader:
        """A reader of the part of a UTF-8 HAR that read() gives from offset on, where entry
        number index starts on that line; it gives the events from that entry to the end of
        the document (or to stop_at). Only a reader from the start proves that an entry
        starts there: this one may fail, or read something else, where none does."""
        reader = cls(read, name, stop_at=stop_at)
        reader._base = reader._line_start = offset
        reader._lines = line - 1
        reader._resume_at = index
        return reader

    def __iter__(self) -> Iterator[Event]:
        events = self._document() if self._resume_at is None else self._resumed(self._resume_at)
        for event in events:
            yield event
            if isinstance(event, Cut):
                return

    # --- the HAR's shape -------------------------------------------------------------------

    def _document(self) -> Iterator[Event]:
        self._detect_encoding()
        c = self._peek()
        if c == _EOF:
            raise BadHar(f"{self.name}: empty file, not a HAR")
        if c != _LBRACE:
            raise self._not_an_object()
        self._pos += 1
        yield Open(ROOT_DEPTH, None)
        yield from self._root_members(first=True, seen_log=False)

    def _resumed(self, index: int) -> Iterator[Event]:
        yield from self._entries(index)
        yield from self._log_members(first=False, seen_entries=True)
        yield from self._root_members(first=False, seen_log=True)

    def _root_members(self, *, first: bool, seen_log: bool) -> Iterator[Event]:
        for key in self._members("the top-level object", first=first):
            if key == "log":
                if seen_log:
                    raise self._error('"log" appears twice')
                seen_log = True
                yield from self._log()
            else:
                yield Member(ROOT_DEPTH, key, self._take(_shown(key)))
        if not seen_log:
            raise BadHar(f'{self.name}: not a HAR: no top-level "log" object')
        yield Close(ROOT_DEPTH)
        if self._peek() != _EOF:
            raise self._error("unexpected data after the end of the HAR")

    def _log(self) -> Iterator[Event]:
        if self._peek() != _LBRACE:
            raise BadHar(f'{self.name}: not a HAR: "log" is {describe(self._take("log"))}')
        self._pos += 1
        yield Open(LOG_DEPTH, "log")
        yield from self._log_members(first=True, seen_entries=False)

    def _log_members(self, *, first: bool, seen_entries: bool) -> Iterator[Event]:
        for key in self._members("log", first=first):
            if key != "entries":
                yield Member(LOG_DEPTH, key, self._take(f"log.{_shown(key)}"))
                continue
            if seen_entries:
                raise self._error('"entries" appears twice in log')
            seen_entries = True
            if self._peek() != _LBRACKET:
                kind = describe(self._take("log.entries"))
                raise BadHar(f"{self.name}: not a HAR: log.entries is {kind}, not a list")
            self._pos += 1
            yield Open(ENTRIES_DEPTH, "entries")
            yield from self._entries(0)
        if not seen_entries:
            raise BadHar(f'{self.name}: not a HAR: log has no "entries" list')
        yield Close(LOG_DEPTH)

    def _entries(self, index: int) -> Iterator[Entry | Cut | Close]:
        """The entries from number index on, and the list's Close; the first one is next (a
        resumed reader starts at an entry, after the comma before it)."""
        first = True
        while self._next_item(_RBRACKET, "log.entries", first=first):
            first = False
            where = f"log.entries[{index}]"
            self._peek()  # past the blanks, to the entry's "{"
            line = self._line()
            if self._base + self._pos == self._stop_at:
                yield Cut(index, line)
                return
            value = self._take_entry(where)
            if not isinstance(value, dict):
                raise BadHar(f"{self.name}: {where} is {describe(value)}, not an object")
            yield Entry(index, value, line)
            index += 1
        yield Close(ENTRIES_DEPTH)

    def _members(self, where: str, *, first: bool = True) -> Iterator[str]:
        """Yield an object's keys; the caller consumes each value before asking for the next.
        Not first: some were read already (by the reader of an earlier part of the file)."""
        while self._next_item(_RBRACE, where, first=first):
            first = False
            c = self._peek()
            if c != _QUOTE:
                raise self._unexpected(c, f"expected a key in {where}")
            key = self._take(f"a key in {where}")
            if self._peek() != _COLON:
                raise self._unexpected(self._peek(), f"expected ':' after a key in {where}")
            self._pos += 1
            yield key

    def _next_item(self, closer: int, where: str, *, first: bool) -> bool:
        """Consume the closer (False: the container ends) or, between items, a comma (True)."""
        c = self._peek()
        if c == closer:
            self._pos += 1
            return False
        if first:
            return True
        if c != _COMMA:
            raise self._unexpected(c, f"expected ',' or '{chr(closer)}' in {where}")
        self._pos += 1
        return True

    # --- values ----------------------------------------------------------------------------

    def _take_entry(self, where: str) -> Any:
        """Decode the next entry, trying the layout's shortcut before the scanner.

        In indented JSON a raw newline is always layout (strings escape theirs), so an entry whose
        "{" ends a line ends at the first newline + that line's indentation + "}". On one line,
        entries written alike begin alike ('{"startedDateTime":'), and a raw '"' is never inside
        a string, so an entry ends just before the first '}' + the separator the first two
        entries showed + that beginning. bytes.find gets there much faster than the scanner (one
        pass over 200 MB: 0.40 s indented, 0.35 s on one line, 1.27 s on one line through the
        scanner), and orjson accepting the slice proves the guess: a cut too early or too late
        is never one JSON value. The input is read on for the mark
        up to _LOOKAHEAD bytes (an entry across two chunks went to the scanner before, which
        made 4 in 10 of the reader's time), and the first entry that proves the layout different
        turns the shortcut off for the rest of the file, so a wrong guess costs one search.
        """
        guess = self._end_mark() if self._shortcut and self._peek() == _LBRACE else None
        if guess is not None:
            mark, kept = guess
            end = self._buf.find(mark, self._pos)
            # An entry that runs past the buffer is read on for, up to a bound: a guess that
            # looks past the end of a wrong layout must not read the rest of the file.
            while end < 0 and self._may_read_on(mark):
                end = self._buf.find(mark, self._pos)
            if end >= 0:
                end += kept
                try:
                    value = jsoncodec.loads(self._buf[self._pos : end])
                except jsoncodec.JsonError:
                    self._shortcut = False  # not the layout guessed (or a bad entry: _take says)
                else:
                    self._pos = end
                    return value
        start, searched_to = self._base + self._pos, self._base + len(self._buf)
        value = self._take(where)
        if guess is not None and self._base + self._pos <= searched_to:
            self._shortcut = False  # the whole entry was there, but not where the layout said
        if self._opening is None and isinstance(value, dict) and value:
            opening = b"{" + jsoncodec.dumps(next(iter(value)), indent=False) + b":"
            if self._buf.startswith(opening, start - self._base):
                self._opening = opening
        self._last_end = self._base + self._pos
        return value

    def _may_read_on(self, mark: bytes) -> bool:
        """Read more to look for mark, unless that is bound to fail: past _LOOKAHEAD, or when
        the next entry's beginning is already there without the mark before it."""
        if len(self._buf) - self._pos >= _LOOKAHEAD:
            return False
        one_line = self._opening is not None and mark.endswith(self._opening)
        if one_line and self._buf.find(self._opening, self._pos + 1) >= 0:
            return False
        return self._more()

    def _end_mark(self) -> tuple[bytes, int] | None:
        """What ends the entry at _pos in the layout seen so far, and how many of its bytes
        are the entry's."""
        if (closing := self._closing_line()) is not None:
            return closing, len(closing)
        if self._opening is None or not self._buf.startswith(self._opening, self._pos):
            return None
        if self._separator is None and self._last_end is not None:
            # What came between the first two entries: "," or ", " or ",\n".
            between = self._buf[self._last_end - self._base : self._pos]
            if self._last_end >= self._base and between.strip(b" \t\r\n") == b",":
                self._separator = between
        return None if self._separator is None else (b"}" + self._separator + self._opening, 1)

    def _closing_line(self) -> bytes | None:
        """The line that closes the entry at _pos in an indented layout, if that is the layout."""
        buf, start = self._buf, self._pos
        if not buf.startswith((b"{\n", b"{\r\n"), start):
            return None
        newline = buf.rfind(b"\n", max(0, start - _MAX_INDENT), start)
        indent = buf[newline + 1 : start]
        if indent.strip(b" \t"):
            return None
        if newline >= 0:
            self._indent = indent
        elif start > _MAX_INDENT:
            return None
        # else the line began before the buffer did: entries of one list share an indentation
        return None if self._indent is None else b"\n" + self._indent + b"}"

    def _take(self, where: str) -> Any:
        """Decode the next whole JSON value."""
        if self._peek() == _EOF:
            raise self._truncated(where)
        end = self._value_end(self._pos)
        while end is None:
            if not self._more():
                raise self._truncated(where)
            end = self._value_end(self._pos)  # _more() moved the buffer under the value
        start, self._pos = self._pos, end
        raw = self._buf[start:end]
        try:
            return jsoncodec.loads(raw)
        except jsoncodec.TooDeep as e:
            raise self._error(f"{where}: {e.msg}", start) from None
        except jsoncodec.JsonError as e:
            # orjson counts characters; turn that back into a byte offset for _position().
            offset = len(raw.decode("utf-8", "replace")[: e.pos].encode())
            raise self._error(f"not valid JSON in {where} ({e.msg})", start + offset) from None

    def _value_end(self, pos: int) -> int | None:
        """End offset of the value starting at pos, or None if the buffer ends first."""
        buf = self._buf
        c = buf[pos]
        if c == _QUOTE:
            m = _STRING_TAIL.match(buf, pos + 1)
            return m.end() if m else None
        if c not in (_LBRACE, _LBRACKET):
            m = _BARE.match(buf, pos)
            if m is None:
                raise self._unexpected(c, "expected a JSON value", pos)
            # A number cut by the chunk boundary may go on in the next chunk.
            return m.end() if m.end() < len(buf) or self._eof else None
        depth = 0
        find_struct = _STRUCT.search
        string_tail = _STRING_TAIL.match
        while True:
            m = find_struct(buf, pos)
            if m is None:
                return None
            pos = m.end()
            c = buf[m.start()]
            if c == _QUOTE:
                s = string_tail(buf, pos)
                if s is None:
                    return None
                pos = s.end()
            elif c in (_LBRACE, _LBRACKET):
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return pos

    # --- the buffer ------------------------------------------------------------------------

    def _peek(self) -> int:
        """Skip whitespace; return the next byte without consuming it, or _EOF."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return _EOF

    def _more(self) -> bool:
        """Drop what was consumed and read more; False at the end of the input."""
        if self._eof:
            return False
        pending = len(self._buf) - self._pos
        # Reading at least as much as is pending doubles the buffer while one big value is
        # scanned again from its start, which keeps the rescans linear in the value's size.
        # A raw stream may return less than asked (a pipe, a socket): read on until it is all
        # there, or a value in 1-byte reads is rescanned after each byte.
        want = max(self._chunk, pending)
        pieces: list[bytes] = []
        try:
            while want > 0 and (piece := self._read(want)):
                pieces.append(piece)
                want -= len(piece)
        except OSError as e:
            raise InputError.cannot_read(self.name, e) from e
        data = b"".join(pieces)
        dropped = self._pos
        # _line() counted up to _counted already (_counted <= _pos): count only the rest.
        newlines = self._counted_lines + self._buf.count(b"\n", self._counted, dropped)
        if newlines:
            self._lines += newlines
            self._line_start = self._base + self._buf.rfind(b"\n", 0, dropped) + 1
        self._base += dropped
        self._buf = self._buf[dropped:] + data
        self._pos = self._counted = self._counted_lines = 0
        if not data:
            self._eof = True
        return bool(data)

    def _line(self) -> int:
        """The 1-based line of _pos. Counting goes on from the last call, so reports and SARIF
        get every entry's line for one pass over the file, not one per entry."""
        self._counted_lines += self._buf.count(b"\n", self._counted, self._pos)
        self._counted = self._pos
        return self._lines + self._counted_lines + 1

    def _detect_encoding(self) -> None:
        while len(self._buf) < 4 and self._more():
            pass  # a stream may hand out its first bytes in pieces
        head = self._buf[:4]
        if head.startswith(codecs.BOM_UTF8):
            self._pos = self._line_start = len(codecs.BOM_UTF8)
            return
        encoding = utf16_or_32(head)
        if encoding is not None:
            # Rare enough that a transcoding reader is fine; everything after sees UTF-8.
            self._read = _transcoded(self._read, encoding, self._buf, self.name)
            self._buf = b""
            self._eof = False

    # --- errors ----------------------------------------------------------------------------

    def _position(self, pos: int) -> tuple[int, int]:
        """Line and column (1-based, in bytes) of a buffer offset."""
        line = self._lines + self._buf.count(b"\n", 0, pos) + 1
        last_newline = self._buf.rfind(b"\n", 0, pos)
        if last_newline >= 0:
            return line, pos - last_newline
        return line, self._base + pos - self._line_start + 1

    def _error(self, problem: str, pos: int | None = None) -> BadHar:
        line, col = self._position(self._pos if pos is None else pos)
        return BadHar(f"{self.name}:{line}:{col}: {problem}")

    def _unexpected(self, c: int, expected: str, pos: int | None = None) -> BadHar:
        if c == _EOF:
            return BadHar(f"{self.name}: truncated: the file ends early ({expected})")
        return self._error(f"not valid JSON: {expected}", pos)

    def _truncated(self, where: str) -> BadHar:
        return BadHar(f"{self.name}: truncated: the file ends inside {where}")

    def _not_an_object(self) -> BadHar:
        while len(self._buf) - self._pos < _SNIFF and self._more():
            pass  # enough of the start to tell JSONP or other JSON, however it was read
        if _JSONP.match(self._buf, self._pos):
            return self._error(
                "not a HAR: the JSON is wrapped in a JavaScript call (JSONP); "
                "export the HAR itself, not a .harp or .js file"
            )
        if _JSON_START.match(self._buf, self._pos):
            return BadHar(f"{self.name}: not a HAR: the file holds JSON that is not an object")
        return self._error("not valid JSON: expected '{' at the start of a HAR")


def utf16_or_32(head: bytes) -> str | None:
    """Encoding of a JSON text by its BOM or, without one, where its first character's zero
    bytes are (RFC 4627: the text starts with an ASCII character)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) < 4:
        return None
    zeros = tuple(b == 0 for b in head)
    return {
        (False, True, True, True): "utf-32-le",
        (True, True, True, False): "utf-32-be",
        (False, True, False, True): "utf-16-le",
        (True, False, True, False): "utf-16-be",
    }.get(zeros)


def _shown(key: str) -> str:
    """A key from the input, in a one-line message, only if it reads as a field name: a key may
    itself be a secret (a map keyed by session id), so a long one with digits is described."""
    if _FIELD_NAME.fullmatch(key) and not (len(key) >= 16 and _DIGIT.search(key)):
        return key
    return f"<a key of {len(key)} characters>"


def _transcoded(
    read: Callable[[int], bytes], encoding: str, first: bytes, name: str
) -> Callable[[int], bytes]:
    decoder = codecs.getincrementaldecoder(encoding)()
    pending = [first]

    def read_utf8(size: int) -> bytes:
        while True:
            data = pending.pop() if pending else read(size)
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError:
                raise BadHar(f"{name}: not valid {encoding.upper()} text") from None
            if text or not data:
                return text.encode("utf-8")

    return read_utf8
