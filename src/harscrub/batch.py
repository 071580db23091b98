"""Many HARs in one run: find them under folders (or prefixes in a store), give each its
output, run them on processes (or a Dask cluster, see cluster.py).

A file that fails is a Failure in the result and the rest go on; only a problem with the run as
a whole (two inputs that would write one output, a folder without -o) raises before any work.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import signal
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from harscrub import interrupts, remote
from harscrub.api import check_file, default_output, scrub_file
from harscrub.errors import HarscrubError, UsageError
from harscrub.options import Options
from harscrub.output import real_path, remove_temp_files
from harscrub.remote import Url
from harscrub.report import Failure, Report, RunReport, Skipped
from harscrub.rules import Ruleset, load_ruleset

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from distributed import Client

PATTERNS = ("*.har",)
# Not walked unless named: version control and installed packages, whose HAR test fixtures
# are not the team's to clean.
TOOL_FOLDERS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__"}
)
_INTERRUPTED = 130  # what a shell reports for a process stopped by Ctrl-C
_STOP_WAIT = 10.0  # seconds an interrupted worker has to remove its temp file and leave

Done = Report | Failure
Place = Path | Url  # a local file or folder, or an object or prefix in a store


class Progress(Protocol):
    """Told how many files a run has, then of each one done (a progress bar, a job queue)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: Done) -> None: ...


Action = Literal["check", "write", "in-place"]


@dataclass(frozen=True, slots=True)
class Job:
    source: Place
    action: Action
    output: Place | None = None  # for "write"


@dataclass(frozen=True, slots=True)
class Found:
    """The files a run's paths name: each with the folder it was found under (None: named)."""

    files: tuple[tuple[Place, Place | None], ...]
    skipped: tuple[Skipped, ...] = ()
    failures: tuple[Failure, ...] = ()  # folders that could not be read
    unmatched: int = 0  # files under the folders that no pattern took


