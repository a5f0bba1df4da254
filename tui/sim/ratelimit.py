"""Daily-style rate limiting: at most R requests in any 1 s window and 5R in any 5 s window."""

from __future__ import annotations

import threading
from collections import deque


class SlidingWindowLimiter:
    """Every attempt counts, refused ones included, as with most API limiters.

    That is what makes the 5 s window matter: a client that keeps hammering through its 429s
    stays locked out after its 1 s window clears.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque()  # attempt times within the last 5 s

    def allow(self, rate: float, now: float) -> bool:
        with self._lock:
            while self._times and self._times[0] <= now - 5.0:
                self._times.popleft()
            in_last_second = 0
            for t in reversed(self._times):
                if t <= now - 1.0:
                    break
                in_last_second += 1
            allowed = in_last_second + 1 <= rate and len(self._times) + 1 <= 5 * rate
            self._times.append(now)
            return allowed

    def clear(self) -> None:
        with self._lock:
            self._times.clear()
