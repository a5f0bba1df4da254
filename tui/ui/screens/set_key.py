"""The set-key dialog: a masked field for an API key used for this session only (never saved)."""

from __future__ import annotations

from pydantic import SecretStr
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.core.config import ConfigError, clean_api_key


class SetKeyScreen(ModalScreen[SecretStr | None]):
    """Returns the key typed or pasted (as a SecretStr), or None when cancelled.

    The field is a password Input: the key is never drawn, only dots. Nothing is written to disk.
    """

    DEFAULT_CSS = """
    SetKeyScreen { align: center middle; background: $background 60%; }
    #key-dialog { width: 70; max-width: 100%; height: auto; }
    #key-dialog .hint { color: $text-muted; margin-bottom: 1; }
    #key-error { color: $text-error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="key-dialog", classes="dialog") as dialog:
            dialog.border_title = "API key for this session"
            yield Static(
                "Paste the Daily API key. It is used until batchmon exits and is not saved: "
                "put it in the config file or DAILY_API_KEY to keep it. enter use · esc cancel",
                classes="hint",
            )
            yield Input(password=True, placeholder="API key", id="key", compact=True)
            yield Static(id="key-error")

    def on_mount(self) -> None:
        self.query_one("#key", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#key-error", Static)
        try:
            key = clean_api_key(event.value, "the key")
        except ConfigError as exc:
            error.update(Text(str(exc)))
            return
        if key is None:
            error.update(Text("Enter a key, or press Escape."))
            return
        event.input.value = ""  # no copy of it left in the widget
        self.dismiss(SecretStr(key))

    def action_cancel(self) -> None:
        self.dismiss(None)
