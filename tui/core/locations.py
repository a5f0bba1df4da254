"""Where batchmon keeps its config, state and log files (platformdirs, computed at call time)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "batchmon"

# Each function asks platformdirs on every call (never at import time), so XDG_* variables set by
# tests or the user are honoured. Nothing here creates folders: the writer does that.
# On macOS config, data and state share one folder, so every file name below is distinct.


def config_file() -> Path:
    """The TOML config file, `<user_config_dir>/config.toml`."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def state_dir(demo: bool = False) -> Path:
    """The folder for the watch list; the demo gets its own subfolder so it never touches real state."""
    base = Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))
    return base / "demo" if demo else base


def state_file(demo: bool = False) -> Path:
    """The 0.1.0 watch list file, read only to import it into the database once."""
    return state_dir(demo) / "watchlist.json"


def state_db(demo: bool = False) -> Path:
    """The watch list database (SQLite)."""
    return state_dir(demo) / "batchmon.db"


def log_file(demo: bool = False) -> Path:
    """The log file, in the user log folder (`demo/` inside it for the demo)."""
    base = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    return (base / "demo" if demo else base) / "batchmon.log"
