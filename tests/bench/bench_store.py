"""Benchmark: the SQLite store against the 0.1.0 JSON store, at the same size, in the same run.

    python tests/bench/bench_store.py [--jobs 100000] [--changed 100] [--repeat 5] [--no-baseline]

Every watched job has a status, a preset and a stored record (a finished transcript's GET body,
about 1.5 KB, as in tests/api_examples). Timed, best and median of `--repeat` runs:

Wall time suffers when other processes compete for the CPU; the CPU time of this process less so.

- load: every watched job, from an open store (SQLite: `load()`; 0.1.0: `load()` of the file);
- flush: `--changed` jobs change status with a new record, among `--jobs` (SQLite: `flush()` of
  what was staged; 0.1.0: `save()`, which re-reads, merges and rewrites the whole file);
- add: `--jobs` new ids into an empty store, committed (0.1.0: `add()` then `save()`);
- foreign: after another instance changed `--changed` jobs, picking them up (SQLite:
  `foreign_changes()`; 0.1.0: `changed_on_disk()` then `reload()`, a merge of the whole file);
  and the idle check when nothing changed (SQLite: `foreign_changes()` -> None; 0.1.0: `changed_on_disk()`).

The 0.1.0 store is its own source, read from git history (commit BASELINE_COMMIT).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tui.store.database import Observation, Store  # noqa: E402

BASELINE_COMMIT = "59fa4db"  # the last commit with the 0.1.0 JSON store
RECORD = json.loads((ROOT / "tests" / "api_examples" / "job-finished-transcript.json").read_text())


def job_id(i: int) -> str:
    return f"5f0c2a9e-7b41-4d8a-9c3e-{i:012x}"


Times = list[tuple[float, float]]  # (wall, CPU of this process) per run, seconds


def timed(run: Callable[[], Any], setup: Callable[[], Any] | None, repeat: int) -> Times:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start, cpu = time.perf_counter(), time.process_time()
        run()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    return times


def record_of(i: int, status: str) -> dict[str, Any]:
    return {**RECORD, "id": job_id(i), "status": status}


# -- the SQLite store ----------------------------------------------------------------------------


def bench_sqlite(folder: Path, jobs: int, changed: int, repeat: int) -> dict[str, Times]:
    path = folder / "sqlite" / "batchmon.db"
    ids = [job_id(i) for i in range(jobs)]
    main = Store(path)
    main.open()
    main.add(ids, 1.0)
    for i, one in enumerate(ids):
        main.stage(Observation(one, "finished", "transcript", 2.0, record_of(i, "finished")))
    main.flush()
    other = Store(path)
    other.open()
    results: dict[str, Times] = {}
    results["load"] = timed(main.load, None, repeat)

    clock = [10.0]

    def stage_changes(store: Store) -> None:
        clock[0] += 1
        status = "processing" if int(clock[0]) % 2 else "finished"
        for k in range(changed):
            i = (k * 997 + int(clock[0])) % jobs
            store.stage(Observation(ids[i], status, "transcript", clock[0], record_of(i, status)))

    results["flush"] = timed(main.flush, lambda: stage_changes(main), repeat)

    def other_changes() -> None:
        main.foreign_changes()  # start from nothing pending
        stage_changes(other)
        other.flush()

    results["foreign"] = timed(main.foreign_changes, other_changes, repeat)
    results["idle check"] = timed(main.foreign_changes, None, repeat)
    main.close()
    other.close()

    fresh = folder / "sqlite-add"

    def empty_store() -> None:
        shutil.rmtree(fresh, ignore_errors=True)
        holder["store"] = Store(fresh / "batchmon.db")
        holder["store"].open()

    holder: dict[str, Store] = {}
    results["add"] = timed(lambda: holder["store"].add(ids, 1.0), empty_store, repeat)
    holder["store"].close()
    return results


# -- the 0.1.0 JSON store ------------------------------------------------------------------------


def baseline_module() -> ModuleType | None:
    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:tui/store.py"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("store_010", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["store_010"] = module  # dataclasses look their module up
    exec(compile(source, "store_010.py", "exec"), module.__dict__)
    return module


def bench_json(folder: Path, jobs: int, changed: int, repeat: int, old: ModuleType) -> dict[str, Times]:
    path = folder / "json" / "watchlist.json"
    ids = [job_id(i) for i in range(jobs)]
    main = old.Store(path)
    main.load()
    main.add(ids, 1.0)
    for i, one in enumerate(ids):
        main.observe(one, record_of(i, "finished"), "finished", 2.0)
    main.save()
    other = old.Store(path)
    other.load()
    results: dict[str, Times] = {}
    results["load"] = timed(main.load, None, repeat)

    clock = [10.0]

    def observe_changes(store: Any) -> None:
        clock[0] += 1
        status = "processing" if int(clock[0]) % 2 else "finished"
        for k in range(changed):
            i = (k * 997 + int(clock[0])) % jobs
            store.observe(ids[i], record_of(i, status), status, clock[0])

    results["flush"] = timed(main.save, lambda: observe_changes(main), repeat)

    def other_changes() -> None:
        observe_changes(other)
        other.save()

    def pick_up() -> None:
        if main.changed_on_disk():
            main.reload()

    results["foreign"] = timed(pick_up, other_changes, repeat)
    results["idle check"] = timed(main.changed_on_disk, None, repeat)

    fresh = folder / "json-add" / "watchlist.json"

    def empty_store() -> None:
        shutil.rmtree(fresh.parent, ignore_errors=True)
        holder["store"] = old.Store(fresh)
        holder["store"].load()

    def add_and_save() -> None:
        holder["store"].add(ids, 1.0)
        holder["store"].save()

    holder: dict[str, Any] = {}
    results["add"] = timed(add_and_save, empty_store, repeat)
    return results


# -- report --------------------------------------------------------------------------------------


def ms(times: Times | None) -> str:
    if not times:
        return "n/a"
    wall = [w for w, _ in times]
    cpu = min(c for _, c in times)
    return f"{min(wall) * 1000:.1f} / {statistics.median(wall) * 1000:.1f} ({cpu * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true", help="skip the 0.1.0 JSON store")
    args = parser.parse_args()
    old = None if args.no_baseline else baseline_module()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        folder = Path(tmp)
        new = bench_sqlite(folder, args.jobs, args.changed, args.repeat)
        size = sum(p.stat().st_size for p in (folder / "sqlite").iterdir())
        base = bench_json(folder, args.jobs, args.changed, args.repeat, old) if old is not None else {}
        json_size = (folder / "json" / "watchlist.json").stat().st_size if old is not None else 0
    n, c = f"{args.jobs:,}", f"{args.changed:,}"
    rows = [
        (f"load {n}", "load", "well under 300"),
        (f"flush {c} changed among {n}", "flush", "under 10"),
        (f"add {n} ids", "add", "well under 3,000"),
        (f"foreign changes: another instance changed {c}", "foreign", ""),
        ("foreign changes: nothing changed (idle check)", "idle check", ""),
    ]
    print(f"store benchmark: {n} jobs with records; ms: best / median wall time of {args.repeat} (best CPU time)")
    print(f"database {size / 1e6:.1f} MB; 0.1.0 watchlist.json {json_size / 1e6:.1f} MB" if old else "")
    print()
    print("| operation | SQLite store (ms) | 0.1.0 JSON store (ms) | target at 100,000 (ms) |")
    print("|---|---|---|---|")
    for label, key, target in rows:
        print(f"| {label} | {ms(new.get(key))} | {ms(base.get(key))} | {target} |")


if __name__ == "__main__":
    main()
