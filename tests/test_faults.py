"""Faults around a run: a full disk, a folder that cannot be written, a signal in the middle.

Whatever happens, the promise is the same: no partial output, no temp file left, the input
untouched, one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .factories import BEARER_CANARY, CANARY, SECRET_HAR, entry, har_bytes, header

HARSCRUB = [sys.executable, "-m", "harscrub"]


def secret_entries(count: int) -> bytes:
    """A HAR big enough to take a while: count entries, each holding the canary cookie."""
    one = entry("https://a.test/x", request_headers=[header("Cookie", f"sid={CANARY}")])
    return har_bytes(*[one] * count)


def small_file_limit() -> None:
    """Run in the child: a write past 64 KB fails with EFBIG, as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer outright
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def assert_no_secret(data: bytes) -> None:
    assert CANARY.encode() not in data
    assert BEARER_CANARY.encode() not in data


@pytest.mark.parametrize("in_place", [False, True], ids=["to-a-file", "in-place"])
def test_disk_full_while_writing(tmp_path: Path, in_place: bool) -> None:
    src = tmp_path / "big.har"
    src.write_bytes(data := secret_entries(2000))
    out = src if in_place else tmp_path / "out.har"
    args = ["--in-place"] if in_place else ["-o", str(out)]
    done = subprocess.run(
        [*HARSCRUB, str(src), *args], capture_output=True, preexec_fn=small_file_limit, check=False
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == f"harscrub: {out}: cannot write (File too large); nothing was written\n".encode()
    )
    assert names(tmp_path) == ["big.har"]
    assert src.read_bytes() == data


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """folder, made so that no file can be created in it, even by root."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    # Root writes through any mode: the immutable flag stops it (ext4, xfs, btrfs).
    chattr = shutil.which("chattr")
    made = chattr and not subprocess.run([chattr, "+i", folder], capture_output=True).returncode
    if not chattr or not made:
        pytest.skip("running as root where chattr +i does not work: no folder is read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", folder], check=True)


@pytest.mark.parametrize("in_place", [False, True], ids=["to-a-file", "in-place"])
def test_a_folder_that_cannot_be_written(tmp_path: Path, in_place: bool) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    src = folder / "login.har"
    src.write_bytes(SECRET_HAR)
    out = src if in_place else folder / "out.har"
    args = ["--in-place"] if in_place else ["-o", str(out)]
    with unwritable(folder):
        done = subprocess.run([*HARSCRUB, str(src), *args], capture_output=True, check=False)
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert stderr.startswith(f"harscrub: {out}: cannot write (")
    assert stderr.endswith("); nothing was written\n")
    assert stderr.count("\n") == 1
    assert names(folder) == ["login.har"]
    assert src.read_bytes() == SECRET_HAR


def wait_for_temp_file(folder: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not any(p.name.endswith(".tmp") for p in folder.iterdir()):
        assert proc.poll() is None, "harscrub ended before it was interrupted"
        assert time.monotonic() < deadline, "harscrub never started writing"
        time.sleep(0.005)


@contextlib.contextmanager
def started(args: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([*HARSCRUB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.poll() is None:  # a failed assertion must not leave a process behind
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_reading_leaves_nothing(tmp_path: Path, signum: int) -> None:
    fifo = tmp_path / "in.har"
    os.mkfifo(fifo)
    with started([str(fifo), "-o", str(tmp_path / "out.har")]) as proc, fifo.open("wb") as writer:
        writer.write(SECRET_HAR[:-10])  # the rest never comes: harscrub waits for it
        writer.flush()
        wait_for_temp_file(tmp_path, proc)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert stderr == b"harscrub: interrupted; nothing was written\n"
    assert stdout == b""
    assert names(tmp_path) == ["in.har"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_middle_of_in_place_keeps_the_original(tmp_path: Path, signum: int) -> None:
    src = tmp_path / "big.har"
    src.write_bytes(data := secret_entries(20_000))
    with started([str(src), "--in-place"]) as proc:
        wait_for_temp_file(tmp_path, proc)
        time.sleep(0.05)  # into the run, past the temp file's creation
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert stderr == b"harscrub: interrupted; nothing was written\n"
    assert names(tmp_path) == ["big.har"]
    assert src.read_bytes() == data


def test_killed_outright_in_place_still_keeps_the_original(tmp_path: Path) -> None:
    src = tmp_path / "big.har"
    src.write_bytes(data := secret_entries(20_000))
    with started([str(src), "--in-place"]) as proc:
        wait_for_temp_file(tmp_path, proc)
        proc.kill()  # SIGKILL: no cleanup runs; only the rename makes an output
        proc.communicate(timeout=30)
    assert src.read_bytes() == data
    # What is left is the temp file, named so that it is plainly one; it holds no secret.
    for leftover in set(tmp_path.iterdir()) - {src}:
        assert leftover.name.startswith(".big.har.")
        assert leftover.name.endswith(".tmp")
        assert_no_secret(leftover.read_bytes())


FINALIZER_INTERRUPTED = textwrap.dedent(
    """
    import os, signal
    from harscrub import interrupts

    interrupts.install()

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs here, inside the finalizer
                pass

    read_end, _ = os.pipe()
    try:
        Finalized()
        os.read(read_end, 1)  # nothing ever comes: only the interrupt ends this
    except KeyboardInterrupt:
        print("unwound")
    """
)


def test_an_interrupt_during_a_finalizer_is_not_lost() -> None:
    # Python drops an exception raised in __del__; CI once hung for ever on exactly that.
    done = subprocess.run(
        [sys.executable, "-c", FINALIZER_INTERRUPTED], capture_output=True, timeout=30, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"unwound\n", b"")
