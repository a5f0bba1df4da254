"""The detail pane: every field of the highlighted job, its outputs as a list, and its timeline."""

from __future__ import annotations

import re

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.api.models import OutputRef
from tui.core.watchlist import JobView
from tui.present.formatting import clock_time, freshness, precise_duration
from tui.present.text import clip, json_preview, printable, shown
from tui.present.wrap import Wrapped
from tui.ui.widgets.status import STATUS_CLASSES, status_text

LABEL_WIDTH = 9  # "Confirmed"
MAX_FIELDS = 50  # unknown fields listed; a server may send thousands
FIELD_SHOWN = 500  # characters of one unknown field (the error and known fields get MAX_SHOWN)


class Sheet:
    """Labelled rows whose values wrap under themselves (a hanging indent), and headings.

    Each run of rows is a Rich grid, so a long id, URI or error wraps in its own column
    instead of dropping to the start of the next line.
    """

    def __init__(self) -> None:
        self.parts: list[RenderableType] = []
        self._grid: Table | None = None

    def row(self, label: str, value: str | Text | Wrapped | None, style: str = "") -> None:
        if self._grid is None:
            self._grid = Table.grid(padding=(0, 1))
            self._grid.add_column(min_width=LABEL_WIDTH, max_width=24, overflow="fold", style="bold")
            self._grid.add_column(overflow="fold", ratio=1)
            self.parts.append(self._grid)
        cell: Text | Wrapped
        if value is None:
            cell = Text("—", style="dim")
        elif isinstance(value, (Text, Wrapped)):
            cell = value
        else:
            # Bounded (a 1 MB value must not stall every redraw); ids, URIs broken at / and -, never mid-token.
            cell = Wrapped(shown(value), style)
        self._grid.add_row(Text(shown(label, 100)), cell)

    def heading(self, title: str, note: str = "") -> None:
        self.line(Text.assemble("\n", (title, "bold underline"), (f" {note}" if note else "", "dim")))

    def line(self, text: Text | Wrapped) -> None:
        self._grid = None
        self.parts.append(text)

    def renderable(self) -> Group:
        return Group(*self.parts)


def wrap_path(path: str, width: int) -> list[str]:
    """Break a long S3 key after its slashes to fit `width`; a part longer than a line is folded."""
    width = max(1, width)
    lines: list[str] = []
    line = ""
    for part in re.findall(r"[^/]*/|[^/]+", path):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
    if line or not lines:
        lines.append(line)
    return lines


class OutputPrompt:
    """One output in the list: kind and format (and a bucket that differs), then the whole key.

    A Rich renderable rather than a Text, so the key is re-wrapped at slashes for whatever
    width the pane has, instead of being folded mid-name.
    """

    def __init__(self, ref: OutputRef, place: str | None) -> None:
        self.head = Text(overflow="fold")
        self.head.append(shown(ref.kind, 100), style="bold")
        self.head.append(f" {shown(ref.format or '?', 100)}")
        own_place = _place(ref)
        if own_place != place:
            self.head.append(f"  {own_place}", style="dim")
        self.key = shown(ref.key) if ref.key else None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.head
        if self.key is None:
            yield Text("(no key)", style="dim")
            return
        for line in wrap_path(self.key, options.max_width):
            yield Text(line, no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, max(self.head.cell_len, len(self.key or "(no key)")))


def _place(ref: OutputRef) -> str:
    """`bucket (region)`, as far as known."""
    bucket = shown(ref.bucket, 200) if ref.bucket else "no bucket"
    return f"{bucket} ({shown(ref.region, 100)})" if ref.region else bucket


def common_place(outputs: tuple[OutputRef, ...]) -> str | None:
    """The bucket and region all outputs share, if they do (they usually do)."""
    places = {_place(ref) for ref in outputs}
    return places.pop() if len(places) == 1 else None


