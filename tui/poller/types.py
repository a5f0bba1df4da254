"""What the poller reports: job states, status changes and the engine's own state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui.api import Job
from tui.api.models import JobSummary

EngineMode = Literal["running", "paused", "backing-off", "unauthorised", "offline"]


@dataclass(frozen=True)
class JobState:
    """What the engine knows about one watched job."""

    id: str
    status: str | None = None  # None until the server has answered for it (or the store knew it)
    preset: str | None = None
    job: Job | None = None  # the last full record (GET), if any
    confirmed_at: float | None = None  # wall-clock time the server last confirmed `status`
    last_error: str | None = None  # the last problem polling this job, cleared on success
    gone: bool = False  # 404: deleted or never existed


@dataclass(frozen=True)
class StatusChange:
    """A job was seen in a new status (`previous` None: the first sighting)."""

    id: str
    previous: str | None
    status: str
    observed_at: float  # wall clock


@dataclass(frozen=True)
class EngineState:
    """How the engine is doing: its mode, requests, rate and last error."""

    mode: EngineMode
    requests_made: int
    requests_per_second: float  # in use, over the last 5 s
    rate: float  # the budget
    backoff_until: float | None = None  # wall clock, while backing off (offline: the next retry)
    last_error: str | None = None
    idle: bool = False  # no watched job needs polling (all ended or gone) and nothing is queued
    host: str = ""  # `host:port` of the API, for "offline (host)"
    retry_at: float | None = None  # wall clock of the next key recheck, while unauthorised


@dataclass(frozen=True)
class PollUpdate:
    """What changed since the previous update."""

    jobs: tuple[JobState, ...]  # only the jobs whose state changed
    changes: tuple[StatusChange, ...]  # status transitions among them
    engine: EngineState
    discovered: tuple[JobSummary, ...] = ()  # new jobs found on the list while following, newest first
