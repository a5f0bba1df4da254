"""Pilot tests of the keys that change jobs: n (submit form), X (delete at Daily), x then u (undo)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from support import T0, FakeClock
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, Static

from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.sim import SimServer, Simulator, create_app
from tui.store.database import Store
from tui.ui.actions.jobs import UNDO_SECONDS
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from tui.ui.screens.main import MainScreen
from tui.ui.screens.submit_job import OTHER, SubmitScreen

SIZE = (120, 40)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=12, clock=lambda: T0)  # statuses change only when a test forces them


def make_app(sim: Simulator, tmp_path: Path, *, job_ids: list[str] | None = None, url: str | None = None,
             clock: FakeClock | None = None) -> BatchmonApp:  # fmt: skip
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url=url or "http://sim/v1",
        rate=20,
        interval=0.5,
        copy=CopySettings(osc52=True, tmux=False, native=False),
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join(job_ids or [])),
        state_path=tmp_path / "batchmon.db",
        transport=None if url else httpx2.ASGITransport(app=create_app(sim)),
        clock=clock or FakeClock(),
        flush_every=0.1,
        save_every=0.2,
        backoff_initial=0.05,
    )


async def wait_for(pilot: Pilot[None], condition: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def record_notifications(app: BatchmonApp) -> list[str]:
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
        seen.append(f"{title}: {message}" if title else message)
        original(message, title=title, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


def saved_timeline(path: Path, job_id: str) -> list[tuple[str, float]]:
    """The job's timeline as another process would read it from the store."""
    store = Store(path)
    store.open()
    try:
        return store.timeline(job_id)
    finally:
        store.close()


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.pause()
    await pilot.press(*text)


async def open_form(pilot: Pilot[None]) -> SubmitScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SubmitScreen), "the submit form")
    screen = pilot.app.screen
    assert isinstance(screen, SubmitScreen)
    return screen


# -- n: the submit form --------------------------------------------------------------------------


async def test_form_checks_fields_before_sending_and_keeps_them(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        await type_into(pilot, "#language", "en GB")
        await type_into(pilot, "#template", "call-{jobid}")
        assert "braces only in" in text_of(form, "#template-error")  # live, before sending
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SubmitScreen)
        assert "recording id is needed" in text_of(form, "#source-error")
        assert "not a language tag" in text_of(form, "#language-error")
        assert "nothing was sent" in text_of(form, "#form-error")
        assert len(sim) == 0 and sim.requests.count_status(200) >= 0
        assert not [e for e in sim.requests.entries() if e.method == "POST"]
        # Everything typed is still there.
        assert form.query_one("#language", Input).value == "en GB"
        assert form.query_one("#template", Input).value == "call-{jobid}"
        assert app.screen.focused is form.query_one("#source", Input)  # the first bad field


async def test_template_preview_substitutes_tokens(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        assert "DOMAIN/JOB-ID/transcript/output." in text_of(form, "#template-preview")
        await type_into(pilot, "#template", "{domain_name}-{job_id}")
        assert "transcript/DOMAIN-JOB-ID." in text_of(form, "#template-preview")
        assert text_of(form, "#template-error") == ""


async def test_server_rejection_is_shown_in_the_form_with_every_field_kept(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        form.query_one("#preset", Select).value = OTHER
        await pilot.pause()
        await type_into(pilot, "#preset-other", "dance")  # a preset only the server can refuse
        await type_into(pilot, "#source", "rec-7")
        await type_into(pilot, "#language", "pt-BR")
        await type_into(pilot, "#template", "x-{job_id}")
        form.query_one("#punctuate", Checkbox).value = True
        await pilot.press("enter")
        await wait_for(pilot, lambda: "refused" in text_of(form, "#form-error"), "the rejection")
        assert "preset must be one of" in text_of(form, "#form-error")
        assert app.screen is form
        values = {name: form.query_one(f"#{name}", Input).value for name in ("preset-other", "source", "language")}
        assert values == {"preset-other": "dance", "source": "rec-7", "language": "pt-BR"}
        assert form.query_one("#template", Input).value == "x-{job_id}"
        assert form.query_one("#punctuate", Checkbox).value is True
        assert len(sim) == 0
        # Fixed, it goes through.
        form.query_one("#preset", Select).value = "summarize"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the form to close")
        assert len(sim) == 1


async def test_submitted_job_is_watched_at_once_and_selected(sim: Simulator, tmp_path: Path) -> None:
    other = sim.create_job(status="finished")
    app = make_app(sim, tmp_path, job_ids=[other])
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        form.query_one("#source-type", Select).value = "uri"
        await pilot.pause()
        form.query_one("#source", Input).value = "https://media.example.org/talk.mp"
        await type_into(pilot, "#source", "4")
        await type_into(pilot, "#language", "de")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the form to close")
        new = sim.ids()[0]
        assert sim.record(new)["input"] == {
            "sourceType": "uri",
            "uri": "https://media.example.org/talk.mp4",
            "language": "de",
        }
        await wait_for(pilot, lambda: app.main.selected_id == new, "the new job watched and selected")
        assert new in app.watchlist
        assert any("Submitted" in line and new in line for line in seen)


async def test_escape_cancels_the_form(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await type_into(pilot, "#source", "rec")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the form to close")
        assert len(sim) == 0 and len(app.watchlist) == 0


async def test_lost_answer_is_checked_and_never_sent_twice(tmp_path: Path) -> None:
    with SimServer(Simulator(seed=13)) as server:
        app = make_app(server.sim, tmp_path, url=server.base_url)
        seen = record_notifications(app)
        async with app.run_test(size=SIZE) as pilot:
            await open_form(pilot)
            await type_into(pilot, "#source", "rec-lost")
            server.faults.lose_answers = 1
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the form to close")
            assert len(server.sim) == 1  # one POST reached the server and it was not repeated
            new = server.sim.ids()[0]
            await wait_for(pilot, lambda: app.main.selected_id == new, "the new job watched and selected")
            assert new in app.watchlist
            assert any("answer was lost" in line and new in line for line in seen)
            posts = [e for e in server.sim.requests.entries() if e.method == "POST"]
            assert [e.status for e in posts] == [0]


# -- X: delete at Daily ---------------------------------------------------------------------------


async def test_X_asks_naming_the_job_then_deletes_it(sim: Simulator, tmp_path: Path) -> None:
    source = {"sourceType": "recordingId", "recordingId": "rec-x"}
    job = sim.create_job(preset="summarize", status="finished", source=source)
    app = make_app(sim, tmp_path, job_ids=[job])
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.main.selected_id == job, "the job")
        await wait_for(pilot, lambda: app.watchlist.view(job, load=True).job is not None, "its record")
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), "the confirmation")
        question = text_of(app.screen, "#delete-question")
        assert job in question and "summarize" in question and "rec-x" in question
        assert "outputs in Daily's storage are deleted too" in str(app.screen.query_one(".warning", Static).render())
        await pilot.press("enter")  # focus starts on Keep
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the dialog to close")
        assert job in sim
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: job not in sim, "the delete")
        # Gone from Daily, so gone from the watch list (issue 19 item 4), as k9s drops a deleted pod.
        await wait_for(pilot, lambda: job not in app.watchlist and job not in app.table.shown_ids(), "the row to go")
        assert any("Deleted" in line and "No longer watched" in line for line in seen)
        assert not [e for e in sim.requests.entries() if e.method == "DELETE" and e.status != 200]


