"""Run the Textual app so that a crash comes back as an exception instead of a traceback on screen."""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from textual.app import App


def run_app(app: App[Any]) -> BaseException | None:
    """Run `app` until it exits; return the unexpected exception that ended it, if any.

    Textual reports a crash by printing a traceback with every frame's locals (and exits 1); that
    report is held back here, so the caller can log the traceback and say one line. Anything else
    Textual prints on exit (an `exit(message=...)`) still reaches stderr.
    """
    held = io.StringIO()
    app.error_console = Console(file=held, markup=False, highlight=False, color_system=None)
    app.run()
    crash: BaseException | None = app._exception
    if crash is None and held.getvalue():
        sys.stderr.write(held.getvalue())
    return crash
