"""Pilot tests of the everyday comforts: palette, keymaps, themes, short ids, g/G, sorting by header."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from support import T0
from test_app import NARROW, WIDE, make_app, paste_ids, record_notifications, screen_text, wait_for
from textual.command import CommandList, CommandPalette
from textual.widgets import Static

from tui.core.config import ConfigError, Settings
from tui.sim import Simulator
from tui.ui.factory import build_app
from tui.ui.keymap import binding_id, check_keymap, key_is_valid
from tui.ui.screens.add_jobs import AddJobsScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.widgets.job_table import COLUMN_KEYS, PAD, fit

A = "3f2a9c1b-0000-4000-8000-000000000001"
B = "3f2a9c1b-0000-4000-8000-000000000002"
C = "7b00ffee-1111-4111-8111-111111111111"


@pytest.fixture
def sim() -> Simulator:
    simulator = Simulator(seed=11, clock=lambda: T0)
    for job_id, preset in ((A, "transcript"), (B, "soap-notes"), (C, "summarize")):
        simulator.create_job(job_id=job_id, preset=preset, status="finished")
    return simulator


def hits(app: object) -> int:
    found = app.screen.query(CommandList)  # type: ignore[attr-defined]
    return found.first().option_count if found else 0


def keymapped(app_settings: Settings, keymap: dict[str, str]) -> Settings:
    return Settings(**{**app_settings.__dict__, "keymap": keymap})


# -- command palette ---------------------------------------------------------------------------


async def test_palette_runs_an_action_by_name(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Add")
        await wait_for(pilot, lambda: hits(app), "palette hits")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AddJobsScreen), "the add dialog, opened from the palette")


async def test_palette_lists_every_main_binding_and_profile(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: hits(app) > 10, "the command list")
        options = app.screen.query_one(CommandList)
        text = "\n".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))
        for name in (
            "Add",
            "Remove",
            "Refresh",
            "Copy key",
            "Copy s3:// URI",
            "Copy job id",
            "Filter",
            "Sort",
            "Reverse sort",
            "Pause",
            "Zoom detail",
            "Help",
            "Quit",
            "Profile",
            "Submit",
            "Delete",
            "Read",
            "Download all",
            "Copy link",
            "Theme",
        ):
            assert name in text, name


async def test_palette_profile_says_which(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path)
    seen = record_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("ctrl+p", *"Profile")
        await wait_for(pilot, lambda: hits(app), "palette hits")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("Profile" in line for line in seen), "the profile toast")
        assert any("default" in line and "http://sim/v1" in line for line in seen)


# -- keymaps -----------------------------------------------------------------------------------


async def test_a_remapped_key_runs_its_action_and_shows_in_footer_and_help(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A])
    app.set_keymap({"add": "f2", "help": "f1"})
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, AddJobsScreen), "a is no longer bound"
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, AddJobsScreen), "the add dialog on f2")
        await pilot.press("escape")
        await pilot.pause()
        assert "f2 Add" in screen_text(app).splitlines()[-1]
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help on f1")
        help_text = str(app.screen.query_one(Static).render())
        assert " f2 " in help_text and " f1 " in help_text and "\n a " not in help_text


def test_keymap_from_config_reaches_the_app(sim: Simulator, tmp_path: Path) -> None:
    base = make_app(sim, tmp_path).settings
    app = build_app(keymapped(base, {"add": "f2"}), state_path=tmp_path / "other.db")
    assert app._keymap == {"add": "f2"}


@pytest.mark.usefixtures("sim")
def test_bad_keymap_is_a_config_error(tmp_path: Path) -> None:
    base = Settings(api_key=SecretStr("k"))
    with pytest.raises(ConfigError, match=r"unknown binding id 'ad' \(did you mean 'add'"):
        build_app(keymapped(base, {"ad": "f2"}), state_path=tmp_path / "x.db")
    with pytest.raises(ConfigError, match="'ctrl\\+' is not a key"):
        build_app(keymapped(base, {"add": "ctrl+"}), state_path=tmp_path / "x.db")


def test_binding_ids_and_keys() -> None:
    assert binding_id("app.add") == "add"
    assert binding_id("app.copy('uri')") == "copy_uri"
    assert binding_id("reverse_sort") == "reverse_sort"
    for good in ("f2", "ctrl+n", "G", "?", "question_mark", "shift+tab", "escape", "alt+x"):
        assert key_is_valid(good), good
    for bad in ("", "ctrl+", "hyperdrive", "cmd+x", "fn+f2", " "):
        assert not key_is_valid(bad), bad
    assert check_keymap({"first": "home"}, {"first"}) == {"first": "home"}


# -- themes ------------------------------------------------------------------------------------


async def test_theme_is_remembered_across_restarts(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A])
    async with app.run_test(size=NARROW) as pilot:
        assert app.theme != "nord"
        app.theme = "nord"
        await pilot.pause()
    again = make_app(sim, tmp_path)
    async with again.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


async def test_status_colours_follow_the_theme(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.table.get_cell(A, "status").plain == "✓ finished", "the status")
        colours = {}
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await pilot.pause()
            await pilot.pause()
            style = app.table.get_cell(A, "status").style
            colours[theme] = style.color  # type: ignore[union-attr]
            assert style.color is not None  # type: ignore[union-attr]
            assert style.color.get_truecolor().hex.lower() == app.get_css_variables()["text-success"].lower()  # type: ignore[union-attr]
        assert colours["textual-dark"] != colours["textual-light"]


# -- moving and sorting ------------------------------------------------------------------------


async def test_g_and_G_go_to_the_first_and_last_row(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A, B, C])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("G")
        assert app.table.cursor_row == 2
        await pilot.press("g")
        assert app.table.cursor_row == 0


async def test_header_click_sorts_and_a_second_click_reverses(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[C, A, B])
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 3, "the rows")
        layout = fit(app.table.scrollable_content_region.width)
        before = [index for index, _, _ in layout].index(COLUMN_KEYS.index("preset"))
        preset_x = sum(width + 2 * PAD for _, width, _ in layout[:before]) + 2
        await pilot.click(app.table, offset=(preset_x, 0))
        assert app.table.sort_mode == "preset" and not app.table.sort_reverse
        await wait_for(pilot, lambda: app.table.shown_ids() == [B, C, A], "sorted by preset")
        assert "sort: preset" in str(app.main.list_pane.border_title)
        await pilot.click(app.table, offset=(preset_x, 0))
        assert app.table.sort_reverse
        assert app.table.shown_ids() == [A, C, B]
        assert "sort: preset ↑" in str(app.main.list_pane.border_title)


async def test_S_reverses_the_sort(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[C, A, B])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("s", "s")  # status -> added -> id
        assert app.table.sort_mode == "id"
        assert app.table.shown_ids() == [A, B, C]
        await pilot.press("S")
        assert app.table.shown_ids() == [C, B, A]


# -- short ids in the add dialog ---------------------------------------------------------------


async def test_add_dialog_takes_a_unique_short_id_and_goes_to_the_job(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A, B, C])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, "7B00ff")
        assert not isinstance(app.screen, AddJobsScreen)
        assert app.table.selected_id == C


async def test_add_dialog_names_the_candidates_of_an_ambiguous_short_id(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A, B, C])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, "3f2a9c1b")
        assert isinstance(app.screen, AddJobsScreen), "stays open"
        error = str(app.screen.query_one("#add-error", Static).render())
        assert "ambiguous" in error and A in error and B in error


async def test_add_dialog_says_an_unknown_short_id_is_unknown(sim: Simulator, tmp_path: Path) -> None:
    app = make_app(sim, tmp_path, job_ids=[A])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("a")
        await paste_ids(pilot, "abcdef12")
        assert isinstance(app.screen, AddJobsScreen)
        assert "no watched job id starts with 'abcdef12'" in str(app.screen.query_one("#add-error", Static).render())


async def test_no_color_keeps_the_status_symbols(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(sim, tmp_path, job_ids=[A])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: "✓ finished" in screen_text(app), "the finished job's symbol")
        assert "✓ 1" in screen_text(app).splitlines()[0]
