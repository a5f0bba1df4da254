"""Watch list and observed history on disk: atomic writes, merged safely between instances."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

FORMAT_VERSION = 1
LOCK_TIMEOUT = 5.0  # seconds; saves are milliseconds, so a longer wait means something is stuck


class StoreError(Exception):
    """The watch list cannot be read or written; the message is short and meant for the user."""


@dataclass
class WatchedJob:
    """One watched job and what this machine has observed of it."""

    id: str
    added_at: float  # epoch seconds
    record: dict[str, Any] | None = None  # last raw JSON of GET /batch-processor/:id (or a list item)
    timeline: list[tuple[str, float]] = field(default_factory=list)  # (status, observed_at)
    confirmed_at: float | None = None  # last time the server confirmed the status

    @property
    def status(self) -> str | None:
        """The last observed status, None before the first observation."""
        return self.timeline[-1][0] if self.timeline else None


class _BadShape(Exception):
    """The file is JSON but not a version-1 watch list."""


def _number(value: Any) -> float:
    # JSON numbers only: bools are ints to Python but not to the format; NaN and ±Infinity are
    # not JSON at all, though Python's parser lets them through.
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _BadShape
    return float(value)


def _optional_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _parse_jobs(items: Any) -> dict[str, WatchedJob]:
    """Check and convert the `jobs` array by hand (pydantic took ~0.2 s for 10,000 jobs).

    Strict, as the format demands: ids and statuses are strings, times are numbers, a record
    is an object or null, a timeline entry is a [status, time] pair. Keys a later version-1
    writer may add are ignored, so older readers do not call its files corrupt.
    """
    if type(items) is not list:
        raise _BadShape
    jobs: dict[str, WatchedJob] = {}
    for item in items:
        if type(item) is not dict:
            raise _BadShape
        job_id, record, timeline = item.get("id"), item.get("record"), item.get("timeline", [])
        if type(job_id) is not str or "added_at" not in item or not (record is None or type(record) is dict):
            raise _BadShape
        if type(timeline) is not list:
            raise _BadShape
        entries: list[tuple[str, float]] = []
        for entry in timeline:
            if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not str:
                raise _BadShape
            entries.append((entry[0], _number(entry[1])))
        added_at, confirmed_at = _number(item["added_at"]), _optional_number(item.get("confirmed_at"))
        if job_id not in jobs:  # a repeated id: the first one wins
            jobs[job_id] = WatchedJob(
                id=job_id, added_at=added_at, record=record, timeline=entries, confirmed_at=confirmed_at
            )
    return jobs


def _merge_job(theirs: WatchedJob, mine: WatchedJob) -> WatchedJob:
    """Combine two views of one job: newest confirmation wins the record, timelines interleave."""
    mine_newer = (mine.confirmed_at or 0.0) >= (theirs.confirmed_at or 0.0)
    newer, older = (mine, theirs) if mine_newer else (theirs, mine)
    timeline: list[tuple[str, float]] = []
    for status, at in sorted(set(theirs.timeline) | set(mine.timeline), key=lambda e: (e[1], e[0])):
        if not timeline or timeline[-1][0] != status:  # keep only changes, at their first sighting
            timeline.append((status, at))
    return WatchedJob(
        id=mine.id,
        added_at=min(theirs.added_at, mine.added_at),
        record=newer.record if newer.record is not None else older.record,
        timeline=timeline,
        confirmed_at=newer.confirmed_at if newer.confirmed_at is not None else older.confirmed_at,
    )


class Store:
    """The watch list. Several batchmon instances may share one file.

    Each instance remembers what it changed since its last save (ids added, ids removed, jobs
    observed). `save()` locks the file, re-reads it, applies those changes on top of what is on
    disk, writes the result atomically and adopts it. So another instance's additions, removals
    and observations survive, and ours do too. `reload()` does the same merge without writing,
    for picking up another instance's changes between saves. Mutate jobs only through
    `add`/`remove`/`observe`, or the change is not tracked.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.jobs: dict[str, WatchedJob] = {}
        self._added: set[str] = set()
        self._removed: set[str] = set()
        self._observed: set[str] = set()
        self._seen: tuple[int, int] | None = None  # file (mtime, size) at our last read or write

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def dirty(self) -> bool:
        """True when there are changes not yet saved."""
        return bool(self._added or self._removed or self._observed)

    def changed_on_disk(self) -> bool:
        """True when the file changed since this instance last read or wrote it (another
        instance saved): a cheap stat, so an idle app can follow others without re-reading."""
        return _stat(self.path) != self._seen

    # -- changes ------------------------------------------------------------------------------

    def add(self, ids: Iterable[str], now: float) -> list[str]:
        """Watch these ids; returns the ones actually added (known or repeated ids are skipped)."""
        added: list[str] = []
        for job_id in ids:
            job_id = job_id.strip()
            if not job_id or job_id in self.jobs:
                continue
            self.jobs[job_id] = WatchedJob(id=job_id, added_at=now)
            self._added.add(job_id)
            self._removed.discard(job_id)
            added.append(job_id)
        return added

    def remove(self, job_id: str) -> bool:
        """Stop watching a job; False if it was not watched."""
        if self.jobs.pop(job_id, None) is None:
            return False
        self._removed.add(job_id)
        self._added.discard(job_id)
        self._observed.discard(job_id)
        return True

    def observe(self, job_id: str, record: dict[str, Any] | None, status: str, now: float) -> bool:
        """Record that the server reported `status` at `now`; True if the status changed.

        The first observation of a job counts as a change. Unknown ids are ignored (False):
        the job may have been removed while its request was in flight.
        """
        job = self.jobs.get(job_id)
        if job is None:
            return False
        job.confirmed_at = now
        if record is not None:
            job.record = record
        changed = job.status != status
        if changed:
            job.timeline.append((status, now))
        self._observed.add(job_id)
        return changed

    # -- disk ---------------------------------------------------------------------------------

    def load(self) -> str | None:
        """Replace memory with the file (discarding unsaved changes); returns a warning or None.

        A missing file is an empty list. A corrupt file is moved aside and reported, never
        deleted. A file from a newer batchmon raises StoreError and is left alone.
        """
        jobs, warning = self._read_locked()
        self.jobs = jobs
        self._added.clear()
        self._removed.clear()
        self._observed.clear()
        return warning

    def reload(self) -> str | None:
        """Merge the file into memory without writing; unsaved changes stay pending."""
        disk, warning = self._read_locked()
        self.jobs = self._merged(disk)
        return warning

    def save(self) -> str | None:
        """Merge our changes onto the file under the lock, write atomically, adopt the result.

        Returns a warning if the file on disk had become corrupt (it is moved aside first).
        Raises StoreError if the file cannot be locked or written, or is from a newer batchmon.
        """
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path.parent}: {exc.strerror or exc}") from None
        with self._lock():
            disk, warning = self._read()
            merged = self._merged(disk)
            if self.dirty or not self.path.exists():  # (a corrupt file was moved, so it's missing)
                self._write(merged)
        self.jobs = merged
        self._added.clear()
        self._removed.clear()
        self._observed.clear()
        return warning

    def _merged(self, disk: dict[str, WatchedJob]) -> dict[str, WatchedJob]:
        """What's on disk with this instance's pending changes applied."""
        result = dict(disk)  # disk order first: another instance's additions keep their place
        for job_id in self._removed:
            result.pop(job_id, None)
        for job_id, job in self.jobs.items():
            if job_id in self._added:
                result[job_id] = _merge_job(result[job_id], job) if job_id in result else job
            elif job_id in self._observed and job_id in result:
                result[job_id] = _merge_job(result[job_id], job)
            # Otherwise we only had it from an earlier read; if it's gone from disk, another
            # instance removed it and that removal stands.
        # Jobs on disk that we knew and did not touch: take the disk's view (it may be newer).
        return result

    def _lock(self) -> _TimedLock:
        # A fresh lock object per use: flock then excludes other Store objects and threads too.
        return _TimedLock(self.lock_path)

    def _read_locked(self) -> tuple[dict[str, WatchedJob], str | None]:
        if not self.path.parent.is_dir():
            return {}, None  # nothing saved yet; don't create folders just to read
        with self._lock():
            return self._read()

    def _read(self) -> tuple[dict[str, WatchedJob], str | None]:
        """Read the file (lock held). Corrupt → moved aside, empty list and a warning."""
        try:
            raw = self.path.read_bytes()
            self._seen = _stat(self.path)  # the lock is held, so nobody wrote in between
        except FileNotFoundError:
            self._seen = None
            return {}, None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}, self._set_aside("it is not valid JSON")
        version = data.get("version") if isinstance(data, dict) else None
        if type(version) is int and version > FORMAT_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer batchmon (format {version}); "
                "upgrade batchmon to use it"
            )
        if type(version) is not int or "jobs" not in data:
            return {}, self._set_aside("its contents have the wrong shape")
        try:
            jobs = _parse_jobs(data["jobs"])
        except _BadShape:
            return {}, self._set_aside("its contents have the wrong shape")
        if version != FORMAT_VERSION:
            return {}, self._set_aside(f"it has unknown format version {version}")
        return jobs, None

    def _set_aside(self, why: str) -> str:
        """Move a corrupt file to `<name>.corrupt-<stamp>` (never overwriting) and say so."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        try:
            os.replace(self.path, target)
        except OSError as exc:
            raise StoreError(f"{self.path} is corrupt and cannot be moved aside: {exc.strerror}") from None
        return f"Watch list {self.path} was unreadable ({why}); moved it to {target.name} and started empty"

    def _write(self, jobs: dict[str, WatchedJob]) -> None:
        """Atomic replace: temp file in the same folder, fsync, rename, fsync the folder."""
        data = {
            "version": FORMAT_VERSION,
            "jobs": [
                {
                    "id": job.id,
                    "added_at": job.added_at,
                    "record": job.record,
                    "timeline": [list(entry) for entry in job.timeline],
                    "confirmed_at": job.confirmed_at,
                }
                for job in jobs.values()
            ],
        }
        folder = self.path.parent
        try:
            # mkstemp creates the file 0600: the record may hold job details.
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
                self._seen = _stat(self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(folder)
        except (OSError, TypeError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(f"cannot save watch list to {self.path}: {why}") from None


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not possible on Windows, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _TimedLock:
    """`filelock.FileLock` with a bounded wait that turns into StoreError."""

    def __init__(self, path: Path) -> None:
        self._lock = filelock.FileLock(path, timeout=LOCK_TIMEOUT, mode=0o600, thread_local=False)

    def __enter__(self) -> None:
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise StoreError(
                f"watch list is locked by another batchmon ({self._lock.lock_file}); try again"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot lock {self._lock.lock_file}: {exc.strerror or exc}") from None

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
