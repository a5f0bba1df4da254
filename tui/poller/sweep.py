"""One pass down the list endpoint, and the cost rule that says when paging stops paying."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

PAGE = 100  # jobs per list request (the API's maximum)
MAX_SWEEP_PAGES = 1000  # a sanity cap; the cost rule normally stops far earlier
UNLISTED = math.inf  # depth of a job a full sweep did not find


class Sweep:
    """One pass down the list endpoint, newest first, and the rule for when to stop.

    Watched jobs keep the position they were last seen at (their depth); jobs created since
    push them down by about the shift observed for the watched jobs already met in this pass.
    """

    def __init__(self, total_hint: int | None, max_pages: int) -> None:
        self.cursor: str | None = None
        self.pages = 0
        self.position = 0  # jobs listed so far in this pass
        self.shift = 0.0  # how far known jobs moved down since they were last seen
        self.total_hint = total_hint  # total_count from the API: a hint only
        self.max_pages = max_pages
        self.run = 0  # pages in a row since another request went through
        self.seen: set[str] = set()  # watched ids met in this pass
        self.listed: set[str] = set()  # every id met in this pass (detects an ignored cursor)

    def estimate(self, depth: float | None) -> float | None:
        """Where a job last seen at `depth` is expected now; None = no idea; inf = not in reach."""
        if depth is None or depth == UNLISTED:
            return depth
        expected = depth + self.shift
        if expected + PAGE < self.position:
            return UNLISTED  # a page past where it should have been: deleted, or left out
        return max(expected, float(self.position))

    def pages_worth(self, unseen: Iterable[float | None], *, unlisted: int = 0, unknown: int = 0) -> int:
        """How many more pages beat one GET per unseen active job (given by depth); 0 = stop here.

        `unlisted` and `unknown` count more unseen jobs at depth UNLISTED and None, so that a
        caller with 100,000 of them need not list them one by one.

        Cost of k more pages = k + GETs for the jobs those pages would not reach. Jobs never
        seen are taken to be spread evenly over the rest of the list (total_count as a hint).
        On a tie, pages win: they confirm every watched job on them, terminal ones included.
        """
        remaining = self.max_pages - self.pages
        known: list[float] = []  # expected positions within reach
        far = unlisted  # jobs no page will reach
        for depth in unseen:
            where = self.estimate(depth)
            if where is None:
                unknown += 1
            elif where == UNLISTED:
                far += 1
            else:
                known.append(where)
        if remaining <= 0 or not (known or far or unknown):
            return 0
        known.sort()
        end = float(self.position + PAGE)
        if self.total_hint is not None and self.total_hint > self.position:
            end = float(self.total_hint)
        if known:
            end = max(end, known[-1] + 1)
        span = end - self.position
        max_k = min(remaining, math.ceil(span / PAGE))
        stay = len(known) + far + unknown
        best_k, best_cost = 0, float(stay)
        for k in range(1, max_k + 1):
            reach = self.position + k * PAGE
            missed = far + len(known) - bisect.bisect_left(known, reach)
            missed_unknown = unknown * max(0.0, 1.0 - k * PAGE / span)
            cost = k + missed + missed_unknown
            if cost < best_cost - 1e-9 or (best_k == 0 and cost <= best_cost + 1e-9):
                best_k, best_cost = k, cost
        return best_k
