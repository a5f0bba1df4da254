"""Pilot tests of reading outputs: the preview screen (o, Enter, search, y, L, d, Escape) and the
main screen's L, d and D, against the simulator's real files."""

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
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownBlock

from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.outputs.render import render
from tui.sim import Faults, SimServer, Simulator, create_app
from tui.sim.content import render as sim_render
from tui.sim.files import files_root
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.screens.overwrite import ConfirmOverwrite
from tui.ui.screens.preview import PreviewScreen
from tui.ui.widgets.job_detail import OutputList
from tui.ui.widgets.transfer import TransferBar

SIZE = (100, 30)
HOSTILE = "Speaker 0: \x1b]52;c;cHduZWQ=\x07\x1b[31m[red]not red[/red] [link=x]y[/link]\n"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=11, clock=lambda: T0)


@pytest.fixture
def faults() -> Faults:
    return Faults()


def make_app(sim: Simulator, tmp_path: Path, job_ids: list[str], faults: Faults | None = None) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr(sim.api_key),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        copy=CopySettings(osc52=True, tmux=False, native=False),
        download_dir=tmp_path / "downloads",
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join(job_ids)),
        state_path=tmp_path / "batchmon.db",
        flush_every=0.1,
        transport=httpx2.ASGITransport(app=create_app(sim, faults)),
        clock=FakeClock(),
    )


def served(sim: Simulator, job_id: str, name: str) -> bytes:
    """The bytes the simulator serves for one of the job's files."""
    rendered = sim_render(name, job_id=job_id, preset=sim.job(job_id).preset)
    assert rendered is not None
    return rendered[0].encode()


def record_notifications(app: BatchmonApp) -> list[str]:
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
        seen.append(f"{title}: {message}" if title else message)
        original(message, title=title, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def ready(pilot: Pilot[Any], app: BatchmonApp, job_id: str) -> None:
    """The job shows its full record and is selected."""

    def fetched() -> bool:
        view = app.watchlist.view(job_id, load=True)
        return view is not None and view.job is not None and view.status == view.job.status

    await wait_for(pilot, fetched, "the job's record")
    app.table.select(job_id)
    await pilot.pause()


async def previewed(pilot: Pilot[Any], app: BatchmonApp) -> PreviewScreen:
    """The preview screen, once its text is on screen."""
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and app.screen.rendered, "the preview")
    screen = app.screen
    assert isinstance(screen, PreviewScreen)
    await pilot.pause()
    return screen


def shown_text(screen: PreviewScreen) -> str:
    """What the text view or the Markdown view holds."""
    if screen.markdown_view.display:
        return "\n".join(str(block.content) for block in screen.markdown_view.query(MarkdownBlock))
    return screen.text_view.text


# -- opening and closing ---------------------------------------------------------------------------


async def test_o_on_the_table_previews_the_main_output_and_escape_returns(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        assert screen.link is not None and (screen.link.kind, screen.link.format) == ("transcription", "txt")
        assert screen.text_view.text == served(sim, job_id, "transcript.txt").decode()
        assert screen.text_view.has_focus and not screen.markdown_view.display
        title = str(screen.title_bar.render())
        assert job_id[:8] in title and "transcription txt" in title
        await pilot.press("escape")
        assert not isinstance(app.screen, PreviewScreen)
        assert app.table.has_focus and app.table.selected_id == job_id


async def test_enter_on_an_output_previews_that_one_and_escape_goes_back_to_the_list(
    sim: Simulator, tmp_path: Path
) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("enter")  # into the outputs list
        outputs = app.query_one(OutputList)
        assert outputs.has_focus
        formats = [ref.format for ref in app.watchlist.view(job_id, load=True).outputs()]
        await pilot.press(*["down"] * formats.index("srt"))
        await pilot.press("enter")
        screen = await previewed(pilot, app)
        assert screen.link is not None and screen.link.format == "srt"
        first = screen.text_view.text.splitlines()[0]
        assert first.startswith("00:00:00  Speaker 0: ") and "-->" not in screen.text_view.text
        await pilot.press("escape")
        assert outputs.has_focus and outputs.highlighted == formats.index("srt")


async def test_o_in_the_outputs_list_previews_the_highlighted_output(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="soap-notes", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        kinds = [ref.kind for ref in app.watchlist.view(job_id, load=True).outputs()]
        await pilot.press("enter", *["down"] * kinds.index("concept"), "o")
        screen = await previewed(pilot, app)
        assert screen.link is not None and screen.link.kind == "concept"
        assert screen.text_view.text == render("concept", "json", served(sim, job_id, "concept.json")).text


async def test_summary_and_soap_are_shown_as_markdown(sim: Simulator, tmp_path: Path) -> None:
    summary = sim.create_job(preset="summarize", status="finished")
    soap = sim.create_job(preset="soap-notes", status="finished")
    app = make_app(sim, tmp_path, [summary, soap])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, soap)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        assert screen.markdown_view.display and screen.query_one(Markdown)
        text = shown_text(screen)
        for section in ("Subjective", "Objective", "Assessment", "Plan"):
            assert section in text
        assert "Acute viral pharyngitis." in text and "{" not in text
        await pilot.press("escape")
        await ready(pilot, app, summary)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        assert screen.link is not None and screen.link.kind == "summary"
        assert "Action items" in shown_text(screen)


async def test_app_keys_do_not_act_on_the_hidden_job_list(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        await previewed(pilot, app)
        await pilot.press("x", "a", "p")  # remove, add, pause: not while previewing
        assert isinstance(app.screen, PreviewScreen)
        assert job_id in app.watchlist.ids() and not app.session.poller.paused


# -- loading, errors, hostile files ----------------------------------------------------------------


async def test_a_loading_indicator_shows_while_the_ui_stays_live(
    sim: Simulator, tmp_path: Path, faults: Faults
) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id], faults)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        faults.latency = 3.0  # the access-link answer is slow (a busy machine must not outrun it)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), "the screen")
        screen = app.screen
        assert isinstance(screen, PreviewScreen)
        assert screen.loading_box.display and not screen.text_view.display
        started = time.monotonic()
        await pilot.press("slash")  # keys are answered meanwhile (search waits for the text)
        assert time.monotonic() - started < 0.5 and screen.loading_box.display
        faults.latency = 0.0
        await previewed(pilot, app)
        assert not screen.loading_box.display and screen.text_view.display


