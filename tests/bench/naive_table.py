"""Baseline for bench_process.py: a stock Textual DataTable filled naively (one add_row per id), nothing else.

Run: python tests/bench/naive_table.py [JOB_ID ...] [--ids-file PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header


class Table(DataTable[str]):
    # The stock table moves with the arrow keys only; the benchmark presses `j`, as in batchmon.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


class NaiveTable(App[None]):
    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids

    def compose(self) -> ComposeResult:
        yield Header()
        yield Table(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Jobs {len(self.ids)}"
        table = self.query_one(Table)
        table.add_columns("Job", "Status")
        for job_id in self.ids:
            table.add_row(job_id, "?")
        table.focus()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ids", nargs="*", metavar="JOB_ID")
    parser.add_argument("--ids-file", type=Path, help="one id per line, as a saved watch list")
    args = parser.parse_args()
    ids = list(args.ids)
    if args.ids_file is not None:
        ids += args.ids_file.read_text(encoding="utf-8").split()
    NaiveTable(ids).run()


if __name__ == "__main__":
    main()
