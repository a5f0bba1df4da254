"""Browser mode: the TUI served on loopback by textual-serve, one batchmon process per browser tab."""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Sequence

from textual_serve.server import Server

HOST = "127.0.0.1"  # loopback only: reach it from elsewhere through an SSH tunnel
DEFAULT_PORT = 8000


def tui_command(tui_args: Sequence[str]) -> str:
    """The shell command textual-serve runs per browser tab: this batchmon, with the same TUI arguments."""
    return shlex.join([sys.executable, "-m", "tui", *tui_args])


class _Server(Server):
    def initialize_logging(self) -> None:
        # textual-serve's own handler renders tracebacks with their local variables; plain lines
        # (no locals) keep anything secret in the environment off the terminal.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        served = logging.getLogger("textual-serve")
        served.addHandler(handler)
        served.setLevel(logging.INFO)
        served.propagate = False


def serve(port: int, tui_args: Sequence[str]) -> None:
    """Serve until Ctrl-C; OSError when the port cannot be bound."""
    server = _Server(
        tui_command(tui_args), host=HOST, port=port, title="batchmon", public_url=f"http://localhost:{port}"
    )
    server.serve()
