"""Asks before a download replaces files that already exist."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.present.text import printable

MAX_NAMED = 6  # file names listed; the rest are counted


class ConfirmOverwrite(ModalScreen[bool]):
    """True to overwrite, False to keep the existing files."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Overwrite"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]
    DEFAULT_CSS = """
    ConfirmOverwrite {
        align: center middle;
    }
    #overwrite-dialog {
        width: 70;
        max-width: 100%;
        height: auto;
        border: round $warning;
        background: $surface;
        padding: 0 1;
    }
    #overwrite-dialog Horizontal {
        height: auto;
        margin-top: 1;
    }
    #overwrite-dialog Button {
        margin-right: 2;
    }
    """

    def __init__(self, folder: Path, names: list[str]) -> None:
        super().__init__()
        self.folder = folder
        self.names = names

    def compose(self) -> ComposeResult:
        listed = "\n".join(f"  {printable(name)}" for name in self.names[:MAX_NAMED])
        if len(self.names) > MAX_NAMED:
            listed += f"\n  and {len(self.names) - MAX_NAMED} more"
        noun = "This file already exists" if len(self.names) == 1 else f"{len(self.names)} files already exist"
        with Vertical(id="overwrite-dialog") as dialog:
            dialog.border_title = "Overwrite?"
            yield Static(Text(f"{noun} in {printable(self.folder)}:\n{listed}"))
            with Horizontal():
                yield Button("Overwrite (y)", id="overwrite", variant="warning")
                yield Button("Keep (n)", id="keep")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # the safe choice is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "overwrite")

    def action_answer(self, overwrite: bool) -> None:
        self.dismiss(overwrite)