class OutputList(OptionList):
    """The job's output files; the highlighted one is what `c` and `C` copy."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def on_focus(self) -> None:
        # Show at once which output `c` would copy.
        if self.highlighted is None and self.option_count:
            self.highlighted = 0


class JobDetail(VerticalScroll):
    """Shows one JobView. Widgets are only rebuilt when their content changed."""

    ALLOW_MAXIMIZE = True  # `z` zooms it to the whole screen on small terminals
    COMPONENT_CLASSES = {*STATUS_CLASSES}

    def __init__(self, *, stale_after: float, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stale_after = stale_after
        self.view: JobView | None = None
        self.trouble: str | None = None
        self._outputs: tuple[OutputRef, ...] = ()
        self._outputs_of: str | None = None
        # Held, not queried: updates may arrive while the app tears the screen down.
        self.fields = Static(id="detail-fields")
        self.outputs_title = Static(id="detail-outputs-title", classes="section")
        self.output_list = OutputList(id="outputs")
        self.more = Static(id="detail-more")

    def compose(self) -> ComposeResult:
        yield self.fields
        yield self.outputs_title
        yield self.output_list
        yield self.more

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    @property
    def highlighted_output(self) -> OutputRef | None:
        """The highlighted output, else the first one, else None."""
        if not self._outputs:
            return None
        index = self.output_list.highlighted
        return self._outputs[index if index is not None and index < len(self._outputs) else 0]

    def show(self, view: JobView | None, now: float, offline: bool, *, trouble: str | None = None) -> None:
        """`trouble`: why polling confirms nothing now (a refused key, no network), said on active jobs."""
        self.view = view
        self.trouble = trouble
        fields, more = self.fields, self.more
        if view is None:
            self.border_title = "Detail"
            fields.update(Text("No job selected. Press a to add job ids.", style="dim"))
            more.update("")
            self._set_outputs(None, ())
            return
        self.border_title = Content(f"Job {printable(view.id)[:8]}")  # plain text, never markup
        fields.update(self._fields(view, now, offline))
        self._set_outputs(view.id, tuple(view.outputs()))
        more.update(self._more(view, now))

    def _fields(self, view: JobView, now: float, offline: bool) -> Group:
        sheet = Sheet()
        sheet.line(Wrapped(printable(view.id), "bold"))  # unlabelled: a UUID fits a narrow pane
        sheet.row("Status", status_text(view, self._style))
        sheet.row("Preset", view.preset)
        age, stale = freshness(view, now, self.stale_after, offline)
        if view.confirmed_at is not None:
            confirmed = Text(f"{clock_time(view.confirmed_at, now)} ({age})")
            if stale:
                confirmed.stylize("dim italic")
        else:
            confirmed = Text(age, style="dim italic" if stale else "dim")
        sheet.row("Confirmed", confirmed)
        if self.trouble and not (view.terminal or view.gone):
            sheet.row("Polling", Text(shown(self.trouble, 300), style=self._style("status-error")))
        if view.job is not None and view.job.error:
            # Right under the status: for a failed job it is what the user came to read.
            error_style = self._style("status-error")
            sheet.row("Error", Wrapped(printable(clip(view.job.error), multiline=True), error_style))
        job_input = view.job.input if view.job is not None else None
        if job_input is None:
            sheet.row("Input", "not fetched yet" if view.job is None and not view.gone else None, "dim")
        else:
            sheet.row("Input", job_input.source_type)
            if job_input.recording_id or not job_input.uri:
                sheet.row("Recording", job_input.recording_id)
            if job_input.uri:
                sheet.row("URI", job_input.uri)
            sheet.row("Language", job_input.language)
        return sheet.renderable()

    def _set_outputs(self, job_id: str | None, outputs: tuple[OutputRef, ...]) -> None:
        title, option_list = self.outputs_title, self.output_list
        view = self.view
        if job_id is not None and not outputs and view is not None:
            if view.gone or (view.job is not None and view.job.status == view.status and view.terminal):
                note = "none"
            elif view.terminal:
                note = "not fetched yet"  # the status came from the list; the record follows
            else:
                note = "none yet"
            title.update(Text.assemble(("\nOutputs ", "bold underline"), (note, "dim")))
        elif outputs:
            place = common_place(outputs)
            title.update(
                Text.assemble(
                    (f"\nOutputs ({len(outputs)})", "bold underline"), (f" in {place}" if place else "", "dim")
                )
            )
        else:
            title.update("")
        option_list.display = bool(outputs)
        if outputs == self._outputs and job_id == self._outputs_of:
            return  # unchanged: keep the user's highlight
        keep = option_list.highlighted if job_id == self._outputs_of else None
        self._outputs, self._outputs_of = outputs, job_id
        place = common_place(outputs)
        option_list.set_options(Option(OutputPrompt(ref, place)) for ref in outputs)
        option_list.highlighted = keep if keep is not None and keep < len(outputs) else None

    def _more(self, view: JobView, now: float) -> Group:
        sheet = Sheet()
        if view.gone:
            sheet.heading("Not found")
            sheet.line(Text("The API answers 404: the job was deleted or never existed."))
        if view.last_error:
            sheet.heading("Last poll error")
            sheet.line(Wrapped(printable(clip(view.last_error), multiline=True)))
        unknown: dict[str, object] = {}
        if view.job is not None:
            unknown.update(view.job.unknown_fields)
            if view.job.input is not None:
                unknown.update({f"input.{k}": v for k, v in view.job.input.unknown_fields.items()})
            if view.job.output is not None:
                unknown.update({f"output.{k}": v for k, v in view.job.output.unknown_fields.items()})
        if unknown:
            sheet.heading("Other fields from the server")
            for index, (name, value) in enumerate(unknown.items()):
                if index == MAX_FIELDS:
                    sheet.line(Text(f"… {len(unknown) - MAX_FIELDS:,} more fields not shown", style="dim"))
                    break
                sheet.row(name, json_preview(value, limit=FIELD_SHOWN))
        sheet.heading("Timeline", "(as observed by batchmon)")
        added = Text(clock_time(view.added_at, now))
        if view.followed:
            added.append("  ◆ by following the domain", style="dim")
        sheet.row("added", added)
        for index, (status, at) in enumerate(view.timeline):
            step = "first seen" if index == 0 else f"+{precise_duration(at - view.timeline[index - 1][1])}"
            sheet.row(status, Text.assemble(clock_time(at, now), "  ", (step, "dim")))
        if view.timeline:
            first = view.timeline[0][1]
            if not view.terminal:
                summary = f"{precise_duration(now - first)} so far since first seen"
            elif len(view.timeline) > 1:
                total = precise_duration(view.timeline[-1][1] - first)
                summary = f"{total} in total from first seen to {shown(view.status, 60)}"
            else:
                summary = f"already {shown(view.status, 60)} when first seen"
        else:
            summary = "no status observed yet"
        sheet.line(Text(summary, style="dim"))
        return sheet.renderable()
