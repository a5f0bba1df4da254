"""Status symbols and labels, durations and ages: the words the TUI and the CLI share."""

from __future__ import annotations

import time
from typing import Protocol

from tui.present.text import printable

# A symbol per status, so a status reads without colour too.
STATUS_SYMBOLS = {"submitted": "○", "processing": "●", "finished": "✓", "error": "✗"}
UNKNOWN_SYMBOL = "?"
WAITING = ("…", "waiting")  # no answer from the server yet
GONE = ("⊘", "not found")  # the API answered 404
# Theme variable per look (the TUI colours them; the CLI prints the symbol only).
STATUS_COLOUR_VARS = {status: f"status-{status}" for status in STATUS_SYMBOLS}
UNKNOWN_COLOUR_VAR = "status-unknown"
SPECIAL_COLOUR_VARS = {WAITING[1]: "status-unknown", GONE[1]: "status-error"}

# Sort rank for "by status": work in progress first, then outcomes.
STATUS_RANK = {"processing": 0, "submitted": 1, "error": 3, "finished": 4}
UNKNOWN_RANK = 2


class Aged(Protocol):
    """What the age of a row is worked out from (a JobView)."""

    @property
    def gone(self) -> bool: ...
    @property
    def confirmed_at(self) -> float | None: ...
    @property
    def added_at(self) -> float: ...
    @property
    def terminal(self) -> bool: ...


def symbol(status: str) -> str:
    """The symbol of a status, `waiting` or `not found` included."""
    if status == WAITING[1]:
        return WAITING[0]
    if status == GONE[1]:
        return GONE[0]
    return STATUS_SYMBOLS.get(status, UNKNOWN_SYMBOL)


def colour_var(status: str) -> str:
    return SPECIAL_COLOUR_VARS.get(status) or STATUS_COLOUR_VARS.get(status, UNKNOWN_COLOUR_VAR)


def status_key(status: str | None, gone: bool = False) -> str:
    """The word a job's state is counted and shown under: its status, `waiting` or `not found`."""
    if gone:
        return GONE[1]
    return WAITING[1] if status is None else status


def status_label(status: str | None, gone: bool = False) -> str:
    """`● processing`, `✓ finished`, `? whatever-the-server-said`, `… waiting` (printable)."""
    key = status_key(status, gone)
    return f"{symbol(key)} {printable(key)}"


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


def freshness(view: Aged, now: float, stale_after: float, offline: bool) -> tuple[str, bool]:
    """The "confirmed" column as (text, stale).

    Ages are coarse ("just now", "<1m ago", then whole minutes, hours, days) so that a large
    table is not rewritten every second; stale ages say more. Only an active job can be stale:
    a finished or failed job cannot change any more, and a gone one has nothing left to
    confirm, so neither age nor an unreachable API makes what they show untrue.
    """
    if view.gone:
        return "—", False  # the API answered: there is no such job; nothing is pending
    if view.terminal:
        if view.confirmed_at is None:
            return "—", False  # final, from an older batchmon that kept no time
        offline = False  # its status is final: nothing the API could say would change it
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


def recheck_in(view: Aged, now: float, stale_after: float) -> float:
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


def elapsed_text(seconds: float) -> tuple[str, float]:
    """Time spent in a status, coarse ("<10s", "20s", "5m", "3h"), and seconds until it may change.

    Under a minute it moves in steps of ten seconds, so a large table is not rewritten every second.
    """
    seconds = max(0.0, seconds)
    if seconds < 10:
        return "<10s", 10 - seconds
    if seconds < 60:
        return f"{int(seconds) // 10 * 10}s", 10 - seconds % 10
    step = 60 if seconds < 3600 else 3600 if seconds < 86400 else 86400
    return duration(seconds), step - seconds % step


def added_text(at: float, now: float) -> str:
    """When a job was added: HH:MM:SS today, else MM-DD HH:MM (local time; 11 columns at most)."""
    local = time.localtime(at)
    if time.localtime(now)[:3] == local[:3]:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%m-%d %H:%M", local)
