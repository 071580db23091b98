"""An archive of small HARs on a Dask cluster against -j: the same bytes, and files per second.

    python benchmarks/archive.py --files 1000 --size-kb 100
    python benchmarks/archive.py --files 1000 --s3 s3://bench/archive   # AWS_* in the environment

The folder (benchmarks/batch.py's) is cleaned with one fixed placeholder key by local worker
processes (-j 2) and by a LocalCluster of two single-threaded worker processes; every output
must be byte-identical, and the script exits 1 if one is not. Then the command line is timed
both ways (each run with its own random key). With --s3 the folder is first uploaded under
that prefix and the runs read it there and write beside it, as an archive in a store would be
cleaned. Runs are interleaved and the median is given; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from batch import folder_of
from distributed import Client, LocalCluster
from run import measure

from harscrub import Options, scrub_paths

KEY = bytes(range(32))


def outputs(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.har")}


def same_bytes(folder: Path, client: Client) -> int:
    """Clean folder with -j 2 and on the cluster under one key; the number of files that differ."""
    with tempfile.TemporaryDirectory() as tmp:
        local = scrub_paths([folder], Path(tmp, "j2"), workers=2, options=Options(key=KEY))
        spread = scrub_paths([folder], Path(tmp, "dask"), dask=client, options=Options(key=KEY))
        if local.failures or spread.failures:
            raise SystemExit("a file failed")
        a, b = outputs(Path(tmp, "j2")), outputs(Path(tmp, "dask"))
        print(f"compared {len(a)} outputs of -j 2 and --dask under one key: ", end="")
        differ = sum(a[name] != b.get(name) for name in a) + len(b.keys() - a.keys())
        print("all byte-identical" if not differ else f"{differ} differ")
        return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size-kb", type=float, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--s3", metavar="PREFIX", help="an s3:// prefix to upload the folder to")
    args = parser.parse_args()
    folder = folder_of(args.files, args.size_kb)
    mb = sum(p.stat().st_size for p in folder.rglob("*.har")) / 1e6
    print(f"{args.files} files, {mb:.0f} MB in {folder}")
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        if same_bytes(folder, client):
            raise SystemExit(1)
        source, out = str(folder), str(folder.with_name("archive-out"))

        def clear() -> None:
            shutil.rmtree(out, ignore_errors=True)

        if args.s3:
            import fsspec

            fs, prefix = fsspec.core.url_to_fs(args.s3)
            if fs.exists(f"{prefix}/in"):  # the benchmark's own objects, and no others
                fs.rm(f"{prefix}/in", recursive=True)
            start = time.perf_counter()
            fs.put(f"{folder}/", f"{prefix}/in/", recursive=True)
            print(f"uploaded to {args.s3}/in/ in {time.perf_counter() - start:.1f} s")
            source, out = f"{args.s3}/in/", f"{args.s3}/out/"

            def clear() -> None:  # the store's outputs, not a folder's
                if fs.exists(f"{prefix}/out"):
                    fs.rm(f"{prefix}/out", recursive=True)

        runs: dict[str, list[float]] = {}
        commands = {
            "clean -j 1": ["-o", out, "-j", "1"],
            "clean -j 2": ["-o", out, "-j", "2"],
            "clean --dask (2 workers)": ["-o", out, "--dask", cluster.scheduler_address],
            "check -j 2": ["--check", "-j", "2"],
            "check --dask (2 workers)": ["--check", "--dask", cluster.scheduler_address],
        }
        for _ in range(args.repeat):
            for name, extra in commands.items():
                argv = ["-m", "harscrub", source, "-q", *extra]
                clear()
                seconds, _, _ = measure([sys.executable, *argv], ok=(0, 1))
                runs.setdefault(name, []).append(seconds)
        clear()
    print(f"{'command':<26} {'seconds':>8} {'files/s':>8} {'MB/s':>6}")
    for name, seconds in runs.items():
        s = statistics.median(seconds)
        print(f"{name:<26} {s:8.2f} {args.files / s:8.0f} {mb / s:6.1f}")


if __name__ == "__main__":
    main()
