"""One request budget for the whole process: a rate limit plus a shared pause after a 429."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable

from aiolimiter import AsyncLimiter

# Daily allows 20 requests/s (or 100 per 5 s); batchmon never asks for more.
MAX_RATE = 20.0
# Requests are spaced 5% wider than 1/rate: scheduling jitter between here and the server must
# never put rate + 1 requests into one of the server's 1 s windows.
SPACING_MARGIN = 1.05


class RequestBudget:
    """Every request the process makes waits here first."""

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

    async def acquire(self) -> None:
        while (wait := self.paused_until - self._clock()) > 0:
            await asyncio.sleep(wait)
        if self._limiter is None:
            # Capacity 1: requests are evenly spaced, so no 1 s window ever holds more than `rate`.
            self._limiter = AsyncLimiter(1, SPACING_MARGIN / self.rate)
        await self._limiter.acquire()
        now = self._clock()
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
