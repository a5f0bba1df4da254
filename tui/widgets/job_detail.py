"""The detail pane: every field of the highlighted job, its outputs as a list, and its timeline."""

from __future__ import annotations

import json
import re

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.api.models import OutputRef
from tui.text import printable
from tui.widgets.jobview import JobView, clock_time, freshness, precise_duration, status_text

LABEL_WIDTH = 10


def _field(text: Text, label: str, value: str | Text | None, style: str = "") -> None:
    """One `Label     value` line; the value wraps under itself, never cut."""
    text.append(f"{label:<{LABEL_WIDTH}}", style="bold")
    if value is None:
        text.append("—", style="dim")
    elif isinstance(value, Text):
        text.append_text(value)
    else:
        text.append(printable(value), style=style)
    text.append("\n")


def _heading(text: Text, title: str) -> None:
    text.append(f"\n{title}\n", style="bold underline")


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
        self.head.append(printable(ref.kind), style="bold")
        self.head.append(f" {printable(ref.format or '?')}")
        own_place = _place(ref)
        if own_place != place:
            self.head.append(f"  {own_place}", style="dim")
        self.key = printable(ref.key) if ref.key else None

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
    bucket = printable(ref.bucket) if ref.bucket else "no bucket"
    return f"{bucket} ({printable(ref.region)})" if ref.region else bucket


def common_place(outputs: tuple[OutputRef, ...]) -> str | None:
    """The bucket and region all outputs share, if they do (they usually do)."""
    places = {_place(ref) for ref in outputs}
    return places.pop() if len(places) == 1 else None


class OutputList(OptionList):
    """The job's output files; the highlighted one is what `c` and `C` copy."""

    def on_focus(self) -> None:
        # Show at once which output `c` would copy.
        if self.highlighted is None and self.option_count:
            self.highlighted = 0


class JobDetail(VerticalScroll):
    """Shows one JobView. Widgets are only rebuilt when their content changed."""

    ALLOW_MAXIMIZE = True  # `z` zooms it to the whole screen on small terminals

    def __init__(self, *, stale_after: float, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stale_after = stale_after
        self.colours: dict[str, str] = {}
        self.view: JobView | None = None
        self._outputs: tuple[OutputRef, ...] = ()
        self._outputs_of: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="detail-fields")
        yield Static(id="detail-outputs-title", classes="section")
        yield OutputList(id="outputs")
        yield Static(id="detail-more")

    @property
    def highlighted_output(self) -> OutputRef | None:
        """The highlighted output, else the first one, else None."""
        if not self._outputs:
            return None
        index = self.query_one(OutputList).highlighted
        return self._outputs[index if index is not None and index < len(self._outputs) else 0]

    def show(self, view: JobView | None, now: float, offline: bool) -> None:
        self.view = view
        fields, more = self.query_one("#detail-fields", Static), self.query_one("#detail-more", Static)
        if view is None:
            self.border_title = "Detail"
            fields.update(Text("No job selected. Press a to add job ids.", style="dim"))
            more.update("")
            self._set_outputs(None, ())
            return
        self.border_title = f"Job {printable(view.id)[:8]}"
        fields.update(self._fields(view, now, offline))
        self._set_outputs(view.id, tuple(view.outputs()))
        more.update(self._more(view, now))

    def _fields(self, view: JobView, now: float, offline: bool) -> Text:
        text = Text(overflow="fold")
        _field(text, "Id", view.id)
        _field(text, "Status", status_text(view, self.colours))
        _field(text, "Preset", view.preset)
        age, stale = freshness(view, now, self.stale_after, offline)
        if view.confirmed_at is not None:
            confirmed = Text(f"{clock_time(view.confirmed_at, now)} ({age})")
            if stale:
                confirmed.stylize("dim italic")
        else:
            confirmed = Text(age, style="dim italic" if stale else "dim")
        _field(text, "Confirmed", confirmed)
        job_input = view.job.input if view.job is not None else None
        if job_input is None:
            _field(text, "Input", "not fetched yet" if view.job is None else None, "dim")
        else:
            _field(text, "Input", job_input.source_type)
            if job_input.recording_id or not job_input.uri:
                _field(text, "Recording", job_input.recording_id)
            if job_input.uri:
                _field(text, "URI", job_input.uri)
            _field(text, "Language", job_input.language)
            for name, value in job_input.unknown_fields.items():
                _field(text, name, json.dumps(value, ensure_ascii=False))
        text.rstrip()
        return text

    def _set_outputs(self, job_id: str | None, outputs: tuple[OutputRef, ...]) -> None:
        title = self.query_one("#detail-outputs-title", Static)
        option_list = self.query_one(OutputList)
        if job_id is not None and not outputs:
            status = self.view.status if self.view is not None else None
            title.update(Text.assemble(("\nOutputs ", "bold underline"),
                                       ("none yet" if status not in ("finished", "error") else "none", "dim")))
        elif outputs:
            place = common_place(outputs)
            title.update(Text.assemble((f"\nOutputs ({len(outputs)})", "bold underline"),
                                       (f" in {place}" if place else "", "dim")))
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

    def _more(self, view: JobView, now: float) -> Text:
        text = Text(overflow="fold")
        if view.job is not None and view.job.error:
            _heading(text, "Error")
            text.append(printable(view.job.error, multiline=True), style="red")
            text.append("\n")
        if view.gone:
            _heading(text, "Not found")
            text.append("The API answers 404: the job was deleted or never existed.\n")
        if view.last_error:
            _heading(text, "Last poll error")
            text.append(printable(view.last_error, multiline=True))
            text.append("\n")
        unknown = view.job.unknown_fields if view.job is not None else {}
        if view.job is not None and view.job.output is not None:
            unknown.update({f"output.{k}": v for k, v in view.job.output.unknown_fields.items()})
        if unknown:
            _heading(text, "Other fields from the server")
            for name, value in unknown.items():
                text.append(f"{printable(name)}: ", style="bold")
                text.append(printable(json.dumps(value, ensure_ascii=False)))
                text.append("\n")
        _heading(text, "Timeline (as observed by batchmon)")
        text.append(f"{'added':<{LABEL_WIDTH}}", style="bold")
        text.append(f"{clock_time(view.added_at, now)}\n")
        for index, (status, at) in enumerate(view.timeline):
            text.append(f"{printable(status)[:LABEL_WIDTH - 1]:<{LABEL_WIDTH}}", style="bold")
            text.append(clock_time(at, now))
            if index == 0:
                text.append("  first seen", style="dim")
            else:
                text.append(f"  +{precise_duration(at - view.timeline[index - 1][1])}", style="dim")
            text.append("\n")
        if view.timeline:
            first = view.timeline[0][1]
            if not view.terminal:
                text.append(f"{precise_duration(now - first)} so far since first seen", style="dim")
            elif len(view.timeline) > 1:
                total = precise_duration(view.timeline[-1][1] - first)
                text.append(f"{total} in total from first seen to {printable(view.status)}", style="dim")
            else:
                text.append(f"already {printable(view.status)} when first seen", style="dim")
        else:
            text.append("no status observed yet", style="dim")
        return text
