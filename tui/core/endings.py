"""Ending announcements: jobs seen ending, gathered into one toast, failures waiting for their reason."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from tui.api.models import Job
from tui.core.watchlist import Ended
from tui.present.formatting import symbol
from tui.present.text import printable, shown

GATHER = 1.0  # seconds endings are gathered into one toast ("3 finished, 1 failed")
REASON_WAIT = 5.0  # seconds a failure toast waits for the job's record (its reason) before going without
REASON_SHOWN = 160  # characters of a failure reason in a toast (the detail pane and `N` show it all)
NAMED_FAILURES = 3  # failures named one by one in a toast; the rest are counted

# job id -> its full record, None until one has arrived
RecordOf = Callable[[str], Job | None]


@dataclass(frozen=True, slots=True)
class Announcement:
    """One toast about jobs that ended: sanitised text and whether any of them failed."""

    text: str
    failed: bool

    @property
    def timeout(self) -> float:
        """Seconds the toast stays: failures longer, so their reason can be read."""
        return 8 if self.failed else 4


def _short(job_id: str) -> str:
    return printable(job_id)[:8]


def announcement(ended: list[Ended]) -> Announcement:
    """The toast for jobs seen ending together: one line for one job, counts and reasons for several."""
    failed = [end for end in ended if end.status == "error"]
    finished = [end for end in ended if end.status != "error"]
    if len(ended) == 1:
        end = ended[0]
        what = "failed" if failed else "finished"
        preset = shown(end.preset, 60) if end.preset else None  # server text: bounded
        lines = [" ".join(part for part in (symbol(end.status), _short(end.id), preset, what) if part)]
    else:
        counts = [f"{len(finished)} finished" if finished else "", f"{len(failed)} failed" if failed else ""]
        lines = [", ".join(part for part in counts if part)]
        lines += [f"{symbol('error')} {_short(end.id)}" for end in failed[:NAMED_FAILURES] if not end.error]
    for end in failed[:NAMED_FAILURES]:
        if end.error:
            reason = printable(end.error)
            reason = reason if len(reason) <= REASON_SHOWN else reason[: REASON_SHOWN - 1] + "…"
            lines.append(f"{symbol('error')} {_short(end.id)}: {reason}" if len(ended) > 1 else reason)
    if len(failed) > NAMED_FAILURES:
        lines.append(f"… and {len(failed) - NAMED_FAILURES} more (N lists them)")
    return Announcement(printable("\n".join(lines), multiline=True), bool(failed))


class Endings:
    """A state machine with two deadlines, one for a failure's reason and one for gathering.

    A failure seen without its reason waits up to `REASON_WAIT` seconds for its record; endings
    seen within `GATHER` seconds go out together.

    `feed` is called at every flush, with or without new endings, so the deadlines run out.
    """

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._awaiting_reason: dict[str, tuple[Ended, float]] = {}  # failures waiting for their record
        self._gathered: list[Ended] = []  # endings for the next toast
        self._gather_until = 0.0  # when the next toast goes out

    def feed(self, ended: list[Ended], record_of: RecordOf, watched: Callable[[str], bool]) -> Announcement | None:
        """Take this flush's endings; the toast that is due now, if one is."""
        ready = self._with_reasons(ended, record_of, watched)
        now = self.monotonic()
        if ready and not self._gathered:
            self._gather_until = now + GATHER
        self._gathered += ready
        if self._gathered and now >= self._gather_until:
            due, self._gathered = self._gathered, []
            return announcement(due)
        return None

    def _with_reasons(self, ended: list[Ended], record_of: RecordOf, watched: Callable[[str], bool]) -> list[Ended]:
        """Endings ready to announce.

        A failure seen by a list sweep (no error text) waits for its record, which the poller
        fetches at once, and goes without after `REASON_WAIT` seconds.
        """
        now = self.monotonic()
        ready: list[Ended] = []
        for end in ended:
            if end.status == "error" and end.error is None:
                self._awaiting_reason[end.id] = (end, now + REASON_WAIT)
            else:
                self._awaiting_reason.pop(end.id, None)
                ready.append(end)
        for job_id, (end, deadline) in list(self._awaiting_reason.items()):
            if not watched(job_id):
                del self._awaiting_reason[job_id]  # removed meanwhile
                continue
            job = record_of(job_id)
            if job is not None and job.status == "error":
                ready.append(dataclasses.replace(end, error=job.error))
            elif now < deadline:
                continue
            else:
                ready.append(end)
            del self._awaiting_reason[job_id]
        return ready