async def test_a_job_that_is_not_finished_says_so_without_a_screen(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(status="processing", processing_in=None, done_in=None)
    app = make_app(sim, tmp_path, [job_id])
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        for key in ("o", "L", "d", "D"):
            await pilot.press(key)
        assert not isinstance(app.screen, PreviewScreen)
        assert sum("has not finished (it is processing)" in note for note in seen) == 4


async def test_a_job_deleted_meanwhile_is_reported_in_the_preview(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        sim.delete(job_id)
        await pilot.press("o")
        await wait_for(pilot, lambda: any("is gone" in note for note in seen), "the toast")
        screen = app.screen
        assert isinstance(screen, PreviewScreen)
        assert "is gone" in str(screen.error.render()) and screen.rendered is None
        await pilot.press("escape")
        assert not isinstance(app.screen, PreviewScreen)


async def test_a_failing_api_is_a_short_toast(sim: Simulator, tmp_path: Path, faults: Faults) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id], faults)
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        faults.status, faults.status_paths = 403, "access-link"
        await pilot.press("L")
        await wait_for(pilot, lambda: any("HTTP 403" in note for note in seen), "the toast")
        assert app.clipboard == "" and not any("Traceback" in note for note in seen)


async def test_hostile_file_content_is_shown_literally(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui.sim.files.render", lambda _name, **_: (HOSTILE, "text/plain"))
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        text = screen.text_view.text
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b]52;c;cHduZWQ=\\x07" in text and "[red]not red[/red] [link=x]y[/link]" in text
        # What the terminal receives: the markup stays literal, no escape survives.
        line = "".join(segment.text for segment in screen.text_view.render_line(0))
        assert "[red]not red[/red]" in line