def scrub_paths(
    paths: Iterable[Path | Url | str],
    out_dir: Path | Url | str | None = None,
    *,
    in_place: bool = False,
    check: bool = False,
    patterns: Sequence[str] = PATTERNS,
    workers: int | None = None,
    dask: str | Client | None = None,
    ruleset: Ruleset | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Scrub (or, with check, only scan) every HAR the paths name, folders recursively.

    Files under a folder are taken when their name matches one of the patterns (``*.har``,
    without regard to case); files named directly are always taken. out_dir mirrors each
    folder's tree (a named file lands at its top); in_place rewrites each file; without either,
    a named file is written beside itself and a folder is an error. A path or out_dir may be a
    URL (``s3://bucket/prefix/``, harscrub[cloud]): a prefix is walked like a folder.

    workers processes share the work (default: the machine's cores); one or one file runs in
    this process. dask, a scheduler address or a distributed.Client (harscrub[dask]), spreads
    the files over that cluster's workers instead. Raises UsageError before any work when the
    plan is impossible; a file that fails is a Failure in the result, the others go on.
    """
    if sum((out_dir is not None, in_place, check)) > 1:
        raise UsageError("give only one of an output folder, --in-place and --check")
    if bad := [p for p in patterns if "/" in p or os.sep in p]:
        raise UsageError(f"{bad[0]}: a pattern matches file names, not paths; drop the folder")
    if dask is not None and workers is not None:
        raise UsageError("give either --dask or -j: the cluster's workers do the work")
    if dask is not None and in_place:
        # A worker lost after it rewrote a file runs again on the clean file and reports it
        # clean: the report would lose what the archive held.
        raise UsageError("--in-place cannot run on --dask; clean into another folder or prefix")
    if isinstance(dask, str):
        from harscrub.cluster import check_address

        check_address(dask)  # before a listing that may take minutes
    out = remote.place(out_dir) if out_dir is not None else None
    if isinstance(out, Url):
        remote.writable(out)
    roots = [remote.place(p) for p in paths]
    folders = [p for p in roots if isinstance(p, Url) or p.is_dir()]
    if out is not None and any(same_place(out, p) for p in folders):
        raise UsageError(f"{out_dir}: is an input folder; use --in-place to rewrite its files")
    found = find_hars(roots, patterns, exclude=out)
    action: Action = "check" if check else "in-place" if in_place else "write"
    jobs = plan(found, action, out_dir=out)
    ruleset = ruleset or load_ruleset()
    options = options or Options()
    created, unwritable = _make_folders(jobs)
    try:
        jobs = [job for job in jobs if job.source not in unwritable]
        if dask is not None:
            from harscrub.cluster import run_on_dask

            done = run_on_dask(jobs, ruleset, options, dask, progress=progress)
        else:
            done = run_jobs(jobs, ruleset, options, workers=workers, progress=progress)
    finally:
        _remove_empty(created)  # a folder made for a file that failed
    return RunReport(
        mode="check" if check else "scrub",
        reports=tuple(d for d in done if isinstance(d, Report)),
        failures=(
            *found.failures,
            *unwritable.values(),
            *(d for d in done if isinstance(d, Failure)),
        ),
        skipped=found.skipped,
        unmatched=found.unmatched,
    )


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, not the machine's
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def name_matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether a file name matches one of the patterns, without regard to case."""
    return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)


def find_hars(
    paths: Sequence[Place], patterns: Sequence[str] = PATTERNS, *, exclude: Place | None = None
) -> Found:
    """Walk the folders among paths, in name order, following symlinks but never in a loop.

    exclude (the output folder) is not walked, so a second run does not take the first run's
    output for input; nor are TOOL_FOLDERS. A prefix in a store is listed in key order.
    """
    files: list[tuple[Place, Place | None]] = []
    skipped: list[Skipped] = []
    failures: list[Failure] = []
    unmatched = 0
    excluded = _identity(exclude) if isinstance(exclude, Path) else None
    for path in paths:
        if isinstance(path, Url):
            try:
                if remote.kind(path) != "prefix":
                    files.append((path, None))  # a missing object fails when it is read
                    continue
                objects = remote.find(path, exclude=exclude if isinstance(exclude, Url) else None)
            except HarscrubError as e:
                failures.append(Failure(str(path), str(e)))
                continue
            taken = [url for url in objects if name_matches(url.name, patterns)]
            files += [(url, path) for url in taken]
            unmatched += len(objects) - len(taken)
            continue
        if not path.is_dir():
            files.append((path, None))  # a missing or unreadable file fails when it is read
            continue
        seen: set[tuple[int, int]] = set()
        stack = [path]
        while stack:
            folder = stack.pop()
            identity = _identity(folder)
            if identity in seen:
                skipped.append(Skipped(str(folder), "a symlink loop, or a folder already walked"))
                continue
            seen.add(identity)
            if identity == excluded:
                skipped.append(Skipped(str(folder), "the output folder"))
                continue
            try:
                children = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as e:
                failures.append(Failure(str(folder), _cannot_list(folder, e)))
                continue
            subfolders = []
            for child in children:
                child_path = folder / child.name
                if _is_dir(child):
                    if child.name not in TOOL_FOLDERS:
                        subfolders.append(child_path)
                elif not _is_file(child):
                    if child.is_symlink():
                        skipped.append(Skipped(str(child_path), "a symlink to nothing"))
                elif name_matches(child.name, patterns):
                    files.append((child_path, path))
                else:
                    unmatched += 1
            stack.extend(reversed(subfolders))  # depth first, in name order
    return Found(tuple(files), tuple(skipped), tuple(failures), unmatched)


def plan(found: Found, action: Action, *, out_dir: Place | None = None) -> list[Job]:
    """Each file's job. UsageError when a folder has nowhere to go, two inputs would write one
    output, an output would overwrite an input, or a key is no safe file name in out_dir."""
    if isinstance(out_dir, Path) and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: is not a folder; -o names a folder for several inputs")
    jobs: list[Job] = []
    if action != "write":
        seen: set[Place] = set()
        for source, _ in found.files:
            # One file reached twice (named twice, through a symlink): done once. Hard links
            # are separate paths: --in-place replaces each, so no copy keeps the secrets.
            key = _real(source)
            if key not in seen:
                seen.add(key)
                jobs.append(Job(source, action))
        return jobs
    inputs = {_real(source) for source, _ in found.files}
    targets: dict[Place, Place] = {}
    for source, root in found.files:
        if out_dir is not None:
            output = out_dir / _below(source, root, out_dir)
        elif root is None:
            output = default_output(source)
        else:
            raise UsageError(
                f"{root}: is a folder; say where its files go with -o DIR, "
                "or use --in-place or --check"
            )
        key = _real(output)
        if key in targets:
            raise UsageError(f"{targets[key]} and {source} would both be written to {output}")
        if key in inputs:
            raise UsageError(f"{output}: is also an input; only --in-place overwrites an input")
        targets[key] = source
        jobs.append(Job(source, "write", output))
    return jobs


def run_jobs(
    jobs: Sequence[Job],
    ruleset: Ruleset,
    options: Options,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[Done]:
    """Each job's Report or Failure, in the jobs' order, on up to `workers` processes.

    Every process gets the same ruleset and options, so the same per-run key: equal secrets
    get equal tags in every file of the run.
    """
    if progress is not None:
        progress.start(len(jobs))
    workers = max(1, min(workers or default_workers(), len(jobs)))
    if workers == 1:
        return list(_reported((do_job(job, ruleset, options) for job in jobs), progress))
    # Imported here: loading multiprocessing costs every single-file run and --version 15 ms.
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Interrupts are held while the workers are forked and the jobs queued: a worker takes the
    # held mask with it, and releases it only once its own handlers are in (_start_worker).
    held = interrupts.hold()
    try:
        pool = ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(ruleset, options))
    except BaseException:
        interrupts.release(held)
        raise
    results: list[Done | None] = [None] * len(jobs)
    processes: list[Any] = []
    try:
        futures = {pool.submit(_work, job): i for i, job in enumerate(jobs)}
        processes = list((getattr(pool, "_processes", None) or {}).values())
        interrupts.release(held)  # one that came meanwhile is raised here, inside the try
        for future in as_completed(futures):
            i = futures[future]
            results[i] = done = _outcome(future, jobs[i])
            if progress is not None:
                progress.advance(done)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): no file starts, and the ones running stop now rather
        # than when done, each removing its temp file on the way out.
        interrupts.release(held)
        _stop(pool, processes)
        for job, result in zip(jobs, results, strict=True):
            if result is None:
                _remove_temp_file(job)  # a worker stopped while it was making one
        raise
    pool.shutdown()
    return results  # type: ignore[return-value]  # every one set by as_completed


def same_place(a: Place, b: Place) -> bool:
    """Whether a and b name one file (through symlinks) or one object."""
    return type(a) is type(b) and _real(a) == _real(b)


def _real(place: Place) -> Place:
    """What identifies the file place names: its real path, or the object's one name."""
    return real_path(place) if isinstance(place, Path) else place.same_as()


def _below(source: Place, root: Place | None, out_dir: Place) -> str | Path:
    """Where source goes below out_dir: its path below the folder it was found under."""
    if root is None:
        return source.name
    relative = source.relative_to(root)  # type: ignore[arg-type]  # a Url under a Url root
    unsafe = isinstance(relative, str) and not remote.is_plain_key(relative)
    if unsafe and isinstance(out_dir, Path):
        raise UsageError(
            f"{source}: its key holds '..', '.' or an empty part, so it has no safe place "
            f"under {out_dir}; mirror it into a prefix of a store instead"
        )
    return relative


def do_job(job: Job, ruleset: Ruleset, options: Options) -> Done:
    """One job, its problems turned into a Failure."""
    try:
        match job.action:
            case "check":
                return check_file(job.source, ruleset=ruleset, options=options)
            case "in-place":
                return scrub_file(job.source, in_place=True, ruleset=ruleset, options=options)
            case "write":
                return scrub_file(job.source, job.output, ruleset=ruleset, options=options)
    except HarscrubError as e:
        return Failure(str(job.source), str(e))
    except Exception as e:  # noqa: BLE001 -- a bug on one file must not stop the others
        # Frames only: an exception's message may quote input, and input may be a secret.
        frames = "".join(traceback.format_tb(e.__traceback__)).rstrip()
        message = f"{job.source}: internal error ({type(e).__name__})"
        return Failure(str(job.source), message, internal=True, frames=frames)


def _outcome(future: Future[Done], job: Job) -> Done:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        # A worker was killed (by the OOM killer, say); every worker then stops, and files not
        # done are listed. The killed one could not remove its temp file: that is done here.
        _remove_temp_file(job)
        reason = "the workers stopped when one of them died (out of memory?)"
        return Failure(str(job.source), f"{job.source}: not done: {reason}")


def _reported(results: Iterable[Done], progress: Progress | None) -> Iterator[Done]:
    for done in results:
        if progress is not None:
            progress.advance(done)
        yield done


# A worker process's run-wide state, set once by _start_worker rather than sent with each job.
_worker: tuple[Ruleset, Options] | None = None
_busy = False  # whether a job is running in this worker


def _start_worker(ruleset: Ruleset, options: Options) -> None:
    global _worker
    _worker = (ruleset, options)
    for signum in interrupts.INTERRUPTS:
        signal.signal(signum, _interrupt_worker)
    interrupts.release(set())  # held by run_jobs while this process was forked


def _work(job: Job) -> Done:
    global _busy
    assert _worker is not None, "the pool's initializer sets the worker's state"  # noqa: S101
    _busy = True
    try:
        return do_job(job, *_worker)
    except KeyboardInterrupt:
        os._exit(_INTERRUPTED)  # unwound, so its temp file is gone; see _interrupt_worker
    finally:
        _busy = False


def _interrupt_worker(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C and SIGTERM in a worker. A busy one unwinds, so its file removes its temp file,
    then leaves. Leaving is os._exit, which nothing can catch: the pool's own code catches
    SystemExit and retries sending a result down a pipe nobody reads any more, for ever."""
    if _busy:
        # Once: the pool itself sends SIGTERM again when another worker leaves, and a second
        # KeyboardInterrupt in the middle of the cleanup would leave the temp file behind. (A
        # handler that does nothing, not SIG_IGN: Python raises on a signal it has a handler
        # for on record but finds ignored.)
        for signum in interrupts.INTERRUPTS:
            signal.signal(signum, _ignore)
        raise KeyboardInterrupt
    os._exit(_INTERRUPTED)


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass


def _stop(pool: ProcessPoolExecutor, processes: list[Any]) -> None:
    """Stop every worker (see _interrupt_worker), killing any that has not left in time."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14 and later
    if terminate is not None:
        terminate()
    for process in processes:  # the same, before 3.14
        with contextlib.suppress(OSError):  # already gone
            process.terminate()
    deadline = time.monotonic() + _STOP_WAIT
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():  # stuck on a lock a killed sibling held
            process.kill()
            process.join()
    pool.shutdown(wait=True, cancel_futures=True)


def _remove_temp_file(job: Job) -> None:
    target = job.output or job.source
    if job.action != "check" and isinstance(target, Path):  # an upload leaves none in a store
        remove_temp_files([target])


def _make_folders(jobs: Sequence[Job]) -> tuple[list[Path], dict[Place, Failure]]:
    """Make the folders the outputs go in, here rather than in the workers so that none
    races another to make or remove one. Returns the folders made, deepest last, and a
    Failure for each job whose folder cannot be made."""
    created: list[Path] = []
    failed: dict[Place, Failure] = {}
    for job in jobs:
        if not isinstance(job.output, Path):  # none, or an object: a store has no folders
            continue
        missing = [f for f in (job.output.parent, *job.output.parent.parents) if not f.exists()]
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                reason = e.strerror or type(e).__name__
                message = f"{folder}: cannot create the folder ({reason}); nothing was written"
                failed[job.source] = Failure(str(job.source), message)
                break
            created.append(folder)
    return created, failed


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):  # not empty: something was written there
            folder.rmdir()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _cannot_list(folder: Path, e: OSError) -> str:
    return f"{folder}: cannot read the folder ({e.strerror or type(e).__name__})"
