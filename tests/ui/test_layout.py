"""Issue 11 layout: columns fitted to the width, long tokens wrapped whole, a footer that keeps Help and Quit."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from textual.app import App
from textual.pilot import Pilot

from tui.core.config import Settings
from tui.present.wrap import wrap_tokens
from tui.sim import Simulator, create_app
from tui.ui.factory import build_app
from tui.ui.widgets.job_table import COLUMN_KEYS, COLUMNS, fit, layout_width


def shown(width: int) -> list[str]:
    return [COLUMN_KEYS[index] for index, _, _ in fit(width)]


@pytest.mark.parametrize("width", range(14, 260))
def test_the_columns_never_need_sideways_scrolling(width: int) -> None:
    assert layout_width(fit(width)) <= width


def test_narrow_tables_keep_the_most_wanted_columns() -> None:
    assert shown(37) == ["status", "id", "preset"]
    assert shown(57) == ["status", "id", "preset", "confirmed"]
    assert shown(5) == ["status"]  # something shows however narrow


def test_wide_tables_show_whole_ids_and_more_columns() -> None:
    widths = {COLUMN_KEYS[index]: width for index, width, _ in fit(125)}
    assert widths["id"] == 36
    assert {"elapsed", "added", "source", "outputs"} <= set(widths)
    assert set(shown(400)) == set(COLUMN_KEYS)


def test_ids_grow_by_whole_groups() -> None:
    for width in range(24, 260):  # from where the id column shows
        widths = {COLUMN_KEYS[index]: w for index, w, _ in fit(width)}
        assert widths["id"] in (8, 13, 18, 23, 36)


def test_no_status_or_age_is_cut_at_its_least_width() -> None:
    least = {column.key: column.width for column in COLUMNS}
    for text in ("● processing", "⊘ not found"):
        assert len(text) <= least["status"]
    for text in ("waiting 16s", "waiting 59m", "stale 50s", "just now"):
        assert len(text) <= least["confirmed"]


def test_long_tokens_break_after_slashes_and_hyphens_only() -> None:
    key = "sim-domain/21fdac3a-f325-4fbe-9065-6c8fbb4e5c11/transcript/standup-notes.json"
    lines = wrap_tokens(key, 40)
    assert "".join(lines) == key
    assert all(len(line) <= 40 for line in lines)
    assert all(line.endswith(("/", "-")) for line in lines[:-1])


def test_words_that_fit_move_whole_to_the_next_line() -> None:
    text = "Failed to transcribe board-meeting-2024-05-14.mp4 (no speech)"
    lines = wrap_tokens(text, 30)
    assert lines == ["Failed to transcribe", "board-meeting-2024-05-14.mp4", "(no speech)"]


def test_only_a_piece_longer_than_a_line_is_cut() -> None:
    assert wrap_tokens("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert wrap_tokens("", 10) == [""]
    assert wrap_tokens("one\ntwo", 10) == ["one", "two"]


@pytest.mark.parametrize("width", [30, 40, 60, 80, 120])
async def test_the_footer_always_keeps_help_and_quit(width: int, tmp_path: Path) -> None:
    sim = Simulator(jobs=3, seed=2)
    settings = Settings(api_key=SecretStr(sim.api_key), api_url="http://sim/v1", rate=20, interval=0.5)
    app = build_app(settings, state_path=tmp_path / "b.db", transport=httpx2.ASGITransport(app=create_app(sim)))
    async with app.run_test(size=(width, 20)) as pilot:
        footer = await last_line(pilot, app, lambda line: "q Quit" in line)
        assert "? Help" in footer and "q Quit" in footer
        assert footer.startswith("a Add") or width < 30
        await pilot.resize_terminal(200, 20)
        await last_line(pilot, app, lambda line: "p Pause" in line and "q Quit" in line)  # widening brings keys back


async def last_line(pilot: Pilot[Any], app: App[Any], good: Callable[[str], bool]) -> str:
    """The screen's last line (the footer), once `good` says it is; fails after 5 s."""
    deadline = time.monotonic() + 5
    while True:
        line = [strip.text for strip in app.screen._compositor.render_strips()][-1]
        if good(line):
            return line
        assert time.monotonic() < deadline, f"footer: {line!r}"
        await pilot.pause(0.05)
