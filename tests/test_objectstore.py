"""The object store fixture: a real S3 API, reachable from a subprocess by its env() alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.objectstore import S3Store, bucket, s3_store

__all__ = ["bucket", "s3_store"]  # fixtures, used by name only

PAYLOAD = b'{"log": {"entries": []}}\n'


def test_written_object_is_listed_and_read_back(s3_store: S3Store, bucket: str) -> None:
    fs = s3_store.filesystem()
    fs.pipe(f"{bucket}/in/a.har", PAYLOAD)
    assert fs.ls(f"{bucket}/in", detail=False) == [f"{bucket}/in/a.har"]
    assert fs.cat(f"{bucket}/in/a.har") == PAYLOAD


def test_subprocess_needs_only_env(s3_store: S3Store, bucket: str) -> None:
    s3_store.filesystem().pipe(f"{bucket}/a.har", PAYLOAD)
    # No argument at all to S3FileSystem: endpoint, keys and region must come from env().
    script = textwrap.dedent(
        f"""
        import sys, s3fs
        fs = s3fs.S3FileSystem()
        sys.stdout.buffer.write(fs.cat({f"{bucket}/a.har"!r}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        env=s3_store.env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert out.stdout == PAYLOAD


def test_wrong_secret_is_refused(s3_store: S3Store, bucket: str) -> None:
    s3_store.filesystem().pipe(f"{bucket}/a.har", PAYLOAD)
    intruder = s3_store.filesystem(secret=s3_store.secret + "x")
    with pytest.raises(PermissionError):
        intruder.cat(f"{bucket}/a.har")
