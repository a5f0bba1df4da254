"""The model the App renders: the watched jobs from the store, the poller's states and the records."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import ValidationError

from tui.api import TERMINAL_STATUSES, Job, OutputRef
from tui.poller import EngineState, JobState, Poller, PollUpdate, StatusChange
from tui.present.formatting import status_key
from tui.store.database import Observation, Store, StoredJob, StoreError
from tui.store.errors import HEADER_WORDS

log = logging.getLogger(__name__)

CONFIRMATION_SAVE_EVERY = 60.0  # seconds: how stale a saved "confirmed at" may get
FOLLOW_SETTING = "follow"  # "on" / "off" in the store's settings
RECENT_SETTING = "recent"  # how many of the most recent jobs following adds when it starts


class JobView(NamedTuple):
    """One watched job as the screen shows it: what was saved, merged with what the poller knows.

    A named tuple: 100,000 of them are built at start-up, and a tuple builds fastest.
    """

    id: str
    status: str | None  # None until the server has answered
    preset: str | None
    job: Job | None  # the full record, once fetched or read from the store
    added_at: float
    confirmed_at: float | None
    timeline: tuple[tuple[str, float], ...] = ()  # only in detail views
    last_error: str | None = None
    gone: bool = False
    partial: bool = False  # a stored record exists but was not read: `WatchList.view(id, load=True)` reads it
    followed: bool = False  # added by following the domain, not by hand

    @property
    def terminal(self) -> bool:
        """Whether the job has ended (finished or error)."""
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
        """The job's output files (none until its record is read)."""
        return self.job.outputs() if self.job is not None else []

    def matches(self, needle: str) -> bool:
        """Case-insensitive substring match over id, preset, status and source (when read)."""
        haystack = (self.id, self.preset or "", self.status or "", self.source or "")
        return any(needle in field.lower() for field in haystack)


@dataclass(frozen=True, slots=True)
class Ended:
    """A watched job was seen to end (its earlier status was known): worth a toast."""

    id: str
    status: str  # finished or error
    preset: str | None
    error: str | None  # the job's error, when its record has arrived


@dataclass(frozen=True)
class Changes:
    """What one `take()` changed: rows to repaint and endings to announce."""

    views: list[JobView]
    ended: list[Ended]


@dataclass(frozen=True)
class Added:
    """What `add` did: ids newly watched, and how many were watched already."""

    added: list[str]
    already: int  # ids given that were watched already


@dataclass(frozen=True)
class Reconciled:
    """Another instance's commits, applied: rows to add or repaint, ids gone."""

    views: list[JobView]
    removed: list[str]


def _record(job: Job) -> str | dict[str, Any] | None:
    """The job as the API sent it, for the store: its raw body.

    A record without one (built, not fetched) goes as a dict; None if it cannot be.
    """
    if job.raw is not None:
        return job.raw
    try:
        return job.model_dump(mode="json", by_alias=True, exclude_unset=True)
    except (ValueError, RecursionError):  # e.g. an unknown field nested too deep to serialise
        return None


