"""A log of requests the simulator served: for benchmarks that check request budgets, and tests that check headers."""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple


class LoggedRequest(NamedTuple):
    at: float  # clock time the request arrived
    method: str
    path: str
    status: int  # 0 when the connection was dropped without a response
    headers: tuple[tuple[str, str], ...] = ()  # as received (names lower-case); tests check what reached a host
    host: str = ""  # the Host header: which "host" the client believed it was talking to

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)


class RequestLog:
    """Append-only request log with cheap totals; window maths is done on demand."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []
        self._by_status: Counter[int] = Counter()

    def add(
        self,
        method: str,
        path: str,
        status: int,
        at: float | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        host = next((value for key, value in headers if key == "host"), "")
        entry = LoggedRequest(self.clock() if at is None else at, method, path, status, headers, host)
        with self._lock:
            self._entries.append(entry)
            self._by_status[status] += 1

    @property
    def count(self) -> int:
        return len(self._entries)

    def count_status(self, status: int) -> int:
        return self._by_status[status]

    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def max_in_window(self, seconds: float) -> int:
        """The most requests that arrived within any `seconds`-long window."""
        times = sorted(e.at for e in self.entries())
        best = 0
        for i, t in enumerate(times):
            # Requests in (t - seconds, t]: the same half-open window the rate limiter uses.
            first = bisect.bisect_right(times, t - seconds)
            best = max(best, i + 1 - first)
        return best

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_status.clear()