async def test_hostile_summary_markdown_is_shown_literally(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = "# Summary\n\n" + HOSTILE + "\n[click](https://evil.example/)\n"
    monkeypatch.setattr("tui.sim.files.render", lambda _name, **_: (summary, "text/plain"))
    job_id = sim.create_job(preset="summarize", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        assert screen.markdown_view.display
        await pilot.pause(0.2)
        text = shown_text(screen)
        assert "[red]not red[/red]" in text and "\\x1b]52;c;" in text and "\x1b" not in text


async def test_binary_file_gets_a_note(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.sim.files.render", lambda _name, **_: ("\x00\x01PK" * 10, "application/zip"))
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        assert screen.note.display and "binary, 40 bytes" in str(screen.note.render())


# -- search ----------------------------------------------------------------------------------------


async def test_search_highlights_and_steps_through_matches(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=(100, 12)) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        lines = screen.text_view.text.splitlines()
        rows = [i for i, line in enumerate(lines) if "speaker 1" in line.lower()]
        assert len(rows) >= 2
        await pilot.press("slash", *"speaker 1", "enter")
        pager = screen.text_view
        assert pager.has_focus  # n and N go to the screen
        assert str(screen.match_count.render()) == f"1/{len(rows)}"
        assert [pager.text[start:end] for start, end in pager.matches] == ["Speaker 1"] * len(rows)

        def current_row() -> int:
            assert pager.current is not None
            return pager.row_of(pager.matches[pager.current][0])

        assert current_row() == rows[0]
        await pilot.press("n")
        assert current_row() == rows[1]
        await pilot.press("N", "N")  # back past the first: wraps to the last
        assert current_row() == rows[-1]
        assert str(screen.match_count.render()) == f"{len(rows)}/{len(rows)}"
        # The current match is scrolled into view of a 12-row terminal, and painted.
        top = int(pager.scroll_y)
        assert top <= rows[-1] < top + pager.scrollable_content_region.height
        painted = pager.render_line(rows[-1] - top)
        current_style = pager.get_component_rich_style("text-pager--current", partial=True)
        assert any(
            seg.text == "Speaker 1" and seg.style and seg.style.bgcolor == current_style.bgcolor for seg in painted
        )
        # Capitals make the search case-sensitive; Escape leaves the search box, not the preview.
        await pilot.press("slash", *"SPEAKER")
        assert str(screen.match_count.render()) == "no match"
        await pilot.press("escape")
        assert isinstance(app.screen, PreviewScreen) and screen.text_view.has_focus


async def test_search_in_markdown_marks_the_block(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="soap-notes", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        await pilot.press("slash", *"ibuprofen", "enter")
        marked = list(screen.query("MarkdownBlock.-match"))
        assert len(marked) == 1 and isinstance(marked[0], MarkdownBlock) and "ibuprofen" in str(marked[0].content)


# -- copy and download -----------------------------------------------------------------------------


async def test_y_copies_the_text_and_L_the_link(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.clipboard == screen.text_view.text, "the text")
        await pilot.press("L")
        await wait_for(pilot, lambda: app.clipboard.startswith(f"{files_root('http://sim/v1')}/files/"), "the link")
        assert app.clipboard.split("?")[0].endswith(f"/{job_id}/transcript.txt") and "sig=" in app.clipboard
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(sim))) as client:
            response = await client.get(app.clipboard)  # the link works, and needs no key
        assert response.content == served(sim, job_id, "transcript.txt")


async def test_d_downloads_and_asks_before_overwriting(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    seen = record_notifications(app)
    target = tmp_path / "downloads" / job_id / "summary.txt"
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        await previewed(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, target.exists, "the file")
        assert target.read_bytes() == served(sim, job_id, "summary.txt")
        await wait_for(pilot, lambda: any(str(target) in note for note in seen), "the path in a toast")
        target.write_text("my edits")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmOverwrite), "the question")
        assert "summary.txt" in str(app.screen.query_one(Static).render())
        await pilot.press("n")
        await wait_for(pilot, lambda: any("Kept the existing summary.txt" in note for note in seen), "kept")
        assert target.read_text() == "my edits"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmOverwrite), "the question again")
        await pilot.press("y")
        await wait_for(pilot, lambda: target.read_bytes() == served(sim, job_id, "summary.txt"), "the overwrite")
        assert isinstance(app.screen, PreviewScreen)
        assert [p.name for p in target.parent.iterdir()] == ["summary.txt"]  # no temporary file left


async def test_main_screen_L_and_d_use_the_highlighted_output(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        formats = [ref.format for ref in app.watchlist.view(job_id, load=True).outputs()]
        await pilot.press("enter", *["down"] * formats.index("vtt"))
        await pilot.press("L")
        await wait_for(pilot, lambda: app.clipboard.split("?")[0].endswith("/transcript.vtt"), "the vtt link")
        assert any("Copied download link of transcription vtt" in note for note in seen)
        await pilot.press("d")
        target = tmp_path / "downloads" / job_id / "transcription.vtt"
        await wait_for(pilot, target.exists, "the vtt file")
        assert target.read_bytes() == served(sim, job_id, "transcript.vtt")


async def test_main_screen_D_downloads_every_output(sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="soap-notes", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    seen = record_notifications(app)
    folder = tmp_path / "downloads" / job_id
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("D")
        await wait_for(pilot, lambda: any(note.startswith("Downloaded 6 files") for note in seen), "the toast")
        names = {
            "transcription.json": "transcript.json",
            "transcription.srt": "transcript.srt",
            "transcription.txt": "transcript.txt",
            "transcription.vtt": "transcript.vtt",
            "soap.json": "soap.json",
            "concept.json": "concept.json",
        }
        assert sorted(p.name for p in folder.iterdir()) == sorted(names)
        for ours, theirs in names.items():
            assert (folder / ours).read_bytes() == served(sim, job_id, theirs)
        # Again: one question for all six, and keeping them changes nothing.
        (folder / "soap.json").write_text("{}")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmOverwrite), "the question")
        assert "6 files already exist" in str(app.screen.query_one(Static).render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: any(note.startswith("Nothing downloaded") for note in seen), "kept")
        assert (folder / "soap.json").read_text() == "{}"


