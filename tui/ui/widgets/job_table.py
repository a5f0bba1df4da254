"""The watched-job table: a virtual (Line API) list keyed by job id; only changed, visible rows repaint."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.watchlist import JobView
from tui.present.formatting import STATUS_RANK, UNKNOWN_RANK, added_text, elapsed_text, freshness, recheck_in
from tui.present.text import printable, shown
from tui.ui.widgets.status import STATUS_CLASSES, status_text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # the least it is shown at
    most: int  # the most it grows to when the table has room
    justify: str = "left"


# Every column, in display order. Which of them show, and how wide, depends on the table's width
# (`fit`): a narrow table drops columns rather than scrolling sideways, a wide one grows them.
COLUMNS = (
    Column("status", "Status", 12, 12),
    Column("id", "Job", 8, 36),  # a short id, like git's; the whole UUID when there is room
    Column("preset", "Preset", 10, 16),
    Column("source", "Source", 12, 48),
    Column("outputs", "Out", 3, 3, "right"),
    Column("elapsed", "For", 4, 4, "right"),  # time in the current status, as observed
    Column("confirmed", "Confirmed", 11, 11),
    Column("added", "Added", 11, 11),
    Column("recording", "Recording", 12, 36),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
CELL_TEXT = 100  # characters of server text kept in a cell (the widest column is far narrower)
PAD = 1  # blank cells either side of every column, as DataTable draws them
# How the table fills its width, step by step: ("add", key) shows a column at its least width if
# it fits (after one does not, no more are added); ("grow", key, most) widens a shown one.
STEPS: tuple[tuple[str, str, int], ...] = (
    ("add", "status", 0),
    ("add", "id", 0),
    ("add", "preset", 0),
    ("add", "confirmed", 0),
    ("add", "source", 0),
    ("add", "outputs", 0),
    ("add", "elapsed", 0),
    ("grow", "id", 36),
    ("grow", "source", 22),
    ("add", "added", 0),
    ("grow", "source", 32),
    ("add", "recording", 0),
    ("grow", "preset", 16),
    ("grow", "source", 48),
    ("grow", "recording", 36),
)

ID_WIDTHS = (8, 13, 18, 23, 36)

Layout = tuple[tuple[int, int, str], ...]  # (column index, width, justify), in display order


def fit(width: int) -> Layout:
    """The columns shown in a table `width` cells wide, and their widths."""
    index = {key: n for n, key in enumerate(COLUMN_KEYS)}
    widths: dict[str, int] = {}
    room, adding = width, True
    for step, key, most in STEPS:
        column = COLUMNS[index[key]]
        if step == "add":
            adding = adding and column.width + 2 * PAD <= room
            if adding or not widths:  # the first column shows even when nothing fits
                widths[key] = column.width
                room -= column.width + 2 * PAD
        elif key in widths and room > 0:
            grown = min(most, widths[key] + room)
            if key == "id":  # whole groups of the UUID: 8, 13, 18, 23 or 36 characters
                grown = max(size for size in ID_WIDTHS if size <= grown)
            room -= grown - widths[key]
            widths[key] = grown
    return tuple((index[key], widths[key], COLUMNS[index[key]].justify) for key in COLUMN_KEYS if key in widths)


def layout_width(layout: Layout) -> int:
    return sum(width + 2 * PAD for _, width, _ in layout)


# The first part of each sort key (the job id breaks ties). A status and an age fold into one
# float: sorting 100,000 rows on floats, after a sort by id, is several times faster than on tuples.
PRIMARY: dict[str, Callable[[JobView], float | str]] = {
    "status": lambda v: STATUS_RANK.get(v.status or "", UNKNOWN_RANK) * 1e12 - v.added_at,
    "added": lambda v: -v.added_at,
    "id": lambda v: v.id,
    "preset": lambda v: v.preset or "",
    "source": lambda v: v.source or "",
    "confirmed": lambda v: -(v.confirmed_at or 0.0),
}
SORTS = ("status", "added", "id")  # what `s` cycles through; a click on a header sorts by its column
HEADER_SORTS = {"status": "status", "id": "id", "preset": "preset", "source": "source", "confirmed": "confirmed"}
PLACE_MAX = 100  # rows put in place one by one in any table; more than this, and than 5%, are sorted


def comes_after(mode: str, reverse: bool, a: JobView, b: JobView) -> bool:
    """Whether `a` belongs below `b`: the mode's first key (reversed if asked), then the id."""
    first_a, first_b = PRIMARY[mode](a), PRIMARY[mode](b)
    if first_a != first_b:
        return first_a < first_b if reverse else first_a > first_b  # type: ignore[operator]
    return a.id > b.id


