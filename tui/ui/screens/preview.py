"""The preview screen: one output file, rendered for reading, with search, copy and download."""

from __future__ import annotations

import asyncio
import bisect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, LoadingIndicator, Markdown, ProgressBar, Static
from textual.widgets.markdown import MarkdownBlock

from tui.api import errors as api_errors
from tui.outputs import OutputError, OutputLink, Outputs
from tui.outputs.choose import pick_link
from tui.outputs.render import Rendered, render
from tui.present.text import printable
from tui.ui.screens.transfers import download_links, problem
from tui.ui.widgets.pager import TextPager
from tui.ui.widgets.transfer import TransferBar

log = logging.getLogger(__name__)

# Above this, Markdown is shown as its source in the pager: Textual's Markdown widget builds a
# widget per block, about 0.1-0.3 s per KB here (a summary is usually 1-5 KB).
MARKDOWN_LIMIT = 8_000


@dataclass(frozen=True)
class Wanted:
    """Which output to show: kind and format (None: the job's main output), and position."""

    kind: str | None = None
    format: str | None = None
    index: int = 0


class PreviewScroll(VerticalScroll):
    """The scroller around rendered Markdown, with the same pager keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "scroll_up", "Up", show=False),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("b", "page_up", "Page up", show=False),
        Binding("space", "page_down", "Page down", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]


class PreviewScreen(Screen[None]):
    """Fetches (in a worker, the UI stays live), renders and shows one output of one job."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next match"),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("y", "copy_text", "Copy text"),
        Binding("L", "copy_link", "Copy link"),
        Binding("d", "download", "Download"),
    ]
    DEFAULT_CSS = """
    PreviewScreen {
        layout: vertical;
    }
    #preview-title {
        height: 1;
        background: $panel;
        color: $text;
        text-style: bold;
        padding: 0 1;
    }
    #preview-note {
        height: auto;
        color: $text-warning;
        padding: 0 1;
        display: none;
    }
    #preview-loading {
        height: 5;
        align: center middle;
    }
    #preview-loading LoadingIndicator {
        height: 1;
    }
    #preview-loading ProgressBar {
        width: auto;
    }
    #preview-error {
        color: $text-error;
        padding: 1 2;
        display: none;
    }
    #preview-text, #preview-markdown {
        height: 1fr;
        display: none;
        border: none;
    }
    #preview-markdown MarkdownBlock.-match {
        background: $warning 30%;
    }
    #preview-search {
        height: 1;
        display: none;
        background: $boost;
    }
    #preview-search Static {
        width: auto;
        padding: 0 1;
    }
    #preview-search Input {
        width: 1fr;
        height: 1;
    }
    """

    def __init__(
        self,
        outputs: Outputs,
        job_id: str,
        *,
        preset: str | None,
        wanted: Wanted,
        folder: Path,
        copy: Callable[[str, str], object],
    ) -> None:
        super().__init__()
        self.outputs = outputs
        self.job_id = job_id
        self.preset = preset
        self.wanted = wanted
        self.folder = folder
        self.copy = copy  # the app's copy path (OSC 52, tmux buffer, native tool)
        self.link: OutputLink | None = None
        self.rendered: Rendered | None = None
        self.matches: list[tuple[int, int]] = []  # (start, end) of the search term in the text shown
        self.match: int | None = None  # index into matches of the current one
        self._query = ""
        self._line_starts: list[int] = [0]
        self.title_bar = Static(id="preview-title")
        self.note = Static(id="preview-note")
        self.loading_box = Vertical(id="preview-loading")
        self.load_bar = ProgressBar(show_eta=False)
        self.error = Static(id="preview-error")
        self.text_view = TextPager(id="preview-text")
        self.markdown_view = PreviewScroll(id="preview-markdown")
        self.search_bar = Horizontal(id="preview-search")
        self.search_box = Input(placeholder="search", id="preview-search-box", compact=True)
        self.match_count = Static(id="preview-match-count")
        self.transfer = TransferBar(id="preview-transfer")

    def compose(self) -> ComposeResult:
        yield self.title_bar
        yield self.note
        with self.loading_box:
            yield LoadingIndicator()
            yield self.load_bar
        yield self.error
        yield self.text_view
        yield self.markdown_view
        with self.search_bar:
            yield Static("Search")
            yield self.search_box
            yield self.match_count
        yield self.transfer
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p: see the help screen

    def on_mount(self) -> None:
        self._set_title()
        self._load()

    def _set_title(self, size: int | None = None) -> None:
        what = self.link.label if self.link else " ".join(p for p in (self.wanted.kind, self.wanted.format) if p)
        title = Text.assemble(f"Job {printable(self.job_id)[:8]}  ", (printable(what or "main output"), "bold"))
        if size is not None:
            title.append(f"  {size:,} bytes", style="dim")
        title.append("  esc: back", style="dim")
        self.title_bar.update(title)

    # -- loading ------------------------------------------------------------------------------

    @work(exclusive=True, group="preview-load", exit_on_error=False)
    async def _load(self) -> None:
        try:
            links = await self.outputs.links(self.job_id)
            wanted = self.wanted
            link = pick_link(links, kind=wanted.kind, format=wanted.format, index=wanted.index, preset=self.preset)
            if link is None:
                what = "no such output" if links else "no outputs"
                self._failed(f"Job {printable(self.job_id)[:8]} has {what} to preview")
                return
            self.link = link
            self._set_title()
            fetched = await self.outputs.read(self.job_id, link, progress=self._loading)
            self.link = fetched.link  # a fresh one if the first had expired
            rendered = await asyncio.to_thread(
                render, link.kind, link.format, fetched.data, truncated=fetched.truncated
            )
        except (api_errors.ApiError, OutputError) as exc:
            self._failed(problem(exc, self.job_id))
            return
        except Exception as exc:  # a bug must show as a line, not end the app
            log.exception("preview failed")
            self._failed(f"Could not show this output: {printable(exc)}")
            return
        self._set_title(fetched.size if fetched.size is not None else len(fetched.data))
        self.show(rendered)

    def _loading(self, done: int, total: int | None) -> None:
        self.load_bar.update(total=total, progress=done)

    def _failed(self, message: str) -> None:
        self.loading_box.display = False
        self.error.update(Text(message))
        self.error.display = True
        self.notify(message, severity="error", timeout=6, markup=False)

    def show(self, rendered: Rendered) -> None:
        """Put rendered text on screen (Markdown, or a text view for plain or very long text)."""
        self.rendered = rendered
        self.loading_box.display = False
        note = rendered.note
        markdown = rendered.markdown and len(rendered.text) <= MARKDOWN_LIMIT
        if rendered.markdown and not markdown:
            note = "; ".join(filter(None, [note, "long: shown as Markdown source"]))
        if not rendered.text and not note:
            note = "empty file"
        if note:
            self.note.update(Text(note))
            self.note.display = True
        if markdown:
            # Search maps a match to the block holding its source line.
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", rendered.text)]
            self.markdown_view.mount(Markdown(rendered.text, open_links=False))
            self.markdown_view.display = True
            self.markdown_view.focus()
        else:
            self.text_view.display = True
            self.text_view.load(rendered.text)
            self.text_view.focus()

    # -- search -------------------------------------------------------------------------------

    def action_search(self) -> None:
        if self.rendered is None:
            return
        self.search_bar.display = True
        self.search_box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.search_box:
            self._find(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is self.search_box:
            if not event.value:
                self.search_bar.display = False
            self._body().focus()  # so n and N step through the matches

    def _find(self, query: str) -> None:
        """Every match of `query` (case ignored unless it has capitals); the current one is the
        first at or after the top of the view."""
        self._query = query
        text = self._shown_text()
        if not query:
            self.matches, self.match = [], None
        else:
            flags = 0 if any(c.isupper() for c in query) else re.IGNORECASE
            self.matches = [(m.start(), m.end()) for m in re.finditer(re.escape(query), text, flags)]
            top = 0 if self.markdown_view.display else self.text_view.top_offset()
            starts = [start for start, _ in self.matches]
            self.match = bisect.bisect_left(starts, top) % len(starts) if starts else None
        self._show_match()

    def action_next_match(self) -> None:
        self._step(1)

    def action_previous_match(self) -> None:
        self._step(-1)

    def _step(self, direction: int) -> None:
        if not self.matches or self.match is None:
            if self._query:
                self.notify(f"No match for {printable(self._query)!r}", severity="warning", timeout=3, markup=False)
            return
        self.match = (self.match + direction) % len(self.matches)
        self._show_match()

    def _show_match(self) -> None:
        self.match_count.update(
            f"{self.match + 1}/{len(self.matches)}" if self.match is not None else "no match" if self._query else ""
        )
        if self.markdown_view.display:
            self._mark_block(self.matches[self.match][0] if self.match is not None else None)
        else:
            self.text_view.mark(self.matches, self.match)
            self.text_view.show_current()

    def _mark_block(self, offset: int | None) -> None:
        """Mark the (innermost) Markdown block holding `offset` of the source and scroll to it."""
        blocks = list(self.markdown_view.query(MarkdownBlock))
        for block in blocks:
            block.remove_class("-match")
        if offset is None:
            return
        line = bisect.bisect_right(self._line_starts, offset) - 1
        around = [b for b in blocks if b.source_range[0] <= line < b.source_range[1]]
        if around:
            block = min(around, key=lambda b: b.source_range[1] - b.source_range[0])
            block.add_class("-match")
            self.markdown_view.scroll_to_widget(block, center=True, animate=False)

    def _shown_text(self) -> str:
        if self.markdown_view.display:
            return self.rendered.text if self.rendered else ""
        return self.text_view.text

    def _body(self) -> TextPager | VerticalScroll:
        return self.markdown_view if self.markdown_view.display else self.text_view

    # -- copy, download, back -----------------------------------------------------------------

    def action_copy_text(self) -> None:
        if self.rendered is None or self.link is None:
            self.notify("Nothing to copy yet", severity="warning", timeout=3)
            return
        self.copy(self.rendered.text, f"text of {self.link.label}")

    def action_copy_link(self) -> None:
        if self.link is None:
            self.notify("No link yet", severity="warning", timeout=3)
        else:
            self._copy_fresh_link(self.link)

    @work(group="preview-link", exclusive=True, exit_on_error=False)
    async def _copy_fresh_link(self, link: OutputLink) -> None:
        """Links expire: mint a fresh one for the copy, as the main screen's `L` does."""
        try:
            links = await self.outputs.links(self.job_id)
        except api_errors.ApiError as exc:
            self.notify(problem(exc, self.job_id), severity="error", timeout=6, markup=False)
            return
        same = (link.kind, link.format, link.index)
        fresh = next((new for new in links if (new.kind, new.format, new.index) == same), link)
        self.copy(fresh.url, f"download link of {fresh.label}")

    def action_download(self) -> None:
        if self.link is None:
            self.notify("No link yet", severity="warning", timeout=3)
        elif self.transfer.display:
            self.notify("A download is running already", severity="warning", timeout=3)
        else:
            self._download(self.link)

    @work(group="preview-download", exit_on_error=False)
    async def _download(self, link: OutputLink) -> None:
        await download_links(self.app, self.outputs, self.job_id, [link], self.folder, self.transfer)

    def action_back(self) -> None:
        if self.search_box.has_focus:
            self.search_bar.display = bool(self._query)
            self._body().focus()
            return
        self.dismiss(None)