async def test_a_long_summary_is_shown_as_its_source_in_the_pager(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_summary = "Summary\n\n" + "A sentence about what was decided today.\n" * 400
    monkeypatch.setattr("tui.sim.files.render", lambda _name, **_: (long_summary, "text/plain"))
    job_id = sim.create_job(preset="summarize", status="finished")
    app = make_app(sim, tmp_path, [job_id])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, job_id)
        await pilot.press("o")
        screen = await previewed(pilot, app)
        assert screen.text_view.display and not screen.markdown_view.display
        assert screen.text_view.text.startswith("## Summary\n\nA sentence")
        assert "long: shown as Markdown source" in str(screen.note.render())
        await pilot.press("end")
        assert screen.text_view.scroll_y == screen.text_view.max_scroll_y > 0


async def test_download_progress_shows_while_the_file_trickles_in(tmp_path: Path) -> None:
    # Over a real loopback connection: the ASGI transport hands over a body only when complete.
    with SimServer(Simulator(jobs=0, seed=3), Faults()) as server:
        job_id = server.sim.create_job(preset="summarize", status="finished")
        settings = Settings(
            api_key=SecretStr(server.sim.api_key),
            api_url=server.base_url,
            rate=20,
            interval=0.5,
            copy=CopySettings(osc52=True, tmux=False, native=False),
            download_dir=tmp_path / "downloads",
        )
        app = build_app(
            settings, picked=pick_job_ids("\n".join([job_id])), state_path=tmp_path / "batchmon.db", flush_every=0.1
        )
        # From the job list, d takes the highlighted output, the first if none is (as c does).
        size = len(served(server.sim, job_id, "transcript.json"))
        target = tmp_path / "downloads" / job_id / "transcription.json"
        seen = record_notifications(app)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app, job_id)
            server.faults.file_rate = size  # bytes/s: the file takes about a second
            await pilot.press("d")
            await wait_for(pilot, lambda: app.screen.query(TransferBar), "the progress bar")
            bar = app.screen.query_one(TransferBar)
            await wait_for(pilot, lambda: bar.display and (bar.bar.progress or 0) > 0, "progress")
            assert "Downloading transcription.json" in str(bar.label.render()) and not target.exists()
            assert bar.bar.total == size
            await pilot.press("d")  # one download at a time
            assert any("A download is running already" in note for note in seen)
            await wait_for(pilot, target.exists, "the file", timeout=10)
            await wait_for(pilot, lambda: not bar.display, "the bar to go")


async def test_a_file_streams_with_progress_and_escape_cancels_its_download(tmp_path: Path) -> None:
    with SimServer(Simulator(jobs=0, seed=3), Faults()) as server:
        job_id = server.sim.create_job(preset="transcript", status="finished")
        size = len(served(server.sim, job_id, "transcript.txt"))
        settings = Settings(
            api_key=SecretStr(server.sim.api_key),
            api_url=server.base_url,
            rate=20,
            interval=0.5,
            copy=CopySettings(osc52=True, tmux=False, native=False),
            download_dir=tmp_path / "downloads",
        )
        app = build_app(
            settings, picked=pick_job_ids("\n".join([job_id])), state_path=tmp_path / "batchmon.db", flush_every=0.1
        )
        seen = record_notifications(app)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app, job_id)
            server.faults.file_rate = size / 1.5  # bytes/s: the file takes a second and a half
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), "the screen")
            screen = app.screen
            assert isinstance(screen, PreviewScreen)
            await wait_for(pilot, lambda: 0 < (screen.load_bar.progress or 0) < size, "part of the file")
            assert screen.loading_box.display and screen.load_bar.total == size
            await previewed(pilot, app)
            await pilot.press("d")
            await wait_for(pilot, lambda: screen.transfer.display, "the download")
            await pilot.press("escape")  # leaving the preview cancels its download
            await wait_for(pilot, lambda: any("cancelled" in note for note in seen), "the toast")
            folder = tmp_path / "downloads" / job_id
            assert not folder.exists() or list(folder.iterdir()) == []  # no partial file, final or temporary
