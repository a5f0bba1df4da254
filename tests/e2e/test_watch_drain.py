"""`watch` on a slow event loop: every job's final state is printed before it exits, and the exit
status follows it (a tick must never win over a queued update)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tui.cli.watch import watch_jobs
from tui.core.config import Settings
from tui.sim import Faults, SimServer, Simulator

KEY = "drain-secret-key"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    # The list leaves every job out, so each is polled with a GET of its own and its change
    # comes in an update of its own: the slow loop falls behind by several updates.
    with SimServer(Simulator(jobs=0, seed=4, api_key=KEY), Faults(list_omits=1.0)) as running:
        yield running


async def stall_the_loop(stop: asyncio.Event, seed: int) -> None:
    """A loop that is slow: blocked for 0.1-0.5 s at a time (a suspended laptop, a 100,000-entry
    page being parsed), about watch's tick (0.25 s), in phases that differ from round to round."""
    rng = random.Random(seed)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.0, 0.05))
        time.sleep(rng.uniform(0.1, 0.5))


async def watch_with_stalls(server: SimServer, ids: list[str]) -> int:
    settings = Settings(api_key=SecretStr(KEY), api_url=server.base_url, rate=20.0, interval=0.5)
    stop = asyncio.Event()
    staller = asyncio.create_task(stall_the_loop(stop, len(ids)))
    try:
        return await asyncio.wait_for(watch_jobs(ids, settings, exit_status=True), timeout=120)
    finally:
        stop.set()
        await staller


async def scenario(
    server: SimServer, ids: list[str], failed: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Watch the jobs; once the watch has printed them processing, end them (one in error)."""
    task = asyncio.create_task(watch_with_stalls(server, ids))
    out = ""
    deadline = time.monotonic() + 60
    while out.count("processing") < len(ids):
        assert time.monotonic() < deadline and not task.done(), f"the watch never printed them: {out}"
        await asyncio.sleep(0.05)
        out += capsys.readouterr().out
    # The jobs end a while after the watch saw them (not a wait for a condition: the timing the
    # issue measured, jobs ending between two polls of a long-running watch).
    await asyncio.sleep(1.0)
    out += capsys.readouterr().out
    for job_id in ids:
        server.sim.force_status(job_id, "error" if job_id == failed else "finished")
    code = await task
    return code, out


def test_a_failure_on_a_stalled_loop_is_printed_and_sets_the_exit_status(
    server: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = server.sim
    for _ in range(6):  # each round a different timing; every round must hold
        ids = [sim.create_job(status="processing", processing_in=None, done_in=None) for _ in range(8)]
        failed, finished = ids[0], ids[1:]
        code, before = asyncio.run(scenario(server, ids, failed, capsys))
        captured = capsys.readouterr()
        lines = (before + captured.out).splitlines()
        assert code == 1, (before + captured.out, captured.err)
        assert any(failed in line and "error" in line for line in lines), captured.out
        for job_id in finished:
            assert any(job_id in line and "finished" in line for line in lines), captured.out
        assert "not seen" not in captured.err and "1 error" in captured.err
