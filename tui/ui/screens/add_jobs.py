"""The add-jobs dialog: paste any text; its job ids are picked out, and a cut-off id keeps the dialog open."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from tui.api.ids import PickedIds, pick_job_ids
from tui.api.shortids import Lookup, ShortIdError, looks_like_prefix, resolve
from tui.present.text import printable

MAX_NAMED = 5  # rejected pieces named in the message; the rest are counted


class IdsArea(TextArea):
    """A text area where Enter submits; pasted newlines still separate ids."""

    class Submitted(Message):
        """Enter was pressed."""

    def on_key(self, event: events.Key) -> None:
        # Handled here, in turn with the characters typed before it. A priority binding would
        # run ahead of keys still queued for this widget and submit half an id (seen in tmux).
        if event.key == "enter":
            event.stop()
            event.prevent_default()  # not a newline
            self.post_message(self.Submitted())


def rejection_message(rejected: list[str]) -> Text:
    named = ", ".join(repr(printable(piece)[:40]) for piece in rejected[:MAX_NAMED])
    more = f" and {len(rejected) - MAX_NAMED} more" if len(rejected) > MAX_NAMED else ""
    noun, them = ("is not a whole job id", "it") if len(rejected) == 1 else ("are not whole job ids", "them")
    return Text(f"{named}{more} {noun} (expected UUIDs). Fix or delete {them}, then press Enter.")


class AddJobsScreen(ModalScreen[PickedIds | None]):
    """Returns the ids picked out of the text (and what was ignored), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, lookup: Lookup | None = None) -> None:
        super().__init__()
        self.lookup = lookup  # resolves a short id (a line holding only an id's first characters)

    def compose(self) -> ComposeResult:
        with Vertical(id="add-dialog", classes="dialog") as dialog:
            dialog.border_title = "Add jobs"
            yield Static("Paste ids, or any text holding them: a batchmon list table, logs, JSON.", classes="hint")
            yield IdsArea(id="ids", soft_wrap=True, show_line_numbers=False)
            yield Static(id="add-error")
            with Horizontal(classes="buttons"):
                yield Static("enter add · esc cancel", classes="keys")
                yield Button("Add", variant="primary", id="add", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(IdsArea).focus()

    def action_submit(self) -> None:
        error = self.query_one("#add-error", Static)
        try:
            picked = self._pick(self.query_one(IdsArea).text)
        except ShortIdError as exc:
            error.update(Text(printable(exc)))
            return
        if picked.near_misses:  # probably a cut-off paste or a typo: let the user fix it
            error.update(rejection_message(picked.near_misses))
            return
        if not picked.ids:
            error.update(Text("Enter at least one job id."))
            return
        self.dismiss(picked)

    def _pick(self, text: str) -> PickedIds:
        """The ids in the text, and the watched ids that lines holding a short id stand for."""
        picked = pick_job_ids(text)
        if self.lookup is None:
            return picked
        short = [line.strip().lower() for line in text.splitlines() if looks_like_prefix(line) and line.strip()]
        if not short:
            return picked
        resolved = [resolve(line, self.lookup) for line in short]  # ShortIdError names the bad one
        return PickedIds(
            list(dict.fromkeys([*picked.ids, *resolved])),
            max(0, picked.ignored - len(short)),
            [miss for miss in picked.near_misses if miss.lower() not in short],
            [sample for sample in picked.samples if sample not in short],
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_ids_area_submitted(self, _message: IdsArea.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.action_submit()
        else:
            self.action_cancel()
