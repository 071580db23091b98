"""Files per second for a folder of small HARs, on one worker process and on two.

    python benchmarks/batch.py --files 1000 --size-kb 100

Each command runs in its own process, the folder is generated once (cached in
benchmarks/data/), and the figures to compare are the ratios within one run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

from generate import generate
from run import DATA, measure


def folder_of(files: int, size_kb: float) -> Path:
    folder = DATA / f"batch-{files}x{size_kb:g}kb"
    if not folder.exists():
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for i in range(files):
            # Ten subfolders, as a support system's archive by month or by customer.
            generate(size_kb / 1000, staging / f"m{i % 10:02d}" / f"ticket-{i:05d}.har", seed=i)
        staging.rename(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size-kb", type=float, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and 2")
    args = parser.parse_args()
    folder = folder_of(args.files, args.size_kb)
    mb = sum(p.stat().st_size for p in folder.rglob("*.har")) / 1e6
    out = DATA / "batch-out"
    print(f"{args.files} files, {mb:.0f} MB in {folder}")
    print(f"{'command':<28} {'seconds':>8} {'files/s':>8} {'MB/s':>6} {'peak RSS':>9}")
    for mode in ("scrub", "check"):
        for jobs in args.jobs or [1, 2]:
            argv = [sys.executable, "-m", "harscrub", str(folder), "-q", "-j", str(jobs)]
            argv += ["--check"] if mode == "check" else ["-o", str(out)]
            runs = []
            for _ in range(args.repeat):
                shutil.rmtree(out, ignore_errors=True)
                runs.append(measure(argv, ok=(0, 1)))
            seconds = statistics.median(s for s, _, _ in runs)
            rss = max(r for _, r, _ in runs)  # the largest process; each worker is about the same
            name = f"{mode} -j {jobs}"
            print(
                f"{name:<28} {seconds:8.2f} {args.files / seconds:8.0f} {mb / seconds:6.1f}"
                f" {rss:7.0f} MB"
            )
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
