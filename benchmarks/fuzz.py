"""Fuzz harscrub for a while: the targets of tests/test_fuzz.py, run for minutes, not examples.

    python benchmarks/fuzz.py --minutes 10 [--target pipeline ...] [--corpus DIR] [--out DIR]
                              [--jobs 2] [--engine hypothesis|atheris]

CI runs each property of tests/test_fuzz.py for a few hundred examples; this runs the same
properties (imported, so the two never drift apart) for as long as it is given, split evenly
across the targets: pipeline (scrub_stream and check_stream on mutated HARs), reader (short reads
at every chunk boundary), bodies, escapes (and URLs) and entries (the Scrubber on any entry shape).
The mutators also start from the real corpus (--corpus; by default $HARSCRUB_CORPUS or
../shared/corpus/real, as for the tests, when it exists): small files whole, entries of big ones
re-written in their file's layout, and their bodies. Nothing from the corpus is written anywhere
but --out.

Each target runs in a worker process watched by this one: a hang that holds on to the GIL (a
regex in C) or a crash of the interpreter kills the worker, and the input it was on is saved all
the same, since every input is written to OUT/TARGET.last before it runs. For each distinct
failure (exception type and the harscrub function it came from) OUT gets:

    TARGET-SIGNATURE.py     a standalone reproduction: exits 1 while the bug is present
    TARGET-SIGNATURE.txt    the traceback (the input is random, not a secret)

Failures already pinned by a regression test (tests/test_fuzz.py KNOWN_BUGS) are counted, not
saved again. With --engine hypothesis (the default) a failure is shrunk to a small example
first; --engine atheris lets libFuzzer's coverage feedback drive hypothesis's choices (needs
`pip install atheris`; no shrinking, the smallest failing input seen is kept).
"""

from __future__ import annotations

import argparse
import base64
import faulthandler
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# As tests/conftest.py finds it: $HARSCRUB_CORPUS, else beside the repository.
DEFAULT_CORPUS = Path(os.environ.get("HARSCRUB_CORPUS", ROOT.parent / "shared" / "corpus" / "real"))
DEFAULT_OUT = Path(tempfile.gettempdir()) / "harscrub-fuzz"
SEED_BYTES = 64 << 10  # bigger inputs make a slow fuzzer; bigger files give their entries
BODY_CHARS = 8 << 10
MAX_BODIES = 3000
EXIT_FOUND = 1  # a worker that saved a failure


# --- seeds from the real corpus -------------------------------------------------------------


def _decode(raw: bytes) -> Any:
    for encoding in ("utf-8-sig", "utf-16", "utf-32"):
        try:
            return json.loads(raw.decode(encoding))
        except (UnicodeDecodeError, ValueError):
            continue
    return None