def sorted_ids(mode: str, ids: Iterable[str], views: dict[str, JobView], reverse: bool = False) -> list[str]:
    """Ids in display order: by id, then (a stable sort, which keeps ties by id) by the mode's first key."""
    by_id = sorted(ids)
    if mode == "id":
        return by_id[::-1] if reverse else by_id
    primary = PRIMARY[mode]
    return sorted(by_id, key=lambda job_id: primary(views[job_id]), reverse=reverse)


def _waits(view: JobView) -> int:
    """1 for a job the server has not reported on yet."""
    return int(view.status is None and not view.gone)


def _cell(text: str, style: Style | str = "", *, justify: str = "left", overflow: str = "ellipsis") -> Text:
    # no_wrap: a long value is cut at the column edge rather than wrapped onto a second line
    # (rows are one line tall); the detail pane shows every value in full.
    return Text(text, style=style, no_wrap=True, overflow=overflow, justify=justify)  # type: ignore[arg-type]


def _line(cells: list[Text], layout: Layout) -> Text:
    """One table line: the layout's cells, each cut or padded to its column, with the padding between."""
    line = Text(no_wrap=True, end="")
    gap = " " * PAD
    for index, width, justify in layout:
        cell = cells[index]
        fitted = cell.copy()
        fitted.truncate(width, overflow=cell.overflow or "ellipsis")
        room = width - fitted.cell_len
        if justify == "right":
            fitted.pad_left(room)
        else:
            fitted.pad_right(room)
        line.append(gap)
        line.append_text(fitted)
        line.append(gap)
    return line


