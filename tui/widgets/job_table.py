"""The watched-job table: one row per job id, changed cells updated in place."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from tui.text import printable
from tui.widgets.jobview import STATUS_RANK, UNKNOWN_RANK, JobView, freshness, recheck_in, status_text

# (key, label, width). Fixed widths: columns never jump while data changes, and the table
# fits 80 columns with its border and scrollbar. styles/app.tcss sizes the wide layout's list
# pane from these (sum + 2 per column + 3): change both together.
COLUMNS = (
    ("status", "Status", 12),
    ("id", "Job", 8),  # the full id sits in the cell, cropped; the detail pane shows all of it
    ("preset", "Preset", 10),
    ("source", "Source", 17),
    ("outputs", "Out", 3),
    ("confirmed", "Confirmed", 10),
)

SORTS: dict[str, Callable[[JobView], Any]] = {
    "status": lambda v: (STATUS_RANK.get(v.status or "", UNKNOWN_RANK), -v.added_at, v.id),
    "added": lambda v: (-v.added_at, v.id),
    "id": lambda v: (v.id,),
}


def _cell(text: str, style: Style | str = "", *, justify: str = "left", overflow: str = "ellipsis") -> Text:
    # no_wrap: a long value is cut at the column edge rather than wrapped onto a second line
    # (rows are one line tall); the detail pane shows every value in full.
    return Text(text, style=style, no_wrap=True, overflow=overflow, justify=justify)  # type: ignore[arg-type]


class JobTable(DataTable[Text]):
    """Rows are keyed by job id; the cursor stays on its job through updates, sorts and filters.

    Until every job has reported its status (or the user moves first), the cursor stays on the
    top row: the first screenful, which reorders as statuses arrive, opens at the top rather
    than wherever the first job in the list happened to sort to.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, stale_after: float, id: str | None = None) -> None:
        super().__init__(cursor_type="row", id=id)
        self.stale_after = stale_after
        self.sort_mode = "status"
        self.filter_text = ""
        self.colours: dict[str, str] = {}
        self._views: dict[str, JobView] = {}  # every watched job, shown or filtered out
        self._shown: dict[str, tuple[tuple[Any, ...], ...]] = {}  # row key -> cell fingerprints
        self._inputs: dict[str, tuple[Any, ...]] = {}  # row key -> what its cells were made from
        self._recheck: dict[str, float] = {}  # row key -> when its age text may change next
        self._now = 0.0
        self._offline = False
        self.follow_top = True  # cleared once all jobs reported, by a user move (the app) or select()
        self._unsorted = False  # rows out of order, a re-sort is due
        self._sorted_at = 0.0  # monotonic time of the last sort
        self._sort_cost = 0.0  # how long it took

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    # -- queries ------------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # no such cell (empty or shrinking table)
            return None
        return key.value

    def view(self, job_id: str) -> JobView | None:
        return self._views.get(job_id)

    def ids(self) -> list[str]:
        """Every job the table knows, shown or filtered out."""
        return list(self._views)

    @property
    def total(self) -> int:
        return len(self._views)

    # -- changes ------------------------------------------------------------------------------

    def put(self, views: Iterable[JobView], now: float, offline: bool) -> None:
        """Add or update these jobs, re-time every row when a second has passed; one sort at most."""
        retime = int(now) != int(self._now)
        everything = offline != self._offline
        self._now, self._offline = now, offline
        moved: list[str] = []  # rows whose sort key changed
        if not self._shown:
            # Filling an empty table (start-up): add rows in order, so no sort is needed after.
            views = sorted(views, key=SORTS[self.sort_mode])
        for view in views:
            old = self._views.get(view.id)
            self._views[view.id] = view
            if not self._visible(view):
                if view.id in self._shown:
                    self._remove(view.id)
                continue
            if view.id not in self._shown:
                self._unsorted = True
            elif self.sort_mode == "status" and old is not None and old.status != view.status:
                moved.append(view.id)
            self._write(view)
        if retime or everything:  # ages move in whole seconds
            self._retime(everything)
        if moved and not self._in_order(moved):
            self._unsorted = True
        # Sorting 10,000 rows takes tens of ms: a poll-driven re-sort waits until the last one's
        # cost is under 5% of the time since (user actions re-sort at once).
        if self._unsorted and time.monotonic() - self._sorted_at >= 20 * self._sort_cost:
            self._resort()
        if self.follow_top and all(v.status is not None or v.gone for v in self._views.values()):
            self.follow_top = False  # every job has reported: from now on the cursor follows its job

    def retime(self, now: float, offline: bool) -> None:
        """Refresh the time-dependent cells (ages, stale marking) that may have changed."""
        everything = offline != self._offline
        self._now, self._offline = now, offline
        self._retime(everything)

    def _retime(self, everything: bool) -> None:
        now, recheck = self._now, self._recheck
        for job_id in self._shown:
            if everything or recheck.get(job_id, 0.0) <= now:
                self._write(self._views[job_id])

    def rewrite(self) -> None:
        """Re-render every shown row (after a theme change); only changed cells are written."""
        for job_id in list(self._shown):
            self._write(self._views[job_id], force=True)

    def drop(self, job_id: str) -> None:
        self._views.pop(job_id, None)
        if job_id in self._shown:
            self._remove(job_id)

    def cycle_sort(self) -> str:
        modes = list(SORTS)
        self.sort_mode = modes[(modes.index(self.sort_mode) + 1) % len(modes)]
        self._resort()
        return self.sort_mode

    def set_filter(self, text: str) -> None:
        """Show only jobs whose id, preset, status or source contains `text` (any case)."""
        text = text.strip().lower()
        if text == self.filter_text:
            return
        keep = self.selected_id
        self.filter_text = text
        # A filter change may touch every row: rebuilding is cheaper than many remove_row calls.
        self.clear()
        self._shown.clear()
        self._inputs.clear()
        self._recheck.clear()
        for view in self._views.values():
            if self._visible(view):
                self._write(view)
        self._resort(keep=keep)

    def select(self, job_id: str) -> None:
        self.follow_top = False
        if job_id in self._shown:
            self.move_cursor(row=self.get_row_index(job_id), animate=False)

    # -- internals ----------------------------------------------------------------------------

    def _visible(self, view: JobView) -> bool:
        return not self.filter_text or view.matches(self.filter_text)

    def _cells(self, view: JobView, age: str, stale: bool) -> list[Text]:
        dim = "dim" if stale else ""
        outputs = view.outputs()
        status = status_text(view, self.colours)
        if stale:
            status.stylize("dim")
        return [
            status,
            _cell(printable(view.id), dim, overflow="crop"),  # a short id, like git's
            _cell(printable(view.preset or "—"), dim),
            _cell(printable(view.source or "—"), dim),
            _cell(str(len(outputs)) if outputs else "—", dim or ("" if outputs else "dim"), justify="right"),
            _cell(age, "dim italic" if stale else ""),
        ]

    def _write(self, view: JobView, force: bool = False) -> None:
        """Add the row, or update the cells that changed; cheap when nothing shown changed."""
        age, stale = freshness(view, self._now, self.stale_after, self._offline)
        # Everything the cells are made of (the record by identity: a refetch is a new object).
        inputs = (view.status, view.preset, view.gone, view.job, age, stale)
        self._recheck[view.id] = self._now + recheck_in(view, self._now, self.stale_after)
        if not force and self._inputs.get(view.id) == inputs:
            return  # a poll confirmed the job and nothing on its row changed: the common case
        self._inputs[view.id] = inputs
        cells = self._cells(view, age, stale)
        fingerprint = tuple((cell.plain, cell.style, tuple(cell.spans)) for cell in cells)
        old = self._shown.get(view.id)
        if old is None:
            self.add_row(*cells, key=view.id)
        else:
            for (key, _, _), cell, new, was in zip(COLUMNS, cells, fingerprint, old):
                if new != was:
                    self.update_cell(view.id, key, cell)
        self._shown[view.id] = fingerprint

    def _remove(self, job_id: str) -> None:
        keep = None if self.follow_top else self.selected_id
        row = self.cursor_row
        self.remove_row(job_id)
        del self._shown[job_id]
        self._inputs.pop(job_id, None)
        self._recheck.pop(job_id, None)
        if keep is not None and keep != job_id:
            self._restore_cursor(keep, row)

    def _in_order(self, job_ids: list[str]) -> bool:
        """Whether these rows still sort between their neighbours (then nothing needs to move)."""
        order = SORTS[self.sort_mode]
        for job_id in job_ids:
            index = self.get_row_index(job_id)
            key = order(self._views[job_id])
            for neighbour, after in ((index - 1, False), (index + 1, True)):
                if 0 <= neighbour < self.row_count:
                    other = order(self._views[self.coordinate_to_cell_key(Coordinate(neighbour, 0)).row_key.value])
                    if (other < key) if after else (key < other):
                        return False
        return True

    def _resort(self, keep: str | None = None) -> None:
        started = time.monotonic()
        self._unsorted = False
        self._sorted_at = started
        try:
            self._sort_rows(keep)
        finally:
            self._sort_cost = time.monotonic() - started

    def _sort_rows(self, keep: str | None) -> None:
        keep = None if self.follow_top else keep if keep is not None else self.selected_id
        row = self.cursor_row
        order = SORTS[self.sort_mode]
        wanted = sorted(self._shown, key=lambda job_id: order(self._views[job_id]))
        # Most flushes leave the order as it is: checking is far cheaper than DataTable.sort.
        if all(self.get_row_index(job_id) == index for index, job_id in enumerate(wanted)):
            return
        rank = {job_id: index for index, job_id in enumerate(wanted)}
        # The id column holds the full job id, so its cell text finds the rank.
        self.sort("id", key=lambda cell: rank[cell.plain])
        if keep is not None:
            self._restore_cursor(keep, row)
        elif self.follow_top and self.row_count and self.cursor_row != 0:
            self.move_cursor(row=0, animate=False)

    def _restore_cursor(self, job_id: str, old_row: int) -> None:
        """Put the cursor back on `job_id`; a scrolled table scrolls by as much as its row moved."""
        try:
            new_row = self.get_row_index(job_id)
        except RowDoesNotExist:
            return
        if new_row == old_row:
            return
        if self.scroll_y > 0:  # keep the job where it was on screen
            self.scroll_to(y=max(0, self.scroll_y + new_row - old_row), animate=False)
            self.move_cursor(row=new_row, animate=False, scroll=False)
        else:  # an unscrolled table stays at the top unless the job would leave the view
            self.move_cursor(row=new_row, animate=False, scroll=True)
