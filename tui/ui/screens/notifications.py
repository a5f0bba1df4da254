"""The notification history (`N`): every toast of this session with its time, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.present.formatting import clock_time
from tui.present.wrap import Wrapped

COLOURS = {"information": "", "warning": "yellow", "error": "red"}


@dataclass(frozen=True)
class Notice:
    """One notification as it was shown (its text already made printable)."""

    at: float
    severity: str
    title: str
    message: str


class NotificationsScreen(ModalScreen[None]):
    """A scrollable list; long ids and reasons wrap at / and -, never mid-token."""

    BINDINGS = [
        Binding("escape,N,q", "close", "Close"),
    ]

    def __init__(self, notices: list[Notice], now: float) -> None:
        super().__init__()
        self.notices = notices
        self.now = now

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="notifications-dialog", classes="dialog") as dialog:
            dialog.border_title = f"Notifications ({len(self.notices)})"
            dialog.border_subtitle = "esc closes"
            if not self.notices:
                yield Static(Text("Nothing yet.", style="dim"))
            for notice in reversed(self.notices):
                colour = COLOURS.get(notice.severity, "")
                head = Text.assemble((f"{clock_time(notice.at, self.now)} ", "dim"), (notice.severity, colour))
                if notice.title:
                    head.append(f"  {notice.title}", style="bold")
                yield Static(head, classes="notice-time")
                yield Static(Wrapped(notice.message), classes="notice")

    def action_close(self) -> None:
        self.dismiss(None)
