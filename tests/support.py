"""Helpers the test groups share: the API's example bodies, a frozen clock, a closed port, the CLI's path."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BATCHMON = str(Path(sys.executable).parent / "batchmon")  # the installed console script
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
