"""In a real terminal: the installed `batchmon` (tmux) on a store another process holds locked,
and on a read-only one — the saved list shows, the header says why nothing is saved, a job
removed meanwhile stays removed after the lock goes and the TUI quits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from store_faults import lock_held, tmpfs
from support import BATCHMON, Tmux, terminal_env

from tui.sim import Faults, SimServer, Simulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]

KEY = "store-tmux-secret-5b2e"


@pytest.fixture
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=6, api_key=KEY), Faults()) as running:
        yield running


def wait_for(condition: Callable[[], bool], what: str, tmux: Tmux, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    screen = tmux.screen() if tmux.running() else "(no session)"
    raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


def command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=30)


def watched(env: dict[str, str]) -> list[str]:
    result = command(env, "watched", "--json")
    assert result.returncode == 0, result.stderr
    return [job["id"] for job in json.loads(result.stdout)]


def test_a_locked_store_in_a_real_terminal(server: SimServer, tmp_path: Path) -> None:
    env = terminal_env(tmp_path, server.base_url, KEY)
    ids = [server.sim.create_job(status="finished") for _ in range(3)]
    assert command(env, "add", *ids).returncode == 0
    tmux = Tmux(f"batchmon-store-{os.getpid()}", env)
    try:
        with lock_held(tmp_path / "state" / "batchmon" / "batchmon.db") as holder:
            tmux.start("sh", "-c", f"{BATCHMON}; echo EXITED $?; sleep 60")
            wait_for(lambda: "not saved (store busy)" in tmux.screen(), "the header to say why", tmux)
            wait_for(lambda: all(job_id[:8] in tmux.screen() for job_id in ids), "the saved list", tmux)
            tmux.keys("G")  # the last row
            tmux.keys("x")
            wait_for(lambda: "Stopped watching" in tmux.screen(), "the removal", tmux)
            holder.release()
            wait_for(lambda: "not saved" not in tmux.screen().splitlines()[0], "the header to clear", tmux)
            tmux.keys("q")
            wait_for(lambda: "EXITED 0" in tmux.screen(), "batchmon to exit", tmux)
    finally:
        tmux.kill()
    left = watched(env)
    assert len(left) == 2 and set(left) < set(ids), "the removed job stays removed"


def test_a_read_only_store_in_a_real_terminal(server: SimServer, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as disk:
        env = terminal_env(disk.where, server.base_url, KEY)
        ids = [server.sim.create_job(status="finished") for _ in range(2)]
        assert command(env, "add", *ids).returncode == 0
        env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # off the read-only disk: nothing to write there
        disk.remount("ro")
        tmux = Tmux(f"batchmon-store-ro-{os.getpid()}", env | {"HOME": str(tmp_path)})
        try:
            tmux.start("sh", "-c", f"{BATCHMON}; echo EXITED $?; sleep 60")
            wait_for(lambda: "not saved (store read-only)" in tmux.screen(), "the header to say why", tmux)
            wait_for(lambda: all(job_id[:8] in tmux.screen() for job_id in ids), "the saved list", tmux)
            tmux.keys("q")
            wait_for(lambda: "EXITED" in tmux.screen(), "batchmon to exit", tmux)
            assert "EXITED 0" in tmux.screen() and "Traceback" not in tmux.screen()
        finally:
            tmux.kill()
        assert watched(env) == ids
