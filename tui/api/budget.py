"""One request budget for the whole process: a rate limit plus a shared pause after a 429."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

# Daily allows 20 requests/s (or 100 per 5 s); batchmon never asks for more.
MAX_RATE = 20.0
# Requests are spaced 5% wider than 1/rate, and a finished request counts against the budget
# for 5% over a second: scheduling jitter between here and the server must never put rate + 1
# requests into one of the server's 1 s windows.
SPACING_MARGIN = 1.05
WINDOW = 1.0 * SPACING_MARGIN


class RequestBudget:
    """Every request the process makes takes a slot here first (`async with budget.slot()`).

    Slots are spaced 1/rate apart when they start, and no slot starts while `rate` others have
    been in flight within the last second: a request reaches the server somewhere between its
    start and its completion, so counting it until a second after it completed keeps every 1 s
    window at the server within the rate, from the very first request (a slow first connection
    included).
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"rate must be above 0 and at most {MAX_RATE:g} requests/s")
        self.rate = rate
        self._clock = clock
        # Created on first use: aiolimiter binds to the running loop.
        self._limiter: AsyncLimiter | None = None
        self.paused_until = 0.0
        self.requests_made = 0
        self._recent: deque[float] = deque()
        self._per_window = max(1, math.floor(rate + 1e-9))
        self._in_flight = 0
        self._ended: deque[float] = deque()  # completion times of slots within the last WINDOW
        self._freed: asyncio.Event | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for room, then hold a slot while the request runs."""
        await self._acquire()
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._ended.append(self._clock())
            if self._freed is not None:
                self._freed.set()

    async def _acquire(self) -> None:
        if self._limiter is None:
            # Capacity 1: requests are evenly spaced, so no 1 s window ever holds more than `rate`.
            self._limiter = AsyncLimiter(1, SPACING_MARGIN / self.rate)
            self._freed = asyncio.Event()
        while (wait := self.paused_until - self._clock()) > 0:
            await asyncio.sleep(wait)
        await self._limiter.acquire()
        while True:
            now = self._clock()
            while self._ended and self._ended[0] <= now - WINDOW:
                self._ended.popleft()
            wait = self.paused_until - now
            if self._in_flight + len(self._ended) < self._per_window and wait <= 0:
                break
            if wait <= 0 and self._ended:
                wait = self._ended[0] + WINDOW - now
            if wait > 0:
                await asyncio.sleep(wait)
            else:  # every slot of the window is still in flight: wait for one to finish
                assert self._freed is not None
                self._freed.clear()
                await self._freed.wait()
        self.requests_made += 1
        self._recent.append(now)
        self._forget_before(now - 5)

    def pause_for(self, seconds: float) -> None:
        """Hold every request for `seconds` (after a 429), never shortening a longer pause."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    @property
    def paused(self) -> bool:
        return self.paused_until > self._clock()

    def pause_left(self) -> float:
        """Seconds until the pause after a 429 ends (0 when not paused)."""
        return max(0.0, self.paused_until - self._clock())

    def requests_per_second(self) -> float:
        """Mean request rate over the last 5 s."""
        self._forget_before(self._clock() - 5)
        return len(self._recent) / 5

    def _forget_before(self, cutoff: float) -> None:
        while self._recent and self._recent[0] < cutoff:
            self._recent.popleft()
