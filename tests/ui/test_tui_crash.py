"""An unexpected exception in the TUI: traceback to the log, one line on stderr, exit 70, never the key."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.cli.common import EXIT_BUG
from tui.cli.main import main
from tui.core import locations

KEY = "sk-tui-crash-canary-0b3d"
JOB_ID = "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"


class HeadlessApp(App[None]):
    """Stands in for the batchmon app that `_tui` builds; headless, since pytest has no terminal."""

    def run(self, **kwargs: Any) -> Any:
        return super().run(headless=True, **kwargs)


class CrashesOnMount(HeadlessApp):
    def compose(self) -> ComposeResult:
        yield Static("jobs")

    def on_mount(self) -> None:
        api_key = KEY  # a local a report with locals would show  # noqa: F841
        raise RuntimeError("widget bug")


class ExitsWithMessage(HeadlessApp):
    def on_mount(self) -> None:
        self.exit(return_code=0, message="batchmon: nothing to watch")


def run_tui(app: App[None], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DAILY_API_KEY", KEY)
    monkeypatch.setattr("tui.ui.factory.build_app", lambda *_args, **_kwargs: app)
    try:
        return main([JOB_ID])
    finally:
        for handler in logging.getLogger("tui").handlers:
            handler.flush()


def test_a_crash_is_logged_said_in_one_line_and_exits_70(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    code = run_tui(CrashesOnMount(), monkeypatch)
    out, err = capfd.readouterr()
    # 0.1.0: Textual's traceback with locals on stderr, and exit 1 (the code for "a job ended in error").
    assert code == EXIT_BUG
    assert err == f"batchmon: internal error; details in {locations.log_file()}\n"
    assert KEY not in out + err
    logged = locations.log_file().read_text()
    assert "Traceback" in logged and "RuntimeError: widget bug" in logged and "on_mount" in logged
    assert KEY not in logged


def test_an_exit_message_still_reaches_the_user(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run_tui(ExitsWithMessage(), monkeypatch) == 0
    assert "batchmon: nothing to watch" in capfd.readouterr().err


def test_files_written_never_hold_the_key(monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path) -> None:
    run_tui(CrashesOnMount(), monkeypatch)
    for path in isolated_dirs.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path
