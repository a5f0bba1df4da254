"""Pilot tests of the batchmon app: every key, the dialogs, layout, persistence and safety."""

from __future__ import annotations

import io
import os
import random
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from rich.console import Console
from rich.text import Text
from support import T0, FakeClock
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.core.watchlist import JobView
from tui.poller import EngineState, JobState, PollUpdate
from tui.sim import Simulator, create_app
from tui.store.database import Store
from tui.ui.app import BatchmonApp, styles_dir
from tui.ui.factory import build_app
from tui.ui.messages import PollUpdated
from tui.ui.screens.add_jobs import AddJobsScreen, IdsArea
from tui.ui.screens.help import HelpScreen
from tui.ui.widgets.job_detail import OutputList
from tui.ui.widgets.job_table import JobTable, sorted_ids

NARROW = (80, 24)
WIDE = (160, 48)
NO_COPY_TOOLS = CopySettings(osc52=True, tmux=False, native=False)


@pytest.fixture
def sim() -> Simulator:
    # A frozen simulator: statuses change only when a test forces them.
    return Simulator(seed=11, clock=lambda: T0)


def make_app(
    sim: Simulator,
    tmp_path: Path,
    *,
    job_ids: tuple[str, ...] | list[str] = (),
    copy: CopySettings = NO_COPY_TOOLS,
    bell: bool = True,
    clock: Callable[[], float] | None = None,
    state: str = "batchmon.db",
) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr(sim.api_key), api_url="http://sim/v1", rate=20, interval=0.5, bell=bell, copy=copy
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join(job_ids)),
        state_path=tmp_path / state,
        transport=httpx2.ASGITransport(app=create_app(sim)),
        clock=clock or FakeClock(),
        flush_every=0.1,  # the app paints twice a second and saves every 1.5 s; tests need not wait
        save_every=0.2,
        backoff_initial=0.05,
    )


def finished_job(sim: Simulator, preset: str = "soap-notes") -> str:
    return sim.create_job(preset=preset, status="finished")


def active_job(sim: Simulator, status: str = "processing") -> str:
    return sim.create_job(status=status, processing_in=None, done_in=None)


