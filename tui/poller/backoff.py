"""Exponential backoff with jitter, for retries after transient failures."""

from __future__ import annotations

import random


class Backoff:
    """Equal jitter: the n-th delay lies between half and all of initial * 2**(n-1), capped."""

    def __init__(self, initial: float, maximum: float, rng: random.Random) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self._rng = rng

    def delay(self, attempt: int, maximum: float | None = None) -> float:
        """The delay before retry number `attempt` (1-based), capped at `maximum`."""
        cap = self.maximum if maximum is None else maximum
        full = min(cap, self.initial * 2.0 ** (min(max(attempt, 1), 40) - 1))
        return full * (0.5 + 0.5 * self._rng.random())
