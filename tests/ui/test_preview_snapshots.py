"""SVG snapshots of the preview screen: a transcript, a summary and a SOAP note (pytest-textual-snapshot).

A seeded simulator on a frozen clock and fixed job ids pin every pixel. Regenerate after a
deliberate change with `pytest tests/test_preview_snapshots.py --snapshot-update`, then look.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from textual.pilot import Pilot

from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.sim import Simulator, create_app
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.screens.preview import PreviewScreen

T0 = 1_700_000_000.0
SIZE = (100, 30)
JOBS = {
    "transcript": "a1b2c3d4-0000-4000-8000-00000000000a",
    "summarize": "b2c3d4e5-0000-4000-8000-00000000000b",
    "soap-notes": "c3d4e5f6-0000-4000-8000-00000000000c",
}

Snap = Callable[..., bool]


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def make_app(preset: str, tmp_path: Path) -> BatchmonApp:
    sim = Simulator(jobs=0, seed=5, clock=lambda: T0)
    job_id = sim.create_job(preset=preset, status="finished", job_id=JOBS[preset])
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        copy=CopySettings(osc52=True, tmux=False, native=False),
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join([job_id])),
        state_path=tmp_path / "batchmon.db",
        transport=httpx2.ASGITransport(app=create_app(sim)),
        clock=lambda: T0,
    )


def open_preview(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, BatchmonApp)
        deadline = time.monotonic() + 10
        while not any(app.watchlist.view(j, load=True).job for j in app.watchlist.ids()):
            assert time.monotonic() < deadline, "the job was not fetched"
            await pilot.pause(0.05)
        await pilot.press("o")
        while not (isinstance(app.screen, PreviewScreen) and app.screen.rendered):
            assert time.monotonic() < deadline, "the preview did not load"
            await pilot.pause(0.05)
        await pilot.press(*keys)
        await pilot.pause(0.3)

    return run_before


def test_preview_transcript_with_a_search(snap_compare: Snap, tmp_path: Path) -> None:
    """Plain transcript text; `/speaker 1` then `n`: the second match is selected."""
    app = make_app("transcript", tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_preview("slash", *"speaker 1", "enter", "n"))


def test_preview_summary(snap_compare: Snap, tmp_path: Path) -> None:
    """The summary as Markdown: its title lines become headings, its items a list."""
    assert snap_compare(make_app("summarize", tmp_path), terminal_size=SIZE, run_before=open_preview())


def test_preview_soap_note(snap_compare: Snap, tmp_path: Path) -> None:
    """The SOAP JSON as Subjective / Objective / Assessment / Plan sections."""
    assert snap_compare(make_app("soap-notes", tmp_path), terminal_size=SIZE, run_before=open_preview())