async def wait_for(pilot: Pilot[None], condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    """Poll a condition: the poll worker never completes, so waiting on workers would hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def fetched(app: BatchmonApp, *ids: str) -> Callable[[], bool]:
    """All these jobs show their full record."""

    def check() -> bool:
        if not all(job_id in app.watchlist for job_id in ids):
            return False
        views = [app.watchlist.view(job_id, load=True) for job_id in ids]
        return all(view.job is not None and view.confirmed_at for view in views)

    return check


def saved(tmp_path: Path) -> list[str]:
    """The ids in the watch list on disk."""
    store = Store(tmp_path / "batchmon.db")
    store.open()
    try:
        return list(store.load())
    finally:
        store.close()


def screen_text(app: App[Any]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def detail_text(app: BatchmonApp, width: int = 76) -> str:
    """The detail pane's whole content (scrolled out of view or not), as plain text."""
    console = Console(width=width, record=True, file=io.StringIO())
    for static in app.detail.query(Static):
        console.print(static.content)
    return console.export_text()


def cell(app: BatchmonApp, job_id: str, column: str) -> str:
    value = app.table.get_cell(job_id, column)
    return value.plain if isinstance(value, Text) else str(value)


def rows(app: BatchmonApp) -> list[str]:
    """Row keys (job ids) in display order."""
    return app.table.shown_ids()


def record_notifications(app: BatchmonApp) -> list[str]:
    """Every toast's title and message, in order (the toasts still show)."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
        seen.append(f"{title}: {message}" if title else message)
        original(message, title=title, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def select(pilot: Pilot[None], app: BatchmonApp, job_id: str) -> None:
    app.table.select(job_id)
    await wait_for(pilot, lambda: app.detail.view is not None and app.detail.view.id == job_id, "detail")


async def paste_ids(pilot: Pilot[None], text: str) -> None:
    assert pilot.app.screen.query_one(IdsArea).has_focus
    pilot.app.post_message(events.Paste(text))  # as a terminal delivers it
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


# -- the add dialog ----------------------------------------------------------------------------


async def test_add_dialog_accepts_many_separators(sim: Simulator, tmp_path: Path) -> None:
    ids = [finished_job(sim) for _ in range(4)]
    app = make_app(sim, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AddJobsScreen)
        await paste_ids(pilot, f"{ids[0]}, {ids[1]}\n{ids[2]}  {ids[3].upper()}\n")
        assert not isinstance(app.screen, AddJobsScreen)
        assert set(app.watchlist.ids()) == set(ids)
        # Added ids are polled at once.
        await wait_for(pilot, fetched(app, *ids), "the new jobs to be fetched")
        assert cell(app, ids[0], "status") == "✓ finished"


async def test_add_dialog_enter_waits_for_the_keys_typed_before_it(sim: Simulator, tmp_path: Path) -> None:
    """Keys arriving in one burst (tmux send-keys, a paste without bracketed paste mode)."""
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        for char in job_id:
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("enter", "\r"))
        await wait_for(pilot, lambda: not isinstance(app.screen, AddJobsScreen), "the dialog to close")
        assert app.watchlist.ids() == [job_id]


async def test_add_dialog_names_a_cut_off_id_and_stays_open(sim: Simulator, tmp_path: Path) -> None:
    good = finished_job(sim)
    app = make_app(sim, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, f"{good} {good[:30]}\nnot-an-id 1234")
        assert isinstance(app.screen, AddJobsScreen), "the dialog stays open to fix the cut id"
        error = str(app.screen.query_one("#add-error", Static).render())
        assert repr(good[:30]) in error and "not-an-id" not in error
        assert not app.watchlist.ids()
        # Fix it: keep only the good id.
        app.screen.query_one(IdsArea).text = good
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AddJobsScreen)
        assert app.watchlist.ids() == [good]


async def test_add_dialog_ignores_duplicates(sim: Simulator, tmp_path: Path) -> None:
    first, second = finished_job(sim), finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[first])
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, f"{first} {second} {second}")
        assert app.watchlist.ids() == [first, second]
        assert app.table.row_count == 2
        assert any("Watching 1 more job; 1 already watched" in note for note in seen)


async def test_add_dialog_escape_cancels_and_empty_input_is_refused(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a", "enter")
        assert isinstance(app.screen, AddJobsScreen)
        assert "at least one" in str(app.screen.query_one("#add-error", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, AddJobsScreen)
        assert not app.watchlist.ids()


async def test_command_line_ids_are_added(sim: Simulator, tmp_path: Path) -> None:
    ids = [finished_job(sim), active_job(sim)]
    app = make_app(sim, tmp_path, job_ids=[*ids, "bogus"])
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        assert set(app.watchlist.ids()) == set(ids)
        await wait_for(pilot, fetched(app, *ids), "both jobs")
        assert cell(app, ids[1], "status") == "● processing"
        assert any("bogus" in note for note in seen)


# -- keys on the list --------------------------------------------------------------------------


async def test_x_removes_the_highlighted_job_only_from_the_watch_list(sim: Simulator, tmp_path: Path) -> None:
    ids = [finished_job(sim), finished_job(sim)]
    app = make_app(sim, tmp_path, job_ids=ids)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, *ids), "jobs")
        await select(pilot, app, ids[1])
        await pilot.press("x")
        assert ids[1] not in app.watchlist
        assert ids[1] not in app.session.poller.states()
        assert rows(app) == [ids[0]]
        assert ids[1] in sim, "the job itself is untouched"
        await pilot.press("x")
        await pilot.press("x")  # nothing left: says so, no crash
        assert app.table.row_count == 0


async def test_r_refreshes_the_highlighted_job(sim: Simulator, tmp_path: Path) -> None:
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        before = sim.requests.count
        sim.force_status(job_id, "error")  # terminal jobs are not polled again, unless refreshed
        await pilot.press("r")
        await wait_for(pilot, lambda: cell(app, job_id, "status") == "✗ error", "the refreshed status")
        assert sim.requests.count > before


async def test_filter_matches_id_preset_status_and_source_and_escape_clears(sim: Simulator, tmp_path: Path) -> None:
    soap = finished_job(sim, preset="soap-notes")
    summary = finished_job(sim, preset="summarize")
    busy = active_job(sim)
    sim.set_extra(busy, {"input": {"sourceType": "uri", "uri": "https://media.example/a/board-meeting.mp4"}})
    app = make_app(sim, tmp_path, job_ids=[soap, summary, busy])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, soap, summary, busy), "jobs")
        await pilot.press("slash")
        assert app.query_one("#filter", Input).has_focus
        await pilot.press(*"summ")
        assert rows(app) == [summary]
        assert "filter: summ" in str(app.query_one("#list-pane").border_title)
        app.query_one("#filter", Input).value = "PROCESSING"
        await pilot.pause()
        assert rows(app) == [busy]
        app.query_one("#filter", Input).value = "board-meet"
        await pilot.pause()
        assert rows(app) == [busy]
        app.query_one("#filter", Input).value = soap[:13]
        await pilot.pause()
        assert rows(app) == [soap]
        await pilot.press("enter")  # keeps the filter, back to the list
        assert app.table.has_focus and rows(app) == [soap]
        await pilot.press("escape")
        assert len(rows(app)) == 3
        assert not app.query_one("#filter-bar").display


async def test_s_cycles_sort_and_the_cursor_stays_on_its_job(sim: Simulator, tmp_path: Path) -> None:
    ids = [finished_job(sim), active_job(sim), active_job(sim, "submitted"), finished_job(sim)]
    app = make_app(sim, tmp_path, job_ids=ids)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, *ids), "jobs")
        assert app.table.sort_mode == "status"
        assert rows(app)[:2] == [ids[1], ids[2]], "work in progress first"
        await select(pilot, app, ids[3])
        for mode in ("added", "id", "status"):
            await pilot.press("s")
            assert app.table.sort_mode == mode
            assert f"sort: {mode}" in str(app.query_one("#list-pane").border_title)
            assert app.table.selected_id == ids[3]
            if mode == "id":
                assert rows(app) == sorted(ids)


async def test_rows_update_in_place_and_the_cursor_follows_its_job(sim: Simulator, tmp_path: Path) -> None:
    ids = [active_job(sim) for _ in range(3)]
    app = make_app(sim, tmp_path, job_ids=ids)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, *ids), "jobs")
        target = rows(app)[0]
        await select(pilot, app, target)
        updated: list[tuple[str, str]] = []
        original = app.table.update_row

        def spy(job_id: str, columns: list[str]) -> None:
            updated.extend((job_id, column) for column in columns)
            original(job_id, columns)

        app.table.update_row = spy  # type: ignore[method-assign]
        sim.force_status(target, "finished")  # moves it below the jobs still processing
        await wait_for(pilot, lambda: cell(app, target, "status") == "✓ finished", "the change")
        assert rows(app)[-1] == target
        assert app.table.selected_id == target
        assert updated and all(row == target for row, _ in updated), "only the changed row is written"
        assert {column for _, column in updated} <= {"status", "outputs", "confirmed"}


async def test_the_list_opens_at_the_top_then_the_cursor_follows_its_job(sim: Simulator, tmp_path: Path) -> None:
    ids = [finished_job(sim), active_job(sim), active_job(sim)]
    app = make_app(sim, tmp_path, job_ids=ids)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, *ids), "jobs")
        top = rows(app)[0]
        assert app.table.selected_id == top and top != ids[0], "statuses arrived; the cursor stayed on top"
        sim.force_status(top, "error")  # no key pressed: it still follows its job down the list
        await wait_for(pilot, lambda: cell(app, top, "status") == "✗ error", "the change")
        assert rows(app)[0] != top and app.table.selected_id == top


async def test_p_pauses_and_resumes(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[active_job(sim)])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("p")
        assert app.session.poller.paused
        assert "paused" in screen_text(app)
        await pilot.press("p")
        assert not app.session.poller.paused
        await wait_for(pilot, lambda: "polling" in screen_text(app), "the running state")


async def test_help_lists_every_binding(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(Static).render())
        for binding in app.help_bindings():
            assert binding.tooltip and binding.tooltip in text
        for key in ("a", "x", "r", "c", "C", "i", "/", "p", "s", "?", "q"):
            assert f" {key}  " in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_binding_is_in_the_footer_or_help(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: screen_text(app).splitlines()[-1].strip(), "the footer")
        footer = screen_text(app).splitlines()[-1]
        for word in ("Add", "Remove", "Copy key", "Filter", "Sort", "Pause", "Help", "Quit"):
            assert word in footer
        await pilot.press("question_mark")
        help_text = str(app.screen.query_one(Static).render())
        assert "copy it as s3://bucket/key" in help_text and "copy the job id" in help_text


async def test_q_quits_and_saves(sim: Simulator, tmp_path: Path) -> None:
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert saved(tmp_path) == [job_id]


# -- copying -----------------------------------------------------------------------------------


async def test_c_C_and_i_copy_key_uri_and_id(sim: Simulator, tmp_path: Path) -> None:
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        outputs = app.watchlist.view(job_id, load=True).outputs()
        assert len(outputs) >= 2
        await pilot.press("c")
        await wait_for(pilot, lambda: app.clipboard == outputs[0].key, "the first key")
        first_key = outputs[0].key
        assert first_key is not None and first_key in str(app.query_one("#copied", Static).render())
        assert any("Sent OSC 52" in note and first_key in note for note in seen)
        await pilot.press("C")
        await wait_for(pilot, lambda: app.clipboard == f"s3://{outputs[0].bucket}/{outputs[0].key}", "the URI")
        await pilot.press("i")
        await wait_for(pilot, lambda: app.clipboard == job_id, "the id")
        # Enter moves into the outputs list; the highlighted output is what c copies.
        await pilot.press("enter")
        assert app.query_one(OutputList).has_focus
        await pilot.press("down", "down")
        await pilot.press("c")
        index = app.query_one(OutputList).highlighted
        assert index is not None and index > 0
        await wait_for(pilot, lambda: app.clipboard == outputs[index].key, "the highlighted key")


async def test_copy_without_outputs_says_so(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        await pilot.press("c", "C")
        await pilot.pause(0.2)
        assert app.clipboard == ""
        assert sum("has no outputs yet" in note for note in seen) == 2
        await pilot.press("i")  # the id can always be copied
        await wait_for(pilot, lambda: app.clipboard == job_id, "the id")


async def test_copy_waits_for_the_record_of_a_job_that_just_finished(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        await pilot.press("p")  # nothing but the refresh below may fetch it
        sim.force_status(job_id, "finished")
        # A list sweep saw the new status; the full record (with outputs) is not here yet.
        old = app.session.poller.states()[job_id]
        swept = JobState(job_id, status="finished", preset=old.preset, job=old.job, confirmed_at=T0)
        app.post_message(PollUpdated(PollUpdate(jobs=(swept,), changes=(), engine=app.session.poller.engine_state())))
        await wait_for(pilot, lambda: cell(app, job_id, "status") == "✓ finished", "the swept status")
        await pilot.press("c")
        assert any("copying when they arrive" in note for note in seen)
        key = sim.outputs(job_id)[0].key
        await wait_for(pilot, lambda: app.clipboard == key, "the key, once the record arrived")


async def test_copy_with_no_mechanism_keeps_the_text_on_screen(sim: Simulator, tmp_path: Path) -> None:
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id], copy=CopySettings(osc52=False, tmux=False, native=False))
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        await pilot.press("i")
        await wait_for(pilot, lambda: any("No clipboard available" in note for note in seen), "the toast")
        assert app.clipboard == ""
        assert job_id in str(app.query_one("#copied", Static).render())


async def test_copy_goes_to_the_tmux_buffer_inside_tmux(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = finished_job(sim)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_tmux = bin_dir / "tmux"
    fake_tmux.write_text(f"#!/bin/sh\ncat > {tmp_path / 'tmux-buffer'}\n")
    fake_tmux.chmod(fake_tmux.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    app = make_app(sim, tmp_path, job_ids=[job_id], copy=CopySettings(osc52=True, tmux=True, native=False))
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        await pilot.press("C")
        await wait_for(pilot, lambda: any("Copied via tmux buffer" in note for note in seen), "the toast")
    uri = app.clipboard
    assert uri.startswith("s3://") and (tmp_path / "tmux-buffer").read_text() == uri


# -- layout ------------------------------------------------------------------------------------


async def test_narrow_terminal_puts_the_detail_below_the_list(sim: Simulator, tmp_path: Path) -> None:
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        listing, detail = app.query_one("#list-pane").region, app.detail.region
        assert app.screen.has_class("-narrow")
        assert detail.y >= listing.bottom and detail.x == listing.x
        assert listing.right <= 80 and detail.bottom <= 23
        # Everything is reachable: Tab reaches the detail pane and its outputs.
        await pilot.press("tab")
        assert app.focused is app.detail
        await pilot.press("tab")
        assert isinstance(app.focused, OutputList)
        await pilot.press("z")  # zoom the detail pane to the whole screen, and back
        assert app.screen.maximized is app.detail
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_wide_terminal_puts_them_side_by_side(sim: Simulator, tmp_path: Path) -> None:
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        listing, detail = app.query_one("#list-pane").region, app.detail.region
        assert app.screen.has_class("-wide")
        assert detail.x >= listing.right and detail.y == listing.y
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        assert app.detail.region.y >= app.query_one("#list-pane").region.bottom


async def test_detail_pane_shows_every_field(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(
        preset="transcript",
        status="error",
        source={"sourceType": "uri", "uri": "https://media.example.org/uploads/silent.mp3", "language": "en"},
        error="Error: Failed to transcribe. " + "May be invalid audio or silent file. " * 4,
    )
    sim.set_extra(job_id, {"billingTier": "gold"})
    error = sim.record(job_id)["error"]
    app = make_app(sim, tmp_path, job_ids=[job_id])
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        await pilot.pause(0.6)
        text = screen_text(app)
        for expected in (
            job_id,
            "✗ error",
            "transcript",
            "https://media.example.org/uploads/silent.mp3",
            "Language  en",
            "billingTier",
            "gold",
            "Timeline",
            "first seen",
        ):
            assert expected in text, expected
        # The error wraps; it is never cut.
        assert " ".join(error.split()) in " ".join(detail_text(app, width=40).split())
        assert "silent file. May be invalid audio or silent file.\n" not in text
        lines = [line.strip(" │") for line in text.splitlines()]
        assert "May be invalid audio or silent file." in " ".join(lines)


# -- state -------------------------------------------------------------------------------------


async def test_watch_list_and_timeline_survive_a_restart(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    clock = FakeClock()
    app = make_app(sim, tmp_path, clock=clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, job_id)
        await wait_for(pilot, fetched(app, job_id), "job")
        clock.advance(42)
        sim.force_status(job_id, "finished")
        await wait_for(pilot, lambda: cell(app, job_id, "outputs") != "—", "the finished record")
        await pilot.press("q")
    timeline = [("processing", T0), ("finished", T0 + 42)]
    store = Store(tmp_path / "batchmon.db")
    store.open()
    assert store.timeline(job_id) == timeline
    store.close()

    again = make_app(sim, tmp_path, clock=clock)
    async with again.run_test(size=NARROW) as pilot:
        # Known at once from disk, before any request.
        assert rows(again) == [job_id]
        assert cell(again, job_id, "status") == "✓ finished"
        assert list(again.watchlist.detail(job_id).timeline) == timeline
        await pilot.pause(0.6)
        assert "42s in total" in detail_text(again)
        assert cell(again, job_id, "outputs") != "—", "the saved record is shown"


async def test_corrupt_state_file_is_reported_and_set_aside(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "batchmon.db").write_bytes(b"this is not a database, " * 200)
    app = make_app(sim, tmp_path)
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert any(note.startswith("Watch list") for note in seen)
        assert app.table.row_count == 0
    aside = [p.name for p in tmp_path.iterdir() if p.name.startswith("batchmon.db") and p.name != "batchmon.db"]
    assert [name for name in aside if not name.endswith(("-wal", "-shm"))], "the bad file is kept aside"


async def test_store_errors_become_a_notification_not_a_crash(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.store.database import Store, StoreError

    def broken_flush(_self: Store) -> int:
        raise StoreError("cannot write /nowhere: Read-only file system")

    monkeypatch.setattr(Store, "flush", broken_flush)
    job_id = finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: any("Read-only" in note for note in seen), "the store error", timeout=6)
        assert rows(app) == [job_id], "the watch list stays in memory"
    assert sum("Read-only" in note for note in seen) == 1, "said once, not on every save"


async def test_stale_rows_are_marked(sim: Simulator, tmp_path: Path) -> None:
    busy, done = active_job(sim), finished_job(sim)
    clock = FakeClock()
    app = make_app(sim, tmp_path, job_ids=[busy, done], clock=clock)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, busy, done), "jobs")
        assert cell(app, busy, "confirmed") == "just now"
        await pilot.press("p")  # nothing confirms the job any more
        clock.advance(130)
        await wait_for(pilot, lambda: cell(app, busy, "confirmed") == "stale 2m", "stale marking")
        assert "dim" in str(app.table.get_cell(busy, "confirmed").style)
        # A finished job cannot change, so its age alone does not make it stale...
        assert cell(app, done, "confirmed") == "2m ago"
        # ...nor does an unreachable API: its status is final. Active rows are marked.
        engine = EngineState(
            mode="offline",
            requests_made=3,
            requests_per_second=0,
            rate=20,
            last_error="connection refused",
            host="api.test:443",
            backoff_until=clock.now + 7,
        )
        app.post_message(PollUpdated(PollUpdate(jobs=(), changes=(), engine=engine)))
        await wait_for(pilot, lambda: "offline — retry in 7s (api.test:443)" in screen_text(app), "offline header")
        assert cell(app, done, "confirmed") == "2m ago"
        assert "dim" not in str(app.table.get_cell(done, "confirmed").style)
        assert cell(app, busy, "confirmed") == "stale 2m"


async def test_finish_and_failure_notify_and_ring_the_bell(sim: Simulator, tmp_path: Path) -> None:
    ok, bad = active_job(sim), active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[ok, bad])
    seen = record_notifications(app)
    bells: list[None] = []
    app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, ok, bad), "jobs")
        assert not bells, "first sightings are quiet"
        sim.force_status(ok, "finished")
        sim.force_status(bad, "error")
        # One toast for both, or one each (issue 11 gathers endings seen within a second).
        await wait_for(pilot, lambda: any("failed" in note for note in seen), "the failure toast")
        await wait_for(pilot, lambda: any("finished" in note for note in seen), "the finish toast")
        assert 1 <= len(bells) <= 2


async def test_bell_can_be_switched_off(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id], bell=False)
    seen = record_notifications(app)
    bells: list[None] = []
    app.bell = lambda: bells.append(None)  # type: ignore[method-assign]
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        sim.force_status(job_id, "finished")
        await wait_for(pilot, lambda: any("finished" in note for note in seen), "the toast")
        assert not bells


# -- safety ------------------------------------------------------------------------------------


async def test_server_text_is_shown_literally(sim: Simulator, tmp_path: Path) -> None:
    nasty = "boom \x1b[2J [bold red]x[/] \x07"
    job_id = sim.create_job(status="error", error=nasty, preset="[link=x]p[/link]")
    sim.set_extra(job_id, {"note\x1b]52;c;aGk=\x07": "[i]y[/i]"})
    app = make_app(sim, tmp_path, job_ids=[job_id])
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, fetched(app, job_id), "job")
        await pilot.pause(0.6)
        text = screen_text(app)
        assert "\x1b" not in text and "\x07" not in text
        assert "boom \\x1b[2J [bold red]x[/] \\x07" in text
        assert "[link=x]p[/link]" in text
        assert "[i]y[/i]" in text and "note\\x1b]52;c;aGk=\\x07" in text


async def test_a_poller_crash_is_shown_not_fatal(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[finished_job(sim)])

    async def broken() -> AsyncIterator[PollUpdate]:
        raise RuntimeError("engine exploded")
        yield  # pragma: no cover

    app.session.poller.updates = broken  # type: ignore[method-assign]
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: "polling stopped: engine" in screen_text(app), "the stopped state")
        assert any("Polling stopped: engine exploded" in note for note in seen)
        await pilot.press("s")  # still alive
        assert app.table.sort_mode == "added"


async def test_the_api_key_is_never_held_in_plain_text(sim: Simulator, tmp_path: Path) -> None:
    sim.set_api_key("sk-very-secret-key")
    settings = Settings(api_key=SecretStr("sk-very-secret-key"), api_url="http://sim/v1")
    app = build_app(settings, state_path=tmp_path / "s.db", transport=httpx2.ASGITransport(app=create_app(sim)))
    assert "sk-very-secret-key" not in repr(app.settings)
    assert all("sk-very-secret-key" not in repr(value) for value in vars(app).values())
    async with app.run_test(size=NARROW):
        assert "sk-very-secret-key" not in screen_text(app)


async def test_unauthorised_is_shown(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    sim.set_api_key("another-key")  # the app keeps the old one
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: "unauthorised" in screen_text(app), "the unauthorised state")
        await wait_for(pilot, lambda: cell(app, job_id, "confirmed").startswith("waiting"), "marking")
        assert "dim" in str(app.table.get_cell(job_id, "confirmed").style)


# -- plumbing ----------------------------------------------------------------------------------


def test_styles_are_found_in_a_checkout() -> None:
    assert (styles_dir() / "app.tcss").is_file()


async def test_demo_mode_serves_the_simulator_and_keeps_its_own_state() -> None:
    from tui.core import locations

    app = build_app(Settings(api_key=None), demo=True, clock=lambda: T0)
    assert app.watchlist.store.path == locations.state_db(demo=True)
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: len(app.watchlist) >= 20, "the demo jobs")
        await wait_for(pilot, lambda: "polling" in screen_text(app), "polling", timeout=8)
        assert "batchmon demo" in screen_text(app)
    assert not locations.state_db().exists(), "the real watch list is never touched"


# -- formatting rules --------------------------------------------------------------------------


def test_wrap_path_breaks_after_slashes_and_never_drops_text() -> None:
    from tui.ui.widgets.job_detail import wrap_path

    key = "acme-health/d47b0e19-6c2a-4f83-b5e1-0a9c8d7e6f54/transcript/visit-0412.json"
    lines = wrap_path(key, 40)
    assert "".join(lines) == key and all(len(line) <= 40 for line in lines)
    assert lines == ["acme-health/", "d47b0e19-6c2a-4f83-b5e1-0a9c8d7e6f54/", "transcript/visit-0412.json"]
    assert "".join(wrap_path("x" * 25, 10)) == "x" * 25  # no slash: folded
    assert wrap_path("", 10) == [""]


def test_freshness_texts_and_when_to_look_again() -> None:
    from tui.present.formatting import freshness, recheck_in

    def view(status: str | None, confirmed: float | None) -> JobView:
        return JobView(id="j", status=status, preset=None, job=None, added_at=T0, confirmed_at=confirmed)

    now = T0 + 1000
    assert freshness(view("processing", now - 3), now, 15, False) == ("just now", False)
    assert freshness(view("processing", now - 12), now, 15, False) == ("<1m ago", False)
    assert freshness(view("processing", now - 42), now, 15, False) == ("stale 40s", True)
    assert freshness(view("processing", now - 130), now, 15, False) == ("stale 2m", True)
    assert freshness(view("finished", now - 130), now, 15, False) == ("2m ago", False)
    # Ended jobs are never stale, not even while the API is unreachable: their status is final.
    assert freshness(view("finished", now - 130), now, 15, True) == ("2m ago", False)
    assert freshness(view("error", now - 4000), now, 15, True) == ("1h ago", False)
    assert freshness(view("finished", None), now, 15, True) == ("—", False)
    assert freshness(view("processing", now - 3), now, 15, True) == ("stale", True)
    assert freshness(view(None, None), T0 + 5, 15, False) == ("waiting", False)
    assert freshness(view(None, None), T0 + 30, 15, False) == ("waiting 30s", True)
    # The next change is never missed: at the returned time the text may differ, not before.
    for age in (0, 3, 9.5, 14, 16, 59, 61, 3599, 7300):
        v = view("processing", now - age)
        text = freshness(v, now, 15, False)
        later = recheck_in(v, now, 15)
        assert later > 0
        assert freshness(v, now + later * 0.999, 15, False) == text


# -- the virtual table -------------------------------------------------------------------------


class _TableApp(App[None]):
    """A JobTable alone, holding many made-up jobs (no poller, no store)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.table = JobTable(stale_after=15.0)
        self.count = count
        self.highlighted: list[str | None] = []
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        now = time.time()
        views = [
            JobView(id=f"{n:08x}-job", status="processing", preset="p", job=None, added_at=now - n, confirmed_at=now)
            for n in range(self.count)
        ]
        self.table.put(views, now, offline=False)
        self.table.focus()

    def on_job_table_highlighted(self, message: JobTable.Highlighted) -> None:
        self.highlighted.append(message.job_id)

    def on_job_table_selected(self, message: JobTable.Selected) -> None:
        self.selected.append(message.job_id)


async def test_a_long_list_scrolls_with_its_cursor_and_a_click_selects() -> None:
    app = _TableApp(5000)
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.table
        assert table.row_count == 5000 and table.selected_id == "00000000-job"
        await pilot.press("end")
        assert table.cursor_row == 4999
        assert table.scroll_y == table.max_scroll_y > 0, "the last row shows"
        assert "00001387-job"[:8] in screen_text(app)  # 4999 = 0x1387
        await pilot.press("home", "j", "j", "k", "pagedown")
        page = table.size.height - 1  # below the header
        assert table.cursor_row == 1 + page
        assert table.scroll_y == table.cursor_row - page + 1
        await pilot.click(table, offset=(5, 3))  # the header is line 0, then rows from scroll_y
        assert table.cursor_row == int(table.scroll_y) + 2
        assert app.selected == [table.selected_id]
        await pilot.pause()
        assert app.highlighted[-1] == table.selected_id
        assert screen_text(app).splitlines()[0].split() == [
            "Status",
            "Job",
            "Preset",
            "Source",
            "Out",
            "For",
            "Confirmed",
        ]


async def test_status_changes_and_new_rows_among_many_go_to_their_place() -> None:
    """A few changed rows in a big table are put in place one by one: the same order a full
    sort gives, and the cursor stays on its job."""
    app = _TableApp(3000)
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.table
        table.select("00000100-job")
        now = time.time()
        old = {job_id: table._views[job_id] for job_id in table.shown_ids()}
        rng = random.Random(7)
        changed = [
            old[job_id]._replace(status=rng.choice(["finished", "error", "submitted", None]))
            for job_id in rng.sample(sorted(old), 60)
        ]
        added = [
            JobView(
                id=f"new{n:05x}-job",
                status=rng.choice(["processing", None]),
                preset="p",
                job=None,
                added_at=now - rng.random() * 5000,
                confirmed_at=now,
            )
            for n in range(20)
        ]
        table.put([*changed, *added], now, offline=False)
        await pilot.pause()
        views = {**old, **{view.id: view for view in (*changed, *added)}}
        assert table.shown_ids() == sorted_ids("status", views, views)
        assert table.selected_id == "00000100-job"


async def test_an_idle_app_follows_another_instances_additions(sim: Simulator, tmp_path: Path) -> None:
    mine, theirs = finished_job(sim), finished_job(sim)
    app = make_app(sim, tmp_path, job_ids=[mine])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, fetched(app, mine), "first job")
        await wait_for(pilot, lambda: not app.watchlist.store.dirty, "the first save")
        other = Store(tmp_path / "batchmon.db")
        other.open()
        other.add([theirs], time.time())
        other.close()
        await wait_for(pilot, fetched(app, theirs), "the other instance's job", timeout=8)


async def test_filter_text_that_looks_like_markup_is_shown_as_typed(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[finished_job(sim)])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("slash", *"[/x", "[", *"red]")
        await pilot.pause()
        assert "filter: [/x[red]" in screen_text(app)


async def test_cursor_moves_do_not_rebuild_the_footer(sim: Simulator, tmp_path: Path) -> None:
    """Every footer rebuild left its old keys' widgets behind: the soak's memory grew with keys."""
    from tui.ui.widgets.footer import FittedFooter

    app = make_app(sim, tmp_path, job_ids=[finished_job(sim) for _ in range(5)])
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause(0.3)
        footer = app.screen.query_one(FittedFooter)
        rebuilt: list[int] = []
        original = footer.recompose

        async def counted() -> None:
            rebuilt.append(1)
            await original()

        footer.recompose = counted
        for key in "jkszzk" * 5:  # the soak's keys: moves, a sort, the detail pane zoomed and back
            await pilot.press(key)
        await pilot.pause(0.2)
        assert rebuilt == []  # 20 rebuilds before keys shown were compared
