"""The one-line header: counts per status on the left, the poll state on the right."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from tui.core.session import EngineState
from tui.present.formatting import colour_var, duration, symbol
from tui.present.text import shown
from tui.ui.widgets.status import STATUS_CLASSES

COUNT_ORDER = ("processing", "submitted", "finished", "error")  # always shown, 0 included


class StatusHeader(Widget):
    """Rendered to fit its width: full labels when there is room, symbols and numbers when not."""

    DEFAULT_CSS = "StatusHeader { height: 1; }"
    COMPONENT_CLASSES = {*STATUS_CLASSES}

    def __init__(
        self, *, title: str = "batchmon", clock: Callable[[], float] = time.time, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title = title
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.engine: EngineState | None = None
        self.stopped: str | None = None  # why polling stopped, if it did
        self.now = 0.0
        self.following = False  # following the domain: new jobs are watched as they appear
        self.unsaved: str | None = None  # why changes are not saved yet ("store busy"), None when they are

    def show(
        self,
        counts: Counter[str],
        engine: EngineState | None,
        stopped: str | None,
        now: float,
        *,
        following: bool = False,
        unsaved: str | None = None,
    ) -> None:
        state = (counts, engine, stopped, following, unsaved)
        if state == (self.counts, self.engine, self.stopped, self.following, self.unsaved):
            return  # called on every flush; repaint only on change
        self.counts, self.engine, self.stopped, self.now, self.following = counts, engine, stopped, now, following
        self.unsaved = unsaved
        self.refresh()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """A countdown ("retry in 7s") moves every second, between poll updates too."""
        engine = self.engine
        if engine is not None and self.stopped is None and _countdown_to(engine) is not None:
            self.now = self.clock()
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        right = self._engine_text()
        for long in (True, False):
            left = self._counts_text(long)
            if left.cell_len + right.cell_len + 2 <= width:
                break
        if left.cell_len + right.cell_len + 2 > width:  # a long offline reason: cut it, not the counts
            right.truncate(max(0, width - left.cell_len - 2), overflow="ellipsis")
        gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right, no_wrap=True, overflow="ellipsis")

    def _counts_text(self, long: bool) -> Text:
        text = Text()
        text.append(f" {self.title} ", style="bold reverse")
        total = sum(self.counts.values())
        text.append(f" {total} job{'s' if total != 1 else ''}")
        others = sorted(status for status in self.counts if status not in COUNT_ORDER)
        for status in (*COUNT_ORDER, *others):
            count = self.counts.get(status, 0)
            style = self._style(colour_var(status)) + Style(dim=not count)
            label = f" {shown(status, 40)}" if long else ""
            text.append("  ")
            text.append(f"{symbol(status)} {count}{label}", style=style)
        return text

    def _engine_text(self) -> Text:
        text = self._poll_text()
        if self.following:
            text = Text.assemble(("◆ following", "bold"), "  ", text)
        if self.unsaved is not None:  # first: a change the user makes now is not on disk yet
            error_style = self._style("status-error") + Style(bold=True)
            text = Text.assemble((f"✗ not saved ({self.unsaved})", error_style), "  ", text)
        return text

    def _poll_text(self) -> Text:
        """The truth about polling: what it does now, and why not when it does not."""
        error_style = self._style("status-error") + Style(bold=True)
        if self.stopped is not None:
            return Text(f"✗ polling stopped: {shown(self.stopped, 200)} ", style=error_style)
        engine = self.engine
        if engine is None:
            return Text("starting… ", style="dim")
        # The rate only while requests happen: a paused or idle engine sends none (an old figure
        # left on screen would be a lie, as nothing repaints it until the next update).
        rate = Text(f"{engine.requests_per_second:.1f}/{engine.rate:g} req/s ", style="dim")
        wait = self._wait(engine)
        if engine.mode == "unauthorised":
            recheck = f"; retry in {wait}" if wait else ""
            return Text(f"✗ unauthorised — key refused (K enters one{recheck}) ", style=error_style)
        if engine.mode == "paused":
            return Text("⏸ paused (p resumes) ", style="bold")
        if engine.mode == "offline":
            host = f" ({shown(engine.host, 80)})" if engine.host else ""
            when = f"retry in {wait}" if wait else "retrying"
            return Text(f"✗ offline — {when}{host} ", style=error_style)
        if engine.idle:
            return Text.assemble(("✓ idle", "bold"), " (no job needs polling) ")
        if engine.mode == "backing-off":
            when = f"retry in {wait}" if wait else "retrying"
            why = f" ({shown(engine.last_error, 80)})" if engine.last_error else ""
            return Text.assemble((f"⧗ backing off — {when}{why}", "bold yellow"), "  ", rate)
        return Text.assemble(("⟳ polling", "bold"), "  ", rate)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _wait(self, engine: EngineState) -> str | None:
        """Seconds left of the engine's countdown, as "7s" / "2m"; None when there is none."""
        until = _countdown_to(engine)
        if until is None:
            return None
        left = until - self.now
        return duration(math.ceil(left)) if left > 0 else None


def _countdown_to(engine: EngineState) -> float | None:
    """When the engine tries again: after a backoff, or its next key check."""
    if engine.mode == "unauthorised":
        return engine.retry_at
    if engine.mode in ("offline", "backing-off"):
        return engine.backoff_until
    return None
