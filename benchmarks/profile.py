"""Where harscrub spends its time on a generated HAR: py-spy's samples, summed by line.

    pip install py-spy
    python benchmarks/profile.py --size-mb 20 [--top 25]

Runs `python -m harscrub` on the HAR under py-spy (sampling, so the figures are what a real
run costs) and prints the lines that take the most samples themselves ("self") and the
functions whose calls take the most in all ("inclusive"), each as a share of the run.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from run import DATA, har_of

_FRAME_FILE = re.compile(r" \(/\S*?(?:site-packages/|src/)")  # "(.../src/harscrub/x.py:1)"


def profile(har: Path, rate: int, raw: Path) -> None:
    """py-spy's raw samples of one harscrub run on har, written to raw."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    out = DATA / "out.har"
    argv = [py_spy, "record", "--rate", str(rate), "--format", "raw", "--output", str(raw)]
    # -j 1: the whole file in this one process (py-spy follows no forked part).
    argv += ["--", sys.executable, "-m", "harscrub", str(har), "-o", str(out), "-q", "-j", "1"]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out.unlink(missing_ok=True)


def summarize(raw: Path, top: int) -> None:
    own: collections.Counter[str] = collections.Counter()
    within: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_FRAME_FILE.sub(" (", f) for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            within[frame] += int(count)
    print(f"{total} samples")
    for title, counter in (("self", own), ("inclusive", within)):
        print(f"--- {title}")
        for frame, count in counter.most_common(top):
            print(f"{100 * count / total:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "samples.txt"
        profile(har_of(args.size_mb), args.rate, raw)
        summarize(raw, args.top)


if __name__ == "__main__":
    main()
