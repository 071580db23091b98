"""--dask: a folder's HARs spread over a real two-worker LocalCluster, with the guarantees of -j."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from harscrub import Options, scrub_paths
from harscrub.batch import Done, Job
from harscrub.cluster import _run_jobs
from harscrub.errors import UsageError
from harscrub.report import Failure, Report
from harscrub.rules import Ruleset

from .factories import CANARY, SECRET_HAR
from .flows import all_flows, find_leaks
from .test_cli import run_harscrub

distributed = pytest.importorskip("distributed", reason="Dask's distributed is not installed")

KEY = bytes(range(32))  # one fixed placeholder key, so two runs can be compared byte for byte
COPIES = 4  # of each capture (the flows and SECRET_HAR), in folders of their own
PER_COPY = len(all_flows()) + 1


def quick_connect() -> dict[str, str]:
    """The environment, with Dask waiting 2 s for a scheduler instead of 30."""
    return {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """Two worker processes with one thread each, as a small real cluster has."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture
def client(cluster: distributed.LocalCluster) -> Iterator[distributed.Client]:
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Realistic captures in nested folders, with a file that is no HAR among them."""
    root = tmp_path_factory.mktemp("archive") / "in"
    flows = all_flows()
    for copy in range(COPIES):
        folder = root / f"2023-{copy:02}" / ("web" if copy % 2 else "api")
        folder.mkdir(parents=True)
        for flow in flows:
            (folder / f"{flow.name}.har").write_bytes(orjson.dumps(flow.har))
        (folder / "login.har").write_bytes(SECRET_HAR)
    (root / "broken.har").write_bytes(SECRET_HAR[:-40])
    (root / "notes.txt").write_text("not a HAR")
    return root


def outputs(folder: Path) -> dict[str, bytes | None]:
    """Every file under folder with its bytes, and every folder (None), temp files included."""
    return {
        str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def findings(done: tuple[Report, ...]) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(Path(r.source).name, r.total, tuple(x.tag for x in r.redactions)) for r in done]


def test_dask_writes_the_same_bytes_and_report_as_local_processes(
    client: distributed.Client, archive: Path, tmp_path: Path
) -> None:
    options = Options(key=KEY)
    local = scrub_paths([archive], tmp_path / "local", workers=2, options=options)
    spread = scrub_paths([archive], tmp_path / "dask", dask=client, options=options)

    expected = outputs(tmp_path / "local")
    assert len(expected) == COPIES * PER_COPY + COPIES * 2  # the files and their folders
    assert outputs(tmp_path / "dask") == expected
    assert findings(spread.reports) == findings(local.reports)
    assert all(r.total for r in spread.reports)
    assert [f.source for f in spread.failures] == [str(archive / "broken.har")]
    assert spread.unmatched == 1
    flows = {flow.name: flow for flow in all_flows()}
    for name, data in expected.items():
        if data is None:
            continue
        flow = flows.get(Path(name).stem)
        if flow is not None:
            assert find_leaks(data, flow.secrets) == [], name
        assert CANARY.encode() not in data


def test_a_worker_killed_mid_run_loses_no_file_and_writes_none_twice(
    client: distributed.Client, archive: Path, tmp_path: Path
) -> None:
    reference = scrub_paths([archive], tmp_path / "ref", workers=1, options=Options(key=KEY))
    pids = client.run(os.getpid)

    class KillOnce:
        """Kills, outright, a worker that holds tasks, once the run is under way."""

        victim: int | None = None
        lost: tuple[str, ...] = ()  # the tasks it held, which must run again elsewhere

        def start(self, total: int) -> None:
            pass

        def advance(self, done: Done) -> None:
            if self.victim is not None:
                return
            for worker, tasks in client.processing().items():
                if tasks:
                    self.victim, self.lost = pids[worker], tuple(tasks)
                    os.kill(self.victim, signal.SIGKILL)
                    return

    killer = KillOnce()
    run = scrub_paths(
        [archive], tmp_path / "out", dask=client, options=Options(key=KEY), progress=killer
    )

    assert killer.lost, "no worker held a task when the first result came back"
    client.wait_for_workers(2, timeout=60)
    assert killer.victim not in client.run(os.getpid).values()  # it died; its nanny replaced it
    assert outputs(tmp_path / "out") == outputs(tmp_path / "ref")  # no temp file either
    assert [r.source for r in run.reports] == [r.source for r in reference.reports]
    assert [r.total for r in run.reports] == [r.total for r in reference.reports]
    assert [f.source for f in run.failures] == [str(archive / "broken.har")]


def test_a_temp_file_a_lost_worker_left_is_removed(
    client: distributed.Client, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.har").write_bytes(SECRET_HAR)
    (tmp_path / "out").mkdir()
    left = tmp_path / "out" / ".a.har.0123abcd.tmp"  # what atomic_output makes, killed mid-file
    left.write_bytes(b"{")
    other = tmp_path / "out" / ".b.har.0123abcd.tmp"  # not an output of this run: not ours
    other.write_bytes(b"{")
    run = scrub_paths([tmp_path / "in"], tmp_path / "out", dask=client)
    assert len(run.reports) == 1
    assert not left.exists()
    assert other.exists()


def test_cli_cleans_a_folder_on_the_cluster_with_a_report(
    cluster: distributed.LocalCluster, archive: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = run_harscrub(
        str(archive), "-o", str(tmp_path / "out"), "--dask", cluster.scheduler_address,
        "--report", str(report), "-q",
    )  # fmt: skip
    assert result.returncode == 2  # broken.har
    assert result.stderr.splitlines() == [
        f"harscrub: failed: {archive / 'broken.har'}: truncated: the file ends inside "
        "log.entries[0]"
    ]
    document = json.loads(report.read_text())
    assert document["totals"]["files"] == COPIES * PER_COPY + 1
    assert document["totals"]["filesWithFindings"] == COPIES * PER_COPY
    assert CANARY not in report.read_text()
    assert len(list((tmp_path / "out").rglob("*.har"))) == COPIES * PER_COPY


def test_relative_paths_mean_the_callers_folder_not_the_workers(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.har").write_bytes(SECRET_HAR)
    (tmp_path / "in" / "b.har").write_bytes(SECRET_HAR[:-40])
    assert Path.cwd() != tmp_path  # the workers' working folder is the test run's
    result = run_harscrub(
        "in", "-o", "out", "--dask", cluster.scheduler_address, "--report", "r.json", "-q",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [  # named as -j names it
        "harscrub: failed: in/b.har: truncated: the file ends inside log.entries[0]"
    ]
    assert CANARY.encode() not in (tmp_path / "out" / "a.har").read_bytes()
    done, failed = json.loads((tmp_path / "r.json").read_text())["files"]
    assert (done["file"], done["output"]) == ("in/a.har", "out/a.har")
    assert (failed["file"], failed["error"][:9]) == ("in/b.har", "in/b.har:")


def test_a_scheduler_without_workers_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        result = run_harscrub(
            str(tmp_path / "a.har"), "-o", str(tmp_path / "out"), "--dask",
            empty.scheduler_address, env=quick_connect(),
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"harscrub: --dask {empty.scheduler_address}: the scheduler has no workers (waited 2s)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/a.har", "--in-place"], "--in-place cannot run on --dask; clean into another "
         "folder or prefix"),
        (["-"], "--dask works on named files, folders and prefixes; not stdin or stdout"),
        (["{tmp}/a.har", "-o", "-"], "--dask works on named files, folders and prefixes; not "
         "stdin or stdout"),
    ],
)  # fmt: skip
def test_what_dask_cannot_do_is_refused_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    argv = [a.format(tmp=tmp_path) for a in args]
    result = run_harscrub(*argv, "--dask", "tcp://127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"harscrub: {message}"]
    assert (tmp_path / "a.har").read_bytes() == SECRET_HAR


def test_cli_check_on_the_cluster_lists_findings_and_exits_1(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    result = run_harscrub("--check", str(tmp_path / "a.har"), "--dask", cluster.scheduler_address)
    assert result.returncode == 1
    assert f"{tmp_path / 'a.har'}:" in result.stdout
    assert CANARY not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har"]


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("tcp://127.0.0.1:9", "cannot reach the scheduler (OSError, waited 2s)"),
        ("tcp://no-such-host.invalid:8786", "cannot reach the scheduler (OSError, waited 2s)"),
        ("not an address", "not a scheduler address (tcp://host:8786)"),
        ("tcp://127.0.0.1:abc", "not a scheduler address (tcp://host:8786)"),
        ("127.0.0.1", "not a scheduler address (tcp://host:8786)"),
        ("127.0.0.1:9", "cannot reach the scheduler (OSError, waited 2s)"),  # tcp://, as Dask
    ],
)
def test_an_unreachable_scheduler_is_one_line_and_exit_2(
    tmp_path: Path, address: str, message: str
) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    result = run_harscrub(
        str(tmp_path / "a.har"), "-o", str(tmp_path / "out"), "--dask", address,
        env=quick_connect(),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"harscrub: --dask {address}: {message}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har"]


def test_an_address_with_credentials_is_refused_without_echo(tmp_path: Path) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    result = run_harscrub(str(tmp_path / "a.har"), "--check", "--dask", "tcp://u:FAKEpw@h:8786")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "harscrub: --dask: the address holds credentials; use tls:// and Dask's own"
    ]


def test_dask_and_jobs_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    result = run_harscrub(str(tmp_path / "a.har"), "--dask", "tcp://127.0.0.1:9", "-j", "2")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "harscrub: give either --dask or -j: the cluster's workers do the work"
    ]


def test_a_worker_on_another_harscrub_version_does_no_file(ruleset: Ruleset) -> None:
    job = Job(Path("a.har"), "check")
    [done] = _run_jobs([job], (ruleset, Options(), "0.0.1"))
    assert isinstance(done, Failure)
    assert done.message.startswith("a.har: not done: a worker runs harscrub ")


def test_without_the_dask_extra_dask_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    (tmp_path / "a.har").write_bytes(SECRET_HAR)
    with pytest.raises(UsageError, match=r"^--dask needs Dask's distributed package: pip "):
        scrub_paths([tmp_path / "a.har"], tmp_path / "out", dask="tcp://127.0.0.1:9")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.har"]  # no output folder left
