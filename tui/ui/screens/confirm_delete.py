"""Asks before deleting a job at Daily, naming it and saying its outputs in Daily's storage go too."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.core.watchlist import JobView
from tui.present.formatting import status_label
from tui.present.text import shown


def describe(view: JobView) -> Text:
    """The job named in full: id, then preset, status and source where known."""
    parts = [view.preset or "", status_label(view.status, view.gone), view.source or ""]
    known = ", ".join(shown(part) for part in parts if part)
    return Text.assemble(("Delete job ", ""), (shown(view.id), "bold"), (f" ({known})" if known else "", ""), "?")


class ConfirmDeleteScreen(ModalScreen[bool]):
    """True to delete; focus starts on Cancel, so a stray Enter deletes nothing."""

    DEFAULT_CSS = """
    ConfirmDeleteScreen { align: center middle; }
    #delete-dialog { width: 72; max-width: 100%; height: auto; border: round $error; }
    #delete-dialog .warning { margin-top: 1; color: $text-warning; }
    #delete-dialog .buttons { height: 1; margin-top: 1; }
    #delete-dialog .buttons .keys { width: 1fr; color: $text-muted; }
    #delete-dialog .buttons Button { margin-left: 1; }
    """

    BINDINGS = [
        Binding("y", "confirm", "Delete"),
        Binding("n,escape", "cancel", "Keep"),
    ]

    def __init__(self, view: JobView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical(id="delete-dialog", classes="dialog") as dialog:
            dialog.border_title = "Delete at Daily"
            yield Static(describe(self.view), id="delete-question")
            yield Static(
                "The job is deleted at Daily, and its outputs in Daily's storage are deleted too. "
                "This cannot be undone. (x only stops watching it.)",
                classes="warning",
            )
            with Horizontal(classes="buttons"):
                yield Static("y delete · n/esc keep", classes="keys")
                yield Button("Delete", variant="error", id="delete", compact=True)
                yield Button("Keep", id="keep", compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")
