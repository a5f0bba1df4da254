"""The one-line header: counts per status on the left, the poll state on the right."""

from __future__ import annotations

from collections import Counter

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from tui.formatting import clock_time, colour_var, symbol
from tui.poller.types import EngineState
from tui.text import printable
from tui.widgets.status import STATUS_CLASSES

COUNT_ORDER = ("processing", "submitted", "finished", "error")  # always shown, 0 included


class StatusHeader(Widget):
    """Rendered to fit its width: full labels when there is room, symbols and numbers when not."""

    DEFAULT_CSS = "StatusHeader { height: 1; }"
    COMPONENT_CLASSES = {*STATUS_CLASSES}  # noqa: RUF012 - Textual reads it

    def __init__(self, *, title: str = "batchmon", id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.counts: Counter[str] = Counter()
        self.engine: EngineState | None = None
        self.stopped: str | None = None  # why polling stopped, if it did
        self.now = 0.0
        self.following = False  # following the domain: new jobs are watched as they appear

    def show(
        self,
        counts: Counter[str],
        engine: EngineState | None,
        stopped: str | None,
        now: float,
        *,
        following: bool = False,
    ) -> None:
        if (counts, engine, stopped, following) == (self.counts, self.engine, self.stopped, self.following):
            return  # called on every flush; repaint only on change
        self.counts, self.engine, self.stopped, self.now, self.following = counts, engine, stopped, now, following
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
            label = f" {printable(status)}" if long else ""
            text.append("  ")
            text.append(f"{symbol(status)} {count}{label}", style=style)
        return text

    def _engine_text(self) -> Text:
        text = self._poll_text()
        if self.following:
            text = Text.assemble(("◆ following", "bold"), "  ", text)
        return text

    def _poll_text(self) -> Text:
        error_style = self._style("status-error") + Style(bold=True)
        if self.stopped is not None:
            return Text(f"✗ polling stopped: {self.stopped} ", style=error_style)
        engine = self.engine
        if engine is None:
            return Text("starting… ", style="dim")
        rate = f"{engine.requests_per_second:.1f}/{engine.rate:g} req/s "
        if engine.mode == "paused":
            return Text.assemble(("⏸ paused (p resumes)", "bold"), "  ", (rate, "dim"))
        if engine.mode == "backing-off":
            until = clock_time(engine.backoff_until, self.now) if engine.backoff_until else "later"
            why = f" ({printable(engine.last_error)})" if engine.last_error else ""
            return Text.assemble((f"⧗ backing off until {until}{why}", "bold yellow"), "  ", (rate, "dim"))
        if engine.mode == "unauthorised":
            return Text("✗ unauthorised: the API key was refused ", style=error_style)
        if engine.mode == "offline":
            why = f": {printable(engine.last_error)}" if engine.last_error else ""
            return Text(f"✗ offline{why} ", style=error_style)
        return Text.assemble(("⟳ polling", "bold"), "  ", rate)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)
