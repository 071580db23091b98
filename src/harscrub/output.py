"""Atomic output: a temp file beside the destination, renamed into place only when complete."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

from harscrub.errors import OutputError

STDIO = Path("-")

# Below this size, stdout output is buffered in memory before being copied out.
_SPOOL_LIMIT = 8 << 20
_WRITE_SIZE = 1 << 16


class _Sink:
    """A write-only buffer over a raw file.

    Write errors (disk full, quota) become OutputError naming the target. Buffering here rather
    than in io.BufferedWriter means a failed output is dropped without one more flush attempt
    that would raise again from the cleanup.
    """

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._raw = raw
        self._name = name
        self._pending = bytearray()

    def write(self, data: bytes) -> int:
        self._pending += data
        if len(self._pending) >= _WRITE_SIZE:
            self.flush()
        return len(data)

    def flush(self) -> None:
        view = memoryview(self._pending)
        try:
            while view:
                view = view[self._raw.write(view) or 0 :]
        except OSError as e:
            raise _output_error(self._name, e) from e
        finally:
            view.release()
        self._pending.clear()


@contextlib.contextmanager
def atomic_output(dst: Path, *, mode_from: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it becomes dst, on any exception nothing is left.

    dst "-" is stdout: the output is spooled and copied out only once complete, so a failure
    half-way never leaves half a HAR in a pipe. mode_from copies that file's permissions
    (for --in-place); otherwise the new file gets the usual umask-based mode.
    """
    if dst == STDIO:
        with tempfile.SpooledTemporaryFile(_SPOOL_LIMIT) as spool:
            sink = _Sink(spool, "<stdout>")  # type: ignore[arg-type]
            yield sink  # type: ignore[misc]
            sink.flush()
            spool.seek(0)
            try:
                shutil.copyfileobj(spool, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            except OSError as e:
                raise _output_error("<stdout>", e) from e
        return

    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    except OSError as e:
        raise _output_error(str(dst), e) from e
    tmp = Path(tmp_name)
    try:
        with io.FileIO(fd, "wb") as raw:
            sink = _Sink(raw, str(dst))
            yield sink  # type: ignore[misc]
            sink.flush()
            try:
                os.fsync(raw.fileno())
            except OSError as e:
                raise _output_error(str(dst), e) from e
        try:
            os.chmod(tmp, _mode(mode_from))
            os.replace(tmp, dst)
        except OSError as e:
            raise _output_error(str(dst), e) from e
    except BaseException:
        # Interrupts included: a temp file must never outlive a failed run.
        tmp.unlink(missing_ok=True)
        raise


def _mode(mode_from: Path | None) -> int:
    if mode_from is not None:
        return stat.S_IMODE(mode_from.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _output_error(name: str, e: OSError) -> OutputError:
    if isinstance(e, FileNotFoundError):
        reason = "the output folder does not exist"
    elif isinstance(e, IsADirectoryError):
        reason = "is a directory; give a file name"
    else:
        reason = e.strerror or type(e).__name__
    return OutputError(f"{name}: cannot write ({reason}); nothing was written")
