"""An App run in-process by a test leaves the process's signals alone, so `timeout pytest` can stop a run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from tui.core.config import Settings
from tui.ui.factory import build_app

# A test process in miniature: an App under run_test, then SIGTERM to itself, as `timeout` sends it.
_GUEST = """
import asyncio, os, signal, sys
from pydantic import SecretStr
from tui.core.config import Settings
from tui.ui.factory import build_app

async def main():
    app = build_app(Settings(api_key=SecretStr("k"), api_url=sys.argv[1]), state_path=sys.argv[2])
    async with app.run_test() as pilot:
        await pilot.pause()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(30)  # the signal ends the process long before this
    print("survived SIGTERM")

asyncio.run(main())
"""


async def test_an_app_under_test_installs_no_signal_handlers(tmp_path: Path, closed_port_url: str) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    app = build_app(Settings(api_key=SecretStr("k"), api_url=closed_port_url), state_path=tmp_path / "s.db")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert {sig: signal.getsignal(sig) for sig in before} == before
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_sigterm_stops_a_process_running_an_app_test(tmp_path: Path, closed_port_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _GUEST, closed_port_url, str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGTERM, result.stdout + result.stderr
    assert "survived" not in result.stdout
