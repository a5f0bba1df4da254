"""Fixtures every test group shares: an isolated home for every test, and the shared helpers as fixtures."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import FakeClock, load_example, unreachable_url


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def api_example() -> Callable[[str], dict[str, Any]]:
    """Loads one of the API's example bodies by file name."""
    return load_example


@pytest.fixture
def closed_port_url() -> str:
    """An API URL on a loopback port nobody listens on."""
    return unreachable_url()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real config, state or log folders, or sees a real key."""
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("DAILY_API_KEY", "DAILY_API_URL", "BATCHMON_PROFILE", "TMUX"):
        monkeypatch.delenv(name, raising=False)
    # The CLI, run in-process by some tests, points the `tui` logger at a file and stops it
    # propagating; put it back so later tests' caplog sees log records.
    logger = logging.getLogger("tui")
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "propagate", logger.propagate)
    monkeypatch.setattr(logger, "level", logger.level)
    return tmp_path


@pytest.fixture(autouse=True)
def signals_untouched() -> Iterator[None]:
    """SIGTERM and SIGHUP stay the runner's after every test, so `timeout pytest` always works."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        if signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)
