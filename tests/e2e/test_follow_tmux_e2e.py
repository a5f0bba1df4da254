"""End to end in tmux: `batchmon --follow` picks up a job submitted by another process within 5 s."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import BATCHMON, Tmux, terminal_env

from tui.sim import Faults, SimServer, Simulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]

KEY = "e2e-follow-key-3f1b"


@pytest.fixture
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=5, seed=4, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def tmux(server: SimServer, tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(f"batchmon-follow-{os.getpid()}-{tmp_path.name}", terminal_env(tmp_path, server.base_url, KEY))
    yield session
    session.kill()


def wait_for(condition: object, what: str, tmux: Tmux, timeout: float = 20) -> float:
    """Seconds it took; fails with the screen when it never happens."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if callable(condition) and condition():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; screen:\n{tmux.screen()}")


def test_follow_picks_up_a_job_submitted_by_another_process(server: SimServer, tmux: Tmux) -> None:
    sim = server.sim
    tmux.cmd("new-session", "-d", "-x", "120", "-y", "30", BATCHMON, "--follow", "--interval", "1")
    wait_for(lambda: "following" in tmux.screen(), "the header to say following", tmux)
    wait_for(lambda: any(r.path == "/v1/batch-processor" for r in sim.requests.entries()), "a look at the list", tmux)
    assert not any(job_id[:7] in tmux.screen() for job_id in sim.ids())  # older jobs are not followed

    submitted = subprocess.run(  # another process: `batchmon submit`, with its own state folder
        [BATCHMON, "submit", "--preset", "transcript", "--uri", "https://media.example.org/call.mp3"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**tmux.env, "XDG_STATE_HOME": str(Path(tmux.env["HOME"]) / "other-state")},
    )
    job_id = submitted.stdout.strip()
    took = wait_for(lambda: f"◆{job_id[:7]}" in tmux.screen(), "the submitted job on screen", tmux)
    assert took < 5, took
    # It is followed to its end like any watched job (the simulator finishes it within ~35 s).
    sim.force_status(job_id, "finished")
    wait_for(
        lambda: "finished" in next(line for line in tmux.screen().splitlines() if f"◆{job_id[:7]}" in line),
        "finished",
        tmux,
    )
    tmux.cmd("send-keys", "q")
    wait_for(lambda: tmux.cmd("has-session", check=False).returncode != 0, "batchmon to quit", tmux)
