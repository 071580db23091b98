"""A batch's files spread over a Dask cluster (``--dask ADDRESS``, harscrub[dask]).

The cluster does what local worker processes do in batch.run_jobs, with the same guarantees:

- Every worker gets the run's one Ruleset and Options (the placeholder key among them), sent
  once, so equal secrets get equal tags across the whole archive.
- Each task does a few files, each written atomically; an output depends only on its file
  and those settings. A task whose worker is lost is run again elsewhere and writes the same
  bytes to the same places, so no file is lost or written twice. A local temp file the lost
  worker left is removed at the end of the run.
- Only a Report or Failure comes back: never a value, never a file's content.

Workers read and write the files themselves, so the paths must mean the same on every worker:
URLs of a store, or a filesystem they share (local paths are sent absolute).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harscrub import __version__
from harscrub.batch import Done, Job, Place, Progress, do_job
from harscrub.errors import UsageError
from harscrub.options import Options
from harscrub.output import remove_temp_files
from harscrub.report import Failure, Report
from harscrub.rules import Ruleset

if TYPE_CHECKING:
    from distributed import Client, Future

_DASK_EXTRA = "pip install 'harscrub[dask]'"
# tcp://10.0.0.5:8786, tls://scheduler:8786, tcp://[::1]:8786: Dask takes more, and waits on
# much of it before it fails (with a traceback from a finalizer).
_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s/:@\[\]]+):\d{1,5}"
)  # scheduler:8786 is tcp://, as Dask reads it
# Tasks handed to the scheduler at a time, per worker thread: enough that no worker waits, few
# enough that the scheduler does not hold a million tasks for an archive of a million files,
# and that an interrupted run has little left to cancel.
_IN_FLIGHT_PER_THREAD = 4
# Files per task, at most. A task costs the scheduler, client and worker a few milliseconds,
# as much as a 100 KB HAR takes to clean: one file a task ran at half the speed of -j 2.
_FILES_PER_TASK = 16


def run_on_dask(
    jobs: Sequence[Job],
    ruleset: Ruleset,
    options: Options,
    cluster: str | Client,
    *,
    progress: Progress | None = None,
) -> list[Done]:
    """Each job's Report or Failure, in the jobs' order, done on the cluster's workers.

    cluster is a scheduler address (``tcp://10.0.0.5:8786``) or a connected distributed.Client.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError(f"--dask needs Dask's distributed package: {_DASK_EXTRA}") from None
    if progress is not None:
        progress.start(len(jobs))
    if not jobs:
        return []
    client = cluster if isinstance(cluster, Client) else _connect(cluster)
    run = f"harscrub-{secrets.token_hex(4)}"
    results: list[Done | None] = [None] * len(jobs)
    sent = [_absolute(job) for job in jobs]  # a worker's working folder is not ours
    try:
        _wait_for_workers(client, cluster)
        # Sent once to every worker rather than with each of a million tasks. hash=False: a
        # Ruleset's token is not worth computing, and the key must not go into a task name.
        [settings] = client.scatter([(ruleset, options, __version__)], broadcast=True, hash=False)
        in_flight = _IN_FLIGHT_PER_THREAD * max(1, _threads(client))
        size = max(1, min(_FILES_PER_TASK, -(-len(jobs) // in_flight)))  # every thread busy
        pending = iter(range(0, len(jobs), size))
        starts: dict[object, int] = {}  # a task's key: where its files start in jobs
        running = as_completed(loop=client.loop)

        def submit_next() -> None:
            for start in pending:
                group = sent[start : start + size]
                future = client.submit(_run_jobs, group, settings, key=f"{run}-{start}", pure=False)
                starts[future.key] = start
                running.add(future)
                return

        for _ in range(in_flight):
            submit_next()
        for future in running:
            start = starts.pop(future.key)
            group = jobs[start : start + size]
            for i, done in enumerate(_outcome(future, group), start):
                results[i] = done = _as_named(done, jobs[i], sent[i])
                if progress is not None:
                    progress.advance(done)
            future.release()
            submit_next()
    finally:
        # A worker lost mid-file (killed, out of memory) left its local temp file; the task
        # ran again elsewhere. Nothing writes any more once every task is done; after an
        # interrupt, a task still running finds its temp file gone and writes nothing.
        remove_temp_files(
            target
            for job in jobs
            if job.action != "check" and isinstance(target := job.output or job.source, Path)
        )
        if client is not cluster:
            client.close()
    return results  # type: ignore[return-value]  # every one set above


def check_address(address: str) -> None:
    """UsageError unless address reads as a scheduler's: asked before a run lists its files."""
    if "@" in address:  # not echoed: user:password@
        raise UsageError("--dask: the address holds credentials; use tls:// and Dask's own")
    if not _ADDRESS.fullmatch(address):
        raise UsageError(f"--dask {address}: not a scheduler address (tcp://host:8786)")


def _connect(address: str) -> Client:
    """A client of the scheduler at address, waiting for it as long as Dask's configuration
    says (distributed.comm.timeouts.connect, 30 s unless set): it may be starting."""
    from distributed import Client

    check_address(address)
    try:
        return Client(address, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise UsageError(
            f"--dask {address}: cannot reach the scheduler ({type(e).__name__}, "
            f"waited {_connect_timeout()})"
        ) from None


def _wait_for_workers(client: Client, cluster: str | Client) -> None:
    """A scheduler with no worker would hold the tasks for ever: wait as long as for it."""
    if client.nthreads():
        return
    try:
        client.wait_for_workers(1, timeout=_connect_timeout())
    except TimeoutError:
        where = cluster if isinstance(cluster, str) else client.scheduler.address
        raise UsageError(
            f"--dask {where}: the scheduler has no workers (waited {_connect_timeout()})"
        ) from None


def _connect_timeout() -> str:
    import dask.config

    return str(dask.config.get("distributed.comm.timeouts.connect"))


def _as_named(done: Done, job: Job, sent: Job) -> Done:
    """done, naming its file as the caller named it (and -j does), not by the path sent."""
    if isinstance(done, Report):
        output = None if done.output is None else str(job.output or job.source)
        return replace(done, source=str(job.source), output=output)
    message = done.message
    if message.startswith(str(sent.source)):
        message = str(job.source) + message[len(str(sent.source)) :]
    return replace(done, source=str(job.source), message=message)


def _absolute(job: Job) -> Job:
    def absolute(place: Place | None) -> Place | None:
        return Path(os.path.abspath(place)) if isinstance(place, Path) else place

    return replace(job, source=absolute(job.source), output=absolute(job.output))


def _threads(client: Client) -> int:
    return sum(client.nthreads().values())


def _run_jobs(jobs: Sequence[Job], settings: tuple[Ruleset, Options, str]) -> list[Done]:
    """A task's work, on a worker: each file's Report or Failure."""
    ruleset, options, version = settings
    if version != __version__:  # another version's rules would give other output
        reason = f"a worker runs harscrub {__version__}, this run {version}"
        return [Failure(str(job.source), f"{job.source}: not done: {reason}") for job in jobs]
    return [do_job(job, ruleset, options) for job in jobs]


def _outcome(future: Future, jobs: Sequence[Job]) -> list[Done]:
    """The task's results; a task the cluster could not run (its workers kept dying, it was
    cancelled) is a Failure of each of its files. do_job turns every problem of harscrub's
    into one."""
    try:
        result: Any = future.result()
    except Exception as e:  # noqa: BLE001 -- the cluster's failure, for these files only
        reason = "its workers died (out of memory?)" if _killed(e) else type(e).__name__
        return [
            Failure(str(job.source), f"{job.source}: not done on the cluster: {reason}")
            for job in jobs
        ]
    return result  # type: ignore[no-any-return]


def _killed(e: Exception) -> bool:
    from distributed import KilledWorker

    return isinstance(e, KilledWorker)
