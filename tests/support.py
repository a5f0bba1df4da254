"""Helpers the test groups share: the API's example bodies, a frozen clock, a closed port, the CLI's path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
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
    body: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return body


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


def terminal_env(home: Path, api_url: str, key: str) -> dict[str, str]:
    """A minimal environment for the installed `batchmon` in tmux, with its own home and folders."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "DAILY_API_URL": api_url,
        "DAILY_API_KEY": key,
    }


class Tmux:
    """A private tmux server (own socket, no config file: tmux's defaults) running one command."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env

    def cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.name, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=check,
            timeout=10,
        )

    def start(self, *command: str) -> None:
        self.cmd("new-session", "-d", "-x", "100", "-y", "30", *command)

    def screen(self) -> str:
        return self.cmd("capture-pane", "-p").stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.cmd("send-keys", *(["-l"] if literal else []), *keys)

    def running(self) -> bool:
        return self.cmd("has-session", check=False).returncode == 0

    def kill(self) -> None:
        self.cmd("kill-server", check=False)
