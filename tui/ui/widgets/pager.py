"""A read-only view for long texts: lines wrapped once per width, painted one screen row at a time.

Textual's TextArea sums the heights of every line for each row it paints, so a 5 MB transcript
took over half a second per key; here a key costs the rows on screen, whatever the length.
"""

from __future__ import annotations

import bisect
from typing import ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

TAB = "    "  # tabs as spaces: the view aligns nothing, and a tab must not hide text


def pieces(line: str, width: int) -> list[tuple[int, int]]:
    """(start, end) of the screen rows `line` takes at `width` cells, broken after spaces where possible."""
    width = max(1, width)
    if len(line) <= width and (line.isascii() or cell_len(line) <= width):
        return [(0, len(line))]
    rows: list[tuple[int, int]] = []
    start = 0
    while start < len(line):
        if line.isascii():
            end = min(start + width, len(line))
        else:
            end, cells = start, 0
            while end < len(line) and cells + get_character_cell_size(line[end]) <= width:
                cells += get_character_cell_size(line[end])
                end += 1
            end = max(end, start + 1)  # a character wider than the row still takes one
        if end < len(line):
            space = line.rfind(" ", start, end)
            if space > start:
                end = space + 1
        rows.append((start, end))
        start = end
    return rows


class TextPager(ScrollView, can_focus=True):
    """Shows `text` wrapped to the width; marks search matches, the current one strongest."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup,b", "page_up", "Page up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"text-pager--match", "text-pager--current"}
    DEFAULT_CSS = """
    TextPager {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    TextPager > .text-pager--match {
        background: $warning-muted;
    }
    TextPager > .text-pager--current {
        background: $warning;
        color: $background;
        text-style: bold;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = ""
        self._lines: list[str] = [""]
        self._line_starts: list[int] = [0]
        self._rows: list[tuple[int, int, int]] = [(0, 0, 0)]  # (line, start, end) per screen row
        self._first_rows: list[int] = [0]  # the first screen row of each line
        self._wrapped_at = 0
        self.matches: list[tuple[int, int]] = []  # (start, end) offsets into `text`, in order
        self._match_starts: list[int] = []
        self._longest_match = 0
        self.current: int | None = None  # index into `matches` of the current one

    def load(self, text: str) -> None:
        self.text = text.replace("\t", TAB)
        self._lines = self.text.split("\n")
        starts = [0]
        for line in self._lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        self._line_starts = starts
        # Unwrapped until the width is known (a hidden view has none yet; its Resize wraps it).
        self._rows = [(index, 0, len(line)) for index, line in enumerate(self._lines)]
        self._first_rows = list(range(len(self._lines)))
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        self._wrapped_at = 0
        self._wrap()
        self.scroll_home(animate=False)

    def on_resize(self, _event: Resize) -> None:
        self._wrap()

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_at:
            return
        top_line = self._rows[min(int(self.scroll_y), len(self._rows) - 1)][0]
        rows: list[tuple[int, int, int]] = []
        first_rows: list[int] = []
        for index, line in enumerate(self._lines):
            first_rows.append(len(rows))
            rows.extend((index, start, end) for start, end in pieces(line, width))
        self._rows, self._first_rows, self._wrapped_at = rows, first_rows, width
        self.virtual_size = Size(width, len(rows))
        self.scroll_to(y=first_rows[top_line], animate=False)  # the same text stays on top
        self.refresh()

    # -- matches --------------------------------------------------------------------------------

    def mark(self, matches: list[tuple[int, int]], current: int | None) -> None:
        self.matches = matches
        self._match_starts = [start for start, _ in matches]
        self._longest_match = max((end - start for start, end in matches), default=0)
        self.current = current
        self.refresh()

    def top_offset(self) -> int:
        """Where in the text the top row of the view begins."""
        index, start, _ = self._rows[min(int(self.scroll_y), len(self._rows) - 1)]
        return self._line_starts[index] + start

    def row_of(self, offset: int) -> int:
        """The screen row showing `offset` of the text."""
        line = bisect.bisect_right(self._line_starts, offset) - 1
        column = offset - self._line_starts[line]
        row = self._first_rows[line]
        while row + 1 < len(self._rows) and self._rows[row + 1][0] == line and self._rows[row + 1][1] <= column:
            row += 1
        return row

    def show_current(self) -> None:
        """Scroll so the current match sits mid-screen."""
        if self.current is not None:
            row = self.row_of(self.matches[self.current][0])
            self.scroll_to(y=max(0, row - self.scrollable_content_region.height // 2), animate=False)

    # -- painting -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base_style = self.rich_style
        row = int(self.scroll_y) + y
        if row >= len(self._rows):
            return Strip.blank(width, base_style)
        index, start, end = self._rows[row]
        piece = self._lines[index][start:end]
        offset = self._line_starts[index] + start
        segments = [
            Segment(text, base_style + style if style else base_style) for text, style in self._spans(piece, offset)
        ]
        return Strip(segments).adjust_cell_length(width, base_style)

    def _spans(self, piece: str, offset: int) -> list[tuple[str, Style | None]]:
        """The row cut where matches begin and end, with the style of each part."""
        first = bisect.bisect_left(self._match_starts, offset - self._longest_match)
        spans: list[tuple[str, Style | None]] = []
        at = 0
        for number in range(first, len(self.matches)):
            start, end = self.matches[number]
            if start >= offset + len(piece):
                break
            if end <= offset:
                continue
            cut_start, cut_end = max(start - offset, at), min(end - offset, len(piece))
            if cut_start > at:
                spans.append((piece[at:cut_start], None))
            name = "text-pager--current" if number == self.current else "text-pager--match"
            spans.append((piece[cut_start:cut_end], self.get_component_rich_style(name, partial=True)))
            at = cut_end
        if at < len(piece) or not spans:
            spans.append((piece[at:], None))
        return spans
