"""UI benchmark: first full paint and key-to-paint latency, batchmon against a naive stock DataTable.

Run: python tests/bench/bench_ui.py [--sizes 100 1000 10000] [--active 1000] [--keys 200]

Both apps run headless at 160x48 in the same process, and every frame is rendered to terminal
text as a real terminal would receive it. Timings are taken inside the app:
- first paint: from the start of the run until the first frame is written with every job in the
  table; "Textual start-up" is the same figure for an empty app, and is subtracted;
- key-to-paint: from a key's arrival at the app to the end of the next frame written.
The naive app fills a stock DataTable row by row, and on each poll update clears and re-adds
every row, which is what a first version of a monitor tends to do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from pydantic import SecretStr
from rich.console import RenderableType
from textual import events
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tui.core.config import Settings
from tui.sim import Simulator, create_app
from tui.store.database import Observation, Store
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app

SIZE = (160, 48)
KEY = "bench-key"


class FrameTimer:
    """Mixin: records when frames are written and how long keys wait for their frame."""

    def _timer_init(self) -> None:
        self.started = time.perf_counter()
        self.frames: list[float] = []
        self.key_latencies: list[float] = []
        self._keys_waiting: list[float] = []
        self._last_key: events.Key | None = None
        self.ready_rows: int | None = None  # first frame showing this many rows counts as "full"
        self.full_paint_at: float | None = None

    async def on_event(self, event: events.Event) -> None:
        # A key the focused widget leaves unhandled comes back to the app: time it once.
        if isinstance(event, events.Key) and event is not self._last_key:
            self._last_key = event
            self._keys_waiting.append(time.perf_counter())
        await super().on_event(event)  # type: ignore[misc]

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        super()._display(screen, renderable)  # type: ignore[misc]
        if renderable is None:
            return
        # Headless drivers skip the terminal write; do the rendering work a terminal would cost.
        render = getattr(renderable, "render_segments", None)
        if render is not None:
            render(self.console)  # type: ignore[attr-defined]
        now = time.perf_counter()
        self.frames.append(now)
        if self._keys_waiting:
            self.key_latencies.extend(now - started for started in self._keys_waiting)
            self._keys_waiting.clear()
        if self.full_paint_at is None and self.ready_rows is not None and self._rows() >= self.ready_rows:
            self.full_paint_at = now

    def _rows(self) -> int:
        return self.query_one(DataTable).row_count  # type: ignore[attr-defined,no-any-return]


class TimedBatchmon(FrameTimer, BatchmonApp):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._timer_init()

    def _rows(self) -> int:
        return self.table.row_count  # a virtual table, not a DataTable


class NaiveMonitor(FrameTimer, App[None]):
    """A stock DataTable filled the naive way: add_row per job, clear and re-add on updates."""

    def __init__(self, rows: list[tuple[str, ...]], update_every: float | None = None) -> None:
        super().__init__()
        self._timer_init()
        self.rows = rows
        self.update_every = update_every
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Status", "Job", "Preset", "Source", "Out", "Confirmed")
        for row in self.rows:
            table.add_row(*row)
        table.focus()
        if self.update_every:
            self.set_interval(self.update_every, self.rebuild)

    def rebuild(self) -> None:
        self.generation += 1
        table = self.query_one(DataTable)
        cursor = table.cursor_coordinate
        table.clear()
        for row in self.rows:
            table.add_row(*row[:-1], f"{self.generation}s ago")
        table.cursor_coordinate = cursor


def naive_rows(sim: Simulator) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for job_id in sim.ids():
        record = sim.record(job_id)
        source = record.get("input", {}).get("recordingId") or record.get("input", {}).get("uri", "")
        rows.append((record["status"], job_id[:8], record["preset"], source[-18:], "4", "just now"))
    return rows


def saved_watch_list(sim: Simulator, path: Path) -> None:
    """A watch list holding every simulator job with its record, as after a previous session."""
    store = Store(path)
    store.open()
    now = time.time()
    store.add(sim.ids(), now)
    for job_id in sim.ids():
        record = sim.record(job_id)
        store.stage(Observation(job_id, record["status"], record.get("preset"), now, record))
    store.flush()
    store.close()


def batchmon(sim: Simulator, state: Path) -> TimedBatchmon:
    settings = Settings(api_key=SecretStr(KEY), api_url="http://sim/v1", rate=20, interval=1.0)
    transport = httpx2.ASGITransport(app=create_app(sim))
    app = build_app(settings, state_path=state, transport=transport, app_class=TimedBatchmon)
    assert isinstance(app, TimedBatchmon)
    return app


async def first_paint(app: FrameTimer, rows: int) -> float:
    app.ready_rows = rows
    async with app.run_test(size=SIZE) as pilot:  # type: ignore[attr-defined]
        deadline = time.perf_counter() + 60
        while app.full_paint_at is None and time.perf_counter() < deadline:
            await pilot.pause(0.01)
    if app.full_paint_at is None:
        raise RuntimeError("the table never showed every row")
    return app.full_paint_at - app.started


async def key_latency(app: FrameTimer, keys: int, warmup: float) -> list[float]:
    async with app.run_test(size=SIZE) as pilot:  # type: ignore[attr-defined]
        await pilot.pause(warmup)  # let polling get going
        app.key_latencies.clear()
        for index in range(keys):
            await pilot.press("down" if (index // 20) % 2 == 0 else "up")
            await asyncio.sleep(0.03)
        measured = list(app.key_latencies)
    return measured


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "keys": len(ordered),
    }


def active_simulator(count: int, seconds: float) -> Simulator:
    """`count` jobs that all change during the run: submitted -> processing -> finished."""
    sim = Simulator(jobs=0, seed=11, api_key=KEY)
    for index in range(count):
        start = 1 + seconds * index / count
        sim.create_job(processing_in=start, done_in=start + seconds / 2)
    return sim


async def run(sizes: list[int], active: int, keys: int) -> dict[str, Any]:
    results: dict[str, Any] = {"terminal": f"{SIZE[0]}x{SIZE[1]}", "first_paint": [], "key_to_paint": {}}
    with tempfile.TemporaryDirectory() as folder:
        empty = Simulator(jobs=0, api_key=KEY)
        startup_batchmon = await first_paint(batchmon(empty, Path(folder) / "empty.db"), 0)
        startup_naive = await first_paint(NaiveMonitor([]), 0)
        results["textual_startup_s"] = {"batchmon": round(startup_batchmon, 3), "naive": round(startup_naive, 3)}
        for size in sizes:
            sim = Simulator(jobs=size, seed=5, api_key=KEY)
            state = Path(folder) / f"state-{size}.db"
            saved_watch_list(sim, state)
            ours = await first_paint(batchmon(sim, state), size) - startup_batchmon
            naive = await first_paint(NaiveMonitor(naive_rows(sim)), size) - startup_naive
            results["first_paint"].append(
                {"jobs": size, "batchmon_s": round(ours, 3), "naive_datatable_s": round(naive, 3)}
            )
            print(f"first paint {size}: batchmon {ours:.3f}s naive {naive:.3f}s", file=sys.stderr)
        sim = active_simulator(active, seconds=120)
        state = Path(folder) / "active.db"
        saved_watch_list(sim, state)
        ours_keys = await key_latency(batchmon(sim, state), keys, warmup=3)
        naive_keys = await key_latency(NaiveMonitor(naive_rows(sim), update_every=1.0), keys, warmup=3)
        results["key_to_paint"] = {
            "active_jobs": active,
            "batchmon": summary(ours_keys),
            "naive_datatable": summary(naive_keys),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--active", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.sizes, args.active, args.keys)), indent=2))


if __name__ == "__main__":
    main()
