"""One simulated job: its input and a timeline of statuses, evaluated lazily against a clock."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

SUBMITTED = "submitted"
PROCESSING = "processing"
FINISHED = "finished"
ERROR = "error"
TERMINAL = (FINISHED, ERROR)
PRESETS = ("transcript", "summarize", "soap-notes")

DEFAULT_ERROR = "Error: Failed to transcribe. May be invalid audio or silent file"


class SimError(Exception):
    """A request the API refuses: carries the HTTP status and Daily's `{error, info}` body."""

    def __init__(self, status: int, error: str, info: str | None = None) -> None:
        super().__init__(info or error)
        self.status = status
        self.error = error
        self.info = info

    def body(self) -> dict[str, str]:
        return {"error": self.error} if self.info is None else {"error": self.error, "info": self.info}


def new_uuid(rng: random.Random) -> str:
    """A UUID4 string drawn from `rng`, so seeded runs repeat their ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class Job:
    id: str
    preset: str
    input: dict[str, Any]
    template: str  # the s3KeyTemplate output names derive from
    # (status, entered_at) in time order; entries after "now" are the schedule still to come.
    events: list[tuple[str, float]]
    error: str = DEFAULT_ERROR
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the record as-is

    def status_at(self, now: float) -> str:
        for status, at in reversed(self.events):
            if at <= now:
                return status
        return self.events[0][0]

    def transitions(self, now: float | None = None) -> list[tuple[str, float]]:
        """Statuses entered up to `now` (all scheduled ones if `now` is None)."""
        if now is None:
            return list(self.events)
        return [(s, at) for s, at in self.events if at <= now]

    def force(self, status: str, now: float) -> None:
        """Enter `status` now and cancel whatever was scheduled after it."""
        self.events = [(s, at) for s, at in self.events if at <= now]
        if self.status_at(now) != status:
            self.events.append((status, now))

    @property
    def created_at(self) -> float:
        return self.events[0][1]

    @property
    def processing_at(self) -> float | None:
        return self._first_time((PROCESSING,))

    @property
    def done_at(self) -> float | None:
        return self._first_time(TERMINAL)

    @property
    def outcome(self) -> str | None:
        """The terminal status the timeline ends in, if it ends in one."""
        last = self.events[-1][0]
        return last if last in TERMINAL else None

    def _first_time(self, statuses: tuple[str, ...]) -> float | None:
        return next((at for s, at in self.events if s in statuses), None)
