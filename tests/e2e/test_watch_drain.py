"""`watch` on a slow event loop: every job's final state is printed before it exits, and the exit
status follows it (a tick must never win over a queued update)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tui.cli.watch import watch_jobs
from tui.core.config import Settings
from tui.sim import SimServer, Simulator

KEY = "drain-secret-key"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=4, api_key=KEY)) as running:
        yield running


async def stall_the_loop(stop: asyncio.Event, block: float) -> None:
    """A loop that is slow: it is blocked for `block` seconds at a time (a suspended laptop, a
    100,000-entry page being parsed), longer than watch's tick."""
    while not stop.is_set():
        await asyncio.sleep(0.01)
        time.sleep(block)


async def watch_with_stalls(server: SimServer, ids: list[str]) -> int:
    settings = Settings(api_key=SecretStr(KEY), api_url=server.base_url, rate=20.0, interval=0.5)
    stop = asyncio.Event()
    staller = asyncio.create_task(stall_the_loop(stop, 0.4))
    try:
        return await asyncio.wait_for(watch_jobs(ids, settings, exit_status=True), timeout=120)
    finally:
        stop.set()
        await staller


def test_a_failure_on_a_stalled_loop_is_printed_and_sets_the_exit_status(
    server: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = server.sim
    for _ in range(3):  # each round a different timing; every round must hold
        ids = [sim.create_job(status="processing", processing_in=None, done_in=None) for _ in range(8)]
        failed, finished = ids[0], ids[1:]

        async def scenario() -> int:
            task = asyncio.create_task(watch_with_stalls(server, ids))
            await asyncio.sleep(1.5)  # the watch has seen them processing
            for job_id in finished:
                sim.force_status(job_id, "finished")
            sim.force_status(failed, "error")
            return await task

        code = asyncio.run(scenario())
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert code == 1, (captured.out, captured.err)
        assert any(failed in line and "error" in line for line in lines), captured.out
        for job_id in finished:
            assert any(job_id in line and "finished" in line for line in lines), captured.out
        assert "not seen" not in captured.err and "1 error" in captured.err
