"""Atomic output: a temp file beside the destination, renamed into place only when complete."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from harscrub import interrupts, remote
from harscrub.errors import OutputError, UploadInterrupted
from harscrub.remote import Url

STDIO = "-"  # the command line's name for stdin and stdout

# Output for a stream (stdout, a device, a pipe) is held back until complete: in memory up to
# this size, then in a temp file.
_SPOOL_LIMIT = 8 << 20
_WRITE_SIZE = 1 << 16
_TEMP_HEX = 8  # random hex digits in a temp file's name: .NAME.0123abcd.tmp


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
def atomic_output(dst: Path | Url | None, *, mode_from: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it becomes dst, on any exception nothing is left.

    dst None is stdout; a Url is uploaded once complete (see remote.WHOLE_OBJECT_STORES).
    Streams (stdout, a device such as /dev/null, a named pipe) get the output only once it is
    complete. A symlink is written through, to the file it names.
    mode_from copies that file's permissions (for --in-place); otherwise the new file gets the
    usual mode under the umask.
    """
    if dst is None:
        if sys.stdout is None:
            raise OutputError("<stdout>: not open")
        with _spooled("<stdout>", lambda: contextlib.nullcontext(sys.stdout.buffer)) as sink:
            yield sink
        return
    if isinstance(dst, Url):
        with _uploaded(dst) as sink:
            yield sink
        return
    real = real_path(dst)
    if real.is_dir():
        raise OutputError(f"{dst}: is a directory; give a file name")
    if _is_stream(dst):
        # Opened by its own name: /dev/stdout's real path is /proc/<pid>/fd/pipe:[...].
        with _spooled(str(dst), lambda: dst.open("wb")) as sink:
            yield sink
        return
    # Interrupts are held while the temp file is made, so that one cannot land between its
    # creation and the try that removes it.
    held = interrupts.hold()
    try:
        fd, tmp = _create_beside(real, str(dst))
    except BaseException:
        interrupts.release(held)
        raise
    try:
        interrupts.release(held)  # one that came meanwhile is raised here, inside the try
        with io.FileIO(fd, "wb") as raw:
            sink = _Sink(raw, str(dst))
            yield sink  # type: ignore[misc]
            sink.flush()
            try:
                os.fsync(raw.fileno())
            except OSError as e:
                raise _output_error(str(dst), e) from e
        try:
            if mode_from is not None:
                os.chmod(tmp, stat.S_IMODE(mode_from.stat().st_mode))
            os.replace(tmp, real)
        except OSError as e:
            raise _output_error(str(dst), e) from e
    except BaseException:
        # Interrupts included: a temp file must never outlive a failed run.
        tmp.unlink(missing_ok=True)
        raise


def real_path(path: Path) -> Path:
    """The file a write to path lands on: atomic_output replaces this one, through symlinks.
    Two paths with one real path are one output; hard links are not (each is replaced alone)."""
    return Path(os.path.realpath(path))


def remove_temp_files(dsts: Iterable[Path]) -> None:
    """Remove the temp files atomic_output left beside each of dsts: only a process killed
    outright (SIGKILL, the OOM killer, a lost Dask worker) leaves one, and then whoever ran it
    cleans up. Each folder is read once, however many outputs it holds."""
    names: dict[Path, set[str]] = {}
    for dst in dsts:
        real = real_path(dst)
        names.setdefault(real.parent, set()).add(real.name)
    for folder, targets in names.items():
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                # .NAME.0123abcd.tmp
                name, _, tail = entry.name[1 : -len(".tmp")].rpartition(".")
                ours = entry.name.startswith(".") and entry.name.endswith(".tmp")
                if ours and name in targets and _is_hex(tail):
                    Path(entry.path).unlink(missing_ok=True)


def _is_hex(text: str) -> bool:
    return len(text) == _TEMP_HEX and all(c in "0123456789abcdef" for c in text)


def _is_stream(path: Path) -> bool:
    """A device, pipe or socket (through any symlinks), written to rather than replaced."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:  # does not exist yet, or a dangling link: a new file
        return False


def _create_beside(real: Path, name: str) -> tuple[int, Path]:
    """Create a new, empty temp file in real's folder, with the umask's usual mode."""
    for _ in range(100):
        tmp = real.with_name(f".{real.name}.{secrets.token_hex(_TEMP_HEX // 2)}.tmp")
        try:
            # Not tempfile.mkstemp: its 0600 would need the umask read back (a process-wide
            # flip) to give the output the mode any new file gets.
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise _output_error(name, e) from e
    raise OutputError(f"{name}: cannot create a temporary file beside it; nothing was written")


@contextlib.contextmanager
def _spooled(
    name: str, open_stream: Callable[[], contextlib.AbstractContextManager[IO[bytes]]]
) -> Iterator[BinaryIO]:
    with tempfile.SpooledTemporaryFile(_SPOOL_LIMIT) as spool:
        sink = _Sink(spool, f"{name} (held back in {tempfile.gettempdir()})")  # type: ignore[arg-type]
        yield sink  # type: ignore[misc]
        sink.flush()
        spool.seek(0)
        try:
            with open_stream() as stream:
                shutil.copyfileobj(spool, stream)
                stream.flush()
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise OutputError(f"{name}: cannot write ({reason}); the output is incomplete") from e


@contextlib.contextmanager
def _uploaded(dst: Url) -> Iterator[BinaryIO]:
    """A local temp file to write, uploaded to dst in one step once complete: the store sees
    nothing of a file that fails, and a worker killed mid-file leaves only a local temp file."""
    remote.writable(dst)  # a store that is refused, or a missing package, before any work
    with tempfile.TemporaryFile() as tmp:
        sink = _Sink(tmp, f"{dst} (held back in {tempfile.gettempdir()})")  # type: ignore[arg-type]
        yield sink  # type: ignore[misc]
        sink.flush()
        try:
            tmp.flush()
        except OSError as e:
            raise _output_error(str(dst), e) from e
        try:
            remote.upload(tmp, dst)  # type: ignore[arg-type]
        except KeyboardInterrupt:
            raise UploadInterrupted(str(dst)) from None


def _output_error(name: str, e: OSError) -> OutputError:
    if isinstance(e, FileNotFoundError):
        reason = "the output folder does not exist"
    else:
        reason = e.strerror or type(e).__name__
    return OutputError(f"{name}: cannot write ({reason}); nothing was written")
