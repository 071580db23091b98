"""harscrub's throughput and peak memory beside an orjson whole-file loads+dumps of the same HAR.

    python benchmarks/run.py --size-mb 200 [--size-mb 1000] [--repeat 3] [--compact-input]
                             [--baseline PYTHON]

--baseline times a second harscrub, the one installed for another interpreter (say a venv
holding an earlier commit), in the same run, so two versions are compared on one machine load.

Each measurement is a separate process, timed by wall clock, with its peak RSS read from
os.wait4, so the two are compared in one run on the same (noisy, shared) machine. The
generated HARs are cached in benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from generate import generate

DATA = Path(__file__).resolve().parent / "data"

# The floor: what reading and writing the whole file costs with the fastest JSON library,
# with the same 2-space layout harscrub writes by default.
FLOOR = """
import sys, orjson
with open(sys.argv[1], "rb") as f:
    doc = orjson.loads(f.read())
with open(sys.argv[2], "wb") as f:
    f.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
"""


def measure(argv: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) of its largest process, and peak RSS of all its processes
    together (sampled every 20 ms), of one command; exit codes other than ok stop the run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    total = _TreeRss(proc.pid)
    total.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    total.stop.set()
    total.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        sys.exit(f"{argv[:4]} failed with exit code {proc.returncode}")
    # ru_maxrss is in KiB on Linux, and the largest of the process and those it waited for.
    return seconds, usage.ru_maxrss / 1024, total.peak / 1024


class _TreeRss(threading.Thread):
    """The largest sum of VmRSS (KiB) over a process and its children seen while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, sum(map(_rss, _tree(self.pid))))


def _tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid] + [p for child in children for p in _tree(int(child))]


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    rss = [line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")]
    return int(rss[0]) if rss else 0


def har_of(size_mb: float, *, compact: bool = False) -> Path:
    """The generated HAR of this size, made once and cached in benchmarks/data/."""
    har = DATA / f"chrome-{size_mb:g}mb{'-compact' if compact else ''}.har"
    if not har.exists():
        generate(size_mb, har, compact=compact)
    return har


def bench(size_mb: float, repeat: int, *, compact: bool, baseline: str | None) -> None:
    har = har_of(size_mb, compact=compact)
    out = DATA / "out.har"
    mb = har.stat().st_size / 1e6
    harscrub = [sys.executable, "-m", "harscrub", str(har), "-o", str(out), "-q"]
    commands = {
        "harscrub": harscrub,
        "harscrub -j 1": [*harscrub, "-j", "1"],  # the file in one process
        "orjson loads+dumps": [sys.executable, "-c", FLOOR, str(har), str(out)],
    }
    if baseline:
        commands["harscrub (baseline)"] = [
            baseline,
            "-m",
            "harscrub",
            str(har),
            "-o",
            str(out),
            "-q",
        ]
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):  # interleaved, so all see the same machine load
        for name, argv in commands.items():
            runs[name].append(measure(argv))
    out.unlink(missing_ok=True)
    print(f"\n{har.name}: {mb:.0f} MB, median of {repeat}")
    print(f"  {'':20} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12} {'all processes':>14}")
    medians = {}
    for name, results in runs.items():
        seconds = statistics.median(s for s, _, _ in results)
        rss = max(r for _, r, _ in results)
        total = max(t for _, _, t in results)
        medians[name] = seconds
        print(f"  {name:20} {seconds:8.2f} {mb / seconds:7.0f} {rss:12.0f} {total:14.0f}")
    for name in medians:
        if name.startswith("harscrub"):
            ratio = medians[name] / medians["orjson loads+dumps"]
            print(f"  {name} / floor: {ratio:.2f}x the time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, action="append", help="HAR size; repeatable")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--compact-input", action="store_true", help="a single-line HAR instead of an indented one"
    )
    parser.add_argument("--baseline", metavar="PYTHON", help="time this interpreter's harscrub too")
    args = parser.parse_args()
    for size in args.size_mb or [200.0]:
        bench(size, args.repeat, compact=args.compact_input, baseline=args.baseline)


if __name__ == "__main__":
    main()
