"""The batchmon Textual app, and the one factory that builds it for the CLI, the demo and tests."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx2
from pydantic import SecretStr, ValidationError
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Footer, Input, OptionList, Static

import tui
from tui import locations
from tui.api import BatchClient, Job, RequestBudget
from tui.api.errors import ApiError
from tui.api.ids import is_job_id, split_job_ids
from tui.api.models import TERMINAL_STATUSES
from tui.clipboard import copy_text
from tui.config import Settings
from tui.messages import Copied, PollerStopped, PollUpdated
from tui.outputs import Outputs, download_folder
from tui.outputs.choose import pick_link
from tui.poller import EngineState, JobState, Poller, StatusChange
from tui.screens.add_jobs import AddJobsScreen
from tui.screens.help import HelpScreen
from tui.screens.preview import PreviewScreen, Wanted
from tui.screens.transfers import download_links, problem
from tui.store import Store, StoreError
from tui.text import printable
from tui.widgets.header import StatusHeader
from tui.widgets.job_detail import JobDetail
from tui.widgets.job_table import JobTable
from tui.widgets.jobview import STATUS_LOOK, JobView
from tui.widgets.transfer import TransferBar

WIDE = 120  # columns from which the detail pane sits beside the list instead of below it
FLUSH_EVERY = 0.5  # seconds: poll results are coalesced and painted at most twice a second
SAVE_EVERY = 2.0  # seconds: the watch list is written at most this often while it has changes
CONFIRMATION_SAVE_EVERY = 60.0  # seconds: how stale a saved "confirmed at" may get
PARSE_BATCH = 250  # saved records parsed per step after start-up (~10 ms)
COPIED_SHOWN = 2000  # characters of copied text kept on screen (a whole transcript would flood it)
DEMO_JOBS = 24
DEMO_SEED = 7
DEMO_SPEED = 2.0  # the seeded schedule plays out over about two and a half minutes

# Theme tokens (overridable by a theme); the widgets read them to colour Rich text.
STATUS_COLOURS = {
    "status-submitted": "#8d96a8",
    "status-processing": "#4fa3f7",
    "status-finished": "#4ebf71",
    "status-error": "#f0524f",
    "status-unknown": "#c678dd",
}


def _styles_dir() -> Path:
    """Installed, the sheets ship as `tui/styles`; in a checkout they sit in the repo's `styles/`."""
    packaged = Path(tui.__file__).parent / "styles"
    if packaged.is_dir():
        return packaged
    return Path(tui.__file__).parent.parent / "styles"


def _record(job: Job) -> dict[str, Any]:
    """The job as the API sent it (aliases, unknown fields kept), for the store."""
    return job.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _short(job_id: str) -> str:
    return printable(job_id)[:8]


