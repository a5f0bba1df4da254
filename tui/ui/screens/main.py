"""The main screen: header, job list with its filter, detail pane; renders what the WatchList hands it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.widgets._toast import ToastRack

from tui.core.watchlist import JobView, WatchList
from tui.present.formatting import freshness
from tui.present.text import shown
from tui.ui.keymap import with_ids
from tui.ui.messages import ImportAsked
from tui.ui.widgets.footer import FittedFooter
from tui.ui.widgets.header import StatusHeader
from tui.ui.widgets.job_detail import JobDetail
from tui.ui.widgets.job_table import JobTable

WIDE = 120  # columns from which the detail pane sits beside the list instead of below it


class MainScreen(Screen[None]):
    """Reads the model only from the WatchList; the widgets are drawn from what it returns."""

    AUTO_FOCUS = "#jobs"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
    # Every key of the main screen, in footer order; the App's actions are named `app.…`. The
    # tooltip is the longer text of the help screen (`?`); the description is the footer's.
    # Each binding's id is its action's name (tui/keymap.py), the name `[keymap]` remaps it by.
    BINDINGS = with_ids(
        [
            Binding("a", "app.add", "Add", tooltip="add job ids (paste any text that holds them)"),
            Binding("x", "app.remove", "Remove", tooltip="stop watching the highlighted job (it stays on Daily)"),
            Binding(
                "u",
                "app.undo",
                "Undo",
                show=False,
                id="undo",
                tooltip="watch again the job x just removed (a few seconds)",
            ),
            Binding("n", "app.submit", "Submit", show=False, id="submit", tooltip="submit a new job (a form)"),
            Binding(
                "X",
                "app.delete",
                "Delete",
                show=False,
                id="delete",
                tooltip="delete the highlighted job at Daily, outputs included (asks first)",
            ),
            Binding("r", "app.refresh", "Refresh", tooltip="fetch the highlighted job now"),
            Binding("c", "app.copy('key')", "Copy key", tooltip="copy the S3 key of the highlighted output"),
            Binding("C", "app.copy('uri')", "Copy s3:// URI", show=False, tooltip="copy it as s3://bucket/key"),
            Binding("i", "app.copy('id')", "Copy job id", show=False, tooltip="copy the job id"),
            Binding(
                "o",
                "app.preview",
                "Read",
                id="preview",
                tooltip="read the main output, or the highlighted one (also enter)",
            ),
            Binding(
                "L",
                "app.copy_link",
                "Copy link",
                show=False,
                id="copy_link",
                tooltip="copy the download link of the highlighted output",
            ),
            Binding(
                "d", "app.download", "Download", show=False, id="download", tooltip="download the highlighted output"
            ),
            Binding(
                "D",
                "app.download_all",
                "Download all",
                show=False,
                id="download_all",
                tooltip="download every output of the job",
            ),
            Binding(
                "I", "import_jobs", "Import", show=False, id="import", tooltip="pick recent jobs of the domain to watch"
            ),
            Binding(
                "F",
                "follow",
                "Follow",
                show=False,
                id="follow",
                tooltip="follow the domain on/off: watch every job that appears on it (◆ marks them)",
            ),
            Binding("slash", "filter", "Filter", tooltip="filter by id, preset, status or source"),
            Binding("s", "sort", "Sort", tooltip="sort by status, time added or id (cycles)"),
            Binding("S", "reverse_sort", "Reverse sort", show=False, tooltip="reverse the order (or click a header)"),
            Binding("p", "app.pause", "Pause", tooltip="pause or resume polling (after a refused key: try again)"),
            Binding(
                "K",
                "app.set_key",
                "Set API key",
                show=False,
                id="set_key",
                tooltip="enter an API key for this session (masked, not saved)",
            ),
            Binding("z", "zoom", "Zoom detail", show=False, tooltip="detail pane full screen, and back"),
            Binding(
                "N",
                "app.notifications",
                "Notifications",
                show=False,
                id="notifications",
                tooltip="every notification so far, with its time",
            ),
            Binding("question_mark", "app.help", "Help", tooltip="this list"),
            Binding("q", "app.quit", "Quit", tooltip="quit (the watch list is saved)"),
            Binding("escape", "back", "Back", show=False, tooltip="clear the filter, back to the job list"),
        ]
    )

    def __init__(self, watchlist: WatchList, *, title: str, stale_after: float, clock: Callable[[], float]) -> None:
        super().__init__()
        self.watchlist = watchlist
        self.clock = clock
        self._detail_key: tuple[Any, ...] | None = None
        self._title = ""
        self._trouble: str | None = None  # why nothing is confirmed, as of the last repaint
        # Widgets are held, not queried: timers may fire during teardown.
        self.header = StatusHeader(title=title, clock=clock, id="header")
        self.list_pane = Vertical(id="list-pane")
        self.filter_bar = Horizontal(id="filter-bar")
        self.filter_box = Input(placeholder="id, preset, status or source", id="filter", compact=True)
        self.copied_line = Static(id="copied")
        self.table = JobTable(stale_after=stale_after, load=self._full_view, entered=watchlist.entered_at, id="jobs")
        self.detail = JobDetail(stale_after=stale_after, id="detail")

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
        yield FittedFooter()

    def on_mount(self) -> None:
        """The first frame: every watched job (the App opened the WatchList before mounting)."""
        self.repaint(self.watchlist.views())
        self.table.move_cursor(row=0)

    def on_resize(self) -> None:
        self.call_after_refresh(self._place_toasts)

    def _place_toasts(self) -> None:
        """Toasts sit bottom left, over the job list: above the detail pane when it is below the list."""
        below = self.has_class("-narrow") and self.detail.display and self.maximized is None
        lift = self.detail.outer_size.height + 1 if below else 1  # 1: the footer
        for rack in self.query(ToastRack):
            rack.styles.margin = (0, 0, lift, 0)

    def _full_view(self, job_id: str) -> JobView:
        return self.watchlist.view(job_id, load=True)

    # -- rendering --------------------------------------------------------------------------------

    def restyle(self) -> None:
        """After a theme change: text already built holds the old theme's status styles."""
        self.header.refresh()
        self.table.rewrite()
        self.show_detail(force=True)

    def repaint(self, changed: Iterable[JobView]) -> None:
        """Put changed rows in the table, then refresh the header, detail pane and title."""
        if not self.table.is_attached:
            return  # a last tick while the app shuts down
        now, model = self.clock(), self.watchlist
        self.table.put(changed, now, model.offline)
        self._trouble = model.trouble  # said in the detail pane in step with the table's marking
        self.refresh_header()
        self.show_detail()
        self.update_title()

    def refresh_header(self) -> None:
        model = self.watchlist
        self.header.show(
            model.counts(),
            model.engine,
            model.stopped,
            self.clock(),
            following=model.following,
            unsaved=model.store_trouble,
        )

    def drop(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            self.table.drop(job_id)
        self.repaint([])

    @property
    def selected_id(self) -> str | None:
        job_id = self.table.selected_id
        return job_id if job_id is not None and job_id in self.watchlist else None

    def show_detail(self, force: bool = False) -> None:
        job_id = self.selected_id
        now, offline, trouble = self.clock(), self.watchlist.offline, self._trouble
        view = self.watchlist.view(job_id) if job_id is not None else None
        # Redrawn only when what it says changes: the job, its age, and (while it runs) its run time.
        # The cheap view is compared; the detail (its timeline is a query) is read only on change.
        age = freshness(view, now, self.detail.stale_after, offline) if view is not None else None
        key = (view, offline, age, None if view is None or view.terminal else int(now), trouble)
        if force or key != self._detail_key:
            self._detail_key = key
            detail = self.watchlist.detail(job_id) if job_id is not None else None
            self.detail.show(detail, now, offline, trouble=trouble)

    def update_title(self) -> None:
        table, total = self.table, len(self.watchlist)
        title = f"Jobs {table.row_count}/{total}" if table.filter_text else f"Jobs {total}"
        title += f" · sort: {table.sort_mode}{' ↑' if table.sort_reverse else ''}"
        if table.filter_text:
            title += f" · filter: {shown(table.filter_text, 60)}"
        if title != self._title:  # setting it repaints, so only on change
            self._title = title
            self.list_pane.border_title = Content(title)  # plain text: a str would be read as markup

    def on_job_table_highlighted(self, _message: JobTable.Highlighted) -> None:
        self.show_detail()

    def on_job_table_selected(self, _message: JobTable.Selected) -> None:
        outputs = self.detail.output_list
        (outputs if outputs.display else self.detail).focus()

    # -- following the domain, importing its jobs -------------------------------------------------

    def action_follow(self) -> None:
        on = not self.watchlist.following
        self.watchlist.set_following(on)
        self.refresh_header()
        message = (
            "Following the domain: new jobs are watched as they appear (◆)"
            if on
            else "Stopped following the domain; followed jobs stay watched (batchmon remove --followed clears them)"
        )
        self.notify(message, timeout=5, markup=False)

    def action_import_jobs(self) -> None:
        self.post_message(ImportAsked())  # the App holds the client the import dialog lists with

    # -- filter, sort, zoom -----------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter_bar.display = True
        # At once, not on the next idle (`focus()` waits): keys typed right after `/` follow.
        self.set_focus(self.filter_box)

    def typed_into_filter(self, event: events.Key) -> bool:
        """Put a key typed right after `/` into the filter; True if it was (the App asks).

        Such a key was routed to the list before `/` took effect; it comes back up to the App
        while the filter has focus, where Textual would drop it or run it as a command (`/xa`
        typed quickly removed a job and opened the add dialog). The field keeps every printable
        key it takes itself, so a printable key arriving here is one of those.
        """
        if not (event.is_printable and event.character and self.focused is self.filter_box):
            return False
        self.filter_box.insert_text_at_cursor(event.character)
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.filter_box:
            self.table.set_filter(event.value)
            self.update_title()
            self.show_detail()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is self.filter_box:
            if not event.value.strip():
                self.filter_bar.display = False
            self.table.focus()

    def action_back(self) -> None:
        """Escape: clear the filter if there is one, else return to the job list."""
        if self.filter_bar.display or self.table.filter_text:
            self.filter_box.value = ""
            self.filter_bar.display = False
            self.table.set_filter("")
            self.update_title()
            self.show_detail()
        self.table.focus()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self.update_title()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self.update_title()

    def on_job_table_sorted(self, _message: JobTable.Sorted) -> None:
        self.update_title()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self.table.focus()
        elif self.maximize(self.detail, container=False):
            self.detail.focus()  # so its keys (scrolling) work and the footer shows the app's
