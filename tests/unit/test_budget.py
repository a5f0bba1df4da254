"""The request budget against the simulator's own rate limiter, over loopback, on a real clock."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from tui.api import BatchClient, RequestBudget
from tui.sim import Faults, SimServer, Simulator

KEY = "budget-test-key"


class SlowFirstRequest(httpx2.AsyncBaseTransport):
    """Loopback, but the first request is held before it leaves (a slow connect at start-up)."""

    def __init__(self, delay: float) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self._delay = delay
        self._first = True

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._first:
            self._first = False
            await asyncio.sleep(self._delay)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("delay", [0.1, 0.18])
async def test_no_second_carries_more_than_the_rate_from_the_first_request(delay: float) -> None:
    sim = Simulator(jobs=0, api_key=KEY)
    job_id = sim.create_job()
    with SimServer(sim, Faults(rate_limit=5)) as server:
        budget = RequestBudget(5)
        async with BatchClient(server.base_url, KEY, budget=budget, transport=SlowFirstRequest(delay)) as api:
            for _ in range(8):
                await api.get_job(job_id)
    assert sim.requests.count == 8
    assert sim.requests.max_in_window(1.0) <= 5
    assert sim.requests.count_status(429) == 0


async def test_concurrent_slow_requests_stay_within_the_rate() -> None:
    """Requests in flight count until they complete: a slow one can't let a burst through."""
    sim = Simulator(jobs=0, api_key=KEY)
    job_id = sim.create_job()
    with SimServer(sim, Faults(rate_limit=4)) as server:
        budget = RequestBudget(4)
        async with BatchClient(server.base_url, KEY, budget=budget, transport=SlowFirstRequest(0.3)) as api:
            await asyncio.gather(*(api.get_job(job_id) for _ in range(7)))
    assert sim.requests.max_in_window(1.0) <= 4
    assert sim.requests.count_status(429) == 0


async def test_the_budget_still_uses_its_rate() -> None:
    """Spacing by completion costs little: 11 quick requests at 10/s take about a second."""
    sim = Simulator(jobs=0, api_key=KEY)
    job_id = sim.create_job()
    with SimServer(sim, Faults(rate_limit=10)) as server:
        async with BatchClient(server.base_url, KEY, budget=RequestBudget(10)) as api:
            began = asyncio.get_running_loop().time()
            for _ in range(11):
                await api.get_job(job_id)
            took = asyncio.get_running_loop().time() - began
    assert 1.0 <= took <= 1.5, took
    assert sim.requests.count_status(429) == 0
