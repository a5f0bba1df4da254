"""What the widgets show about one job, and the small formatting rules they share."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from rich.style import Style
from rich.text import Text

from tui.api.models import STATUS_SYMBOLS, TERMINAL_STATUSES, Job, OutputRef
from tui.text import printable

# Symbol and theme variable per status, so a status reads without colour too.
STATUS_LOOK: dict[str, tuple[str, str]] = {
    status: (symbol, f"status-{status}") for status, symbol in STATUS_SYMBOLS.items()
}
UNKNOWN_LOOK = ("?", "status-unknown")
WAITING_LOOK = ("…", "status-unknown")
GONE_LOOK = ("⊘", "status-error")

# Sort rank for "by status": work in progress first, then outcomes.
STATUS_RANK = {"processing": 0, "submitted": 1, "error": 3, "finished": 4}
UNKNOWN_RANK = 2


@dataclass(frozen=True)
class JobView:
    """One watched job as the screen shows it: the store's history merged with the poller's state."""

    id: str
    status: str | None  # None until the server has answered
    preset: str | None
    job: Job | None  # the last full record, if any was ever fetched
    added_at: float
    confirmed_at: float | None
    timeline: tuple[tuple[str, float], ...] = ()
    last_error: str | None = None
    gone: bool = False

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def source(self) -> str | None:
        """The recording id, or the file name of the input URI."""
        if self.job is None or self.job.input is None:
            return None
        if self.job.input.recording_id:
            return self.job.input.recording_id
        if self.job.input.uri:
            return PurePosixPath(urlsplit(self.job.input.uri).path).name or self.job.input.uri
        return None

    def outputs(self) -> list[OutputRef]:
        return self.job.outputs() if self.job is not None else []

    def matches(self, needle: str) -> bool:
        """Case-insensitive substring match over id, preset, status and source."""
        haystack = (self.id, self.preset or "", self.status or "", self.source or "")
        return any(needle in field.lower() for field in haystack)


def status_text(view: JobView, colours: dict[str, str]) -> Text:
    """`● processing`, `✓ finished`, `? whatever-the-server-said`, coloured from the theme."""
    if view.gone:
        symbol, var, label = *GONE_LOOK, "not found"
    elif view.status is None:
        symbol, var, label = *WAITING_LOOK, "waiting"
    else:
        symbol, var = STATUS_LOOK.get(view.status, UNKNOWN_LOOK)
        label = printable(view.status)
    return Text(f"{symbol} {label}", style=Style(color=colours.get(var)))


def duration(seconds: float) -> str:
    """Compact and coarse: 42s, 5m, 3h, 2d (rounded down)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def precise_duration(seconds: float) -> str:
    """For the timeline: 42s, 5m 03s, 3h 02m."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def freshness(view: JobView, now: float, stale_after: float, offline: bool) -> tuple[str, bool]:
    """The "confirmed" column as (text, stale).

    Ages are coarse ("just now", "<1m ago", then whole minutes, hours, days) so that a large
    table is not rewritten every second; stale ages say more. Terminal jobs are never polled
    again, so their age only counts as stale while the API is unreachable (then nothing on
    screen is current).
    """
    if view.gone:
        return "—", False  # the API answered: there is no such job; nothing is pending
    if view.confirmed_at is None:
        waited = now - view.added_at
        if offline or waited > stale_after:
            return f"waiting {duration(waited)}", True
        return "waiting", False
    age = now - view.confirmed_at
    if offline or (not view.terminal and age > stale_after):
        if age < 10:
            return "stale", True
        return f"stale {int(age) // 10 * 10}s" if age < 60 else f"stale {duration(age)}", True
    if age < 10:
        return "just now", False
    if age < 60:
        return "<1m ago", False
    return f"{duration(age)} ago", False


def recheck_in(view: JobView, now: float, stale_after: float) -> float:
    """Seconds until `freshness` may say something else (a conservative bound)."""
    since = view.confirmed_at if view.confirmed_at is not None else view.added_at
    age = max(0.0, now - since)
    if age < 60:
        step = 10 - age % 10
    elif age < 3600:
        step = 60 - age % 60
    else:
        step = 3600 - age % 3600
    if age <= stale_after:
        step = min(step, stale_after - age + 0.001)
    return max(step, 0.001)


def clock_time(at: float, now: float) -> str:
    """HH:MM:SS today, else the date too (local time)."""
    local = time.localtime(at)
    if time.localtime(now)[:3] == local[:3]:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%Y-%m-%d %H:%M:%S", local)
