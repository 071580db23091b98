"""HARs in object storage: s3:// in and out, against a real S3 server (tests/objectstore.py)."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from harscrub import Options, RunReport, cli, remote, scrub_file, scrub_paths, to_json
from harscrub.batch import Found, plan
from harscrub.errors import HarscrubError, OutputError, UsageError
from harscrub.remote import Url
from harscrub.report import Failure, Report
from harscrub.rules import Ruleset
from tests.objectstore import S3Store, bucket, s3_store

from .factories import BEARER_CANARY, CANARY, SECRET_HAR
from .flows import all_flows, check_har, find_leaks
from .test_cli import run_harscrub

__all__ = ["bucket", "s3_store"]  # fixtures, used by name only

KEY = bytes(range(32))
FLOWS = {flow.name: flow for flow in all_flows()}
SECRETS = (*(s for flow in FLOWS.values() for s in flow.secrets), CANARY, BEARER_CANARY)
CLEAN_HAR = b'{"log": {"version": "1.2", "entries": []}}'


@pytest.fixture
def store_env(s3_store: S3Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The store's environment, in this process too (for the library and Dask's workers)."""
    env = s3_store.env()
    for name in [n for n in os.environ if n.startswith(("AWS_", "FSSPEC_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def put_archive(s3_store: S3Store, bucket: str, prefix: str = "in") -> dict[str, bytes]:
    """The realistic captures, SECRET_HAR, a clean HAR and a text file under bucket/prefix."""
    files = {f"2023/{name}.har": orjson.dumps(flow.har) for name, flow in FLOWS.items()}
    files |= {"2023/login.har": SECRET_HAR, "2024/clean.har": CLEAN_HAR, "notes.txt": b"hi"}
    fs = s3_store.filesystem()
    fs.pipe({f"{bucket}/{prefix}/{key}": data for key, data in files.items()})
    return files


def objects(s3_store: S3Store, prefix: str) -> dict[str, bytes]:
    fs = s3_store.filesystem()
    return {name[len(prefix) + 1 :]: fs.cat(name) for name in sorted(fs.find(prefix))}


def test_check_an_archive_names_every_file_with_a_secret_and_no_value(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    put_archive(s3_store, bucket)
    report = tmp_path / "findings.json"
    result = run_harscrub("--check", f"s3://{bucket}/in/", "--report", str(report), env=store_env)

    assert result.returncode == 1, result.stderr
    document = json.loads(report.read_text())
    found = {f["file"] for f in document["files"] if f["findings"]}
    assert found == {f"s3://{bucket}/in/2023/{name}.har" for name in [*FLOWS, "login"]}
    assert {f["file"]: f["status"] for f in document["files"]}[
        f"s3://{bucket}/in/2024/clean.har"
    ] == "ok"
    assert document["totals"]["failed"] == 0
    listed = {line.split(".har:")[0] + ".har" for line in result.stdout.splitlines()}
    assert listed == found
    assert "left 1 other file in the folders alone" in result.stderr
    for text in (report.read_bytes(), result.stdout.encode(), result.stderr.encode()):
        assert find_leaks(text, SECRETS) == []


def test_clean_a_prefix_into_another_bucket(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    files = put_archive(s3_store, bucket)
    s3_store.filesystem().pipe(f"{bucket}/in/2024/broken.har", SECRET_HAR[:-40])
    clean = f"{bucket}-clean"
    s3_store.filesystem().mkdir(clean)
    report = tmp_path / "report.json"

    result = run_harscrub(
        f"s3://{bucket}/in/", "-o", f"s3://{clean}/out/", "--report", str(report), env=store_env
    )

    assert result.returncode == 2  # broken.har
    assert result.stderr.splitlines()[-1] == (
        f"harscrub: failed: s3://{bucket}/in/2024/broken.har: truncated: the file ends inside "
        "log.entries[0]"
    )
    written = objects(s3_store, f"{clean}/out")
    assert sorted(written) == sorted(k for k in files if k.endswith(".har"))  # not broken.har
    for key, data in written.items():
        if key.startswith("2023/") and key != "2023/login.har":  # the realistic captures
            assert check_har(orjson.loads(data)) == [], key
        assert find_leaks(data, SECRETS) == [], key
    assert written["2024/clean.har"].startswith(b'{\n  "log": {\n    "version": "1.2"')
    document = json.loads(report.read_text())
    assert {f["file"]: f["output"] for f in document["files"]}[
        f"s3://{bucket}/in/2023/login.har"
    ] == f"s3://{clean}/out/2023/login.har"
    assert document["totals"]["failed"] == 1
    assert find_leaks(report.read_bytes(), SECRETS) == []

    again = run_harscrub("--check", f"s3://{clean}/out/", env=store_env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert objects(s3_store, bucket + "/in")["2023/login.har"] == SECRET_HAR  # input untouched


def test_store_and_local_folder_give_the_same_bytes(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    files = put_archive(s3_store, bucket)
    for key, data in files.items():
        (tmp_path / "in" / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / key).write_bytes(data)
    options = Options(key=KEY)

    local = scrub_paths([tmp_path / "in"], tmp_path / "out", options=options, workers=1)
    up = scrub_paths([tmp_path / "in"], f"s3://{bucket}/up", options=options, workers=2)
    down = scrub_paths([f"s3://{bucket}/in"], tmp_path / "down", options=options, workers=2)
    across = scrub_paths([f"s3://{bucket}/in/"], f"s3://{bucket}/across/", options=options)

    expected = {str(p.relative_to(tmp_path / "out")): p.read_bytes() for p in
                (tmp_path / "out").rglob("*.har")}  # fmt: skip
    assert len(expected) == len(FLOWS) + 2
    assert objects(s3_store, f"{bucket}/up") == expected
    assert objects(s3_store, f"{bucket}/across") == expected
    got = {str(p.relative_to(tmp_path / "down")): p.read_bytes() for p in
           (tmp_path / "down").rglob("*.har")}  # fmt: skip
    assert got == expected
    for run in (local, up, down, across):
        assert not run.failures
        assert run.total == local.total > 0


def test_one_object_to_a_file_to_stdout_and_beside_itself(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    s3_store.filesystem().pipe(f"{bucket}/t/login.har", SECRET_HAR)
    url = f"s3://{bucket}/t/login.har"

    to_file = run_harscrub(url, "-o", str(tmp_path / "clean.har"), env=store_env)
    to_stdout = run_harscrub(url, "-o", "-", env=store_env)
    beside = run_harscrub(url, env=store_env)

    assert (to_file.returncode, to_stdout.returncode, beside.returncode) == (0, 0, 0)
    assert beside.stderr.endswith(
        f"harscrub: wrote s3://{bucket}/t/login.sanitized.har (1 entry, 4 values redacted)\n"
    )
    for data in (
        (tmp_path / "clean.har").read_bytes(),
        to_stdout.stdout.encode(),
        s3_store.filesystem().cat(f"{bucket}/t/login.sanitized.har"),
    ):
        assert find_leaks(data, SECRETS) == []
        assert b'"url": "https://app.test/' in data


def test_in_place_replaces_the_object(
    s3_store: S3Store, store_env: dict[str, str], bucket: str
) -> None:
    s3_store.filesystem().pipe(f"{bucket}/t/login.har", SECRET_HAR)
    result = run_harscrub(f"s3://{bucket}/t/", "--in-place", env=store_env)
    assert result.returncode == 0, result.stderr
    assert objects(s3_store, f"{bucket}/t").keys() == {"login.har"}
    assert find_leaks(objects(s3_store, f"{bucket}/t")["login.har"], SECRETS) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["s3://{b}/nothing.har", "-o", "{tmp}/x.har"], "s3://{b}/nothing.har: no such object"),
        (["s3://{b}-missing/in/a.har", "-o", "{tmp}/x.har"], "s3://{b}-missing/in/a.har: "),
        (["{tmp}/a.har", "-o", "http://127.0.0.1:9/a.har"], "http://127.0.0.1:9/a.har: harscrub "
         "writes only to object stores, where an object appears whole (s3://, s3a://)"),
        (["nosuch://x/a.har", "-o", "{tmp}/x.har"], "nosuch://x/a.har: unknown protocol nosuch://"),
        (["s3://{b}/nothing.har", "-o", "http://127.0.0.1:9/a.har"], "http://127.0.0.1:9/a.har: "
         "harscrub writes only"),  # before the input is read
        (["file:///{tmp}/a.har"], "file:///{tmp}/a.har: give a local file as a path, without "
         "file://"),
        (["s3://"], "s3://: names no bucket"),
        (["s3:///a.har"], "s3:///a.har: names no bucket"),
        (["s3://{b}/in//a.har", "-o", "-"], "s3://{b}/in//a.har: a key with an empty part ('//')"
         " names different objects in different stores; write it without"),
        (["s3://AKIAFAKE:FAKEsecret/with/slashes@b/a.har"], "s3://...: the URL holds credentials"),
        (["https://h.test/a.har?FAKEtoken", "-o", "-"], "https://...: the URL holds credentials"),
        (["s3://AKIAFAKE:FAKEsecret@b/a.har"], "s3://...: the URL holds credentials (user@ or "
         "a query string); give them in the environment instead"),
        (["{tmp}/a.har", "-o", "s3://b/a.har?X-Amz-Signature=FAKEsig"], "s3://...: the URL holds "
         "credentials"),
    ],
)  # fmt: skip
def test_what_cannot_be_read_or_written_is_one_line_and_exit_2(
    store_env: dict[str, str], bucket: str, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    argv = [a.format(b=bucket, tmp=tmp_path) for a in args]
    result = run_harscrub(*argv, env=store_env)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("harscrub: " + message.format(b=bucket, tmp=tmp_path))
    assert "FAKE" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["s3://{b}/in/a.har", "-o", "s3a://{b}/in/a.har"], "s3a://{b}/in/a.har: the output is "
         "the input; use --in-place to overwrite it"),
        (["s3://{b}/in", "-o", "s3a://{b}/in/"], "s3a://{b}/in/: is an input folder; use "
         "--in-place to rewrite its files"),
        (["s3://{b}/in", "-o", "S3://{b}/in/"], "S3://{b}/in/: is an input folder; use "
         "--in-place to rewrite its files"),
        (["--check", "s3://{b}/in", "--report", "s3://{b}/in/report.har"], "s3://{b}/in/"
         "report.har: would be taken for a HAR of this run; name the report apart"),
        (["--check", "s3://{b}/in", "--report", "s3://{b}/reports/"], "s3://{b}/reports/: is a "
         "prefix; give the report an object name"),
        (["--check", "s3://{b}/in", "--report", "http://127.0.0.1:9/r.json"], "http://127.0.0.1"
         ":9/r.json: harscrub writes only to object stores, where an object appears whole (s3://, "
         "s3a://)"),
    ],
)  # fmt: skip
def test_another_name_of_an_input_is_still_the_input(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, args: list[str], message: str
) -> None:
    s3_store.filesystem().pipe(f"{bucket}/in/a.har", SECRET_HAR)
    result = run_harscrub(*(a.format(b=bucket) for a in args), env=store_env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"harscrub: {message.format(b=bucket)}"]
    assert objects(s3_store, bucket) == {"in/a.har": SECRET_HAR}


def test_wrong_credentials_are_named_and_nothing_is_written(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    s3_store.filesystem().pipe(f"{bucket}/t/login.har", SECRET_HAR)
    env = {**store_env, "AWS_SECRET_ACCESS_KEY": "wrong"}
    result = run_harscrub(f"s3://{bucket}/t/login.har", "-o", str(tmp_path / "x.har"), env=env)
    assert result.returncode == 2
    assert result.stderr == (
        f"harscrub: s3://{bucket}/t/login.har: cannot read (access denied; check the credentials)\n"
    )
    assert "wrong" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_fails_while_written_leaves_no_object(
    s3_store: S3Store, store_env: dict[str, str], bucket: str
) -> None:
    """The sanitized copy outgrows the file size limit while it is written locally: the
    upload never starts, so the store never holds part of it."""
    har = orjson.dumps(FLOWS["cookie_session"].har)  # compact; its sanitized copy is indented
    s3_store.filesystem().pipe(f"{bucket}/in/a.har", har)
    limit = len(har) + 4096

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "harscrub", f"s3://{bucket}/in/a.har", "-o",
         f"s3://{bucket}/out/a.har"],
        capture_output=True, text=True, env=store_env, timeout=300, check=False,
        preexec_fn=small_files,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"harscrub: s3://{bucket}/out/a.har (held back in ")
    assert result.stderr.endswith("): cannot write (File too large); nothing was written\n")
    assert objects(s3_store, f"{bucket}/out") == {}


class _FailsAfter(io.BytesIO):
    """A local temp file whose reading fails after `after` bytes: a disk error mid-upload."""

    def __init__(self, data: bytes, after: int) -> None:
        super().__init__(data)
        self.after = after

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.after:
            raise OSError(5, "Input/output error")
        return super().read(size)


def test_a_large_output_goes_up_in_parts_and_a_failed_one_leaves_nothing(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "_ONE_PUT", 1 << 20)  # so that 12 MB goes up in two parts
    monkeypatch.setattr(remote, "_BLOCK", 6 << 20)
    data = os.urandom(12 << 20)
    remote.upload(io.BytesIO(data), Url(f"s3://{bucket}/big.bin"))
    assert s3_store.filesystem().cat(f"{bucket}/big.bin") == data

    with pytest.raises(OutputError, match=r"big2\.bin: cannot write \(Input/output error\); "):
        remote.upload(_FailsAfter(data, 5 << 20), Url(f"s3://{bucket}/big2.bin"))
    fs = s3_store.filesystem()
    assert not fs.exists(f"{bucket}/big2.bin")
    # Aborted, not left to pay for. (SeaweedFS may list a completed upload for a moment.)
    assert [u for u in fs.list_multipart_uploads(bucket) if u["Key"] == "big2.bin"] == []


def test_an_archive_on_dask_reads_and_writes_the_store(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    files = put_archive(s3_store, bucket)
    with distributed.LocalCluster(  # started here, so its workers get the store's environment
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        result = run_harscrub(
            f"s3://{bucket}/in/", "-o", f"s3://{bucket}/out/", "--dask",
            cluster.scheduler_address, "--report", str(tmp_path / "r.json"), env=store_env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = objects(s3_store, f"{bucket}/out")
    assert sorted(written) == sorted(k for k in files if k.endswith(".har"))
    for key, data in written.items():
        assert find_leaks(data, SECRETS) == [], key
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["files"] == len(written)


def test_a_key_that_would_leave_the_output_folder_is_refused(tmp_path: Path) -> None:
    root = Url("s3://b/in")
    found = Found(((Url("s3://b/in/a/../../x.har"), root),))
    with pytest.raises(UsageError, match=r"its key holds '\.\.', '\.' or an empty part"):
        plan(found, "write", out_dir=tmp_path / "out")
    [job] = plan(found, "write", out_dir=Url("s3://c/out"))  # a key is just a name there
    assert job.output == Url("s3://c/out/a/../../x.har")


def test_the_readme_recipe_for_spark_and_ray(
    s3_store: S3Store, store_env: dict[str, str], bucket: str, ruleset: Ruleset
) -> None:
    """The README's recipe, with a plain map for Spark's: one Ruleset and Options for all."""
    put_archive(s3_store, bucket)
    s3_store.filesystem().pipe(f"{bucket}/in/2024/broken.har", SECRET_HAR[:-40])
    s3_store.filesystem().pipe(f"{bucket}/in/2024/login-again.har", SECRET_HAR)
    settings = (ruleset, Options())
    urls = [f"s3://{bucket}/in/2023/login.har", f"s3://{bucket}/in/2024/broken.har"]
    urls += [f"s3://{bucket}/in/2023/{name}.har" for name in FLOWS]
    urls += [f"s3://{bucket}/in/2024/login-again.har"]

    def clean(url: str) -> Report | Failure:
        ruleset, options = settings
        target = url.replace(f"s3://{bucket}/in/", f"s3://{bucket}/clean/", 1)
        try:
            return scrub_file(url, target, ruleset=ruleset, options=options)
        except HarscrubError as e:
            return Failure(url, str(e))

    done = list(map(clean, urls))
    run = RunReport(
        "scrub",
        tuple(d for d in done if not isinstance(d, Failure)),
        tuple(d for d in done if isinstance(d, Failure)),
    )
    report = to_json(run)

    assert report["totals"]["failed"] == 1
    assert report["totals"]["filesWithFindings"] == len(FLOWS) + 2
    written = objects(s3_store, f"{bucket}/clean")
    assert len(written) == len(FLOWS) + 2
    assert written["2023/login.har"] == written["2024/login-again.har"]  # one key: equal tags
    assert find_leaks(orjson.dumps(report), SECRETS) == []
    assert all(find_leaks(data, SECRETS) == [] for data in written.values())


def test_without_the_cloud_extra_a_url_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fsspec.core", None)  # as if fsspec were not installed
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    with pytest.raises(UsageError, match=r"^s3://b/x\.har: URLs need fsspec: pip install "):
        scrub_file(tmp_path / "a.har", "s3://b/x.har")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har"]


def test_an_interrupted_upload_says_the_object_may_still_appear(
    store_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(local: object, url: Url) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(remote, "upload", interrupted)
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    result = CliRunner().invoke(cli.main, [str(tmp_path / "a.har"), "-o", "s3://b/x.har"])
    assert result.exit_code == 130
    assert result.stderr == (
        "harscrub: interrupted while s3://b/x.har was uploaded; it may still appear, whole\n"
    )