class JobTable(ScrollView, can_focus=True):
    """Rows are keyed by job id; the cursor stays on its job through updates, sorts and filters.

    Only the rows on screen are ever rendered (`render_line`), so 10,000 jobs cost no more to
    paint than 40. A row's cells are built when it is first drawn, and rebuilt only when what
    they are made of changes; an update repaints that one line, and only if it is on screen.

    Until every job has reported its status (or the user moves first), the cursor stays on the
    top row: the first screenful, which reorders as statuses arrive, opens at the top rather
    than wherever the first job in the list happened to sort to.
    """

    DEFAULT_CSS = """
    JobTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .job-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .job-table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .job-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .job-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"job-table--header", "job-table--cursor", *STATUS_CLASSES}

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False, id="first"),
        Binding("end,G", "last", "Last", show=False, id="last"),
        Binding("enter", "select_cursor", "Select", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        """The cursor is on another job (None: the table is empty)."""

        job_id: str | None

    @dataclass
    class Sorted(Message):
        """The order changed by a click on a column header."""

        mode: str
        reverse: bool

    @dataclass
    class Selected(Message):
        """Enter (or a click) on a job."""

        job_id: str

    def __init__(
        self,
        *,
        stale_after: float,
        load: Callable[[str], JobView] | None = None,
        entered: Callable[[str, str], float | None] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.stale_after = stale_after
        self._load = load  # completes a partial view (reads its record) when its row is drawn
        self._entered_at = entered  # when a job entered a status, as observed (None: not known)
        self.sort_mode = "status"
        self.sort_reverse = False
        self.filter_text = ""
        self.cursor_row = 0
        self.follow_top = True  # cleared once all jobs reported, by a user move (the app) or select()
        self._waiting = 0  # jobs that have not reported yet (kept up to date: a scan of 100,000 is slow)
        self._views: dict[str, JobView] = {}  # every watched job, shown or filtered out
        self._order: list[str] = []  # shown job ids, top to bottom
        self._index: dict[str, int] = {}  # shown job id -> its row
        self._inputs: dict[str, tuple[Any, ...]] = {}  # row key -> what its cells are made of
        self._cells: dict[str, list[Text]] = {}  # row key -> cells, built when first needed
        self._prints: dict[str, tuple[tuple[Any, ...], ...]] = {}  # row key -> cell fingerprints
        self._version: dict[str, int] = {}  # row key -> bumped when its cells change
        self._recheck: dict[str, float] = {}  # row key -> when its age text may change next
        # Rendered lines by (row key, version, cursor, styles, width): scrolling back is free.
        self._strips: LRUCache[tuple[Any, ...], Strip] = LRUCache(256)  # about two screens of rows, both cursor states
        self._highlighted: str | None = None  # the job last announced as Highlighted
        self._now = 0.0
        self._offline = False
        self._unsorted = False  # rows out of order, a re-sort is due
        self._sorted_at = 0.0  # monotonic time of the last sort
        self._sort_cost = 0.0  # how long it took
        self._layout: Layout = ()
        self._layout_for = -1  # the width `_layout` was fitted to
        self._entered: dict[str, tuple[str | None, float | None]] = {}  # row key -> (status, entered it at)

    # -- queries ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def selected_id(self) -> str | None:
        return self._order[self.cursor_row] if 0 <= self.cursor_row < len(self._order) else None

    def shown_ids(self) -> list[str]:
        """The jobs on the list (the filter's matches), top to bottom."""
        return list(self._order)

    def visible_ids(self) -> list[str]:
        """The jobs whose rows are on screen now."""
        top = int(self.scroll_y)
        return self._order[top : top + max(0, self.scrollable_content_region.height - 1)]

    def get_cell(self, job_id: str, column: str) -> Text:
        """What the row of a shown job holds in a column (built now if it was never drawn)."""
        return self._row_cells(job_id)[COLUMN_KEYS.index(column)]

    # -- changes ------------------------------------------------------------------------------

    def put(self, views: Iterable[JobView], now: float, offline: bool) -> None:
        """Add or update these jobs, re-time every row when a second has passed; one sort at most."""
        retime = int(now) != int(self._now)
        everything = offline != self._offline
        self._now, self._offline = now, offline
        if not self._views and not self.filter_text:
            self._fill(views)  # the first frame at start-up: 100,000 rows in one go
            return
        moved: list[str] = []  # rows whose sort key changed
        primary = PRIMARY[self.sort_mode]
        added: dict[str, None] = {}  # new rows, in order (a dict: ids may repeat in `views`)
        for view in views:
            old = self._views.get(view.id)
            self._views[view.id] = view
            self._waiting += _waits(view) - (_waits(old) if old is not None else 0)
            if not self._visible(view):
                if view.id in self._index:
                    self._remove(view.id)
                continue
            if view.id not in self._index:
                added[view.id] = None
            elif old is not None and self.sort_mode != "id" and primary(old) != primary(view):
                moved.append(view.id)
            self._write(view)
        few = len(added) + len(moved) <= max(PLACE_MAX, len(self._order) // 20)
        if (added or moved) and few and not self._unsorted:
            # A few rows among many: each goes straight to its place (a sort of 100,000 rows
            # would hold up keys for a tenth of a second).
            self._place([*added, *moved])
            if added:
                self._resized()
        else:
            if added:
                # Appended at the bottom; the sort below puts them in place.
                self._index.update((job_id, len(self._order) + n) for n, job_id in enumerate(added))
                self._order.extend(added)
                self._unsorted = True
                self._resized()
            if moved and not self._in_order(moved):
                self._unsorted = True
        if retime or everything:  # ages move in whole seconds
            self._retime(everything)
        # Sorting 10,000 rows takes a few ms: a poll-driven re-sort waits until the last one's
        # cost is under 5% of the time since (user actions re-sort at once).
        if self._unsorted and time.monotonic() - self._sorted_at >= 20 * self._sort_cost:
            self._resort()
        if self.follow_top and not self._waiting:
            self.follow_top = False  # every job has reported: from now on the cursor follows its job
        self._announce()

    def _fill(self, views: Iterable[JobView]) -> None:
        """Fill an empty table: no per-row bookkeeping (rows get their cells when first drawn)."""
        self._views = {view.id: view for view in views}
        self._order = sorted_ids(self.sort_mode, self._views, self._views, self.sort_reverse)
        self._index = {job_id: row for row, job_id in enumerate(self._order)}
        self._sorted_at = time.monotonic()
        self._resized()
        self.refresh()
        self._waiting = sum(map(_waits, self._views.values()))
        if self.follow_top and not self._waiting:
            self.follow_top = False
        self._announce()

    def retime(self, now: float, offline: bool) -> None:
        """Refresh the time-dependent cells (ages, stale marking) that may have changed."""
        everything = offline != self._offline
        self._now, self._offline = now, offline
        self._retime(everything)

    def _retime(self, everything: bool) -> None:
        # Only rows drawn before hold cells to update; the others work out their age when drawn.
        now, recheck, index = self._now, self._recheck, self._index
        for job_id in [job_id for job_id in self._cells if job_id in index]:
            if everything or recheck.get(job_id, 0.0) <= now:
                self._write(self._views[job_id])

    def rewrite(self) -> None:
        """Re-render every row (after a theme change): cells hold Rich styles made from the theme."""
        self._cells.clear()
        self._prints.clear()
        self._strips.clear()
        self.refresh()

    def drop(self, job_id: str) -> None:
        old = self._views.pop(job_id, None)
        if old is not None:
            self._waiting -= _waits(old)
        if job_id in self._index:
            self._remove(job_id)
        self._announce()

    def cycle_sort(self) -> str:
        modes = list(SORTS)
        at = modes.index(self.sort_mode) if self.sort_mode in modes else -1
        self.sort_by(modes[(at + 1) % len(modes)], reverse=False)
        return self.sort_mode

    def reverse_sort(self) -> None:
        self.sort_by(self.sort_mode, reverse=not self.sort_reverse)

    def sort_by(self, mode: str, *, reverse: bool) -> None:
        self.sort_mode, self.sort_reverse = mode, reverse
        self._resort()
        self._announce()

    def set_filter(self, text: str) -> None:
        """Show only jobs whose id, preset, status or source contains `text` (any case)."""
        text = text.strip().lower()
        if text == self.filter_text:
            return
        keep = None if self.follow_top else self.selected_id
        self.filter_text = text
        # The rows are only a list of ids: rebuilding it is cheaper than removing one by one.
        shown = [view for view in self._views.values() if self._visible(view)]
        self._order = sorted_ids(self.sort_mode, (view.id for view in shown), self._views, self.sort_reverse)
        self._index = {job_id: row for row, job_id in enumerate(self._order)}
        self._unsorted = False
        for view in shown:  # rows hidden a while ago may have aged meanwhile
            self._write(view)
        self._resized()
        self.refresh()
        # The cursor stays on its job if it still shows, else goes to the top.
        self.move_cursor(row=self._index.get(keep, 0) if keep is not None else 0)

    def select(self, job_id: str) -> None:
        self.follow_top = False
        if job_id in self._index:
            self.move_cursor(row=self._index[job_id])

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Put the cursor on a row (clamped), repaint the two lines that changed, announce it."""
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        if self.cursor_row != old:
            self._refresh_row(old)
            self._refresh_row(self.cursor_row)
        if scroll:
            self._scroll_to_cursor()
        self._announce()

    # -- keys and mouse -----------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._page())

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_select_cursor(self) -> None:
        if (job_id := self.selected_id) is not None:
            self.post_message(self.Selected(job_id))

    def on_click(self, event: events.Click) -> None:
        # As DataTable did: a click on a row highlights it and selects it.
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y < 1:  # the header row: sort by that column, a second click reverses
            self._header_clicked(offset.x + int(self.scroll_x))
            return
        row = int(self.scroll_y) + offset.y - 1
        if row < len(self._order):
            self.move_cursor(row=row)
            self.action_select_cursor()

    def _header_clicked(self, x: int) -> None:
        left = 0
        for index, width, _ in self._fit(self.scrollable_content_region.width):
            left += width + 2 * PAD
            if x < left:
                mode = HEADER_SORTS.get(COLUMNS[index].key)
                if mode is not None:
                    self.sort_by(mode, reverse=not self.sort_reverse if mode == self.sort_mode else False)
                    self.post_message(self.Sorted(mode, self.sort_reverse))
                return

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self.refresh()  # the columns are fitted to the new width

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    # -- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line 0 is the header, which stays put; the rest show rows from the scroll position."""
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        base = self.rich_style
        layout = self._fit(width)
        if y == 0:
            header = base + self.get_component_rich_style("job-table--header")
            key: tuple[Any, ...] = ("", 0, False, header, width)
            strip = self._strips.get(key)
            if strip is None:
                line = _line([Text(column.label) for column in COLUMNS], layout)
                strip = self._strip(line, header, Style.null(), width, layout)
                self._strips[key] = strip
            return strip.crop(scroll_x, scroll_x + width)
        row = scroll_y + y - 1
        if row >= len(self._order):
            return Strip.blank(width, base)
        job_id = self._order[row]
        cursor = row == self.cursor_row
        # The cursor's colour beats the cells' own foreground (DataTable's "css" priority).
        style = base + self.get_component_rich_style("job-table--cursor") if cursor else base
        post = Style.from_color(color=style.color) if cursor else Style.null()
        cells = self._row_cells(job_id)
        key = (job_id, self._version.get(job_id, 0), cursor, style, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strip(_line(cells, layout), style, post, width, layout)
            self._strips[key] = strip
        return strip.crop(scroll_x, scroll_x + width)

    def _strip(self, line: Text, style: Style, post: Style, width: int, layout: Layout) -> Strip:
        """A whole line, styled, extended to the widget's width in its row's background."""
        segments = Segment.apply_style(line.render(self.app.console), style, post or None)
        strip = Strip(list(segments), layout_width(layout))
        return strip.extend_cell_length(width, style).crop(0, width).simplify()

    def _fit(self, width: int) -> Layout:
        """The columns for this width (worked out once per width)."""
        if width != self._layout_for:
            self._layout, self._layout_for = fit(width), width
        return self._layout

    def _refresh_row(self, row: int) -> None:
        """Repaint one row's line, if it is on screen."""
        top = int(self.scroll_y)
        if top <= row < top + self.scrollable_content_region.height - 1:
            self.refresh_line(row + 1)

    def _resized(self) -> None:
        # One line per row, plus the header; never wider than the table (no sideways scrolling).
        self.virtual_size = Size(0, len(self._order) + 1)

    def _scroll_to_cursor(self) -> None:
        """Scroll just enough that the cursor's row shows below the header."""
        visible = self.scrollable_content_region.height - 1
        if visible < 1 or not self._order:
            return
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def _announce(self) -> None:
        """Tell the app when the cursor's job changed (it shows that job's detail)."""
        job_id = self.selected_id
        if job_id != self._highlighted:
            self._highlighted = job_id
            self.post_message(self.Highlighted(job_id))

    # -- internals ----------------------------------------------------------------------------

    def _visible(self, view: JobView) -> bool:
        return not self.filter_text or view.matches(self.filter_text)

    def _status_style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _make_cells(self, view: JobView, age: str, stale: bool, elapsed: str) -> list[Text]:
        dim = "dim" if stale else ""
        outputs = view.outputs()
        status = status_text(view, self._status_style)
        if stale:
            status.stylize("dim")
        job_input = view.job.input if view.job is not None else None
        recording = job_input.recording_id if job_input is not None else None
        return [
            status,
            _cell(("◆" if view.followed else "") + printable(view.id), dim, overflow="crop"),  # short, like git's
            _cell(shown(view.preset or "—", CELL_TEXT), dim),  # bounded: cells are copied on every draw
            _cell(shown(view.source or "—", CELL_TEXT), dim),
            _cell(str(len(outputs)) if outputs else "—", dim or ("" if outputs else "dim"), justify="right"),
            _cell(elapsed, "dim", justify="right"),
            _cell(age, "dim italic" if stale else ""),
            _cell(added_text(view.added_at, self._now), "dim"),
            _cell(printable(recording or "—"), dim or ("" if recording else "dim"), overflow="crop"),
        ]

    def _elapsed(self, view: JobView) -> tuple[str, float]:
        """Time in the current status ("2m"), and seconds until that text may change."""
        if view.status is None or view.gone or self._entered_at is None:
            return "—", 3600.0
        known = self._entered.get(view.id)
        if known is None or known[0] != view.status:  # asked once per status, not per poll
            known = self._entered[view.id] = (view.status, self._entered_at(view.id, view.status))
        if known[1] is None:
            return "—", 3600.0
        return elapsed_text(self._now - known[1])

    def _row_cells(self, job_id: str) -> list[Text]:
        """The row's cells, built (its record read, if need be) the first time they are needed."""
        cells = self._cells.get(job_id)
        if cells is None:
            view = self._views[job_id]
            if view.partial and self._load is not None:
                view = self._views[job_id] = self._load(job_id)
            age, stale = freshness(view, self._now, self.stale_after, self._offline)
            elapsed, elapsed_recheck = self._elapsed(view)
            self._inputs[job_id] = (view.status, view.preset, view.gone, view.job, age, stale, elapsed, view.followed)
            recheck = min(recheck_in(view, self._now, self.stale_after), elapsed_recheck)
            self._recheck[job_id] = self._now + recheck
            cells = self._cells[job_id] = self._make_cells(view, age, stale, elapsed)
            self._prints[job_id] = tuple((cell.plain, cell.style, tuple(cell.spans)) for cell in cells)
        return cells

    def _write(self, view: JobView) -> None:
        """If the row was drawn before, rebuild its cells and repaint it if they changed."""
        if view.id not in self._cells:
            return  # never drawn: its cells are built when (if ever) it scrolls into view
        if view.partial and self._load is not None:
            view = self._views[view.id] = self._load(view.id)
        age, stale = freshness(view, self._now, self.stale_after, self._offline)
        elapsed, elapsed_recheck = self._elapsed(view)
        # Everything the cells are made of (the record by identity: a refetch is a new object).
        inputs = (view.status, view.preset, view.gone, view.job, age, stale, elapsed, view.followed)
        recheck = min(recheck_in(view, self._now, self.stale_after), elapsed_recheck)
        self._recheck[view.id] = self._now + recheck
        if self._inputs.get(view.id) == inputs:
            return  # a poll confirmed the job and nothing on its row changed: the common case
        self._inputs[view.id] = inputs
        cells = self._make_cells(view, age, stale, elapsed)
        fingerprint = tuple((cell.plain, cell.style, tuple(cell.spans)) for cell in cells)
        old = self._prints[view.id]
        changed = [key for key, new, was in zip(COLUMN_KEYS, fingerprint, old, strict=True) if new != was]
        if changed:
            self._cells[view.id] = cells
            self._prints[view.id] = fingerprint
            self.update_row(view.id, changed)

    def update_row(self, job_id: str, columns: list[str]) -> None:  # noqa: ARG002  # the whole line repaints
        """These cells of this row changed: its cached line is stale; repaint it if on screen."""
        self._version[job_id] = self._version.get(job_id, 0) + 1
        row = self._index.get(job_id)
        if row is not None:
            self._refresh_row(row)

    def _forget_row(self, job_id: str) -> None:
        for cache in (self._inputs, self._cells, self._prints, self._version, self._recheck, self._entered):
            cache.pop(job_id, None)

    def _remove(self, job_id: str) -> None:
        keep = None if self.follow_top else self.selected_id
        row = self.cursor_row
        del self._order[self._index.pop(job_id)]
        self._index = {key: index for index, key in enumerate(self._order)}
        self._forget_row(job_id)
        self._resized()
        self.refresh()
        if keep is not None and keep != job_id:
            self._restore_cursor(keep, row)
        else:
            self.move_cursor(row=self.cursor_row)  # clamped: the last row may have gone

    def _in_order(self, job_ids: list[str]) -> bool:
        """Whether these rows still sort between their neighbours (then nothing needs to move)."""
        mode, reverse, rows, views = self.sort_mode, self.sort_reverse, self._order, self._views
        for job_id in job_ids:
            index, view = self._index[job_id], views[job_id]
            if index > 0 and comes_after(mode, reverse, views[rows[index - 1]], view):
                return False
            if index + 1 < len(rows) and comes_after(mode, reverse, view, views[rows[index + 1]]):
                return False
        return True

    def _place(self, job_ids: list[str]) -> None:
        """Put these rows (new, or whose sort key changed) in place among rows already in order."""
        keep = None if self.follow_top else self.selected_id
        row = self.cursor_row
        moving = dict.fromkeys(job_ids)
        mode, reverse, views, index, order = self.sort_mode, self.sort_reverse, self._views, self._index, self._order
        rows = sorted((index[job_id] for job_id in moving if job_id in index), reverse=True)
        first = rows[-1] if rows else len(order)  # rows above the first one touched keep their index
        for row in rows:  # bottom up, so the rows still to go keep their place
            del order[row]
        for job_id in moving:
            view, low, high = views[job_id], 0, len(order)
            while low < high:  # a binary search by the table's own order (either direction)
                middle = (low + high) // 2
                if comes_after(mode, reverse, view, views[order[middle]]):
                    low = middle + 1
                else:
                    high = middle
            order.insert(low, job_id)
            first = min(first, low)
        index.update(zip(order[first:], range(first, len(order)), strict=True))  # no Python loop per row
        top = int(self.scroll_y)
        if first < top + self.scrollable_content_region.height:
            self.refresh()  # rows on screen moved (changed rows repaint themselves anyway)
        if keep is not None:
            self._restore_cursor(keep, row)
        elif self.follow_top and self.cursor_row != 0:
            self.move_cursor(row=0)

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
        wanted = sorted_ids(self.sort_mode, self._order, self._views, self.sort_reverse)
        if wanted == self._order:
            return  # most flushes leave the order as it is
        self._order = wanted
        self._index = {job_id: index for index, job_id in enumerate(wanted)}
        self.refresh()
        if keep is not None:
            self._restore_cursor(keep, row)
        elif self.follow_top and self.cursor_row != 0:
            self.move_cursor(row=0)

    def _restore_cursor(self, job_id: str, old_row: int) -> None:
        """Put the cursor back on `job_id`; a scrolled table scrolls by as much as its row moved."""
        new_row = self._index.get(job_id)
        if new_row is None or new_row == old_row:
            return
        if self.scroll_y > 0:  # keep the job where it was on screen
            self.scroll_to(y=max(0, self.scroll_y + new_row - old_row), animate=False)
            self.move_cursor(row=new_row, scroll=False)
        else:  # an unscrolled table stays at the top unless the job would leave the view
            self.move_cursor(row=new_row, scroll=True)
