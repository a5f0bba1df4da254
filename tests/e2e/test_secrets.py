"""The API key never reaches a crash report, a file batchmon writes, or a log."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr
from rich.console import Console
from rich.traceback import Traceback

from tui.cli.main import main
from tui.core.config import Settings
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app

KEY = "sk-crash-report-canary-4f1e"
JOB_ID = "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"


def exploding_transport() -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"  # the key really was in play
        raise RuntimeError("transport bug")

    return httpx2.MockTransport(handler)


async def test_crash_report_with_locals_never_shows_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refresh_directly(self: BatchmonApp) -> None:
        # An unhandled error with the client's own frames on the stack, as a bug would leave it.
        await self.client.get_job(JOB_ID)

    monkeypatch.setattr(BatchmonApp, "action_refresh", refresh_directly)
    settings = Settings(api_key=SecretStr(KEY), api_url="http://api.test/v1")
    app = build_app(settings, state_path=tmp_path / "batchmon.db", transport=exploding_transport())

    async def refresh_once() -> None:
        async with app.run_test() as pilot:
            await pilot.press("r")
            await pilot.pause()

    with pytest.raises(RuntimeError, match="transport bug") as crash:
        await refresh_once()
    # What Textual prints when an app dies: a Rich traceback with every frame's locals.
    console = Console(record=True, width=200, color_system=None)
    console.print(Traceback.from_exception(crash.type, crash.value, crash.tb, show_locals=True, locals_max_length=5))
    report = console.export_text()
    assert "RuntimeError" in report and "transport bug" in report
    assert KEY not in report


def test_files_and_log_never_hold_the_key(monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path) -> None:
    monkeypatch.setenv("DAILY_API_KEY", KEY)
    monkeypatch.setenv("DAILY_API_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setattr("tui.cli.main._tui", lambda _args: 1 / 0)  # a bug in batchmon, logged with its traceback
    assert main([JOB_ID]) == 70
    for handler in logging.getLogger("tui").handlers:
        handler.flush()
    written = [path for path in isolated_dirs.rglob("*") if path.is_file()]
    assert any(path.name == "batchmon.log" for path in written)
    assert "ZeroDivisionError" in "".join(path.read_text(errors="replace") for path in written)
    for path in written:
        assert KEY not in path.read_text(errors="replace"), path


async def test_a_key_set_in_the_tui_is_held_only_as_a_secret(tmp_path: Path, isolated_dirs: Path) -> None:
    from textual.widgets import Input

    from tui.sim import Simulator, create_app

    sim = Simulator(seed=3)
    sim.set_api_key(KEY)
    settings = Settings(api_key=SecretStr("sk-old-refused"), api_url="http://sim/v1")
    app = build_app(settings, state_path=tmp_path / "batchmon.db", transport=httpx2.ASGITransport(app=create_app(sim)))
    async with app.run_test() as pilot:
        await pilot.press("K")
        await pilot.pause()
        assert isinstance(app.focused, Input) and app.focused.password
        await pilot.press(*KEY, "enter")
        await pilot.pause()
        assert app.client._http.auth._key.get_secret_value() == KEY  # type: ignore[union-attr]  # in use
        # Nothing the app holds shows the key in its repr (a crash report prints these).
        for holder in (app, app.session, app.client, app.session.poller, app.watchlist):
            assert all(KEY not in repr(value) for value in vars(holder).values()), holder
        assert all(KEY not in repr(value) for value in vars(app.client._http.auth).values())
        assert all(not (isinstance(w, Input) and KEY in w.value) for w in app.screen.query(Input))
    for handler in logging.getLogger("tui").handlers:
        handler.flush()
    for path in isolated_dirs.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
