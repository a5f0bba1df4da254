"""The TUI over a store another process holds locked: the saved list shows, the header says why
nothing is saved, and the changes made meanwhile reach the file once the lock is released."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import time
from pathlib import Path

import httpx2
from pydantic import SecretStr
from store_faults import lock_held
from support import T0, FakeClock
from textual.pilot import Pilot

from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.sim import Simulator, create_app
from tui.store.database import Store
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app


def make_app(sim: Simulator, db: Path) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        copy=CopySettings(osc52=True, tmux=False, native=False),
    )
    return build_app(
        settings,
        picked=pick_job_ids(""),
        state_path=db,
        transport=httpx2.ASGITransport(app=create_app(sim)),
        clock=FakeClock(),
        flush_every=0.1,
        save_every=0.2,
    )


def header(app: BatchmonApp) -> str:
    return str(app.main.header.render())


async def wait_for(pilot: Pilot[None], condition: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def saved(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [row[0] for row in conn.execute("SELECT id FROM jobs ORDER BY seq")]


async def test_tui_started_on_a_locked_store_shows_the_list_and_saves_changes_once_free(tmp_path: Path) -> None:
    sim = Simulator(seed=11, clock=lambda: T0)
    ids = [sim.create_job(status="finished") for _ in range(3)]
    db = tmp_path / "batchmon.db"
    store = Store(db)
    store.open()
    store.add(ids, T0)
    store.close()
    app = make_app(sim, db)
    with lock_held(db) as holder:
        async with app.run_test(size=(120, 24)) as pilot:
            await wait_for(pilot, lambda: len(app.table.shown_ids()) == 3, "the saved list")
            assert "not saved (store busy)" in header(app)
            app.table.select(ids[0])
            await pilot.press("x")  # remove: kept queued while the lock is held
            await wait_for(pilot, lambda: ids[0] not in app.table.shown_ids(), "the row to go")
            started = time.monotonic()
            await pilot.press("down", "up", "down")  # keys are answered while saves fail behind them
            assert time.monotonic() - started < 5.0
            assert saved(db) == ids
            holder.release()
            await wait_for(pilot, lambda: "not saved" not in header(app), "the header to clear")
            assert saved(db) == ids[1:]
            await pilot.press("q")
    assert saved(db) == ids[1:], "after a clean quit the job stays removed"


async def test_x_on_a_job_deleted_elsewhere_does_not_say_it_stays_on_daily(tmp_path: Path) -> None:
    sim = Simulator(seed=12, clock=lambda: T0)
    job = sim.create_job(status="finished")
    app = make_app(sim, tmp_path / "batchmon.db")
    seen: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: object) -> None:
        seen.append(message)
        original(message, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=(120, 24)) as pilot:
        app.add_jobs(pick_job_ids(job))
        await wait_for(pilot, lambda: app.watchlist.view(job).status == "finished", "its status")
        sim.delete(job)  # deleted by someone else: the poller finds it gone
        app.session.poller.refresh(job)
        await wait_for(pilot, lambda: app.watchlist.view(job).gone, "it to be seen gone")
        app.table.select(job)
        await pilot.press("x")
        await wait_for(pilot, lambda: any("Stopped watching" in line for line in seen), "the toast")
    (said,) = [line for line in seen if "Stopped watching" in line]
    assert "stays on Daily" not in said and "not on Daily any more" in said.replace("\n", " ")


async def test_a_config_warning_is_a_toast_in_the_tui(tmp_path: Path) -> None:
    sim = Simulator(seed=13, clock=lambda: T0)
    warning = "/x/config.toml holds an API key and others can read it (mode 0644); run: chmod 600 /x/config.toml"
    app = make_app(sim, tmp_path / "batchmon.db")
    app.settings = dataclasses.replace(app.settings, warnings=(warning,))
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for(pilot, lambda: any(n.message.replace("\n", " ") == warning for n in app.notices), "the toast")
        assert any(n.title == "Configuration" and n.severity == "warning" for n in app.notices)
