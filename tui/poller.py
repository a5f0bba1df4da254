"""Polling engine: keeps many watched jobs current within one request budget."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from tui.api import BatchClient, Job

EngineMode = Literal["running", "paused", "backing-off", "unauthorised", "offline"]


@dataclass(frozen=True)
class JobState:
    """What the engine knows about one watched job."""

    id: str
    status: str | None = None  # None until the server has answered for it
    preset: str | None = None
    job: Job | None = None  # the last full record (GET), if any
    confirmed_at: float | None = None  # wall-clock time the server last confirmed `status`
    last_error: str | None = None  # the last problem polling this job, cleared on success
    gone: bool = False  # 404: deleted or never existed


@dataclass(frozen=True)
class StatusChange:
    id: str
    previous: str | None
    status: str
    observed_at: float  # wall clock


@dataclass(frozen=True)
class EngineState:
    mode: EngineMode
    requests_made: int
    requests_per_second: float  # in use, over the last 5 s
    rate: float  # the budget
    backoff_until: float | None = None  # wall clock, while backing off
    last_error: str | None = None


@dataclass(frozen=True)
class PollUpdate:
    """What changed since the previous update."""

    jobs: tuple[JobState, ...]  # only the jobs whose state changed
    changes: tuple[StatusChange, ...]  # status transitions among them
    engine: EngineState


class Poller:
    """Schedules list sweeps and per-job GETs; the TUI and `batchmon watch` both consume it."""

    def __init__(
        self,
        client: BatchClient,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        raise NotImplementedError

    def watch(self, ids: Iterable[str], known: Mapping[str, Job] | None = None) -> None:
        """Start watching ids; `known` records (e.g. from disk) spare requests for terminal jobs."""
        raise NotImplementedError

    def unwatch(self, job_id: str) -> None:
        raise NotImplementedError

    def refresh(self, job_id: str) -> None:
        """Fetch this job next, ahead of everything else, even if it is terminal."""
        raise NotImplementedError

    def pause(self) -> None:
        raise NotImplementedError

    def resume(self) -> None:
        raise NotImplementedError

    @property
    def paused(self) -> bool:
        raise NotImplementedError

    def states(self) -> Mapping[str, JobState]:
        raise NotImplementedError

    def engine_state(self) -> EngineState:
        raise NotImplementedError

    def updates(self) -> AsyncIterator[PollUpdate]:
        """Run forever, yielding an update whenever something changed (cancel to stop)."""
        raise NotImplementedError
