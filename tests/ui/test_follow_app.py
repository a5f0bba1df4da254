"""Pilot tests: F follows the domain, I imports recent jobs (paged, filtered, multi-select)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from pydantic import SecretStr
from textual.pilot import Pilot
from textual.widgets import Input, Select

from tui.core.config import CopySettings, Settings
from tui.sim import Simulator, create_app
from tui.store.database import Store
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.screens.import_jobs import PAGE_SIZE, ImportJobsScreen, JobPicker

WIDE = (160, 48)
RECORDING = "3c0ffee0-1111-4222-8333-444455556666"


def make_app(sim: Simulator, tmp_path: Path, *, follow: bool | None = None) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        copy=CopySettings(osc52=True, tmux=False, native=False),
    )
    return build_app(
        settings,
        state_path=tmp_path / "batchmon.db",
        transport=httpx2.ASGITransport(app=create_app(sim)),
        flush_every=0.1,
        save_every=0.2,
        follow=follow,
    )


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def screen_text(app: BatchmonApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def setting(tmp_path: Path, key: str) -> str | None:
    store = Store(tmp_path / "batchmon.db")
    store.open()
    try:
        return store.setting(key)
    finally:
        store.close()


async def test_f_toggles_following_and_new_jobs_appear_marked(tmp_path: Path) -> None:
    sim = Simulator(seed=5)
    old = sim.create_job(status="finished")
    app = make_app(sim, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        assert not app.watchlist.following and "following" not in screen_text(app)
        await pilot.press("F")
        assert app.watchlist.following
        await wait_for(pilot, lambda: "◆ following" in screen_text(app), "the header says following")
        assert setting(tmp_path, "follow") == "on"
        await wait_for(pilot, lambda: app.session.poller.top_read_at > 0, "the first read of the list")
        new = sim.create_job(status="processing", processing_in=None, done_in=None)
        await wait_for(pilot, lambda: new in app.table.shown_ids(), "the new job in the table")
        assert old not in app.watchlist  # only what appears from now on
        assert app.watchlist.view(new).followed
        assert "◆" + new[:7] in screen_text(app)
        await pilot.press("F")
        assert not app.watchlist.following
        await wait_for(pilot, lambda: "following" not in screen_text(app).splitlines()[0], "header without it")
        assert setting(tmp_path, "follow") == "off"
        assert new in app.watchlist  # followed jobs stay watched
    again = make_app(sim, tmp_path, follow=True)  # --follow: on again, and remembered
    async with again.run_test(size=WIDE) as pilot:
        assert again.watchlist.following
    assert setting(tmp_path, "follow") == "on"


def seeded(sim: Simulator) -> list[str]:
    """40 jobs, newest first: every third for RECORDING, statuses and presets in turn."""
    statuses = ("finished", "error", "processing")
    presets = ("transcript", "summarize", "soap-notes", "transcript")
    for i in range(40):
        source = {"sourceType": "recordingId", "recordingId": RECORDING} if i % 3 == 0 else None
        status = statuses[i % 3]
        sim.create_job(preset=presets[i % 4], status=status, source=source, processing_in=None, done_in=None)
        time.sleep(0.001)  # distinct creation times: the list's order is well defined
    return sim.ids()


def picker_ids(screen: ImportJobsScreen) -> list[str]:
    picker = screen.picker
    return [str(picker.get_option_at_index(i).value) for i in range(picker.option_count)]


async def test_import_dialog_pages_filters_picks_and_adds(tmp_path: Path) -> None:
    sim = Simulator(seed=6)
    ids = seeded(sim)
    app = make_app(sim, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("I")
        screen = app.screen
        assert isinstance(screen, ImportJobsScreen)
        await wait_for(pilot, lambda: picker_ids(screen) == ids[:PAGE_SIZE], "page 1")
        assert "page 1" in str(screen.status_line.render())
        # Next page from the last id's cursor, and back.
        await pilot.press("n")
        await wait_for(pilot, lambda: picker_ids(screen) == ids[PAGE_SIZE:], "page 2")
        await pilot.press("n")  # no page 3: stays
        await pilot.pause(0.2)
        assert picker_ids(screen) == ids[PAGE_SIZE:]
        await pilot.press("space", "down", "space")  # pick two on page 2
        await pilot.press("b")
        await wait_for(pilot, lambda: picker_ids(screen) == ids[:PAGE_SIZE], "page 1 again")
        # Status and preset filters work on the page read (no request).
        requests = sim.requests.count
        screen.query_one("#import-status-filter", Select).value = "error"
        await pilot.pause(0.1)
        shown = picker_ids(screen)
        assert shown and all(sim.status(i) == "error" for i in shown) and len(shown) < PAGE_SIZE
        screen.query_one("#import-preset-filter", Select).value = "summarize"
        await pilot.pause(0.1)
        assert all(sim.status(i) == "error" and sim.job(i).preset == "summarize" for i in picker_ids(screen))
        assert sim.requests.count == requests
        screen.query_one("#import-status-filter", Select).clear()
        screen.query_one("#import-preset-filter", Select).clear()
        # The recording id goes to the server.
        recording = screen.query_one("#import-recording", Input)
        recording.focus()
        recording.value = RECORDING
        await pilot.press("enter")
        want = [i for i in ids if sim.job(i).input.get("recordingId") == RECORDING]
        await wait_for(pilot, lambda: picker_ids(screen) == want, "the recording's jobs")
        listed = [r for r in sim.requests.entries() if r.path == "/v1/batch-processor"]
        assert listed  # (the request log keeps paths only; the answer above proves the filter)
        screen.picker.focus()
        await pilot.press("space")  # pick the first of them
        await pilot.press("enter")
        assert not isinstance(app.screen, ImportJobsScreen)
        picked = {ids[PAGE_SIZE], ids[PAGE_SIZE + 1], want[0]}
        await wait_for(pilot, lambda: picked <= set(app.watchlist.ids()), "the picked jobs watched")
        assert set(app.watchlist.ids()) == picked
        assert not any(app.watchlist.view(i).followed for i in picked)  # added by hand
        # Opened again: the watched ones are left out; escape adds nothing.
        await pilot.press("I")
        screen = app.screen
        assert isinstance(screen, ImportJobsScreen)
        await wait_for(pilot, lambda: len(picker_ids(screen)) == PAGE_SIZE - 1, "page 1 without the watched")
        assert want[0] not in picker_ids(screen)
        await pilot.press("space", "escape")
        assert not isinstance(app.screen, ImportJobsScreen)
        assert len(app.watchlist) == 3


async def test_import_dialog_says_when_the_list_fails(tmp_path: Path) -> None:
    sim = Simulator(seed=7)
    seeded(sim)
    app = make_app(sim, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        sim.set_api_key("another-key")  # every request is refused from now on
        await pilot.press("I")
        screen = app.screen
        assert isinstance(screen, ImportJobsScreen)
        await wait_for(pilot, lambda: "could not list jobs" in str(screen.status_line.render()), "the error")
        assert screen.picker.option_count == 0
        assert isinstance(screen.focused, JobPicker)
        await pilot.press("enter")  # nothing picked: the dialog stays and says so
        assert isinstance(app.screen, ImportJobsScreen)
        await pilot.press("escape")
        assert len(app.watchlist) == 0
