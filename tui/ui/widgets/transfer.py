"""A one-line download progress display: what is being fetched, and a ProgressBar of its bytes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from tui.present.text import printable


class TransferBar(Horizontal):
    """A row above the footer, hidden until `begin`; `progress` fits the outputs layer's `Progress` callback."""

    DEFAULT_CSS = """
    TransferBar {
        height: 1;
        display: none;
        background: $boost;
        padding: 0 1;
    }
    TransferBar > #transfer-label {
        width: 1fr;
    }
    TransferBar > ProgressBar {
        width: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = Static(id="transfer-label")
        self.bar = ProgressBar(show_eta=False)

    def compose(self) -> ComposeResult:
        yield self.label
        yield self.bar

    def begin(self, what: str) -> None:
        self.label.update(Text(f"Downloading {printable(what)}", no_wrap=True, overflow="ellipsis"))
        self.bar.update(total=None, progress=0)
        self.display = True

    def progress(self, done: int, total: int | None) -> None:
        # Without a total the bar shows its indeterminate animation.
        self.bar.update(total=total, progress=done)

    def end(self) -> None:
        self.display = False