async def test_X_with_a_lost_answer_rechecks_with_a_get(tmp_path: Path) -> None:
    with SimServer(Simulator(seed=14)) as server:
        job = server.sim.create_job(status="finished")
        app = make_app(server.sim, tmp_path, url=server.base_url, job_ids=[job])
        seen = record_notifications(app)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.main.selected_id == job, "the job")
            server.faults.lose_answers = 1
            await pilot.press("X")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDeleteScreen), "the confirmation")
            await pilot.press("y")
            await wait_for(pilot, lambda: any("Deleted" in line for line in seen), "the outcome")
            assert any("answer was lost" in line for line in seen)
            assert job not in server.sim
            deletes = [e for e in server.sim.requests.entries() if e.method == "DELETE"]
            assert [e.status for e in deletes] == [0]


# -- x then u: undo ----------------------------------------------------------------------------


async def test_x_can_be_undone_with_u_for_a_few_seconds(sim: Simulator, tmp_path: Path) -> None:
    first, second = sim.create_job(status="finished"), sim.create_job(status="finished")
    clock = FakeClock()
    app = make_app(sim, tmp_path, job_ids=[first, second], clock=clock)
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.watchlist.view(second).status == "finished", "the jobs")
        # Seen is not saved: the timeline reaches the store on the save timer, so wait for it.
        await wait_for(pilot, lambda: bool(saved_timeline(tmp_path / "batchmon.db", second)), "the timeline saved")
        app.main.table.select(second)
        await pilot.pause()
        await pilot.press("x")
        assert second not in app.watchlist
        assert any("u to undo" in line for line in seen)
        store = Store(tmp_path / "batchmon.db")
        store.open()
        try:
            assert second not in store.load()
            assert store.timeline(second), "the observed timeline stays in the store"
        finally:
            store.close()
        await pilot.press("u")
        assert second in app.watchlist and app.main.selected_id == second
        assert second in sim
        # Later than the undo window, u does nothing.
        await pilot.press("x")
        clock.advance(UNDO_SECONDS + 1)
        await pilot.press("u")
        assert second not in app.watchlist
        assert seen[-1] == "Nothing to undo"


async def test_lost_answer_without_a_job_keeps_the_form_and_offers_to_send_again(tmp_path: Path) -> None:
    with SimServer(Simulator(seed=15)) as server:
        app = make_app(server.sim, tmp_path, url=server.base_url)
        async with app.run_test(size=SIZE) as pilot:
            form = await open_form(pilot)
            form.query_one("#preset", Select).value = OTHER
            await pilot.pause()
            form.query_one("#preset-other", Input).value = "dance"  # refused, so no job appears
            await type_into(pilot, "#source", "r")
            server.faults.lose_answers = 1
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "no matching job appeared" in text_of(form, "#form-error"), "the outcome")
            assert app.screen is form and str(form.query_one("#send").label) == "Send again"

            def posts() -> list[int]:
                return [e.status for e in server.sim.requests.entries() if e.method == "POST"]

            assert posts() == [0]  # nothing was sent a second time on its own
            await pilot.press("ctrl+s")  # the user's call
            await wait_for(pilot, lambda: "refused" in text_of(form, "#form-error"), "the second answer")
            assert posts() == [0, 400] and len(server.sim) == 0
