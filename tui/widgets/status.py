"""A job's status as coloured Rich text, from the shared symbols and the theme's colours."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from tui.formatting import colour_var, status_key, symbol
from tui.text import shown
from tui.watchlist import JobView


def status_text(view: JobView, colours: dict[str, str]) -> Text:
    """`● processing`, `✓ finished`, `? whatever-the-server-said`, `… waiting`, `⊘ not found`."""
    key = status_key(view.status, view.gone)
    return Text(f"{symbol(key)} {shown(key, 60)}", style=Style(color=colours.get(colour_var(key))))
