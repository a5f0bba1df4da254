"""Benchmark: what opening the watch list costs the TUI's first frame, at 100,000 jobs.

    python tests/bench/bench_open.py [--jobs 100000] [--repeat 5]

Every job has a status and a stored record (a finished transcript's GET body, about 1.5 KB), so
the file is as big as a real one (about 130 MB at 100,000). Timed in one run, best and median:

- baseline: `Store.open()` with the full integrity check on the caller's thread (0.2.x: the UI's);
- now: `Store.open(check=False)`, what the UI thread does before the first frame;
- aside: `Store.check_integrity()`, the full check, run in a worker thread after the frame;
- fallback: opening for reading only while another connection holds the write lock
  (`open(fallback=True)` with the TUI's 0.2 s lock wait), then `load()`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tui.store.database import Observation, Store  # noqa: E402

RECORD = json.loads((ROOT / "tests" / "api_examples" / "job-finished-transcript.json").read_text())


def build(path: Path, jobs: int) -> None:
    store = Store(path)
    store.open()
    ids = [f"5f0c2a9e-7b41-4d8a-9c3e-{i:012x}" for i in range(jobs)]
    store.add(ids, time.time())
    for job_id in ids:
        store.stage(Observation(job_id, "finished", "transcript", time.time(), {**RECORD, "id": job_id}))
    store.flush()
    store.close()


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batchmon.db"
        build(path, args.jobs)

        def open_close(**kwargs: object) -> Callable[[], None]:
            def run() -> None:
                store = Store(path, busy_timeout=0.2)
                store.open(**kwargs)  # type: ignore[arg-type]
                store.close()

            return run

        def check_aside() -> None:
            assert Store(path).check_integrity() is None

        def busy_fallback() -> None:
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                store = Store(path, busy_timeout=0.2)
                store.open(fallback=True, check=False)
                assert store.unwritable is not None and len(store.load()) == args.jobs
                store.close()
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()

        rows = [
            ("baseline: open + integrity_check (0.2.x UI path)", timed(open_close(), args.repeat)),
            ("now: open, check aside (UI path)", timed(open_close(check=False), args.repeat)),
            ("aside: integrity_check in a worker", timed(check_aside, args.repeat)),
            ("busy store: open for reading + load", timed(busy_fallback, args.repeat)),
        ]
        size = path.stat().st_size / 1e6
    print(f"{args.jobs:,} jobs, {size:.0f} MB, best / median of {args.repeat} (seconds)")
    for name, times in rows:
        print(f"  {name:<50} {min(times):6.3f}  {statistics.median(times):6.3f}")


if __name__ == "__main__":
    main()
