"""End to end in a real terminal: the installed `batchmon` in tmux (default settings) against the
simulator on loopback — add ids, watch statuses arrive, copy an S3 key into tmux's buffer, quit,
restart and find the same jobs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import BATCHMON, Tmux, terminal_env

from tui.sim import Faults, SimServer, Simulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]

KEY = "e2e-secret-key-91c4"


def row(tmux: Tmux, job_id: str) -> str:
    """The table row of a job, up to its status column (empty if it isn't on screen)."""
    for line in tmux.screen().splitlines():
        if job_id[:8] in line:
            return line.split(job_id[:8])[0].strip("│ ")
    return ""


def wait_for(condition: Callable[[], bool], what: str, tmux: Tmux, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    screen = tmux.screen() if tmux.running() else "(no session)"
    raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


@pytest.fixture
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=3, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def tmux(server: SimServer, tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(f"batchmon-e2e-{os.getpid()}-{tmp_path.name}", terminal_env(tmp_path, server.base_url, KEY))
    yield session
    session.kill()


def test_add_watch_copy_quit_restart(server: SimServer, tmux: Tmux, tmp_path: Path) -> None:
    sim = server.sim
    finished = sim.create_job(preset="summarize", status="finished")
    running = sim.create_job(preset="transcript", status="processing", done_in=2.0)
    first_key = sim.outputs(finished)[0].key

    tmux.start(BATCHMON)
    wait_for(lambda: "batchmon" in tmux.screen() and "Jobs" in tmux.screen(), "the app", tmux)

    tmux.keys("a")
    wait_for(lambda: "Add jobs" in tmux.screen(), "the add dialog", tmux)
    tmux.keys(f"{finished}, {running}", literal=True)
    tmux.keys("Enter")
    wait_for(
        lambda: row(tmux, finished).endswith("finished") and row(tmux, running).endswith("finished"),
        "both rows to show finished",
        tmux,
    )
    assert "Traceback" not in tmux.screen()

    # Narrow the table to the summarize job, then copy its first output's key.
    tmux.keys("/")
    tmux.keys(finished, literal=True)
    tmux.keys("Enter")
    wait_for(lambda: running[:8] not in tmux.screen(), "the filter", tmux)
    tmux.keys("c")
    wait_for(lambda: tmux.cmd("show-buffer", check=False).stdout == first_key, "the key in tmux's buffer", tmux)
    # The copied text also stays on screen, to select by hand where no clipboard path works.
    # (The buffer is written before the screen is painted: wait for the paint, too.)
    wait_for(lambda: "Copied" in tmux.screen() and first_key[:40] in tmux.screen(), "the copied line", tmux)

    tmux.keys("q")
    wait_for(lambda: not tmux.running(), "batchmon to quit", tmux)

    tmux.start(BATCHMON)
    wait_for(lambda: finished[:8] in tmux.screen() and running[:8] in tmux.screen(), "the saved jobs", tmux)
    assert KEY not in tmux.screen()
    tmux.keys("q")
    wait_for(lambda: not tmux.running(), "batchmon to quit again", tmux)
    # Nothing batchmon wrote (state, log, config folders) holds the key.
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "batchmon.db" for path in written)
    assert all(KEY not in path.read_text(errors="replace") for path in written)


def pane_pid(tmux: Tmux) -> int:
    return int(tmux.cmd("display-message", "-p", "#{pane_pid}").stdout.strip())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/status").is_file() and "zombie" in Path(f"/proc/{pid}/status").read_text()


def watched(tmux: Tmux) -> dict[str, str | None]:
    result = subprocess.run([BATCHMON, "watched", "--json"], capture_output=True, text=True, env=tmux.env, timeout=20)
    assert result.returncode == 0, result.stderr
    return {job["id"]: job["status"] for job in json.loads(result.stdout)}


def test_losing_the_terminal_keeps_what_was_added(server: SimServer, tmux: Tmux) -> None:
    job_id = server.sim.create_job(preset="summarize", status="finished")
    tmux.start(BATCHMON)
    wait_for(lambda: "Jobs" in tmux.screen(), "the app", tmux)
    pid = pane_pid(tmux)
    tmux.keys("a")
    wait_for(lambda: "Add jobs" in tmux.screen(), "the add dialog", tmux)
    tmux.keys(job_id, literal=True)
    tmux.keys("Enter")
    wait_for(lambda: row(tmux, job_id) != "", "the new row", tmux)
    tmux.kill()  # the terminal goes away: SIGHUP
    deadline = time.monotonic() + 5
    while not gone(pid):
        assert time.monotonic() < deadline, "batchmon outlived its terminal"
        time.sleep(0.05)
    assert job_id in watched(tmux)


def test_sigterm_saves_and_restores_the_terminal(server: SimServer, tmux: Tmux) -> None:
    job_id = server.sim.create_job(preset="summarize", status="finished")
    tmux.start("sh", "-c", f"{BATCHMON} {job_id}; echo EXITED $?; sleep 60")
    wait_for(lambda: row(tmux, job_id).endswith("finished"), "the job's status", tmux)
    shell = pane_pid(tmux)
    children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    assert len(children) == 1
    os.kill(int(children[0]), 15)
    wait_for(lambda: "EXITED 0" in tmux.screen(), "batchmon to exit", tmux, timeout=5)
    assert tmux.cmd("display-message", "-p", "#{alternate_on}").stdout.strip() == "0"
    assert "Traceback" not in tmux.screen()
    assert watched(tmux) == {job_id: "finished"}


def test_preview_shows_the_transcript_and_L_copies_its_link(server: SimServer, tmux: Tmux) -> None:
    import httpx2  # only this test fetches a file

    from tui.sim.files import files_root

    job_id = server.sim.create_job(preset="transcript", status="finished")
    tmux.start(BATCHMON, job_id)
    wait_for(lambda: row(tmux, job_id).endswith("finished"), "the finished job", tmux)

    tmux.keys("o")
    wait_for(lambda: "Speaker 0: Good morning everyone, let's get started." in tmux.screen(), "the transcript", tmux)
    screen = tmux.screen()
    assert f"Job {job_id[:8]}" in screen and "transcription txt" in screen and "Traceback" not in screen

    tmux.keys("L")
    link_prefix = f"{files_root(server.base_url)}/files/{job_id}/transcript.txt?"
    wait_for(lambda: tmux.cmd("show-buffer", check=False).stdout.startswith(link_prefix), "the link in tmux", tmux)
    link = tmux.cmd("show-buffer").stdout
    response = httpx2.get(link)  # a plain request, no key: the link is its own credential
    assert response.status_code == 200 and response.text.startswith("Speaker 0: Good morning everyone")

    tmux.keys("Escape")
    wait_for(lambda: "Speaker 0: Good morning" not in tmux.screen() and job_id[:8] in tmux.screen(), "the list", tmux)
    tmux.keys("q")
    wait_for(lambda: not tmux.running(), "batchmon to quit", tmux)


def test_keys_typed_right_after_slash_are_filter_text(server: SimServer, tmux: Tmux) -> None:
    sim = server.sim
    jobs = [sim.create_job(preset="summarize", status="finished") for _ in range(2)]
    tmux.start(BATCHMON, *jobs)
    wait_for(lambda: all(row(tmux, job_id).endswith("finished") for job_id in jobs), "both rows", tmux)
    tmux.keys("/xap", literal=True)  # one send-keys call: the keys arrive together
    wait_for(lambda: "filter: xap" in tmux.screen(), "the filter text in the title", tmux)
    screen = tmux.screen()
    assert "Add jobs" not in screen and "Stopped watching" not in screen and "paused" not in screen
    tmux.keys("Escape")
    wait_for(lambda: all(job_id[:8] in tmux.screen() for job_id in jobs), "both jobs still listed", tmux)
    tmux.keys("q")
    wait_for(lambda: not tmux.running(), "the app to quit", tmux)
