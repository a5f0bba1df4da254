"""A job's status as Rich text: the shared symbol and word, styled by the widget's status component class."""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text

from tui.core.watchlist import JobView
from tui.present.formatting import STATUS_COLOUR_VARS, UNKNOWN_COLOUR_VAR, colour_var, status_key, symbol
from tui.present.text import shown

# Component classes of every widget that shows statuses; styles/app.tcss colours them from the
# theme's variables, so every theme (and NO_COLOR, which keeps the symbols) shows them well.
STATUS_CLASSES = frozenset({*STATUS_COLOUR_VARS.values(), UNKNOWN_COLOUR_VAR})

# A component class name -> its Rich style (a widget's get_component_rich_style, partial).
StyleOf = Callable[[str], Style]


def status_text(view: JobView, style_of: StyleOf) -> Text:
    """`● processing`, `✓ finished`, `? whatever-the-server-said`, `… waiting`, `⊘ not found`."""
    key = status_key(view.status, view.gone)
    return Text(f"{symbol(key)} {shown(key, 60)}", style=style_of(colour_var(key)))
