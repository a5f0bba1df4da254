"""How the whole-process benchmark reads a captured tmux screen: job rows, the highlighted row, the count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    # tests/bench is a folder of scripts, not a package; load the script as a module.
    path = Path(__file__).parents[1] / "bench" / "bench_process.py"
    spec = importlib.util.spec_from_file_location("bench_process", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_process"] = module
    spec.loader.exec_module(module)
    return module


bench = _load()

IDS = [f"{n:08x}-0000-4000-8000-000000000000" for n in (0x1A2B3C4D, 0x2B3C4D5E, 0x3C4D5E6F, 0x4D5E6F70)]
PREFIXES = {job_id[:8] for job_id in IDS}
NORMAL = "\x1b[38;5;253m\x1b[48;5;235m"
CURSOR = "\x1b[1m\x1b[38;5;195m\x1b[48;5;32m"


def table(cursor: int | None, header: str = "Jobs 4", detail: str = "") -> str:
    """A screen like batchmon's: a heading, rows with short ids, and a detail pane's full id on line 1."""
    lines = [f"\x1b[38;5;214m{header}\x1b[0m", f"{NORMAL} Status   Job        \x1b[0m  {detail}"]
    for row, job_id in enumerate(IDS):
        style = CURSOR if row == cursor else NORMAL
        lines.append(f"{style} ✓ done   {job_id[:8]}  summarize \x1b[0m")
    return "\n".join(lines)


def test_styles_follow_sgr_codes() -> None:
    text, styles = bench.visible_and_styles("a\x1b[48;5;32mb\x1b[7mc\x1b[0;48;2;1;2;3md\x1b[49me\x1b[44mf")
    assert text == "abcdef"
    assert styles == [("", False), ("5;32", False), ("5;32", True), ("2;1;2;3", False), ("", False), ("44", False)]


def test_foreground_colours_are_not_backgrounds() -> None:
    _, styles = bench.visible_and_styles("\x1b[38;2;10;20;30;48;5;7mx\x1b[38;5;48my")
    assert styles == [("5;7", False), ("5;7", False)]


@pytest.mark.parametrize("cursor", [0, 2, 3])
def test_highlighted_is_the_row_drawn_differently(cursor: int) -> None:
    screen = bench.Screen(table(cursor, detail=IDS[cursor]), PREFIXES)
    assert screen.highlighted() == IDS[cursor][:8]


def test_no_highlight_when_every_row_looks_alike() -> None:
    assert bench.Screen(table(None), PREFIXES).highlighted() is None


def test_a_detail_pane_id_in_another_column_is_not_a_row() -> None:
    screen = bench.Screen(table(1, detail=IDS[3]), PREFIXES)
    assert [prefix for _, _, prefix, _ in screen.table_rows()] == [job_id[:8] for job_id in IDS]


def test_reverse_video_cursor_counts_too() -> None:
    raw = table(None).replace(f"{NORMAL} ✓ done   {IDS[1][:8]}", f"\x1b[7m ✓ done   {IDS[1][:8]}")
    assert bench.Screen(raw, PREFIXES).highlighted() == IDS[1][:8]


def test_ids_unknown_to_the_run_are_not_rows() -> None:
    assert bench.Screen(table(0), {"ffffffff"}).rows == []


@pytest.mark.parametrize(
    ("header", "total", "shown"),
    [("Jobs 4", 4, True), ("Jobs 3", 4, False), ("Jobs 1,234", 4, False), ("no count here", 4, True)],
)
def test_shows_jobs_needs_the_rows_and_a_matching_count(header: str, total: int, shown: bool) -> None:
    assert bench.Screen(table(0, header=header), PREFIXES).shows_jobs(total) is shown


def test_jobs_count_reads_thousands_and_filtered_forms() -> None:
    assert bench.Screen("Jobs 100,000 · sort", set()).jobs_count() == 100_000
    assert bench.Screen("Jobs 12/10000", set()).jobs_count() == 10_000
    assert bench.Screen("Jobs 1\u202f234 ", set()).jobs_count() == 1234
    assert bench.Screen("Jobs 100  3 active", set()).jobs_count() == 100


def test_a_few_rows_of_many_jobs_is_not_yet_the_painted_table() -> None:
    # Four rows on screen while 1,000 jobs are watched: fewer than ROWS_FOR_PAINT, so not painted yet.
    assert not bench.Screen(table(0, header="no count"), PREFIXES).shows_jobs(1000)


def test_percentile_counts_slow_keys_as_infinite() -> None:
    values = [10.0] * 18 + [float("inf")] * 2
    assert bench.percentile(values, 0.5) == 10.0
    assert bench.percentile(values, 0.95) == float("inf")
