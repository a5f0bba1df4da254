"""SVG snapshots of the main screens at 80x24 and 160x48 (pytest-textual-snapshot).

Everything that could move is pinned: a seeded simulator on a frozen clock, the app on the same
frozen clock, local time in UTC, and the measured request rate. Regenerate after a deliberate
change with `pytest tests/test_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from textual.pilot import Pilot

from tui.api.budget import RequestBudget
from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.poller import EngineState, PollUpdate
from tui.sim import Simulator, create_app
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.messages import PollUpdated
from tui.ui.screens.add_jobs import IdsArea

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
NARROW = (80, 24)
WIDE = (160, 48)

Snap = Callable[..., bool]


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(RequestBudget, "requests_per_second", lambda _self: 2.4)


@pytest.fixture
def sim() -> Simulator:
    sim = Simulator(jobs=14, seed=5, clock=lambda: T0)
    # One job with a long, wrapped error and a field the API doesn't document.
    failed = sim.create_job(
        preset="transcript",
        status="error",
        source={"sourceType": "uri", "uri": "https://media.example.org/uploads/board-meeting-2024-05-14.mp4"},
        error="Error: Failed to transcribe. May be invalid audio or silent file (no speech in the first 120 s)",
        job_id="f2e4c6a8-0b1d-4f3e-a5c7-e9b1d3f5a7c9",
    )
    sim.set_extra(failed, {"retention": "7d"})
    return sim


def make_app(sim: Simulator, tmp_path: Path) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        copy=CopySettings(osc52=True, tmux=False, native=False),
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join(reversed(sim.ids()))),
        state_path=tmp_path / "batchmon.db",
        transport=httpx2.ASGITransport(app=create_app(sim)),
        clock=lambda: T0,
        flush_every=0.1,
        save_every=0.2,
    )


async def settled(pilot: Pilot[Any]) -> BatchmonApp:
    """Every job on screen fetched and painted: the screen will not change any more."""
    app = pilot.app
    assert isinstance(app, BatchmonApp)
    deadline = time.monotonic() + 10

    def done() -> bool:
        shown = app.table.visible_ids()
        views = [app.watchlist.view(job_id, load=True) for job_id in app.watchlist.ids()]
        return bool(shown) and all(v.status is not None for v in views) and not app.watchlist.lacking_records(shown)

    while not done():
        assert time.monotonic() < deadline, "jobs were not all fetched"
        await pilot.pause(0.05)
    await pilot.pause(0.3)  # one more flush
    return app


def first_with(app: BatchmonApp, status: str) -> str:
    for job_id in app.table.shown_ids():
        if app.watchlist.view(job_id).status == status:
            return job_id
    raise AssertionError(f"no {status} job")


async def on_finished_job(pilot: Pilot[Any]) -> None:
    app = await settled(pilot)
    job_id = first_with(app, "finished")
    app.table.select(job_id)
    await settled(pilot)  # its record is fetched once it shows
    assert app.watchlist.view(job_id, load=True).outputs()
    await pilot.pause(0.1)


def test_main_screen_narrow(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    """80x24: header, job table, the detail pane below it, footer."""
    assert snap_compare(make_app(sim, tmp_path), terminal_size=NARROW, run_before=on_finished_job)


def test_main_screen_wide(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    """160x48: the detail pane beside the table, all outputs visible."""
    assert snap_compare(make_app(sim, tmp_path), terminal_size=WIDE, run_before=on_finished_job)


def test_failed_job_detail_wide(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    """The error in full, an undocumented field, and the timeline."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await settled(pilot)
        app.table.select("f2e4c6a8-0b1d-4f3e-a5c7-e9b1d3f5a7c9")
        await pilot.pause(0.1)

    assert snap_compare(make_app(sim, tmp_path), terminal_size=WIDE, run_before=run_before)


def test_outputs_focused_after_copy(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    """Enter moves into the outputs, c copies the highlighted key, which stays on screen."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await on_finished_job(pilot)
        await pilot.press("enter", "down", "c")
        app = pilot.app
        deadline = time.monotonic() + 5
        while not app.clipboard:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.pause(0.1)

    assert snap_compare(make_app(sim, tmp_path), terminal_size=WIDE, run_before=run_before)


def test_add_dialog_with_rejected_ids(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("a")
        pilot.app.screen.query_one(IdsArea).text = "f2e4c6a8-0b1d-4f3e-a5c7-e9b1d3f5a7c9, f2e4c6a8-0b1d-4f3e\n12345"
        await pilot.press("enter")

    assert snap_compare(make_app(sim, tmp_path), terminal_size=NARROW, run_before=run_before)


def test_help_screen(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(sim, tmp_path), terminal_size=NARROW, run_before=run_before)


def test_filtered_while_offline(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    """A filter in use; offline, so every row is dimmed and marked stale."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("slash", *"trans", "enter")
        app = await settled(pilot)  # rows the filter brought on screen get their records
        await pilot.press("p")  # hold the poller so the offline state below stays
        engine = EngineState(
            mode="offline", requests_made=40, requests_per_second=0.0, rate=20, last_error="connection refused"
        )
        app.post_message(PollUpdated(PollUpdate(jobs=(), changes=(), engine=engine)))
        await pilot.pause(0.3)

    assert snap_compare(make_app(sim, tmp_path), terminal_size=NARROW, run_before=run_before)


@pytest.mark.parametrize("size", [(40, 24), (60, 24), (80, 24), (120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_fits_width(snap_compare: Snap, sim: Simulator, tmp_path: Path, size: tuple[int, int]) -> None:
    """Issue 11 layout: columns dropped or widened to the width, footer keeps `? Help` and `q Quit`."""
    assert snap_compare(make_app(sim, tmp_path), terminal_size=size, run_before=on_finished_job)


def test_layout_toast_narrow(snap_compare: Snap, sim: Simulator, tmp_path: Path) -> None:
    """Issue 11 notifications: endings gathered in one compact toast, bottom left, with the reason."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await on_finished_job_then(pilot)
        active = [job_id for job_id in app.table.shown_ids() if app.watchlist.view(job_id).status == "processing"]
        sim.force_status(active[0], "finished")
        sim.force_status(active[1], "error")
        deadline = time.monotonic() + 10
        while not any("failed" in notice.message for notice in app.notices):
            assert time.monotonic() < deadline, "no toast"
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    assert snap_compare(make_app(sim, tmp_path), terminal_size=(60, 24), run_before=run_before)


async def on_finished_job_then(pilot: Pilot[Any]) -> BatchmonApp:
    await on_finished_job(pilot)
    app = pilot.app
    assert isinstance(app, BatchmonApp)
    return app


def test_layout_notification_history(
    snap_compare: Snap, sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: `N` lists every notification with its time, newest first."""
    # The failure toast waits for the job's record (its reason); on a busy machine the record
    # could come after the 5 s wait and the toast went without it: a different history.
    monkeypatch.setattr("tui.core.endings.REASON_WAIT", 120.0)

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await on_finished_job_then(pilot)
        active = [job_id for job_id in app.table.shown_ids() if app.watchlist.view(job_id).status == "processing"]
        sim.force_status(active[0], "error")
        deadline = time.monotonic() + 10
        while not any("failed" in notice.message for notice in app.notices):
            assert time.monotonic() < deadline, "no toast"
            await pilot.pause(0.05)
        app.clear_notifications()
        await pilot.press("N")
        await pilot.pause(0.3)

    assert snap_compare(make_app(sim, tmp_path), terminal_size=NARROW, run_before=run_before)
