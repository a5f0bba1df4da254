"""The ending announcements: gathered for a second, a failure waiting up to its deadline for its reason."""

from __future__ import annotations

from tui.api.models import Job
from tui.core import endings
from tui.core.endings import Endings, announcement
from tui.core.watchlist import Ended

ID_A = "aaaaaaaa-0000-4000-8000-000000000001"
ID_B = "bbbbbbbb-0000-4000-8000-000000000002"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def no_records(_job_id: str) -> Job | None:
    return None


def watched(_job_id: str) -> bool:
    return True


def test_endings_within_the_gather_window_make_one_toast() -> None:
    clock = Clock()
    machine = Endings(monotonic=clock)
    assert machine.feed([Ended(ID_A, "finished", "p", None)], no_records, watched) is None
    clock.now += endings.GATHER / 2
    assert machine.feed([Ended(ID_B, "finished", "p", None)], no_records, watched) is None
    clock.now += endings.GATHER
    toast = machine.feed([], no_records, watched)
    assert toast is not None and toast.text == "2 finished" and not toast.failed
    assert machine.feed([], no_records, watched) is None  # said once


def test_a_failure_waits_for_its_reason_then_goes_without() -> None:
    clock = Clock()
    machine = Endings(monotonic=clock)
    assert machine.feed([Ended(ID_A, "error", None, None)], no_records, watched) is None
    clock.now += endings.REASON_WAIT - 0.5
    assert machine.feed([], no_records, watched) is None  # still waiting for the record
    clock.now += 1.0
    assert machine.feed([], no_records, watched) is None  # released, now gathered
    clock.now += endings.GATHER
    toast = machine.feed([], no_records, watched)
    assert toast is not None and toast.failed and toast.timeout == 8
    assert "aaaaaaaa" in toast.text and "failed" in toast.text


def test_a_failure_takes_its_reason_from_the_record_when_it_arrives() -> None:
    clock = Clock()
    machine = Endings(monotonic=clock)
    machine.feed([Ended(ID_A, "error", None, None)], no_records, watched)
    record = Job.model_validate({"id": ID_A, "status": "error", "error": "the \x1b[31mrecording was empty"})
    clock.now += 0.1
    machine.feed([], lambda job_id: record if job_id == ID_A else None, watched)
    clock.now += endings.GATHER
    toast = machine.feed([], no_records, watched)
    assert toast is not None and "recording was empty" in toast.text and "\x1b" not in toast.text


def test_a_job_removed_while_waiting_is_never_announced() -> None:
    clock = Clock()
    machine = Endings(monotonic=clock)
    machine.feed([Ended(ID_A, "error", None, None)], no_records, watched)
    clock.now += endings.REASON_WAIT + endings.GATHER + 1
    assert machine.feed([], no_records, lambda _job_id: False) is None
    clock.now += endings.GATHER
    assert machine.feed([], no_records, watched) is None


def test_many_failures_are_counted_beyond_three() -> None:
    ended = [Ended(f"{i:08x}-0000-4000-8000-000000000000", "error", None, f"reason {i}") for i in range(5)]
    text = announcement(ended).text
    assert text.startswith("5 failed") and "… and 2 more" in text and "reason 3" not in text