class WatchList:
    """Owns the store, the poller's job states and the records; the App renders what it hands out.

    Records are read and parsed only when a view needs them (`view(id, load=True)`): the table
    needs just id, status, preset and times, so 100,000 saved jobs open without parsing any.
    Poll updates are coalesced by `receive()` and applied by `take()`; what is worth saving is
    staged in the store at once and written by `save()` (the App calls it on a timer).
    Ids are taken as valid: they were checked where they came in.
    """

    def __init__(
        self,
        store: Store,
        poller: Poller,
        *,
        clock: Callable[[], float] = time.time,
        confirmation_save_every: float = CONFIRMATION_SAVE_EVERY,
        follow: bool | None = None,
        recent: int | None = None,
    ) -> None:
        """`follow`, `recent`: what `open()` does when not told (None: as remembered in the store)."""
        self.store = store
        self.poller = poller
        self.clock = clock
        self.confirmation_save_every = confirmation_save_every
        self.engine: EngineState | None = None
        self.stopped: str | None = None  # why the poll loop ended, if it did
        self.problem: str | None = None  # the last store failure, None once the store works again
        self.problem_kind: str | None = None  # its kind (tui.store.errors: busy, read-only, full, other)
        self.notices: list[str] = []  # things the user should hear about once (the App shows and clears them)
        self._unsaved: dict[str, None] = {}  # watched ids the store failed to add: added again by save()
        self._unsaved_removals: dict[str, None] = {}  # ids the store failed to remove: removed by save()
        self._damaged: str | None = None  # the integrity check (run aside) found the file damaged: why
        self._stored: dict[str, StoredJob] = {}  # every watched job, in the order added
        self._states: dict[str, JobState] = {}
        self._records: dict[str, Job] = {}  # parsed records
        self._unreadable: set[str] = set()  # stored records that would not parse
        self._changed_at: dict[str, float] = {}  # last status change seen by this instance
        self._keys: dict[str, str] = {}  # the status key each job is counted under
        self._counts: Counter[str] = Counter()
        self._pending: dict[str, JobState] = {}
        self._pending_changes: list[StatusChange] = []
        self._pending_found: list[str] = []  # jobs the poller found by following the domain
        self.recent = 0  # following also adds this many of the most recent jobs when it starts
        self._follow_asked, self._recent_asked = follow, recent

    # -- opening ----------------------------------------------------------------------------------

    def open(
        self,
        ids: Sequence[str] = (),
        *,
        follow: bool | None = None,
        recent: int | None = None,
        poll: bool = True,
        check: bool = True,
    ) -> tuple[Added, list[str]]:
        """Load the watch list, add `ids` (one transaction) and start watching; returns warnings.

        `follow` and `recent` (None: as remembered in the store) turn following the domain on or
        off and are remembered. With `poll` False the saved jobs are not handed to the poller yet
        (`start_polling` does it): at 100,000 jobs that is work the first frame need not wait for;
        `ids` are polled. A store that cannot be opened leaves an empty list in memory and
        `problem` set. A store that is busy, full or read-only is read all the same (see
        `store_trouble`), and what changes meanwhile is saved by `save()` once it can be.
        `check` False leaves the full integrity check to the caller (`check_integrity`, off the UI thread).
        """
        warnings: list[str] = []
        try:
            warnings = self.store.open(fallback=True, check=check)
            self._stored = self.store.load()
            if self.store.unwritable is not None:
                self._failed(self.store.unwritable)
        except StoreError as exc:
            self._failed(exc)
        for job in self._stored.values():
            key = self._keys[job.id] = status_key(job.status)
            self._counts[key] += 1
        if poll:
            for _ in self.start_polling():
                pass
        added = self.add(ids)
        self._open_following(
            self._follow_asked if follow is None else follow, self._recent_asked if recent is None else recent
        )
        return added, warnings

    def _open_following(self, follow: bool | None, recent: int | None) -> None:
        saved, saved_recent = self.setting(FOLLOW_SETTING), self.setting(RECENT_SETTING)
        if recent is not None:
            self.remember(RECENT_SETTING, str(recent))
        elif saved_recent is not None and saved_recent.isdigit():
            recent = int(saved_recent)
        self.recent = recent or 0
        if follow is None:
            follow = saved == "on"
        elif follow != (saved == "on"):
            self.remember(FOLLOW_SETTING, "on" if follow else "off")
        self.poller.follow(follow, recent=self.recent)

    def _failed(self, exc: StoreError) -> None:
        self.problem, self.problem_kind = str(exc), exc.kind

    def _saved(self) -> None:
        self.problem = self.problem_kind = None

    @property
    def store_trouble(self) -> str | None:
        """Why changes are not saved yet, in two words for the header ("store busy"); None when they are."""
        if self.problem is None:
            return None
        return HEADER_WORDS.get(self.problem_kind or "", "not saved")

    @property
    def following(self) -> bool:
        """Whether new jobs on the domain are watched as they appear."""
        return self.poller.following

    def set_following(self, on: bool) -> None:
        """Follow the domain or stop (remembered); jobs already followed stay watched."""
        self.remember(FOLLOW_SETTING, "on" if on else "off")
        self.poller.follow(on, recent=self.recent)

    def setting(self, key: str) -> str | None:
        """A setting kept in the store; None if unset or unreadable."""
        try:
            return self.store.setting(key)
        except StoreError as exc:
            self._failed(exc)
            return None

    def remember(self, key: str, value: str) -> None:
        """Keep a setting in the store (a failure is kept as `problem`)."""
        try:
            self.store.set_setting(key, value)
        except StoreError as exc:
            self._failed(exc)

    def start_polling(self, batch: int = 10_000) -> Iterator[int]:
        """Hand the saved jobs to the poller, `batch` at a time.

        Yields how many so far, so a caller on the UI's loop can let it paint between batches.
        Jobs removed meanwhile are skipped.
        """
        ids = list(self._stored)
        handed = 0
        for start in range(0, len(ids), batch):
            chunk = [job_id for job_id in ids[start : start + batch] if job_id in self._stored]
            statuses = {job_id: status for job_id in chunk if (status := self._stored[job_id].status) is not None}
            self.poller.watch(chunk, statuses=statuses)
            handed += len(chunk)
            yield handed

    # -- questions --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._stored)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._stored

    def ids(self) -> list[str]:
        """Every watched job, in the order added."""
        return list(self._stored)

    @property
    def offline(self) -> bool:
        """Nothing on screen is current: the API is unreachable, refuses the key, or polling died."""
        return self.stopped is not None or (self.engine is not None and self.engine.mode in ("offline", "unauthorised"))

    @property
    def trouble(self) -> str | None:
        """Why nothing is being confirmed, in one line for the detail pane; None when polling works."""
        if self.stopped is not None:
            return f"polling stopped: {self.stopped}"
        engine = self.engine
        if engine is None:
            return None
        if engine.mode == "unauthorised":
            return "unauthorised: the API refused the key, so nothing is confirmed (K enters a key, p tries again)"
        if engine.mode == "offline":
            where = f" at {engine.host}" if engine.host else ""
            return f"offline: the API{where} cannot be reached; shown as last confirmed"
        return None

    def counts(self) -> Counter[str]:
        """Jobs per status key (`waiting` and `not found` included); kept up to date, not counted."""
        return +self._counts

    def view(self, job_id: str, *, load: bool = False) -> JobView:
        """The job as the table shows it; `load` reads and parses its stored record if not done yet."""
        stored = self._stored[job_id]
        state = self._states.get(job_id)
        if load:
            self._load(job_id)
        job = self._records.get(job_id)
        status = state.status if state is not None and state.status is not None else stored.status
        if status is None and job is not None:
            status = job.status
        preset = (state.preset if state is not None else None) or (job.preset if job is not None else None)
        confirmed = stored.confirmed_at
        if state is not None and state.confirmed_at is not None:
            confirmed = state.confirmed_at if confirmed is None else max(confirmed, state.confirmed_at)
        return JobView(
            id=job_id,
            status=status,
            preset=preset or stored.preset,
            job=job,
            added_at=stored.added_at,
            confirmed_at=confirmed,
            last_error=state.last_error if state is not None else None,
            gone=state.gone if state is not None else False,
            partial=job is None and stored.has_record and job_id not in self._unreadable,
            followed=stored.followed,
        )

    def views(self) -> list[JobView]:
        """Every watched job, records not read: what the table starts from."""
        if self._states or self._records:
            return [self.view(job_id) for job_id in self._stored]
        # Just opened: the store knows all there is (the quick way, for 100,000 jobs).
        return [
            JobView(
                job.id,
                job.status,
                job.preset,
                None,
                job.added_at,
                job.confirmed_at,
                (),
                None,
                False,
                job.has_record,
                job.followed,
            )
            for job in self._stored.values()
        ]

    def detail(self, job_id: str) -> JobView:
        """The job with its record and timeline, for the detail pane and actions."""
        view = self.view(job_id, load=True)
        timeline: list[tuple[str, float]] = []
        try:
            timeline = self.store.timeline(job_id)
        except StoreError as exc:
            self._failed(exc)
        if view.status is not None and (not timeline or timeline[-1][0] != view.status):
            # Seen by this instance and not written yet (or the store failed).
            at = self._changed_at.get(job_id, view.confirmed_at or view.added_at)
            timeline.append((view.status, at))
        return view._replace(timeline=tuple(timeline))

    def entered_at(self, job_id: str, status: str) -> float | None:
        """When the job was first seen in `status`, its current one (None: not observed)."""
        if job_id in self._changed_at:
            return self._changed_at[job_id]
        try:
            timeline = self.store.timeline(job_id)
        except StoreError:
            return None
        return timeline[-1][1] if timeline and timeline[-1][0] == status else None

    def lacking_records(self, ids: Iterable[str]) -> list[str]:
        """Of these jobs, those with no record anywhere (to ask the poller for)."""
        lacking: list[str] = []
        for job_id in ids:
            stored = self._stored.get(job_id)
            if stored is None or job_id in self._records:
                continue
            state = self._states.get(job_id)
            if state is not None and (state.job is not None or state.gone):
                continue
            if not stored.has_record or job_id in self._unreadable:
                lacking.append(job_id)
        return lacking

    # -- poll results -----------------------------------------------------------------------------

    def receive(self, update: PollUpdate) -> None:
        """Coalesce a poll update until the next `take()`."""
        for state in update.jobs:
            self._pending[state.id] = state
        self._pending_changes.extend(update.changes)
        self._pending_found.extend(job.id for job in update.discovered)  # canonical: the poller saw to it
        self.engine = update.engine

    def take(self) -> Changes:
        """Apply what was received: new states and records, staged saves, counts, endings."""
        now = self.clock()
        pending, self._pending = self._pending, {}
        changes, self._pending_changes = self._pending_changes, []
        for change in changes:
            self._changed_at[change.id] = change.observed_at
        found, self._pending_found = self._pending_found, []
        changed: list[str] = self._add(found, now, followed=True)  # before their states: they are watched now
        for state in pending.values():
            if state.id not in self._stored:
                continue  # removed while its request was in flight
            if state.confirmed_at is None and state.job is None and not state.gone and state.last_error is None:
                continue  # only what we told the poller (its first report of each job we watch)
            self._states[state.id] = state
            record = None
            if state.job is not None and state.job is not self._records.get(state.id):
                self._records[state.id] = state.job
                self._unreadable.discard(state.id)
                record = _record(state.job)
            self._stage(state, record, now)
            self._recount(state.id)
            changed.append(state.id)
        return Changes([self.view(job_id) for job_id in dict.fromkeys(changed)], self._ended(changes))

    def _ended(self, changes: Iterable[StatusChange]) -> list[Ended]:
        ended: list[Ended] = []
        for change in changes:
            if change.status not in TERMINAL_STATUSES or change.previous in (None, change.status):
                continue  # first sightings stay quiet
            if change.id not in self._stored:
                continue
            job = self._records.get(change.id)
            error = job.error if job is not None and job.status == "error" else None
            ended.append(Ended(change.id, change.status, self.view(change.id).preset, error))
        return ended

    def _stage(self, state: JobState, record: str | dict[str, Any] | None, now: float) -> None:
        """Status changes and records are staged at once; a mere confirmation only now and then."""
        if state.status is None:
            return
        saved = self._stored[state.id]
        confirmed = state.confirmed_at or now
        preset = state.preset or saved.preset
        if (
            record is None
            and state.status == saved.status
            and preset == saved.preset
            and saved.confirmed_at is not None
            and confirmed - saved.confirmed_at < self.confirmation_save_every
        ):
            return
        self.store.stage(Observation(state.id, state.status, preset, confirmed, record))
        self._stored[state.id] = dataclasses.replace(
            saved,
            status=state.status,
            preset=preset,
            confirmed_at=confirmed,
            has_record=saved.has_record or record is not None,
        )

    def _recount(self, job_id: str) -> None:
        state = self._states.get(job_id)
        status = state.status if state is not None and state.status is not None else self._stored[job_id].status
        key = status_key(status, state.gone if state is not None else False)
        old = self._keys.get(job_id)
        if key != old:
            if old is not None:
                self._counts[old] -= 1
            self._counts[key] += 1
            self._keys[job_id] = key

    def _load(self, job_id: str) -> None:
        stored = self._stored[job_id]
        if job_id in self._records or job_id in self._unreadable or not stored.has_record:
            return
        try:
            raw = self.store.record_text(job_id)
        except StoreError as exc:
            self._failed(exc)
            return
        try:
            if raw is None:
                raise ValueError("no record")
            self._records[job_id] = Job.from_body(raw)  # read back as it came from the API
        except (ValidationError, ValueError, RecursionError):
            self._unreadable.add(job_id)  # an odd record: the poller may fetch a fresh one

    # -- changes by the user ----------------------------------------------------------------------

    def add(self, ids: Sequence[str]) -> Added:
        """Watch these (valid, canonical) ids: saved at once, in one transaction, and polled."""
        new = self._add(ids, self.clock(), followed=False)
        return Added(new, len(ids) - len(new))

    def _add(self, ids: Sequence[str], now: float, *, followed: bool) -> list[str]:
        """Watch ids not watched yet; added by hand, a followed job becomes a hand-added one."""
        new = list(dict.fromkeys(job_id for job_id in ids if job_id not in self._stored))
        unfollowed = [] if followed else [i for i in ids if i in self._stored and self._stored[i].followed]
        for job_id in unfollowed:
            self._stored[job_id] = dataclasses.replace(self._stored[job_id], followed=False)
        revived = {job_id for job_id in new if job_id in self._unsaved_removals}  # their removal never reached the file
        for job_id in revived:
            del self._unsaved_removals[job_id]
        if new or unfollowed:
            try:
                inserted = set(self.store.add([*new, *unfollowed], now, followed=followed))
                new = [job_id for job_id in new if job_id in inserted or job_id in revived]
                self._saved()
            except StoreError as exc:
                self._failed(exc)  # watched in memory all the same, and saved by save() when possible
                self._unsaved.update(dict.fromkeys(new))
            for job_id in new:
                self._stored[job_id] = StoredJob(job_id, now, None, None, None, False, followed)
                self._keys[job_id] = status_key(None)
                self._counts[self._keys[job_id]] += 1
            self.poller.watch(new)
        return new

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Stop watching these jobs (never touches Daily); returns those that were watched."""
        gone = [job_id for job_id in ids if job_id in self._stored]
        try:
            self.store.remove(gone)
            self._saved()
        except StoreError as exc:
            self._failed(exc)  # gone from memory all the same, and from the file by save() when possible
            for job_id in gone:
                self._unsaved.pop(job_id, None)
                self._unsaved_removals[job_id] = None
        for job_id in gone:
            self._forget(job_id)
        return gone

    def _forget(self, job_id: str) -> None:
        self.poller.unwatch(job_id)
        self._stored.pop(job_id, None)
        self._states.pop(job_id, None)
        self._records.pop(job_id, None)
        self._pending.pop(job_id, None)
        self._changed_at.pop(job_id, None)
        self._unreadable.discard(job_id)
        key = self._keys.pop(job_id, None)
        if key is not None:
            self._counts[key] -= 1

    # -- the store --------------------------------------------------------------------------------

    def save(self) -> int:
        """Write what was staged (one transaction); a failure sets `problem` and keeps it staged.

        Also the rescue of the watch list: jobs whose add failed are added again, and a database
        file deleted, emptied or overwritten while we ran is made anew from what is in memory
        (never taken for an empty list). A store opened for reading only (busy, full, read-only)
        is tried again for writing; once it can be written, queued adds and removals are saved.
        """
        try:
            if self._damaged is not None:
                self.notices.extend(self.store.set_aside_damaged(self._damaged))
                self._damaged = None
                self._rescue(reopen=False)
            if self.store.unwritable is not None:
                warnings = self.store.retry_writable()
                if warnings is None:
                    self._failed(self.store.unwritable)
                    return 0
                self.notices.extend(warnings)
                self._saved()
            if self.store.replaced():
                self._rescue()
            elif self._unsaved or self._unsaved_removals:
                self._save_unsaved()
            if not self.store.dirty:
                return 0
            written = self.store.flush()
        except StoreError as exc:
            self._failed(exc)
            return 0
        self._saved()
        return written

    def _save_unsaved(self) -> None:
        self.store.restore(self._stored[job_id] for job_id in self._unsaved if job_id in self._stored)
        self._unsaved.clear()
        self.store.remove(list(self._unsaved_removals))
        self._unsaved_removals.clear()
        self._saved()

    def check_integrity(self) -> str | None:
        """The store's full integrity check (safe to run in another thread); `damaged()` hands back its finding."""
        return self.store.check_integrity()

    def damaged(self, why: str) -> None:
        """The file was found damaged: `save()` sets it aside and writes the watch list again from memory."""
        self._damaged = why

    def _rescue(self, *, reopen: bool = True) -> None:
        """The file is not the database we opened: open it afresh and write the watch list from memory."""
        if reopen:
            self.notices.extend(self.store.reopen())
        written = self.store.restore(self._stored.values())
        self._unsaved.clear()
        self._unsaved_removals.clear()  # the file now holds what memory holds
        now = self.clock()
        for job_id in written:
            stored = self._stored[job_id]
            job = self._records.get(job_id)
            record = _record(job) if job is not None else None
            if record is not None and stored.status is not None:
                self.store.stage(Observation(job_id, stored.status, stored.preset, stored.confirmed_at or now, record))
            self._stored[job_id] = dataclasses.replace(stored, has_record=False)  # until the staged one is written
        self._saved()
        lost = f" ({len(written)} were missing from it; their earlier history is lost)" if written else ""
        self.notices.append(
            f"The watch list file {self.store.path} was deleted or damaged while batchmon ran; "
            f"saved the {len(self)} watched jobs again from memory{lost}"
        )

    def reconcile(self) -> Reconciled | None:
        """Follow another instance's additions, removals and observations; None when there were none."""
        try:
            foreign = self.store.foreign_changes()
        except StoreError as exc:
            self._failed(exc)
            return None
        if foreign is None:
            return None
        removed = [job_id for job_id in foreign.removed if job_id in self._stored]
        for job_id in removed:
            self._forget(job_id)
        added: list[str] = []
        changed: list[str] = []
        for row in foreign.upserted:
            if row.id in self._unsaved_removals:
                continue  # removed here; the removal is saved when the store can be written
            mine = self._stored.get(row.id)
            if mine is None:
                added.append(row.id)
            elif (row.confirmed_at or 0.0) <= (mine.confirmed_at or 0.0):
                if row.followed != mine.followed:  # added by hand over there: no longer only followed
                    self._stored[row.id] = dataclasses.replace(mine, followed=row.followed)
                    changed.append(row.id)
                continue  # we know as much or more
            else:
                changed.append(row.id)
                if row.has_record and row.status != mine.status:
                    self._records.pop(row.id, None)  # theirs is newer: read it when needed
                    self._unreadable.discard(row.id)
            self._stored[row.id] = row
            self._recount(row.id)
        if added:
            statuses = {job_id: self._stored[job_id].status for job_id in added}
            self.poller.watch(added, statuses={k: v for k, v in statuses.items() if v is not None})
        return Reconciled([self.view(job_id) for job_id in (*added, *changed)], removed)

    def close(self) -> None:
        """Write what is staged and close the store (on every exit path); waits for a busy store's
        lock as a command does, and logs what could not be saved.
        """
        self.store.be_patient()
        self.save()
        if self.problem is not None and (self._unsaved or self._unsaved_removals):
            log.warning(
                "watch list not saved at exit (%s): %d added and %d removed jobs are lost",
                self.problem,
                len(self._unsaved),
                len(self._unsaved_removals),
            )
        try:
            self.store.close()
        except StoreError as exc:
            self._failed(exc)
