"""Decode and encode one JSON value (an entry, a log member) without changing any value.

orjson is the fast path. It is not exact in two cases real HARs contain, so those values take the
standard library's slower exact path:

- integers beyond 64 bits: orjson 3.13 silently turns them into floats, losing digits;
- lone UTF-16 surrogate escapes such as ``"\\ud800"``: browsers write them when a page holds a
  broken string, orjson refuses them, and they must come out as the same escape.

Which path a value takes:

    loads: orjson, unless it fails or the raw bytes hold a run of 19 digits -> json (exact)
    dumps: orjson, unless it refuses the value (big int, lone surrogate)     -> json (exact)

Strings and integers come out exactly; other numbers keep their value but not always their
spelling (``1e5`` is written ``100000.0``, and ``1e-7`` as ``1e-07`` on the exact path).
Numbers no float can hold (``1e400``) and NaN are refused as not valid JSON.
"""

from __future__ import annotations

import codecs
import json
import math
import sys
from typing import Any

import orjson

# 19 digits in a row may be an integer orjson cannot hold (int64 max has 19 digits). Inside
# strings such runs are rare, and a false alarm only costs the slower exact path for one value.
# Found with translate + find: 6x faster than re's search for \d{19} (0.025 s vs 0.146 s on a
# 20 MB HAR), and this check runs over every byte of the input.
_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19

_SURROGATE_ESCAPE = "harscrub-json-surrogate"


def _escape_surrogates(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start : err.end]
    return "".join(f"\\u{ord(c):04x}" for c in bad), err.end


# A lone surrogate can only sit inside a JSON string, so writing it back as its escape is exact.
codecs.register_error(_SURROGATE_ESCAPE, _escape_surrogates)


# The standard library's depth limit is Python's recursion limit, a little below orjson's 1024.
_TOO_DEEP = "nested too deeply for an exact copy (about 900 levels at most)"


_MAX_DIGITS = sys.get_int_max_str_digits()
_TOO_MANY_DIGITS = "for integer string conversion"


class JsonError(ValueError):
    """Raised by loads with orjson's message and the character position of the problem."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


class TooDeep(JsonError):
    """Valid JSON nested deeper than harscrub can copy exactly."""

    def __init__(self, pos: int = 0) -> None:
        super().__init__(_TOO_DEEP, pos)


class _Reject(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Reject(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject("number too large for JSON")
    return value


def loads(raw: bytes) -> Any:
    """Decode one JSON value exactly; raise JsonError (orjson's message and position) if invalid."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        try:
            return _exact_loads(raw)
        except UnicodeDecodeError:
            # orjson says "str is not valid UTF-8: surrogates not allowed" for any bad byte.
            raise JsonError("a byte that is not UTF-8; save the HAR as UTF-8", e.pos) from None
        except _Reject as reject:  # says what it was: NaN, a number too large
            raise JsonError(str(reject), e.pos) from None
        except RecursionError:  # orjson stops at 1024 levels, json a little before
            raise TooDeep(e.pos) from None
        except ValueError as exact:
            if _TOO_MANY_DIGITS in str(exact):  # Python's guard against quadratic int parsing
                raise JsonError(f"an integer of more than {_MAX_DIGITS} digits", e.pos) from None
            raise JsonError(e.msg, e.pos) from None
    if raw.translate(_DIGITS_TO_ZERO).find(_LONG_DIGIT_RUN) < 0:
        return value
    try:
        return _exact_loads(raw)
    except RecursionError:
        raise TooDeep from None


def _exact_loads(raw: bytes) -> Any:
    return json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)


def dumps(value: Any, *, indent: bool) -> bytes:
    """Encode one value as UTF-8 JSON, with browsers' 2-space indent or compact.

    Raises TooDeep only for a value nested deeper than the exact path can go.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    except orjson.JSONEncodeError:
        # Only values that came through the exact path (big ints, lone surrogates) get here.
        try:
            text = json.dumps(
                value,
                ensure_ascii=False,
                indent=2 if indent else None,
                separators=(",", ": ") if indent else (",", ":"),
            )
        except RecursionError:
            raise TooDeep from None
        return text.encode("utf-8", _SURROGATE_ESCAPE)
