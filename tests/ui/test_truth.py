"""The TUI tells the truth and keeps the user safe: header states, a refused key fixed without a
restart, keys typed after `/`, hostile server text, and no lost watch list."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import (
    WIDE,
    active_job,
    cell,
    detail_text,
    fetched,
    finished_job,
    make_app,
    rows,
    saved,
    screen_text,
    wait_for,
)
from textual.widgets import Input

from tui.core import locations
from tui.sim import Simulator

SECRET = "sk-truth-canary-9d3b7e"


@pytest.fixture
def sim() -> Simulator:
    from support import T0

    return Simulator(seed=11, clock=lambda: T0)


def header(app: object) -> str:
    return screen_text(app).splitlines()[0]  # type: ignore[arg-type]


# -- the header --------------------------------------------------------------------------------


async def test_header_says_idle_when_every_job_has_ended(sim: Simulator, tmp_path: Path) -> None:
    busy = active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[busy, finished_job(sim)])
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: "⟳ polling" in header(app), "polling")
        sim.force_status(busy, "finished")
        await wait_for(pilot, lambda: "idle" in header(app), "idle", timeout=6)
        assert "⟳ polling" not in header(app) and "req/s" not in header(app)


async def test_header_offline_counts_down_and_names_the_host(tmp_path: Path) -> None:
    from pydantic import SecretStr
    from support import unreachable_url

    from tui.api.ids import pick_job_ids
    from tui.core.config import Settings
    from tui.ui.factory import build_app

    url = unreachable_url()
    settings = Settings(api_key=SecretStr("k"), api_url=url, rate=20, interval=0.5)
    job = "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"
    app = build_app(
        settings,
        picked=pick_job_ids(job),
        state_path=tmp_path / "batchmon.db",
        flush_every=0.1,
        save_every=0.2,
        backoff_initial=2.0,
    )
    host = url.split("//")[1].split("/")[0]
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: "offline — retry in" in header(app), "offline", timeout=20)
        assert f"({host})" in header(app)
        first = header(app)
        await wait_for(pilot, lambda: header(app) != first, "the countdown moves", timeout=3)
        assert "stale" in cell(app, job, "confirmed") or "waiting" in cell(app, job, "confirmed")


# -- a refused key, fixed without a restart ----------------------------------------------------


async def test_p_keeps_unauthorised_and_picks_up_a_key_from_the_config_file(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    good = sim.api_key
    sim.set_api_key(SECRET)
    app = make_app(sim, tmp_path, job_ids=[job_id])  # started with a key the server...
    sim.set_api_key(good)  # ...no longer accepts (revoked)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: "unauthorised" in header(app), "unauthorised")
        assert "unauthorised" in detail_text(app), "the detail pane says why the job waits"
        await pilot.press("p")  # tries the key again (it is still refused): never "paused"
        assert not app.session.poller.paused and "paused" not in header(app)
        await wait_for(pilot, lambda: "unauthorised" in header(app), "unauthorised again")
        # The user puts the right key into the config file and presses p: no restart.
        config = locations.config_file()
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'api_key = "{good}"\n')
        await pilot.press("p")
        await wait_for(pilot, lambda: "⟳ polling" in header(app), "polling again")
        await wait_for(pilot, fetched(app, job_id), "the job confirmed")
        assert "unauthorised" not in detail_text(app)


async def test_the_config_is_reread_on_a_timer_while_unauthorised(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui.ui.app.KEY_RECHECK", 0.2)
    job_id = active_job(sim)
    good = sim.api_key
    sim.set_api_key(SECRET)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    sim.set_api_key(good)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: "unauthorised" in header(app), "unauthorised")
        monkeypatch.setenv("DAILY_API_KEY", good)  # as a re-read environment would give it
        await wait_for(pilot, fetched(app, job_id), "recovered without a key press")
        assert "⟳ polling" in header(app)


async def test_K_sets_a_masked_session_key_that_is_never_shown_or_saved(sim: Simulator, tmp_path: Path) -> None:
    job_id = active_job(sim)
    app = make_app(sim, tmp_path, job_ids=[job_id])
    sim.set_api_key(SECRET)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: "unauthorised" in header(app), "unauthorised")
        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.password, "the masked field")
        await pilot.press(*"bad key")  # a space: refused, the dialog stays
        await pilot.press("enter")
        assert "spaces" in screen_text(app) and "bad key" not in screen_text(app)
        app.focused.value = ""
        await pilot.press(*SECRET)
        assert SECRET not in screen_text(app), "masked while typed"
        await pilot.press("enter")
        await wait_for(pilot, fetched(app, job_id), "polling with the new key")
        assert SECRET not in screen_text(app)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert not locations.config_file().exists(), "never saved unless asked"


# -- input safety --------------------------------------------------------------------------------


def send_at_once(app: object, keys: str) -> None:
    """Keys queued together, as a fast typist or a paste in a terminal delivers them (no idle between)."""
    from textual import events

    for char in keys:
        event = events.Key("slash" if char == "/" else char, char)
        event.set_sender(app)  # type: ignore[arg-type]
        app._driver.send_message(event)  # type: ignore[attr-defined]


async def test_keys_typed_right_after_slash_go_into_the_filter(sim: Simulator, tmp_path: Path) -> None:
    ids = [active_job(sim) for _ in range(3)]
    app = make_app(sim, tmp_path, job_ids=ids)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 3, "rows")
        await pilot.pause(0.2)
        send_at_once(app, "/xap")
        await wait_for(pilot, lambda: app.main.filter_box.value == "xap", "the filter text")
        assert len(app.watchlist) == 3, "x removed nothing"
        assert app.screen is app.main, "a opened no dialog"
        assert not app.session.poller.paused, "p did not pause"
        await pilot.press("escape")
        await pilot.press("slash", "x", "a", "enter")  # Pilot's own pace, too
        assert app.main.filter_box.value == "xa" and len(app.watchlist) == 3
    assert len(saved(tmp_path)) == 3


@pytest.mark.parametrize("text", ["[/", "[link=http:", "[red]abc", "[/]x[b]"])
async def test_filter_text_in_the_border_title_is_inert(sim: Simulator, tmp_path: Path, text: str) -> None:
    app = make_app(sim, tmp_path, job_ids=[active_job(sim)])
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("slash", *text, "enter")
        await wait_for(pilot, lambda: f"filter: {text}" in screen_text(app), "the title with the filter text")
        await pilot.press("escape")
        assert "filter:" not in screen_text(app)


# -- hostile server text -------------------------------------------------------------------------

ESCAPES = "\x1b]52;c;aGFja2Vk\x07 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x1b[2J [bold red]x[/] [link=http:"
MEGA = 1_000_000


async def test_hostile_and_enormous_server_text_is_inert_and_bounded(sim: Simulator, tmp_path: Path) -> None:
    from test_app import record_notifications

    job_id = active_job(sim)
    sim.set_extra(
        job_id, {f"note{ESCAPES}": ESCAPES, "huge": "x" * MEGA, "n" * 100_000: 1, **{f"f{i}": i for i in range(200)}}
    )
    app = make_app(sim, tmp_path, job_ids=[job_id])
    seen = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, fetched(app, job_id), "the job")
        sim.force_status(job_id, "error")
        sim.set_extra(job_id, {"error": ESCAPES + "E" * MEGA, "preset": "[red]p" + "p" * MEGA})
        await wait_for(pilot, lambda: any("failed" in note for note in seen), "the failure toast")
        await wait_for(pilot, lambda: app.watchlist.detail(job_id).job.error, "the error record")  # type: ignore[union-attr]
        await pilot.pause(0.3)
        text, detail = screen_text(app), detail_text(app)
        for shown_text in (text, detail, *seen):
            assert "\x1b" not in shown_text and "\x07" not in shown_text
        assert "\\x1b]52;c;aGFja2Vk\\x07" in detail and "[bold red]x[/]" in detail and "[link=http:" in detail
        assert "more characters not shown" in detail, "a cut value says so"
        assert "more fields not shown" in detail
        assert len(detail) < 60_000, "the pane shows a bounded amount"
        assert max(len(note) for note in seen) < 2_000, "toasts are bounded"
        preset = cell(app, job_id, "preset")
        assert preset.startswith("[red]p") and len(preset) < 200, "a cell holds a bounded, literal text"


# -- no lost data --------------------------------------------------------------------------------


async def test_a_database_deleted_while_the_tui_runs_is_written_again(sim: Simulator, tmp_path: Path) -> None:
    from test_app import record_notifications

    ids = [finished_job(sim) for _ in range(5)]
    app = make_app(sim, tmp_path, job_ids=ids)
    seen = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 5, "rows")
        (tmp_path / "batchmon.db").unlink()
        await wait_for(pilot, lambda: any("saved the 5 watched jobs again" in note for note in seen), "the rescue")
        assert sorted(saved(tmp_path)) == sorted(ids), "on disk again while running"
        assert len(rows(app)) == 5
    assert sorted(saved(tmp_path)) == sorted(ids)


async def test_an_added_job_is_on_disk_before_any_save_timer(sim: Simulator, tmp_path: Path) -> None:
    from test_app import paste_ids

    app = make_app(sim, tmp_path)
    app.save_every = 3600.0  # no timer save during the test
    job_id = finished_job(sim)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, job_id)
        await wait_for(pilot, lambda: job_id in app.watchlist, "the add")
        assert saved(tmp_path) == [job_id]


async def test_the_header_words_for_every_engine_state() -> None:
    from textual.app import App, ComposeResult

    from tui.poller import EngineState
    from tui.ui.app import styles_dir
    from tui.ui.widgets.header import StatusHeader

    header = StatusHeader()

    class HeaderApp(App[None]):  # the header's status colours come from the app's stylesheet
        CSS_PATH = styles_dir() / "app.tcss"

        def compose(self) -> ComposeResult:
            yield header

    def words(now: float = 1000.0, **fields: object) -> str:
        header.clock = lambda: now
        header.now = now
        base: dict[str, object] = {"mode": "running", "requests_made": 9, "requests_per_second": 2.0, "rate": 5.0}
        header.engine = EngineState(**{**base, **fields})  # type: ignore[arg-type]
        return header._engine_text().plain

    async with HeaderApp().run_test():
        assert words() == "⟳ polling  2.0/5 req/s "
        assert words(idle=True, requests_per_second=0.4).startswith("✓ idle") and "req/s" not in words(idle=True)
        assert words(mode="paused") == "⏸ paused (p resumes) "
        offline = words(mode="offline", backoff_until=1007.2, host="api.daily.co:443", last_error="refused")
        assert offline == "✗ offline — retry in 8s (api.daily.co:443) "
        assert words(mode="offline", backoff_until=None, host="h:1").startswith("✗ offline — retrying (h:1)")
        storm = words(mode="backing-off", backoff_until=1030.0, last_error="HTTP 503 [b]x\x1b[2J")
        assert storm.startswith("⧗ backing off — retry in 30s (HTTP 503 [b]x\\x1b[2J)")
        refused = words(mode="unauthorised", retry_at=1029.5, idle=True)
        assert refused.startswith("✗ unauthorised") and "K enters one" in refused and "30s" in refused
