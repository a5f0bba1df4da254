"""Issue 11 notifications: one toast per flush, failure reasons, the history screen (`N`), the bell."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from textual.notifications import Notification
from textual.pilot import Pilot

from tui.api import Job
from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.poller import JobState, PollUpdate, StatusChange
from tui.sim import Simulator, create_app
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.messages import PollUpdated
from tui.ui.screens.notifications import NotificationsScreen

REASON = "Failed to transcribe: no speech in sim-domain/uploads/board-meeting-2024-05-14.mp4"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(jobs=0, seed=3)


def make_app(sim: Simulator, tmp_path: Path, job_ids: list[str], *, bell: bool = True) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        bell=bell,
        copy=CopySettings(osc52=True, tmux=False, native=False),
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join(job_ids)),
        state_path=tmp_path / "batchmon.db",
        transport=httpx2.ASGITransport(app=create_app(sim)),
        flush_every=0.1,
        save_every=0.2,
    )


def active(sim: Simulator, error: str | None = None) -> str:
    return sim.create_job(status="processing", processing_in=None, done_in=None, error=error)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], what: str, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def all_seen(app: BatchmonApp, ids: list[str]) -> Callable[[], bool]:
    return lambda: all(app.watchlist.view(job_id).status == "processing" for job_id in ids)


def job_notices(app: BatchmonApp) -> list[str]:
    return [notice.message for notice in app.notices if "finished" in notice.message or "failed" in notice.message]


async def test_endings_in_one_flush_make_one_toast(sim: Simulator, tmp_path: Path) -> None:
    done = [active(sim) for _ in range(3)]
    bad = active(sim, error=REASON)
    app = make_app(sim, tmp_path, [*done, bad])
    bells: list[None] = []
    app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, all_seen(app, [*done, bad]), "first sightings")
        assert not job_notices(app) and not bells, "first sightings are quiet"
        app.session.poller.pause()  # all four change between two polls
        for job_id in done:
            sim.force_status(job_id, "finished")
        sim.force_status(bad, "error")
        app.session.poller.resume()
        await wait_for(pilot, lambda: job_notices(app), "the toast")
        await pilot.pause(0.5)
        notices = job_notices(app)
        assert len(notices) == 1, notices
        assert notices[0].startswith("3 finished, 1 failed")
        assert REASON in notices[0] and bad[:8] in notices[0]
        assert len(bells) == 1


async def test_a_failure_toast_carries_the_reason(sim: Simulator, tmp_path: Path) -> None:
    bad = active(sim, error=REASON)
    app = make_app(sim, tmp_path, [bad])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, all_seen(app, [bad]), "the first sighting")
        sim.force_status(bad, "error")
        await wait_for(pilot, lambda: job_notices(app), "the failure toast")
        (notice,) = job_notices(app)
        assert notice.startswith(f"✗ {bad[:8]} transcript failed") and REASON in notice

        def toasts() -> list[Notification]:
            return [n for n in app._notifications if REASON.split()[0] in n.message]

        await wait_for(pilot, toasts, "the toast on screen")
        toast = toasts()[0]
        lines = toast.message.splitlines()
        assert all(len(line) <= 46 for line in lines)
        # The path is broken after a slash or hyphen, never inside a name.
        assert "board-meeting-2024-05-14.mp4" in toast.message.replace("-\n", "-").replace("/\n", "/")


async def test_the_history_lists_every_notification(sim: Simulator, tmp_path: Path) -> None:
    ok, bad = active(sim), active(sim, error=REASON)
    app = make_app(sim, tmp_path, [ok, bad])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, all_seen(app, [ok, bad]), "first sightings")
        sim.force_status(ok, "finished")
        await wait_for(pilot, lambda: len(job_notices(app)) == 1, "the first toast")
        sim.force_status(bad, "error")
        await wait_for(pilot, lambda: len(job_notices(app)) == 2, "the second toast")
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, NotificationsScreen), "the history")
        await pilot.pause(0.1)
        shown = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert f"{ok[:8]} transcript finished" in shown and REASON.split(" in ")[0] in shown
        assert shown.index(bad[:8]) < shown.index(ok[:8]), "newest first"
        await pilot.press("escape")
        assert not isinstance(app.screen, NotificationsScreen)


async def test_no_bell_when_switched_off(sim: Simulator, tmp_path: Path) -> None:
    job_id = active(sim)
    app = make_app(sim, tmp_path, [job_id], bell=False)
    bells: list[None] = []
    app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, all_seen(app, [job_id]), "the first sighting")
        sim.force_status(job_id, "finished")
        await wait_for(pilot, lambda: job_notices(app), "the toast")
        assert not bells


async def test_a_failure_seen_without_its_record_waits_for_it(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list sweep says "error" with no reason: the toast waits for the record, or goes without."""
    monkeypatch.setattr("tui.core.endings.REASON_WAIT", 3.0)
    late, never = active(sim, error=REASON), active(sim, error="never shown")
    app = make_app(sim, tmp_path, [late, never])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, all_seen(app, [late, never]), "first sightings")
        app.session.poller.pause()  # from here on, only what the test posts arrives
        await pilot.pause(0.3)
        sim.force_status(late, "error")
        sim.force_status(never, "error")
        now = time.time()
        swept = tuple(JobState(job_id, "error", "transcript", None, now) for job_id in (late, never))
        changes = tuple(StatusChange(job_id, "processing", "error", now) for job_id in (late, never))
        app.post_message(PollUpdated(PollUpdate(swept, changes, app.watchlist.engine)))  # type: ignore[arg-type]
        await pilot.pause(0.5)
        assert not job_notices(app), "no toast before the record (or the timeout)"
        record = Job.model_validate(sim.record(late))
        fetched = (JobState(late, "error", "transcript", record, now),)
        app.post_message(PollUpdated(PollUpdate(fetched, (), app.watchlist.engine)))  # type: ignore[arg-type]
        await wait_for(pilot, lambda: job_notices(app), "the toast with the reason")
        assert REASON in job_notices(app)[0] and never[:8] not in job_notices(app)[0]
        await wait_for(pilot, lambda: len(job_notices(app)) == 2, "the toast without a reason")
        assert job_notices(app)[1] == f"✗ {never[:8]} transcript failed"
