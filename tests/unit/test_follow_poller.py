"""Following the domain in the poller: new jobs found on page one, riding on the sweeps it makes anyway."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest

from tui.api import BatchClient, RequestBudget
from tui.poller import Poller, PollUpdate
from tui.sim import Faults, Simulator, create_app

KEY = "follow-test-key"
LIST_PATH = "/v1/batch-processor"


async def wait_until(condition: Callable[[], object], timeout: float = 4.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


class Rig:
    """A simulator in-process, a poller on it, and every update it yielded."""

    def __init__(self, interval: float) -> None:
        self.sim = Simulator(api_key=KEY)
        self.faults = Faults()
        transport = httpx2.ASGITransport(app=create_app(self.sim, self.faults))
        self.client = BatchClient("http://sim.test/v1", KEY, budget=RequestBudget(20), transport=transport)
        self.poller = Poller(
            self.client, interval=interval, backoff_initial=0.05, backoff_max=0.2, list_backoff_max=0.2
        )
        self.updates: list[PollUpdate] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Rig:
        self._task = asyncio.create_task(self._consume())
        return self

    async def _consume(self) -> None:
        async for update in self.poller.updates():
            self.updates.append(update)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    def discovered(self) -> list[str]:
        return [job.id for update in self.updates for job in update.discovered]

    def list_times(self, since: float = 0.0) -> list[float]:
        return [r.at for r in self.sim.requests.entries() if r.path == LIST_PATH and r.at >= since]

    def others(self) -> list[str]:
        return [r.path for r in self.sim.requests.entries() if r.path != LIST_PATH]

    def active(self, **schedule: Any) -> str:
        return self.sim.create_job(**{"status": "processing", "processing_in": None, "done_in": None, **schedule})


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(interval: float = 0.1) -> Rig:
        rigs.append(Rig(interval))
        return rigs[-1]

    yield make
    for rig in rigs:
        await rig.close()


async def test_new_jobs_ride_on_sweeps_without_extra_requests(make_rig: Callable[..., Rig]) -> None:
    """An active watched job means a sweep of page one every interval: following adds no request."""
    rig = make_rig(interval=0.1)
    watched = [rig.active() for _ in range(5)]
    for _ in range(100):
        rig.sim.create_job(status="finished")
    rig.poller.watch(watched)
    rig.start()
    await wait_until(lambda: len(rig.list_times()) >= 6, what="sweeps")
    mark = time.time()
    await asyncio.sleep(1.0)
    without = len(rig.list_times(mark))  # two pages an interval: the watched jobs are on page two
    rig.poller.follow(True)
    await asyncio.sleep(0.2)
    assert rig.discovered() == []  # what was there before following is not followed
    new = [rig.sim.create_job(status="finished") for _ in range(3)]  # ended: they add no polling of their own
    await wait_until(lambda: set(rig.discovered()) == set(new), timeout=2, what="discovery")
    mark = time.time()
    await asyncio.sleep(1.0)
    following = len(rig.list_times(mark))
    assert following <= without + 2, (without, following)
    assert rig.others() == []  # the new jobs' statuses came from the same pages: no GETs
    states = rig.poller.states()
    assert all(states[j].status == "finished" for j in new)
    live = rig.active()
    await wait_until(lambda: live in rig.poller.states(), what="an active one")
    rig.sim.force_status(live, "error")
    await wait_until(lambda: rig.poller.states()[live].status == "error", what="followed job tracked")


async def test_nothing_watched_reads_page_one_once_an_interval(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.1)
    old = [rig.sim.create_job(status="finished") for _ in range(4)]
    rig.start()
    await asyncio.sleep(0.3)
    assert rig.list_times() == []  # not following: nothing watched means no requests at all
    rig.poller.follow(True, recent=2)
    await wait_until(lambda: len(rig.discovered()) == 2, what="the two most recent")
    assert rig.discovered() == [old[3], old[2]]
    mark = time.time()
    await asyncio.sleep(0.55)
    count = len(rig.list_times(mark))
    assert 3 <= count <= 7, count
    assert rig.others() == []
    fresh = rig.sim.create_job(status="submitted", processing_in=0.2, done_in=0.4)
    await wait_until(lambda: fresh in rig.discovered(), timeout=1, what="a job created later")
    await wait_until(lambda: rig.poller.states()[fresh].status == "finished", what="it is polled to its end")
    rig.poller.follow(False)
    await asyncio.sleep(0.15)
    mark = time.time()
    rig.sim.create_job(status="processing")
    await asyncio.sleep(0.4)
    assert rig.list_times(mark) == []  # off again, and everything watched has ended
    assert len(rig.discovered()) == 3


async def test_discovery_survives_a_list_that_ignores_its_cursor_or_fails(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.1)
    deep = rig.active()
    for _ in range(150):
        rig.sim.create_job(status="finished")
    rig.faults.list_ignores_paging = True
    rig.poller.watch([deep])
    rig.poller.follow(True)
    rig.start()
    await wait_until(lambda: rig.poller.states()[deep].status == "processing", what="deep job by GET")
    first = rig.active()
    await wait_until(lambda: first in rig.discovered(), what="discovery with a cursor-ignoring list")
    rig.faults.update({"status": 500, "status_paths": r"batch-processor$"})
    await asyncio.sleep(0.4)
    second = rig.active()
    await asyncio.sleep(0.2)
    assert second not in rig.discovered()
    rig.faults.update({"status": None, "status_paths": None})
    await wait_until(lambda: second in rig.discovered(), timeout=3, what="discovery after the list recovered")
    assert rig.discovered().count(first) == 1


async def test_unwatched_followed_job_is_not_found_again(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.05)
    rig.poller.follow(True)
    rig.start()
    await wait_until(lambda: rig.poller.top_read_at > 0, what="first read")
    job = rig.active()
    await wait_until(lambda: job in rig.discovered(), what="discovered")
    rig.poller.unwatch(job)
    later = rig.active()
    await wait_until(lambda: later in rig.discovered(), what="the next one")
    assert job not in rig.poller.states() and rig.discovered().count(job) == 1


async def test_cancelling_right_after_a_wake_stops_the_loop(make_rig: Callable[..., Rig]) -> None:
    """The loop sleeping on a timer, woken and cancelled in the same breath, still stops."""
    for _ in range(20):
        rig = make_rig(interval=0.05)
        rig.poller.follow(True)
        rig.start()
        await wait_until(lambda: rig.poller.top_read_at > 0, what="first read")  # noqa: B023
        await asyncio.sleep(0.01)  # asleep until the next read is due
        task = rig._task
        assert task is not None
        rig.poller.follow(False)  # sets the wake event
        task.cancel()
        await asyncio.wait({task}, timeout=1)
        assert task.done() and task.cancelled()
