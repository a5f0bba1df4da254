"""What commands learn about watched jobs goes into the shared store, so `watched` and the next TUI show it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tui.api import Job
from tui.api.models import JobSummary
from tui.core import locations
from tui.store.database import Observation, Store, StoreError

if TYPE_CHECKING:
    from tui.poller import JobState

log = logging.getLogger(__name__)

RECORD_WAIT = 0.2  # seconds a command waits for another instance's lock before keeping the write for later


def _record(job: Job) -> dict[str, Any] | None:
    try:
        return job.model_dump(mode="json", by_alias=True, exclude_unset=True)
    except (ValueError, RecursionError):
        return None


class Recorder:
    """Stages what a command saw of jobs on the watch list (others are ignored) and writes it;
    a store that is busy, full or read-only costs nothing but a line in the log."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self._jobs: dict[str, Job] = {}  # the record last staged per job (records are written when new)
        path = locations.state_db()
        if not path.exists():
            return  # no watch list: nothing to record into
        store = Store(path, busy_timeout=RECORD_WAIT)
        try:
            store.open(fallback=True, check=False)  # reading it was checked by whoever made it
        except StoreError as exc:
            log.info("not recording what was seen: %s", exc)
            return
        self.store = store

    def seen(
        self, job_id: str, status: str | None, preset: str | None, at: float | None, record: dict[str, Any] | None
    ) -> None:
        if self.store is None or status is None:
            return
        try:
            self.store.stage(Observation(job_id.strip().lower(), status, preset, at or time.time(), record))
        except StoreError as exc:
            log.info("not recording what was seen: %s", exc)

    def seen_state(self, state: JobState) -> None:
        """A poller's state; its record is written when it is a new one."""
        job = state.job
        fresh = job is not None and self._jobs.get(state.id) is not job
        if fresh and job is not None:
            self._jobs[state.id] = job
        self.seen(state.id, state.status, state.preset, state.confirmed_at, _record(job) if fresh and job else None)

    def seen_job(self, job: Job, at: float | None = None, record: dict[str, Any] | None = None) -> None:
        self.seen(job.id, job.status, job.preset, at, record if record is not None else _record(job))

    def flush(self, *, now: bool = False) -> None:
        """Write what is staged when it is worth it (a change, a record; `now`: anything)."""
        store = self.store
        if store is None or not (now or store.dirty):
            return
        try:
            if store.unwritable is not None and store.retry_writable() is None:
                return
            store.flush()
        except StoreError as exc:
            log.info("what was seen is kept for later: %s", exc)

    def close(self) -> None:
        if self.store is None:
            return
        self.store.be_patient()
        self.flush(now=True)
        try:
            self.store.close()
        except StoreError as exc:
            log.info("what was seen could not be recorded: %s", exc)
        self.store = None


def record_seen(jobs: Iterable[Job | JobSummary], bodies: Iterable[dict[str, Any] | None] = ()) -> None:
    """Record these jobs (a full job with its record: its body as sent, when given) if they are
    watched; a list entry gives only its status."""
    recorder = Recorder()
    if recorder.store is None:
        return
    extra = list(bodies)
    for index, job in enumerate(jobs):
        if isinstance(job, Job):
            recorder.seen_job(job, record=extra[index] if index < len(extra) else None)
        else:
            recorder.seen(job.id, job.status, job.preset, None, None)
    recorder.close()
