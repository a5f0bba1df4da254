"""One request budget for the whole process: a rate limit, a shared pause after a 429, urgent requests first."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable

# Daily allows 20 requests/s (or 100 per 5 s); batchmon never asks for more.
MAX_RATE = 20.0
# Requests are spaced 5% wider than 1/rate: scheduling jitter between here and the server must
# never put rate + 1 requests into one of the server's 1 s windows.
SPACING_MARGIN = 1.05
URGENT, BACKGROUND = 0, 1


class RequestBudget:
    """Every request the process makes waits here first.

    Waiters are granted one at a time, evenly spaced (so no 1 s window ever holds more than `rate`),
    urgent ones (a user is waiting) before background ones, and in arrival order within each.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"rate must be above 0 and at most {MAX_RATE:g} requests/s")
        self.rate = rate
        self._clock = clock
        self._spacing = SPACING_MARGIN / rate
        self.paused_until = 0.0
        self.requests_made = 0
        self._recent: deque[float] = deque()
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_grant: float | None = None  # loop time of the last grant

    async def acquire(self, *, urgent: bool = False) -> None:
        loop = asyncio.get_running_loop()
        ticket: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._queue, (URGENT if urgent else BACKGROUND, next(self._arrivals), ticket))
        if self._dispatcher is None or self._dispatcher.done() or self._dispatcher.get_loop() is not loop:
            # Waiters left from a closed loop (a previous asyncio.run) can never be woken: drop them.
            self._queue = [entry for entry in self._queue if entry[2].get_loop() is loop]
            heapq.heapify(self._queue)
            self._dispatcher = loop.create_task(self._dispatch())
        await ticket  # cancelling the caller cancels the ticket; the dispatcher skips it
        now = self._clock()
        self.requests_made += 1
        self._recent.append(now)
        self._forget_before(now - 5)

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            next_slot = -1.0 if self._last_grant is None else self._last_grant + self._spacing
            while (wait := max(self.paused_until - self._clock(), next_slot - loop.time())) > 0:
                await asyncio.sleep(wait)
            # Pop only now, so an urgent request that arrived during the wait goes first.
            while self._queue:
                _, _, ticket = heapq.heappop(self._queue)
                if not ticket.done():
                    ticket.set_result(None)
                    self._last_grant = loop.time()
                    break

    def pause_for(self, seconds: float) -> None:
        """Hold every request for `seconds` (after a 429), never shortening a longer pause."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    @property
    def paused(self) -> bool:
        return self.paused_until > self._clock()

    def requests_per_second(self) -> float:
        """Mean request rate over the last 5 s."""
        self._forget_before(self._clock() - 5)
        return len(self._recent) / 5

    def _forget_before(self, cutoff: float) -> None:
        while self._recent and self._recent[0] < cutoff:
            self._recent.popleft()
