"""One request budget for the whole process: a rate limit plus a shared pause after a 429."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

# Daily allows 20 requests/s (or 100 per 5 s); batchmon never asks for more.
MAX_RATE = 20.0
# Requests are spaced 5% wider than 1/rate, and a finished request counts against the budget
# for 5% over a second: scheduling jitter between here and the server must never put rate + 1
# requests into one of the server's 1 s windows.
SPACING_MARGIN = 1.05
WINDOW = 1.0 * SPACING_MARGIN
URGENT, BACKGROUND = 0, 1


class RequestBudget:
    """Every request the process makes takes a slot here first (`async with budget.slot()`).

    Slots are granted one at a time, spaced 1/rate apart, urgent ones (a user is waiting) before
    background ones and in arrival order within each. No slot starts while `rate` others were in
    flight within the last second: a request reaches the server somewhere between its start and
    its completion, so counting it until a second after it completed keeps every 1 s window at
    the server within the rate, from the very first request (a slow first connection included).
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
        self._per_window = max(1, math.floor(rate + 1e-9))
        self._in_flight = 0
        self._ended: deque[float] = deque()  # completion times of slots within the last WINDOW
        self._freed: asyncio.Event | None = None
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_grant: float | None = None  # loop time of the last grant

    @asynccontextmanager
    async def slot(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for a grant, then hold the slot while the request runs."""
        await self._granted(urgent)
        try:
            yield
        finally:
            self._release()

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for a grant for a request that counts as done at once (prefer `slot()`)."""
        await self._granted(urgent)
        self._release()

    async def _granted(self, urgent: bool) -> None:
        loop = asyncio.get_running_loop()
        ticket: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._queue, (URGENT if urgent else BACKGROUND, next(self._arrivals), ticket))
        if self._dispatcher is None or self._dispatcher.done() or self._dispatcher.get_loop() is not loop:
            # Waiters left from a closed loop (a previous asyncio.run) can never be woken: drop them.
            self._queue = [entry for entry in self._queue if entry[2].get_loop() is loop]
            heapq.heapify(self._queue)
            self._freed = asyncio.Event()
            self._dispatcher = loop.create_task(self._dispatch())
        try:
            await ticket  # cancelling the caller cancels the ticket; the dispatcher skips it
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                self._release()  # granted just as the caller was cancelled: give the slot back
            raise
        now = self._clock()
        self.requests_made += 1
        self._recent.append(now)
        self._forget_before(now - 5)

    def _release(self) -> None:
        self._in_flight -= 1
        self._ended.append(self._clock())
        if self._freed is not None:
            self._freed.set()

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            next_slot = -1.0 if self._last_grant is None else self._last_grant + self._spacing
            while (wait := max(self.paused_until - self._clock(), next_slot - loop.time())) > 0:
                await asyncio.sleep(wait)
            if not await self._window_has_room():
                continue  # time passed: check the pause and spacing again
            # Pop only now, so an urgent request that arrived during the wait goes first.
            while self._queue:
                _, _, ticket = heapq.heappop(self._queue)
                if not ticket.done():
                    ticket.set_result(None)
                    self._in_flight += 1
                    self._last_grant = loop.time()
                    break

    async def _window_has_room(self) -> bool:
        """True at once when a slot may start now; otherwise wait for room and return False."""
        now = self._clock()
        while self._ended and self._ended[0] <= now - WINDOW:
            self._ended.popleft()
        if self._in_flight + len(self._ended) < self._per_window:
            return True
        if self._ended:
            await asyncio.sleep(self._ended[0] + WINDOW - now)
        else:  # every slot of the window is still in flight: wait for one to finish
            assert self._freed is not None
            self._freed.clear()
            await self._freed.wait()
        return False

    def pause_for(self, seconds: float) -> None:
        """Hold every request for `seconds` (after a 429), never shortening a longer pause."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    @property
    def paused(self) -> bool:
        """Whether requests wait on `pause_until` (a 429's Retry-After)."""
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
