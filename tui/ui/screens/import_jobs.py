"""The import dialog: the domain's recent jobs from the list endpoint, paged and filtered, to pick and watch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui.api import errors
from tui.api.models import JobListPage, JobSummary
from tui.present.formatting import status_label
from tui.present.text import printable

PAGE_SIZE = 25
STATUSES = ("submitted", "processing", "finished", "error")
PRESETS = ("transcript", "summarize", "soap-notes")

# list_jobs(limit=, starting_after=, recording_id=) on the App's client, as a user's (urgent) request.
ListPage = Callable[[int, str | None, str | None], Awaitable[JobListPage]]


class JobPicker(SelectionList[str]):
    """Space toggles a job; Enter asks for the chosen ones to be added."""

    BINDINGS = [Binding("enter", "submit", "Add selected", show=False)]

    class Submitted(Message):
        """Enter was pressed."""

    def action_submit(self) -> None:
        self.post_message(self.Submitted())


class ImportJobsScreen(ModalScreen[list[str] | None]):
    """Returns the ids chosen (across pages), or None when cancelled."""

    DEFAULT_CSS = """
    ImportJobsScreen { align: center middle; background: $background 60%; }
    #import-dialog { width: 84; max-width: 100%; height: 90%; max-height: 40; }
    #import-filters { height: 1; margin-bottom: 1; }
    #import-filters Select { width: 18; margin-right: 1; }
    #import-filters Input { width: 1fr; }
    #import-jobs { height: 1fr; }
    #import-status { height: 1; color: $text-muted; }
    #import-keys { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("n", "page(1)", "Next page"),
        Binding("b", "page(-1)", "Previous page"),
    ]

    def __init__(self, list_page: ListPage, watched: Container[str]) -> None:
        super().__init__()
        self.list_page = list_page
        self.watched = watched
        self.chosen: dict[str, None] = {}  # ids picked on any page, in the order picked
        self.jobs: list[JobSummary] = []  # the page shown, before the client-side filters
        self.cursors: list[str | None] = [None]  # starting_after of each page visited; the last is shown
        self.has_next = False
        self.total: int | None = None  # total_count of the last page read
        self.shown: list[JobSummary] = []  # the page after the filters
        self.recording: str | None = None
        self.picker = JobPicker(id="import-jobs")
        self.status_line = Static(id="import-status", markup=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="import-dialog", classes="dialog") as dialog:
            dialog.border_title = "Import recent jobs"
            with Horizontal(id="import-filters"):
                yield Select([(s, s) for s in STATUSES], prompt="any status", id="import-status-filter", compact=True)
                yield Select([(p, p) for p in PRESETS], prompt="any preset", id="import-preset-filter", compact=True)
                yield Input(placeholder="recording id (enter applies)", id="import-recording", compact=True)
            yield self.picker
            yield self.status_line
            yield Static("space pick · enter add picked · n/b next/previous page · esc cancel", id="import-keys")

    def on_mount(self) -> None:
        self.picker.focus()
        self.load()

    # -- loading ----------------------------------------------------------------------------------

    @work(exclusive=True)
    async def load(self) -> None:
        """Fetch the page at the last cursor (a user's request: ahead of background polling)."""
        self.status_line.update("loading…")
        try:
            page = await self.list_page(PAGE_SIZE, self.cursors[-1], self.recording)
        except errors.ApiError as exc:
            self.status_line.update(f"could not list jobs: {printable(errors.describe(exc))}")
            if len(self.cursors) > 1:
                self.cursors.pop()  # stay where we were
            return
        self.jobs = page.data
        self.total = page.total_count
        self.has_next = len(page.data) == PAGE_SIZE
        self.show_page()

    def action_page(self, step: int) -> None:
        if step > 0 and self.has_next and self.jobs:
            self.keep_picks()
            self.cursors.append(self.jobs[-1].id)
        elif step < 0 and len(self.cursors) > 1:
            self.keep_picks()
            self.cursors.pop()
        else:
            self.notify("No more pages that way.", timeout=2)
            return
        self.load()

    # -- showing ----------------------------------------------------------------------------------

    def show_page(self) -> None:
        """The page read, through the status and preset filters; jobs watched already are left out."""
        status, preset = self._filter("#import-status-filter"), self._filter("#import-preset-filter")
        self.shown = [
            job
            for job in self.jobs
            if (status is None or job.status == status) and (preset is None or job.preset == preset)
        ]
        self.picker.clear_options()
        self.picker.add_options(
            Selection(self._prompt(job), job.id, job.id in self.chosen)
            for job in self.shown
            if job.id.lower() not in self.watched
        )
        if self.picker.option_count:
            self.picker.highlighted = 0  # so space picks at once
        self.say()

    def say(self) -> None:
        already = sum(job.id.lower() in self.watched for job in self.shown)
        parts = [f"page {len(self.cursors)}", f"{len(self.chosen)} picked", f"{len(self.shown)}/{len(self.jobs)} match"]
        if already:
            parts.append(f"{already} watched already (hidden)")
        if self.total is not None:
            parts.append(f"{self.total} on the domain")
        self.status_line.update(" · ".join(parts))

    def _prompt(self, job: JobSummary) -> Text:
        text = Text(f"{status_label(job.status):<14}", no_wrap=True)
        text.append(printable(job.id))
        text.append(f"  {printable(job.preset or '—')}", style="dim")
        return text

    def _filter(self, selector: str) -> str | None:
        value = self.query_one(selector, Select).value
        return value if isinstance(value, str) else None

    def keep_picks(self) -> None:
        """Remember what is picked on the page shown before it is replaced."""
        shown = {str(self.picker.get_option_at_index(i).value) for i in range(self.picker.option_count)}
        picked = set(self.picker.selected)
        for job_id in shown - picked:
            self.chosen.pop(job_id, None)
        for job_id in self.picker.selected:
            self.chosen[job_id] = None

    def on_select_changed(self, _event: Select.Changed) -> None:
        self.keep_picks()
        self.show_page()

    def on_selection_list_selection_toggled(self, _event: SelectionList.SelectionToggled[str]) -> None:
        self.keep_picks()
        self.say()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.keep_picks()
        self.recording = event.value.strip() or None
        self.cursors = [None]
        self.picker.focus()
        self.load()

    # -- done -------------------------------------------------------------------------------------

    def on_job_picker_submitted(self, _message: JobPicker.Submitted) -> None:
        self.keep_picks()
        if not self.chosen:
            self.notify("Pick jobs with space first (esc cancels).", severity="warning", timeout=3)
            return
        self.dismiss(list(self.chosen))

    def action_cancel(self) -> None:
        self.dismiss(None)