class BatchmonApp(App[None]):
    """Owns the client, poller and store; widgets only ever receive JobViews.

    Poll results arrive through one long-lived worker as `PollUpdated` messages, are coalesced
    by job id, and are written to the table and store by a timer (`FLUSH_EVERY`).
    """

    TITLE = "batchmon"
    CSS_PATH = [_styles_dir() / "app.tcss"]
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]

    # The tooltip is the longer text of the help screen (`?`); the description is the footer's.
    BINDINGS = [
        Binding("a", "add", "Add", tooltip="add job ids (paste many: spaces, commas or new lines)"),
        Binding("x", "remove", "Remove", tooltip="stop watching the highlighted job (it stays on Daily)"),
        Binding("r", "refresh", "Refresh", tooltip="fetch the highlighted job now"),
        Binding("c", "copy('key')", "Copy key", tooltip="copy the S3 key of the highlighted output"),
        Binding("C", "copy('uri')", "Copy s3:// URI", show=False, tooltip="copy it as s3://bucket/key"),
        Binding("i", "copy('id')", "Copy job id", show=False, tooltip="copy the job id"),
        Binding("o", "preview", "Read", id="preview",
                tooltip="read the main output, or the highlighted one (also enter)"),
        Binding("L", "copy_link", "Copy link", show=False, id="copy_link",
                tooltip="copy the download link of the highlighted output"),
        Binding("d", "download", "Download", show=False, id="download", tooltip="download the highlighted output"),
        Binding("D", "download_all", "Download all", show=False, id="download_all",
                tooltip="download every output of the job"),
        Binding("slash", "filter", "Filter", tooltip="filter by id, preset, status or source"),
        Binding("s", "sort", "Sort", tooltip="sort by status, time added or id (cycles)"),
        Binding("p", "pause", "Pause", tooltip="pause or resume polling"),
        Binding("z", "zoom", "Zoom detail", show=False, tooltip="detail pane full screen, and back"),
        Binding("question_mark", "help", "Help", tooltip="this list"),
        Binding("q", "quit", "Quit", tooltip="quit (the watch list is saved)"),
        Binding("escape", "back", "Back", show=False, tooltip="clear the filter, back to the job list"),
    ]

    def __init__(
        self,
        *,
        settings: Settings,
        client: BatchClient,
        poller: Poller,
        store: Store,
        job_ids: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        on_exit: Callable[[], None] | None = None,
        outputs: Outputs,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.client = client
        self.outputs = outputs  # access links and file transfers (files never get the key)
        self.poller = poller
        self.store = store
        self.demo = demo
        self.clock = clock
        self.stale_after = max(5 * settings.interval, 15.0)
        self._job_ids = list(job_ids)
        self._on_exit = on_exit
        self._states: dict[str, JobState] = {}
        self._records: dict[str, Job] = {}  # last full record per job, parsed once
        # Saved records not parsed yet (ordered set): parsing 10,000 takes ~0.4 s, so at start-up
        # only the first screenful is parsed before the first paint and the rest just after it.
        self._unparsed: dict[str, None] = {}
        self._pending: dict[str, JobState] = {}  # coalesced until the next flush
        self._pending_changes: list[StatusChange] = []
        self._engine: EngineState | None = None
        self._stopped: str | None = None  # why the poll loop ended, if it did
        self._store_problem: str | None = None  # last store error shown, so it is shown once
        self._detail_key: tuple[Any, ...] | None = None
        self._copy_when_fetched: tuple[str, str] | None = None  # (job id, what) awaiting its record
        # Widgets the app updates are held, not queried: timers may fire during teardown.
        self.header = StatusHeader(title="batchmon demo" if demo else "batchmon", id="header")
        self.list_pane = Vertical(id="list-pane")
        self.filter_bar = Horizontal(id="filter-bar")
        self.filter_box = Input(placeholder="id, preset, status or source", id="filter", compact=True)
        self.copied_line = Static(id="copied")
        self.table = JobTable(stale_after=self.stale_after, id="jobs")
        self.detail = JobDetail(stale_after=self.stale_after, id="detail")

    # -- composition --------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(STATUS_COLOURS)

    def compose(self) -> ComposeResult:
        yield self.header
        with Container(id="body"):
            with self.list_pane:
                with self.filter_bar:
                    yield Static("Filter ", id="filter-label")
                    yield self.filter_box
                yield self.table
            yield self.detail
        yield self.copied_line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._apply_colours()
        self.theme_changed_signal.subscribe(self, lambda _theme: self._apply_colours())
        self._load()
        self._engine = self.poller.engine_state()
        self._update_title()
        self._repaint(self._views(self.store.jobs))
        self._parse_saved(self.table.shown_ids()[: self.size.height])  # what the first frame shows
        self.table.move_cursor(row=0)
        self.table.focus()
        self._consume_updates()
        self.set_interval(FLUSH_EVERY, self._flush_updates)
        self.set_interval(SAVE_EVERY, self._save)

    def _apply_colours(self) -> None:
        variables = self.get_css_variables()
        colours = {name: variables.get(name, default) for name, default in STATUS_COLOURS.items()}
        for widget in (self.header, self.table, self.detail):
            widget.colours = colours
            widget.refresh()
        self.table.rewrite()  # cells hold Rich styles: repaint them in the new colours
        self._show_detail(force=True)

    # -- startup and shutdown -----------------------------------------------------------------

    def _load(self) -> None:
        """Read the watch list, add ids from the command line, and start watching them all."""
        try:
            warning = self.store.load()
        except StoreError as exc:
            self._store_failed(str(exc))
        else:
            if warning:
                self.notify(printable(warning), title="Watch list", severity="warning", timeout=20, markup=False)
        if self._job_ids:
            valid, rejected = split_job_ids(" ".join(self._job_ids))
            if rejected:
                self.notify(f"Ignored, not job ids: {', '.join(printable(r) for r in rejected)}",
                            severity="error", timeout=10, markup=False)
            self.store.add(valid, self.clock())
        self._start_watching(list(self.store.jobs), later=True)
        if self._unparsed:
            self.call_after_refresh(self._parse_some)

    def _start_watching(self, ids: list[str], later: bool = False) -> None:
        """Poll these stored jobs; saved records spare requests for jobs already finished.

        `later`: jobs with a saved record wait for it to be parsed (`_parse_saved`), so the poller
        gets it and does not fetch them again; the others are watched now.
        """
        jobs = self.store.jobs
        if later:
            self._unparsed.update((job_id, None) for job_id in ids if jobs[job_id].record is not None)
            self._watch([job_id for job_id in ids if jobs[job_id].record is None], {})
        else:
            self._unparsed.update((job_id, None) for job_id in ids)
            self._parse_saved(ids)

    def _parse_saved(self, ids: Iterable[str]) -> None:
        """Parse these jobs' saved records (those not parsed yet) and start watching them."""
        known: dict[str, Job] = {}
        watch: list[str] = []
        for job_id in ids:
            if job_id not in self._unparsed:
                continue  # parsed already
            del self._unparsed[job_id]
            watch.append(job_id)
            record = self.store.jobs[job_id].record
            if record is not None:
                try:
                    known[job_id] = self._records[job_id] = Job.model_validate(record)
                except ValidationError:
                    pass  # an odd saved record: the poller fetches a fresh one
        if watch:
            self._watch(watch, known)
            if self.table.is_attached:
                self.table.put(self._views(job_id for job_id in watch if job_id in self.store.jobs),
                               self.clock(), self.offline)

    def _parse_some(self) -> None:
        """Parse saved records a slice at a time, so keys stay answered while it runs."""
        if not self.table.is_attached:
            return
        batch = list(itertools.islice(self._unparsed, PARSE_BATCH))
        self._parse_saved(batch)
        if self._unparsed:
            self.call_later(self._parse_some)

    def _watch(self, ids: list[str], known: dict[str, Job]) -> None:
        # A hand-edited file may hold anything; only real ids are polled (the rest stay "waiting").
        self.poller.watch([job_id for job_id in ids if is_job_id(job_id)], known=known)

    async def on_unmount(self) -> None:
        """Save the watch list, close the client and stop the demo server: on every exit path."""
        self._save(final=True)
        try:
            await self.outputs.aclose()
            await self.client.aclose()
        finally:
            if self._on_exit is not None:
                await asyncio.to_thread(self._on_exit)

    @work(exit_on_error=False, group="poll")
    async def _consume_updates(self) -> None:
        """The one long-lived poll consumer; a crash becomes a visible state, not an app exit."""
        try:
            async for update in self.poller.updates():
                self.post_message(PollUpdated(update))
        except Exception as exc:  # noqa: BLE001 - anything the poller raises is shown, not raised
            self.post_message(PollerStopped(printable(str(exc) or type(exc).__name__)[:200]))

    # -- poll results -------------------------------------------------------------------------

    def on_poll_updated(self, message: PollUpdated) -> None:
        for state in message.update.jobs:
            self._pending[state.id] = state
        self._pending_changes.extend(message.update.changes)
        self._engine = message.update.engine

    def on_poller_stopped(self, message: PollerStopped) -> None:
        self._stopped = message.error
        self.notify(f"Polling stopped: {message.error}. Restart batchmon to resume.",
                    severity="error", timeout=30, markup=False)
        self._flush_updates()

    @property
    def offline(self) -> bool:
        """Nothing on screen is current: the API is unreachable, refuses the key, or polling died."""
        return self._stopped is not None or (
            self._engine is not None and self._engine.mode in ("offline", "unauthorised")
        )

    def _flush_updates(self) -> None:
        """Apply coalesced poll results: store, notifications, changed table cells, header, detail."""
        if not self.table.is_attached:
            return  # a last tick while the app shuts down
        now = self.clock()
        pending, self._pending = self._pending, {}
        changes, self._pending_changes = self._pending_changes, []
        for state in pending.values():
            if state.id not in self.store.jobs:
                continue  # removed while its request was in flight
            self._states[state.id] = state
            record = None
            if state.job is not None and state.job is not self._records.get(state.id):
                self._records[state.id] = state.job
                record = _record(state.job)
            if state.status is not None and self._worth_saving(state, record):
                self.store.observe(state.id, record, state.status, state.confirmed_at or now)
        self._announce(changes)
        self._repaint(self._views(state.id for state in pending.values() if state.id in self.store.jobs))
        self._copy_if_fetched()

    def _worth_saving(self, state: JobState, record: dict[str, Any] | None) -> bool:
        """Status changes and new records always; a mere confirmation only now and then.

        Every poll confirms every active job: writing the file for each would rewrite it every
        couple of seconds for no gain. The screen reads the poller's fresher confirmation.
        """
        watched = self.store.jobs[state.id]
        if record is not None or state.status != watched.status or watched.confirmed_at is None:
            return True
        return (state.confirmed_at or 0.0) - watched.confirmed_at >= CONFIRMATION_SAVE_EVERY

    def _repaint(self, changed: list[JobView]) -> None:
        now = self.clock()
        self.table.put(changed, now, self.offline)
        self.header.show(self._counts(), self._engine, self._stopped, now)
        self._show_detail()
        self._update_title()

    def _announce(self, changes: list[StatusChange]) -> None:
        """A toast (and the bell) when watched jobs finish or fail; first sightings stay quiet."""
        done = [
            change for change in changes
            if change.status in TERMINAL_STATUSES and change.previous not in (None, change.status)
            and change.id in self.store.jobs
        ]
        if not done:
            return
        failed = [change for change in done if change.status == "error"]
        if len(done) <= 3:
            for change in done:
                view = self._view(change.id)
                symbol, _ = STATUS_LOOK[change.status]
                what = f"{symbol} {_short(change.id)} {printable(view.preset or '')} {change.status}".replace("  ", " ")
                error = view.job.error if view.job is not None and change.status == "error" else None
                self.notify(what + (f"\n{printable(error)}" if error else ""),
                            title="Job failed" if change.status == "error" else "Job finished",
                            severity="error" if change.status == "error" else "information",
                            timeout=10, markup=False)
        else:
            self.notify(f"{len(done) - len(failed)} jobs finished, {len(failed)} failed",
                        severity="error" if failed else "information", timeout=10, markup=False)
        if self.settings.bell:
            self.bell()

    # -- views --------------------------------------------------------------------------------

    def _view(self, job_id: str) -> JobView:
        watched = self.store.jobs[job_id]
        state = self._states.get(job_id)
        job = self._records.get(job_id)
        status = state.status if state is not None and state.status is not None else watched.status
        if status is None and job is not None:
            status = job.status
        preset = (state.preset if state is not None else None) or (job.preset if job is not None else None)
        if preset is None and job_id in self._unparsed:  # the saved record, not parsed yet
            saved = (watched.record or {}).get("preset")
            preset = saved if isinstance(saved, str) else None
        confirmed = [t for t in (watched.confirmed_at, state.confirmed_at if state else None) if t is not None]
        return JobView(
            id=job_id,
            status=status,
            preset=preset,
            job=job,
            added_at=watched.added_at,
            confirmed_at=max(confirmed, default=None),
            timeline=tuple(watched.timeline),
            last_error=state.last_error if state is not None else None,
            gone=state.gone if state is not None else False,
        )

    def _views(self, ids: Iterable[str]) -> list[JobView]:
        return [self._view(job_id) for job_id in ids]

    def _counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for job_id in self.store.jobs:
            view = self.table.view(job_id)
            counts["not found" if view is not None and view.gone else (view.status if view else None) or "waiting"] += 1
        return counts

    def _show_detail(self, force: bool = False) -> None:
        job_id = self.table.selected_id
        if job_id in self._unparsed:
            self._parse_saved([job_id])  # the detail pane shows the whole record
        view = self.table.view(job_id) if job_id is not None else None
        now = self.clock()
        key = (view, int(now), self.offline)
        if force or key != self._detail_key:
            self._detail_key = key
            self.detail.show(view, now, self.offline)

    def _update_title(self) -> None:
        table = self.table
        title = f"Jobs {table.row_count}/{table.total}" if table.filter_text else f"Jobs {table.total}"
        title += f" · sort: {table.sort_mode}"
        if table.filter_text:
            title += f" · filter: {printable(table.filter_text)}"
        self.list_pane.border_title = title

    def on_job_table_highlighted(self, _message: JobTable.Highlighted) -> None:
        self._show_detail()

    def on_job_table_selected(self, _message: JobTable.Selected) -> None:
        outputs = self.detail.output_list
        (outputs if outputs.display else self.detail).focus()

    # -- the store ----------------------------------------------------------------------------

    def _save(self, final: bool = False) -> None:
        """Write the watch list when it has changes, and follow another instance's saves (a save
        with nothing of ours to write only merges). Errors become a notification, never a crash."""
        if not (self.store.dirty or final or self.store.changed_on_disk()):
            return
        try:
            warning = self.store.save()
        except StoreError as exc:
            self._store_failed(str(exc))
            return
        self._store_problem = None
        if warning:
            self.notify(printable(warning), title="Watch list", severity="warning", timeout=20, markup=False)
        if not final and self.table.is_attached:
            self._reconcile()

    def _store_failed(self, problem: str) -> None:
        if problem != self._store_problem:  # say it once, not every SAVE_EVERY seconds
            self._store_problem = problem
            self.notify(f"{printable(problem)}\nThe watch list is kept in memory and saved when possible.",
                        title="Watch list not saved", severity="error", timeout=20, markup=False)

    def _reconcile(self) -> None:
        """Follow another batchmon's additions and removals, merged in by the last save."""
        added = [job_id for job_id in self.store.jobs if self.table.view(job_id) is None]
        removed = [job_id for job_id in self.table.ids() if job_id not in self.store.jobs]
        for job_id in removed:
            self._forget(job_id)
        if added:
            self._start_watching(added)
            self._repaint(self._views(added))

    def _forget(self, job_id: str) -> None:
        self.poller.unwatch(job_id)
        self.table.drop(job_id)
        self._states.pop(job_id, None)
        self._records.pop(job_id, None)
        self._unparsed.pop(job_id, None)
        self._pending.pop(job_id, None)

    # -- actions ------------------------------------------------------------------------------

    def _selected(self) -> JobView | None:
        job_id = self.table.selected_id
        if job_id in self._unparsed:
            self._parse_saved([job_id])  # copy and refresh need the record, and a watched job
        view = self.table.view(job_id) if job_id is not None else None
        if view is None:
            self.notify("No job selected. Press a to add job ids.", severity="warning", timeout=4)
        return view

    def action_add(self) -> None:
        self.push_screen(AddJobsScreen(), callback=self.add_jobs)

    def add_jobs(self, ids: list[str] | None) -> None:
        """Watch these (valid) ids; already watched ones are skipped and counted."""
        if not ids:
            return
        added = self.store.add(ids, self.clock())
        if added:
            self.poller.watch(added)
            self._repaint(self._views(added))
            self.table.select(added[0])
        skipped = len(ids) - len(added)
        message = f"Watching {len(added)} more job{'s' if len(added) != 1 else ''}" if added else "Nothing added"
        if skipped:
            message += f"; {skipped} already watched"
        self.notify(message, timeout=4)

    def action_remove(self) -> None:
        view = self._selected()
        if view is None:
            return
        self.store.remove(view.id)
        self._forget(view.id)
        self._repaint([])
        self.notify(f"Stopped watching {_short(view.id)} (the job stays on Daily)", timeout=4, markup=False)

    def action_refresh(self) -> None:
        view = self._selected()
        if view is not None:
            self.poller.refresh(view.id)
            self.notify(f"Refreshing {_short(view.id)}", timeout=2, markup=False)

    def action_copy(self, what: str) -> None:
        view = self._selected()
        if view is not None:
            self._copy_from(view, what)

    def _copy_from(self, view: JobView, what: str) -> None:
        """Copy the job id (`id`), or the highlighted output's S3 key (`key`) or URI (`uri`)."""
        if what == "id":
            self._copy(view.id, "job id")
            return
        output = self.detail.highlighted_output if self.detail.view and self.detail.view.id == view.id else None
        outputs = view.outputs()
        output = output or (outputs[0] if outputs else None)
        if output is None and view.terminal and (view.job is None or view.job.status != view.status):
            # Finished, but the record with its outputs has not arrived yet: fetch it now and
            # copy when it comes, rather than claim there are no outputs.
            self._copy_when_fetched = (view.id, what)
            self.poller.refresh(view.id)
            self.notify(f"Fetching the outputs of {_short(view.id)}; copying when they arrive", timeout=4)
            return
        if output is None:
            when = "" if view.terminal else f" yet (it is {printable(view.status or 'not fetched')})"
            self.notify(f"Job {_short(view.id)} has no outputs{when}; nothing copied", severity="warning",
                        timeout=5, markup=False)
            return
        label = f"{printable(output.kind)} {printable(output.format or '')}".strip()
        if what == "key":
            if not output.key:
                self.notify("This output has no S3 key; nothing copied", severity="warning", timeout=5)
                return
            self._copy(output.key, f"S3 key of {label}")
        else:
            if output.s3_uri is None:
                self.notify("This output has no bucket or key, so no s3:// URI; nothing copied",
                            severity="warning", timeout=5)
                return
            self._copy(output.s3_uri, f"S3 URI of {label}")

    def _copy_if_fetched(self) -> None:
        """Finish a copy that waited for its job's record (see `_copy_from`)."""
        if self._copy_when_fetched is None:
            return
        job_id, what = self._copy_when_fetched
        view = self.table.view(job_id)
        if view is None:
            self._copy_when_fetched = None  # removed meanwhile
        elif view.job is not None and view.job.status == view.status:
            self._copy_when_fetched = None
            self._copy_from(view, what)
        elif self._states.get(job_id) is not None and self._states[job_id].last_error:
            self._copy_when_fetched = None
            self.notify(f"Could not fetch {_short(view.id)}: {printable(self._states[job_id].last_error)}",
                        severity="error", timeout=6, markup=False)

    @work(group="copy")
    async def _copy(self, text: str, what: str) -> None:
        """tmux and clipboard tools are subprocesses: run them off the UI thread."""
        choice = self.settings.copy

        def osc52(value: str) -> None:
            self.call_from_thread(self.copy_to_clipboard, value)

        result = await asyncio.to_thread(
            copy_text, text, osc52=osc52 if choice.osc52 else None,
            use_tmux=choice.tmux, use_native=choice.native,
        )
        self.post_message(Copied(what, result))

    def on_copied(self, message: Copied) -> None:
        result = message.result
        shown = printable(result.text[:COPIED_SHOWN]) + ("…" if len(result.text) > COPIED_SHOWN else "")
        line = self.copied_line
        line.update(Text.assemble(("Copied " if result.ok else "Not copied ", "bold"),
                                  (f"{message.what}: ", "dim"), shown))
        line.display = True
        self.notify(f"{result.summary()}\n{shown}",
                    title=f"Copied {message.what}" if result.ok else "Nothing copied",
                    severity="information" if result.ok else "warning", timeout=6, markup=False)

    def action_filter(self) -> None:
        self.filter_bar.display = True
        self.filter_box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.table.set_filter(event.value)
            self._update_title()
            self._show_detail()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                self.filter_bar.display = False
            self.table.focus()

    def action_back(self) -> None:
        """Escape: clear the filter if there is one, else return to the job list."""
        box, bar = self.filter_box, self.filter_bar
        if bar.display or self.table.filter_text:
            box.value = ""
            bar.display = False
            self.table.set_filter("")
            self._update_title()
            self._show_detail()
        self.table.focus()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self._update_title()

    def action_pause(self) -> None:
        if self.poller.paused:
            self.poller.resume()
        else:
            self.poller.pause()
        self._engine = self.poller.engine_state()
        self.header.show(self._counts(), self._engine, self._stopped, self.clock())

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            self.table.focus()
        elif self.screen.maximize(self.detail, container=False):
            self.detail.focus()  # so its keys (scrolling) work and the footer shows the app's

    def action_help(self) -> None:
        keys = [
            (self.get_key_display(binding), binding.tooltip or binding.description)
            for binding in self._help_bindings()
        ]
        self.push_screen(HelpScreen(keys))

    def _help_bindings(self) -> list[Binding]:
        return [b if isinstance(b, Binding) else Binding(*b) for b in self.BINDINGS]

    # -- outputs: preview, download link, downloads (issue 7) -------------------------------------
    # One block, so it moves as a whole into the main screen.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The app's keys act on the job list, which a preview covers: only quitting stays.
        if any(isinstance(screen, PreviewScreen) for screen in self.screen_stack):
            return action == "quit"
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list is self.detail.output_list:  # Enter on an output
            self.action_preview()

    def action_preview(self) -> None:
        view = self._finished_selected()
        if view is not None:
            from_list = self.focused is self.detail.output_list
            self.push_screen(PreviewScreen(
                self.outputs, view.id, preset=view.preset, wanted=self._wanted(view) if from_list else Wanted(),
                folder=download_folder(self.settings.download_dir, view.id), copy=self._copy,
            ))

    def action_copy_link(self) -> None:
        view = self._finished_selected()
        if view is not None:
            self._link_then(view, self._wanted(view), "copy")

    def action_download(self) -> None:
        view = self._finished_selected()
        if view is not None and self._transfer_free():
            self._link_then(view, self._wanted(view), "download")

    def action_download_all(self) -> None:
        view = self._finished_selected()
        if view is not None and self._transfer_free():
            self._link_then(view, None, "download")

    def _finished_selected(self) -> JobView | None:
        """The selected job if it has outputs to fetch; else a toast says why not."""
        view = self._selected()
        if view is None:
            return None
        short = _short(view.id)
        if view.gone:
            self.notify(f"Job {short} is gone (deleted, or never existed)", severity="warning", timeout=5, markup=False)
        elif view.status == "error":
            self.notify(f"Job {short} ended in error: it has no outputs", severity="warning", timeout=5, markup=False)
        elif view.status != "finished":
            now = printable(view.status or "not fetched yet")
            self.notify(f"Job {short} has not finished (it is {now}): no outputs yet",
                        severity="warning", timeout=5, markup=False)
        else:
            return view
        return None

    def _wanted(self, view: JobView) -> Wanted:
        """The highlighted output (as `c` copies it), or the job's main one when none is known."""
        ref = self.detail.highlighted_output if self.detail.view and self.detail.view.id == view.id else None
        if ref is None:
            return Wanted()
        same = [r for r in view.outputs() if r.kind == ref.kind and r.format == ref.format]
        return Wanted(ref.kind, ref.format, next((i for i, r in enumerate(same) if r is ref), 0))

    def _transfer_free(self) -> bool:
        if self.screen.query(TransferBar) and self.screen.query_one(TransferBar).display:
            self.notify("A download is running already", severity="warning", timeout=3)
            return False
        return True

    @work(group="outputs", exit_on_error=False)
    async def _link_then(self, view: JobView, wanted: Wanted | None, then: str) -> None:
        """Mint the links, then copy one (`copy`) or download one or all (`download`, wanted None)."""
        try:
            links = await self.outputs.links(view.id)
        except ApiError as exc:
            self.notify(problem(exc, view.id, view.status), severity="error", timeout=6, markup=False)
            return
        if wanted is not None:
            link = pick_link(links, kind=wanted.kind, format=wanted.format, index=wanted.index, preset=view.preset)
            links = [link] if link is not None else []
        if not links:
            self.notify(f"Job {_short(view.id)} offers no such output", severity="warning", timeout=5, markup=False)
        elif then == "copy":
            self._copy(links[0].url, f"download link of {links[0].label}")
        else:
            screen = self.screen
            bar = screen.query_one(TransferBar) if screen.query(TransferBar) else TransferBar()
            if not bar.is_attached:
                await screen.mount(bar, before=screen.query_one(Footer))
            await download_links(self, self.outputs, view.id, links,
                                 download_folder(self.settings.download_dir, view.id), bar)

    # -- measurement --------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.table.follow_top = False  # the user is steering now
        await super().on_event(event)

def build_app(
    settings: Settings,
    *,
    job_ids: Sequence[str] = (),
    demo: bool = False,
    state_path: Path | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    app_class: type[BatchmonApp] | None = None,
) -> BatchmonApp:
    """The app for the CLI, the demo, the tests and the benchmarks (which pass a timed subclass).

    Demo mode serves a seeded simulator on a loopback port (stopped when the app exits), watches
    its jobs, needs no key, and keeps its own watch list, started afresh each run.
    """
    api_url, api_key = settings.api_url, settings.api_key
    on_exit: Callable[[], None] | None = None
    if demo:
        from tui.sim import SimServer, Simulator  # the simulator is only needed for the demo

        sim = Simulator(jobs=DEMO_JOBS, seed=DEMO_SEED, speed=DEMO_SPEED)
        server = SimServer(sim).start()
        api_url, api_key, on_exit = server.base_url, SecretStr(sim.api_key), server.stop
        job_ids = [*reversed(sim.ids()), *job_ids]
        if state_path is None:
            state_path = locations.state_file(demo=True)
            # The simulator starts from scratch each run, so yesterday's demo jobs no longer exist.
            state_path.unlink(missing_ok=True)
    client = BatchClient(api_url, api_key, budget=RequestBudget(settings.rate), transport=transport)
    poller = Poller(client, interval=settings.interval, clock=clock)
    store = Store(state_path or locations.state_file())
    outputs = Outputs(client, transport=transport)  # files: the same transport, never the key
    return (app_class or BatchmonApp)(
        settings=settings, client=client, poller=poller, store=store,
        job_ids=job_ids, clock=clock, demo=demo, on_exit=on_exit, outputs=outputs,
    )
