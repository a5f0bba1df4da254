"""The store's values as the layers above see them: a watched job as stored, an observation, others' changes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredJob:
    """One watched job as stored: what the list shows without reading the record."""

    id: str
    added_at: float  # epoch seconds
    status: str | None  # last observed status (None: never observed)
    preset: str | None
    confirmed_at: float | None  # last time the server confirmed `status`
    has_record: bool  # a full GET record is stored (read it with record())
    followed: bool = False  # added by following the domain, not by hand


@dataclass(frozen=True, slots=True)
class Observation:
    """What the server said about a job; staged by the app, written by flush()."""

    id: str
    status: str
    preset: str | None
    confirmed_at: float
    # The full GET body: JSON text as the API sent it (stored verbatim), or a dict to be dumped;
    # None keeps the stored one.
    record: str | dict[str, Any] | None = None


@dataclass(frozen=True)
class ForeignChanges:
    """What OTHER instances committed since our last look."""

    upserted: list[StoredJob]  # added or changed rows
    removed: list[str]  # ids removed


_BOOL = (False, True)


def stored_job(row: tuple[Any, ...]) -> StoredJob:
    """A StoredJob from the JOB_COLUMNS of a row (already repaired by the query)."""
    return StoredJob(row[0], row[1], row[2], row[3], row[4], _BOOL[row[5]], _BOOL[row[6]])


# The frozen dataclass __init__ (an object.__setattr__ call per field) is a third of load() at
# 100,000 jobs, so load() fills the slots directly. Adding a field to StoredJob breaks the
# unpacking below loudly; tests check the result equals StoredJob(...).
_SLOT_SETTERS = tuple(getattr(StoredJob, f.name).__set__ for f in fields(StoredJob))


def stored_jobs(rows: list[Any]) -> dict[str, StoredJob]:
    """stored_job for many rows, keyed by id, faster."""
    new = object.__new__
    set_id, set_added_at, set_status, set_preset, set_confirmed_at, set_has_record, set_followed = _SLOT_SETTERS
    jobs: dict[str, StoredJob] = {}
    for row in rows:
        job = new(StoredJob)
        set_id(job, row[0])
        set_added_at(job, row[1])
        set_status(job, row[2])
        set_preset(job, row[3])
        set_confirmed_at(job, row[4])
        set_has_record(job, _BOOL[row[5]])
        set_followed(job, _BOOL[row[6]])
        jobs[row[0]] = job
    return jobs
