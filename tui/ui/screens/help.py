"""The help screen: every key binding of the app, plus the navigation keys of the widgets."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

NAVIGATION = (
    ("↑↓ j k pgup pgdn", "move in the job list or the outputs list"),
    ("tab", "next pane: job list, detail, outputs"),
    ("enter", "from the job list into its outputs"),
    ("g G", "first, last job"),
    ("click a header", "sort by that column (again: reverse)"),
    ("ctrl+p", "command palette: every action by name, theme, profile"),
)


class HelpScreen(ModalScreen[None]):
    """Lists `bindings` (the app's own, so the help can never fall behind the keys)."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        text = Text()
        width = max(len(key) for key, _ in (*self.bindings, *NAVIGATION)) + 2
        for key, description in self.bindings:
            text.append(f" {key:<{width}}", style="bold")
            text.append(f"{description}\n")
        text.append("\n")
        for key, description in NAVIGATION:
            text.append(f" {key:<{width}}", style="bold dim")
            text.append(f"{description}\n", style="dim")
        text.append("\nThe API has no timestamps: times shown are when batchmon saw them.", style="dim italic")
        with VerticalScroll(id="help-dialog", classes="dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "esc closes"
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