def corpus_seeds(folder: Path | None) -> tuple[list[bytes], list[tuple[str, str]]]:
    """(HARs, (mime, body) pairs) for the mutators: small files whole, big files as HARs of one
    of their entries in the file's own layout (indent, BOM), and bodies cut to BODY_CHARS."""
    hars: list[bytes] = []
    found: dict[tuple[str, str], None] = {}
    if folder is None or not folder.is_dir():
        return hars, []
    for path in sorted(folder.glob("*.har")):
        raw = path.read_bytes()
        if len(raw) <= SEED_BYTES:
            hars.append(raw)
        doc = _decode(raw)
        log = doc.get("log") if isinstance(doc, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(entries, list):
            continue
        for e in entries:
            for message, key in (("request", "postData"), ("response", "content")):
                part = e.get(message) if isinstance(e, dict) else None
                body = part.get(key) if isinstance(part, dict) else None
                if isinstance(body, dict) and isinstance(body.get("text"), str) and body["text"]:
                    mime = body.get("mimeType") if isinstance(body.get("mimeType"), str) else ""
                    found.setdefault((mime, _body_text(body)[:BODY_CHARS]), None)
        if len(raw) > SEED_BYTES:
            hars += _entry_hars(raw, log, entries)
    bodies = list(found)[:MAX_BODIES]
    return hars, bodies


def _body_text(body: dict[str, Any]) -> str:
    text: str = body["text"]
    if body.get("encoding") == "base64":
        try:
            return base64.b64decode(text).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return text
    return text


def _entry_hars(raw: bytes, log: dict[str, Any], entries: list[Any]) -> list[bytes]:
    """Up to 16 entries of a big file, each alone in a HAR laid out as the file is."""
    indent = 2 if b"\n " in raw[:4096] else None
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    rest = {k: v for k, v in log.items() if k not in ("entries", "pages")}
    step = max(1, len(entries) // 16)
    hars = []
    for e in entries[::step]:
        data = bom + json.dumps({"log": {**rest, "entries": [e]}}, indent=indent).encode()
        if len(data) <= SEED_BYTES:
            hars.append(data)
    return hars


# --- one worker: one target, for a time -------------------------------------------------------


def _slug(signature: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", signature).strip("-")[:80]


def _size(value: Any) -> int:
    return len(pickle.dumps(value))


REPRO = '''#!/usr/bin/env python3
"""harscrub fuzzing failure, target {target}: {signature}

Runs the target's property on the saved input; exits 1 while the bug is present. Needs
harscrub installed and the repository at {root} (for tests/test_fuzz.py).
"""
import base64
import pickle
import sys
import traceback

sys.path.insert(0, {root!r})
from tests.test_fuzz import TARGETS  # noqa: E402

VALUE = pickle.loads(base64.b64decode({blob!r}))  # noqa: S301 (written by benchmarks/fuzz.py)
try:
    TARGETS[{target!r}].reproduce(VALUE)
except Exception:
    traceback.print_exc()
    sys.exit(1)
print("passes now")
'''


class Recorder:
    """Runs the target's property on each input, first saving it to OUT/TARGET.last, and keeps
    the smallest failing input per failure signature."""

    def __init__(self, target: Any, out: Path, hang: float, *, swallow: bool) -> None:
        from tests import test_fuzz

        self.fuzz = test_fuzz
        self.target = target
        self.out = out
        self.hang = hang
        self.swallow = swallow  # atheris: note a failure and go on (libFuzzer would stop)
        self.examples = 0
        self.known: Counter[str] = Counter()
        self.repeats: Counter[str] = Counter()
        self.pending: dict[str, tuple[int, Any, str]] = {}  # signature -> (size, value, trace)
        self.saved: set[str] = set()
        self.found: list[str] = []  # reproductions written
        self._last = os.open(out / f"{target.name}.last", os.O_RDWR | os.O_CREAT, 0o600)
        self.deadline = float("inf")  # past it, inputs are passed without a look: a batch ends

    def __call__(self, value: Any) -> None:
        if time.monotonic() > self.deadline and not self.pending:  # (a failure still shrinks)
            return
        blob = pickle.dumps(value)
        os.ftruncate(self._last, 0)
        os.pwrite(self._last, blob, 0)
        # A hang the time limit cannot break (C code holding the GIL) ends the process.
        faulthandler.dump_traceback_later(self.hang * 3, exit=True)
        self.examples += 1
        try:
            self.target.reproduce(value, self.hang)
        except Exception as e:
            if (name := self.fuzz.known_bug(e)) is not None:
                self.known[name] += 1
                return
            signature = self.fuzz.crash_signature(e)
            if signature in self.saved:
                self.repeats[signature] += 1
                return
            if signature not in self.pending or len(blob) < self.pending[signature][0]:
                self.pending[signature] = (len(blob), value, traceback.format_exc())
            if self.swallow:
                self.flush()
                return
            raise
        finally:
            faulthandler.cancel_dump_traceback_later()

    def flush(self) -> list[str]:
        """Write a reproduction for each failure seen since the last flush."""
        written = []
        for signature, (_, value, trace) in self.pending.items():
            stem = self.out / f"{self.target.name}-{_slug(signature)}"
            blob = base64.b64encode(pickle.dumps(value)).decode()
            stem.with_suffix(".py").write_text(
                REPRO.format(
                    target=self.target.name, signature=signature, root=str(ROOT), blob=blob
                )
            )
            stem.with_suffix(".txt").write_text(f"{signature}\n\n{trace}")
            if isinstance(value, bytes):
                stem.with_suffix(".bin").write_bytes(value)
            self.saved.add(signature)
            written.append(str(stem.with_suffix(".py")))
            self.found.append(written[-1])
        self.pending.clear()
        return written


def _stats(recorder: Recorder, seconds: float, found: list[str]) -> dict[str, Any]:
    return {
        "target": recorder.target.name,
        "examples": recorder.examples,
        "seconds": round(seconds, 1),
        "found": found,
        "known": dict(recorder.known),
        "repeats": dict(recorder.repeats),
    }


def run_hypothesis(recorder: Recorder, strategy: Any, seconds: float, stats: Path) -> list[str]:
    """Batches of hypothesis runs until the time is up; a failing batch is shrunk and saved,
    and the next batch goes on looking past it."""
    from hypothesis import HealthCheck, Phase, given, settings

    start = time.monotonic()
    deadline = recorder.deadline = start + seconds
    found: list[str] = []
    rate = 50.0  # examples per second, until measured
    while (left := deadline - time.monotonic()) > 1:
        batch = int(max(20, min(5000, rate * left)))

        @settings(
            max_examples=batch,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def one(value: Any) -> None:
            recorder(value)

        began, done = time.monotonic(), recorder.examples
        try:
            one()
        except Exception as e:  # noqa: BLE001 (the property failed; flush saves the input)
            print(f"  {recorder.target.name}: failure, shrunk: {type(e).__name__}", flush=True)
        found += recorder.flush()
        took = time.monotonic() - began
        rate = max(1.0, (recorder.examples - done) / max(took, 1e-3))
        stats.write_text(json.dumps(_stats(recorder, time.monotonic() - start, found)))
        known = sum(recorder.known.values())
        print(
            f"  {recorder.target.name}: {recorder.examples} examples, {rate:.0f}/s,"
            f" {len(recorder.saved)} failure(s) saved, {known} hits of known bugs",
            flush=True,
        )
    return found


def run_atheris(recorder: Recorder, strategy: Any, seconds: float, stats: Path) -> list[str]:
    """libFuzzer's coverage-guided mutation of the byte string hypothesis draws choices from."""
    import atheris
    from hypothesis import HealthCheck, given, settings

    start = time.monotonic()
    written = [start]

    @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(value: Any) -> None:
        recorder(value)
        if time.monotonic() - written[0] > 2:  # libFuzzer ends the process: no last word
            written[0] = time.monotonic()
            stats.write_text(json.dumps(_stats(recorder, written[0] - start, recorder.found)))

    argv = [
        sys.argv[0], f"-max_total_time={int(seconds)}", "-rss_limit_mb=4096", "-timeout=0",
        # hypothesis reads its choices from the buffer: a few KB let it build any input
        "-max_len=8192", "-len_control=0",
    ]  # fmt: skip
    atheris.Setup(argv, one.hypothesis.fuzz_one_input)
    atheris.Fuzz()  # exits the process when the time is up
    return []


def worker(args: argparse.Namespace) -> int:
    out: Path = args.out
    if args.engine == "atheris":
        import atheris

        with atheris.instrument_imports(include=["harscrub"]):
            import harscrub.api  # noqa: F401 (instrumented for coverage before the tests import it)
    sys.path.insert(0, str(ROOT))
    from tests.test_fuzz import TARGETS

    target = TARGETS[args.worker]
    hars, bodies = corpus_seeds(args.corpus)
    strategy = target.strategy(hars, bodies)
    recorder = Recorder(target, out, args.hang, swallow=args.engine == "atheris")
    stats = out / f"{target.name}.stats.json"
    run = run_atheris if args.engine == "atheris" else run_hypothesis
    found = run(recorder, strategy, args.seconds, stats)
    return EXIT_FOUND if found else 0


# --- the supervisor ---------------------------------------------------------------------------


def _spawn(args: argparse.Namespace, target: str, seconds: float) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, __file__, "--worker", target, "--seconds", str(seconds),
        "--out", str(args.out), "--hang", str(args.hang), "--engine", args.engine,
    ]  # fmt: skip
    if args.corpus is not None:
        argv += ["--corpus", str(args.corpus)]
    # hypothesis caches what it reads of the source in OUT, not in the repository's .hypothesis.
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(args.out / "hypothesis")}
    # Progress on stdout; tracebacks of hangs and libFuzzer's chatter in OUT/TARGET.log.
    with (args.out / f"{target}.log").open("ab") as log:
        return subprocess.Popen(argv, stderr=log, env=env)


def _died(args: argparse.Namespace, target: str, code: int) -> str:
    """Save the input a dead worker was on as a reproduction of its own."""
    last = args.out / f"{target}.last"
    stem = args.out / f"{target}-died-{code}-{int(time.time())}"
    blob = base64.b64encode(last.read_bytes()).decode() if last.exists() else ""
    signature = f"worker died with exit code {code} (hang past 3x --hang, or a crash)"
    stem.with_suffix(".py").write_text(
        REPRO.format(target=target, signature=signature, root=str(ROOT), blob=blob)
    )
    return str(stem.with_suffix(".py"))


def supervise(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = args.minutes * 60 / len(args.target) * args.jobs
    queue = list(args.target)
    running: dict[str, tuple[subprocess.Popen[bytes], float, float]] = {}
    died: list[str] = []
    print(f"fuzzing {', '.join(queue)} for {seconds:.0f} s each, {args.jobs} at a time")
    print(f"corpus: {args.corpus or 'none'}; out: {args.out}; engine: {args.engine}")
    while queue or running:
        while queue and len(running) < args.jobs:
            target = queue.pop(0)
            running[target] = (_spawn(args, target, seconds), time.monotonic(), seconds)
        time.sleep(0.5)
        for target, (proc, began, budget) in list(running.items()):
            code = proc.poll()
            if code is None:
                if time.monotonic() - began > budget + 600:  # shrinking may run on; not forever
                    proc.kill()
                continue
            del running[target]
            if code not in (0, EXIT_FOUND):
                died.append(_died(args, target, code))
                left = budget - (time.monotonic() - began)
                if left > 30:  # go on with what is left of this target's time
                    running[target] = (_spawn(args, target, left), time.monotonic(), left)
    return _summary(args, died)


def _summary(args: argparse.Namespace, died: Sequence[str]) -> int:
    print(f"\n{'target':<10} {'seconds':>8} {'examples':>9} {'per s':>7}  failures")
    failures = list(died)
    for target in args.target:
        path = args.out / f"{target}.stats.json"
        if not path.exists():
            print(f"{target:<10} (no statistics: the worker died early)")
            continue
        s = json.loads(path.read_text())
        rate = s["examples"] / max(s["seconds"], 1e-3)
        known = sum(s["known"].values())
        print(
            f"{target:<10} {s['seconds']:>8.0f} {s['examples']:>9} {rate:>7.0f}  "
            f"{len(s['found'])} new, {known} hits of known bugs"
        )
        failures += s["found"]
    for path in failures:
        print(f"reproduction: {path}")
    return 1 if failures else 0


def targets_available() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from tests.test_fuzz import TARGETS

    return list(TARGETS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="in total, over all targets")
    parser.add_argument("--target", action="append", help="repeatable; all by default")
    parser.add_argument("--corpus", type=Path, default=None, help=f"default {DEFAULT_CORPUS}")
    parser.add_argument("--no-corpus", action="store_true", help="built-in seeds only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--jobs", type=int, default=1, help="targets run side by side")
    parser.add_argument("--hang", type=float, default=10.0, help="seconds one input may take")
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.corpus is None and not args.no_corpus and DEFAULT_CORPUS.is_dir():
        args.corpus = DEFAULT_CORPUS
    if args.no_corpus:
        args.corpus = None
    if args.worker:
        return worker(args)
    known = targets_available()
    if unknown := set(args.target or ()) - set(known):
        parser.error(f"no such target: {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    args.target = args.target or known
    args.jobs = max(1, min(args.jobs, len(args.target)))
    return supervise(args)


if __name__ == "__main__":
    sys.exit(main())
