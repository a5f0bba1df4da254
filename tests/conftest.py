"""Shared fixtures: where the API's example bodies live, and an isolated home for every test."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
# A copy of the API examples from shared/api/examples, so the tests run from the repo alone;
# test_models checks the copy against shared/ wherever shared/ lies beside the checkout.
EXAMPLES = REPO / "tests" / "api_examples"
SHARED_EXAMPLES = REPO.parent / "shared" / "api" / "examples"


def load_example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC: a fixed "now" for frozen clocks


class FakeClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def unreachable_url() -> str:
    """An API URL on a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


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
