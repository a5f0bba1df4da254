"""A footer that always keeps `? Help` and `q Quit`: at narrow widths other keys give way."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEPT = ("app.help", "app.quit")  # actions shown at any width; the rest drop from the right


def key_width(key: FooterKey) -> int:
    """Cells a compact footer key takes: "k Description" and a margin."""
    return len(key.key_display) + (1 + len(key.description) if key.description else 0) + 1


class FittedFooter(Footer):
    """Textual's footer, minus the keys that would not fit (they stay on the help screen, `?`)."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)  # ctrl+p is on the help screen
        self._fitted_to = -1
        self._shown: tuple[object, ...] = ()  # the keys last composed

    def compose(self) -> ComposeResult:
        keys: list[Widget] = list(super().compose())
        room = self.size.width or self.app.size.width
        self._fitted_to = room
        used = sum(key_width(key) for key in keys if isinstance(key, FooterKey)) - 1  # the last margin may go
        # Keys give way in the reverse of the screen's binding order (a remapped key keeps its place
        # in that order, though Textual shows it last).
        order = {binding.action: n for n, binding in enumerate(self.screen.BINDINGS) if isinstance(binding, Binding)}
        droppable = [key for key in keys if isinstance(key, FooterKey) and key.action not in KEPT]
        for key in sorted(droppable, key=lambda key: order.get(key.action, len(order)), reverse=True):
            if used <= room:
                break
            keys.remove(key)
            used -= key_width(key)
        self.styles.grid_size_columns = len(keys)
        yield from keys

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Recompose only when the keys shown would change: a cursor move re-announces the same
        bindings, and every recompose leaves the old keys' widgets behind (memory grew with keys)."""
        shown = tuple(
            (binding.key, binding.action, binding.description, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show
        )
        if shown != self._shown:
            self._shown = shown
            super().bindings_changed(screen)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_to:
            self.call_after_refresh(self.recompose)
