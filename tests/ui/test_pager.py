"""The pager's wrapping (tui.ui.widgets.pager.pieces): no text lost, no row wider than the view."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tui.ui.widgets.pager import pieces


def rows(line: str, width: int) -> list[str]:
    return [line[start:end] for start, end in pieces(line, width)]


def test_short_lines_take_one_row() -> None:
    assert rows("Speaker 0: hello", 40) == ["Speaker 0: hello"]
    assert rows("", 10) == [""]


def test_long_lines_break_after_spaces() -> None:
    assert rows("the quick brown fox jumps", 10) == ["the quick ", "brown fox ", "jumps"]


def test_a_word_longer_than_the_row_is_cut() -> None:
    assert rows("abcdefghij klm", 4) == ["abcd", "efgh", "ij ", "klm"]


def test_wide_characters_count_two_cells() -> None:
    assert rows("日本語のテキスト", 6) == ["日本語", "のテキ", "スト"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200), st.integers(1, 50))
def test_wrapping_keeps_every_character_and_fits(line: str, width: int) -> None:
    parts = rows(line, width)
    assert "".join(parts) == line
    assert all(cell_len(part) <= width or len(part) == 1 for part in parts)
