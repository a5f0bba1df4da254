"""Polling engine: keeps many watched jobs current within one request budget.

One long-lived loop makes one request at a time and picks it by priority:

1. a user's refresh of one job (even while paused, unauthorised or backing off);
2. the next page of a list sweep, when a sweep is under way or a job it covers is due;
3. the full record of a job seen changing into finished/error (its outputs or error are wanted),
   taking turns with 4 when both are waiting;
4. a GET for a due job that sweeps don't reach: jobs whose last known status is active and jobs
   whose status is still unknown take turns, each group longest-unconfirmed first;
5. a full record the app asked for (`want_records`), only when nothing above is due;
6. otherwise sleep until something is due, or until watch/refresh/resume/pause wakes it.

Two fairness rules keep 2 from starving 3 and 4 when the budget is saturated: a sweep longer
than two pages lets one queued request through after every two pages, and a new sweep waits
for stragglers that have been due since before the previous sweep began, for at most as many
GETs as that sweep had pages.

Following the domain (`follow()`) watches every job that appears at the top of the list from
then on (plus the N most recent when it starts): jobs above the newest one page one showed last
time are new. It rides on sweeps, which always read page one; only while no sweep is expected (no
watched job is active and covered) does it read page one itself, once per interval.

Records are fetched on demand: a job first seen already finished or errored gets no record GET
of its own (with 10,000 finished jobs watched the engine goes quiet after its first sweep);
a job seen changing into finished/error gets one.

Sweeps read the list endpoint newest first, 100 jobs a page, and remember where each watched job
was seen. Before every page the sweep weighs "k more pages" against "one GET per active job still
unseen" and fetches the next page only while pages are the cheaper way (`Sweep.pages_worth`).
Active jobs a sweep doesn't reach become stragglers and get individual GETs until a later sweep
sees them again. Terminal jobs (finished, error), gone jobs (404) and jobs the API refuses (400,
403) are never polled again unless the user refreshes them.

All requests wait on the client's `RequestBudget`, shared by the whole process. A 429 pauses that
budget for everyone (Retry-After when sent); 5xx, timeouts, dropped connections and malformed
bodies back off with jitter (1 s doubling to 30 s) and the engine recovers by itself. A list
endpoint that fails or leaves jobs out only costs sweeps: the jobs fall back to individual GETs;
one that ignores its cursor is still swept one page deep (the cheapest view of the newest jobs).
401 and a refused Authorization header stop all polling until resume() or refresh(), except one
request every `auth_recheck` seconds (a key fixed at the server is noticed by itself). Any other
exception is a bug, not a fault of the network or server: it propagates out of updates().
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from tui.api import BatchClient, Job, RequestBudget, errors
from tui.api.ids import normalize_job_id
from tui.api.models import TERMINAL_STATUSES, JobListPage, JobSummary
from tui.poller.backoff import Backoff
from tui.poller.sweep import MAX_SWEEP_PAGES, PAGE, UNLISTED, Sweep
from tui.poller.types import EngineMode, EngineState, JobState, PollUpdate, StatusChange

log = logging.getLogger(__name__)

DEFAULT_RATE = 5.0  # requests/s, used only when the client came without a budget
LIST_REFUSED_FOR = 300.0  # s without sweeps after the list endpoint answers 400/403/404
PAGING_RECHECK = 300.0  # s of one-page sweeps after the list endpoint ignored its cursor
AUTH_RECHECK = 30.0  # s between single requests while the key is refused (it may be fixed at the server)
SWEEP_RUN = 2  # a long sweep lets one other request through after this many pages in a row


# -- bookkeeping ---------------------------------------------------------------------------------


class _Entry:
    """One watched job: its public state plus what the scheduler needs.

    The JobState is made when first asked for: watching 100,000 jobs makes none.
    """

    __slots__ = (
        "_state",
        "_status",
        "confirmed",
        "covered",
        "depth",
        "failures",
        "group",
        "held",
        "id",
        "order",
        "retry_at",
        "stamp",
    )

    def __init__(self, job_id: str, order: int, status: str | None = None, state: JobState | None = None) -> None:
        self.id = job_id
        self._status = status
        self._state = state
        self.order = order  # watch order, the last tie-break of the rotation
        self.confirmed: float | None = None  # monotonic time of the last confirmation
        self.retry_at = 0.0  # monotonic; after a transient failure of this job's GET
        self.failures = 0
        self.depth: float | None = None  # position in the list when last seen; None = never seen
        self.covered = True  # sweeps are expected to confirm it; False = straggler, GET it
        self.held = False  # the API refused it (400/403): not polled until refreshed
        self.stamp = 0  # bumped on every reschedule; heap items with an older stamp are stale
        self.group: _Group | None = None  # where the scheduler keeps it; None = not polled

    @property
    def state(self) -> JobState:
        if self._state is None:
            self._state = JobState(self.id, status=self._status)
        return self._state

    @state.setter
    def state(self, state: JobState) -> None:
        self._state = state

    @property
    def status(self) -> str | None:
        return self._status if self._state is None else self._state.status

    @property
    def gone(self) -> bool:
        return self._state is not None and self._state.gone

    @property
    def active(self) -> bool:
        """Still to be polled: not terminal, not gone, not refused."""
        return not (self.gone or self.held or self.status in TERMINAL_STATUSES)

    @property
    def has_record(self) -> bool:
        """A full record that agrees with the last known status."""
        job = self.state.job
        return job is not None and job.status == self.state.status

    def due_at(self, interval: float) -> float:
        base = -math.inf if self.confirmed is None else self.confirmed + interval
        return max(base, self.retry_at)


class _Group:
    """Active entries of one kind, in two lazily invalidated heaps.

    Waiting (by due time) and due (by pick key). Each decision costs O(log n), however many
    jobs are watched.
    """

    def __init__(self, key: Callable[[_Entry], tuple[object, ...]]) -> None:
        self.members: dict[str, _Entry] = {}
        self.key = key
        self._waiting: list[tuple[float, int, int, _Entry]] = []  # (due, order, stamp, entry)
        self._due: list[tuple[tuple[object, ...], int, _Entry]] = []  # (pick key, stamp, entry)

    def add(self, entry: _Entry, due: float) -> None:
        self.members[entry.id] = entry
        entry.group = self
        if len(self._waiting) + len(self._due) > 2 * len(self.members) + 64:
            self._compact()
        if due == -math.inf:  # never confirmed: due already (its pick key is fixed until re-tracked)
            heapq.heappush(self._due, (self.key(entry), entry.stamp, entry))
        else:
            heapq.heappush(self._waiting, (due, entry.order, entry.stamp, entry))

    def add_new(self, entries: list[_Entry]) -> None:
        """Many entries never confirmed nor tried (just watched): due already, added in O(n)."""
        key = self.key
        for entry in entries:
            self.members[entry.id] = entry
            entry.group = self
        items = [(key(entry), entry.stamp, entry) for entry in entries]
        if self._due:  # batch after batch: pushed (mostly O(1) each, as watch order only grows)
            for item in items:
                heapq.heappush(self._due, item)
        else:
            self._due = items
            heapq.heapify(self._due)

    def _compact(self) -> None:
        self._waiting = [item for item in self._waiting if self._valid(item[3], item[2])]
        heapq.heapify(self._waiting)
        self._due = [item for item in self._due if self._valid(item[2], item[1])]
        heapq.heapify(self._due)

    def _valid(self, entry: _Entry, stamp: int) -> bool:
        return entry.group is self and entry.stamp == stamp

    def first_due(self, now: float) -> _Entry | None:
        """The due member that goes first by pick key."""
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            _, _, stamp, entry = heapq.heappop(waiting)
            if self._valid(entry, stamp):
                heapq.heappush(self._due, (self.key(entry), stamp, entry))
        due = self._due
        while due and not self._valid(due[0][2], due[0][1]):
            heapq.heappop(due)
        return due[0][2] if due else None

    def next_due(self) -> float:
        """When the first member not due yet will be (inf = none)."""
        waiting = self._waiting
        while waiting and not self._valid(waiting[0][3], waiting[0][2]):
            heapq.heappop(waiting)
        return waiting[0][0] if waiting else math.inf


@dataclass(frozen=True)
class _Action:
    kind: Literal["refresh", "page", "detail", "get", "record"]
    job_id: str | None = None


# -- the engine ----------------------------------------------------------------------------------


class Poller:
    """Schedules list sweeps and per-job GETs; the TUI and `batchmon watch` both consume it.

    `client.budget` is the process-wide request budget; a client built without one gets a
    `RequestBudget(5)`. `interval` is the floor between two polls of the same job. The other
    keyword arguments tune backoff (tests shorten it); `offline_after` is how many transport
    failures in a row make the engine report itself offline.
    """

    def __init__(
        self,
        client: BatchClient,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        list_backoff_max: float = 60.0,
        offline_after: int = 3,
        auth_recheck: float = AUTH_RECHECK,
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if client.budget is None:
            client.budget = RequestBudget(DEFAULT_RATE)
        self.client = client  # may be replaced (e.g. after the user fixes the key), then resume()
        self.interval = interval
        self._clock = clock
        self._monotonic = time.monotonic
        self._backoff = Backoff(backoff_initial, backoff_max, rng or random.Random())
        self._list_backoff_max = list_backoff_max
        self._offline_after = offline_after
        self._auth_recheck = auth_recheck

        self._entries: dict[str, _Entry] = {}
        # The entries still to be polled, kept in step by _track: in groups by (covered by sweeps,
        # status unknown), each a pair of heaps, and by what is known of their depth in the list.
        # No decision scans them, so 100,000 jobs of unknown status cost no more than 1,000.
        self._active: dict[str, _Entry] = {}
        self._groups: dict[tuple[bool, bool], _Group] = {
            (covered, unknown): _Group(self._unknown_key if unknown else _rotation_key)
            for covered in (True, False)
            for unknown in (True, False)
        }
        self._never_listed: dict[str, _Entry] = {}  # depth None
        self._unlisted: dict[str, _Entry] = {}  # depth UNLISTED
        self._placed: dict[str, _Entry] = {}  # a finite depth
        self._order = itertools.count()
        self._refresh: dict[str, None] = {}  # ordered set: user refreshes, first come first served
        self._details: dict[str, None] = {}  # ordered set: records wanted at once (changed into terminal)
        self._wanted: dict[str, None] = {}  # ordered set: records the app asked for, when time allows
        self._sweep: Sweep | None = None
        self._last_sweep_start = -math.inf  # monotonic
        self._last_sweep_pages = 0
        self._others_since_sweep = 0  # requests other than pages since the last sweep began
        self._unknown_turn = False  # whose turn among due stragglers: status unknown, or active
        self._detail_turn = True  # whose turn: a record wanted at once, or a straggler's GET
        self._total_hint: int | None = None
        self._list_failures = 0
        self._list_retry_at = 0.0  # monotonic: no sweeps before this
        self._one_page_until = 0.0  # monotonic: the list ignored its cursor; sweep page 1 only
        self._following = False
        self._recent = 0  # the N most recent jobs to add when following starts
        self._top: set[str] | None = None  # ids page one showed last time; None = not read since following began
        self._top_read_at = -math.inf  # monotonic time page one was last read
        self._discovered: list[JobSummary] = []

        self._paused = False
        self._unauthorised = False
        self._auth_retry_at = 0.0  # monotonic: the next single request while unauthorised
        self._failures = 0  # transient failures in a row, any request
        self._transport_failures = 0  # of which connection failures/timeouts, in a row
        self._limited = 0  # 429s in a row
        self._backoff_until = 0.0  # monotonic
        self._last_error: str | None = None
        self._requests = 0

        self._wake = asyncio.Event()
        self._inflight: tuple[asyncio.Future[object], _Action] | None = None
        self._running = False
        self._dirty: dict[str, None] = {}
        self._changes: list[StatusChange] = []
        self._reported: tuple[EngineMode, str | None, bool] | None = None

    # -- control (safe to call from anywhere on the loop's thread) --------------------------------

    def watch(
        self,
        ids: Iterable[str],
        known: Mapping[str, Job] | None = None,
        statuses: Mapping[str, str] | None = None,
    ) -> None:
        """Start watching ids, already canonical (validated once, where they came in).

        `known` records and `statuses` (last known, e.g. from disk) spare requests: a job known
        to be finished or errored is not polled and gets no record GET. Nothing is reported for
        the new jobs until the server has said something about them.
        """
        records = known or {}
        last = statuses or {}
        entries, active, never_listed = self._entries, self._active, self._never_listed
        fresh: dict[bool, list[_Entry]] = {True: [], False: []}  # to poll, by "status unknown"
        for job_id in ids:
            if job_id in entries:
                continue
            record = records.get(job_id)
            if record is not None:
                state = JobState(job_id, status=record.status, preset=record.preset, job=record)
                entry = _Entry(job_id, next(self._order), record.status, state)
            else:
                entry = _Entry(job_id, next(self._order), last.get(job_id))
            entries[job_id] = entry
            status = entry.status
            if status not in TERMINAL_STATUSES:
                active[job_id] = never_listed[job_id] = entry
                fresh[status is None].append(entry)
        for unknown, new in fresh.items():
            self._groups[True, unknown].add_new(new)
        self._wake.set()

    def follow(self, on: bool, *, recent: int = 0) -> None:
        """Watch every job that appears on the domain's list from now on (plus the `recent` newest)."""
        if on and not self._following:
            self._top = None
        self._following, self._recent = on, max(0, recent) if on else 0
        self._wake.set()

    @property
    def following(self) -> bool:
        """Whether the domain's new jobs are watched as they appear."""
        return self._following

    @property
    def top_read_at(self) -> float:
        """Monotonic time the top of the list (page one) was last read; -inf before the first."""
        return self._top_read_at

    def want_records(self, ids: Iterable[str]) -> None:
        """Fetch full records of these jobs when nothing that detects status changes is due.

        The wish replaces the previous one: the app asks for the rows on screen, and a row that
        scrolled away before its turn no longer needs its record.
        """
        wanted: dict[str, None] = {}
        for job_id in ids:
            entry = self._entries.get(job_id)
            if entry is not None and not (entry.has_record or entry.state.gone or entry.held):
                wanted[entry.id] = None
        if wanted.keys() == self._wanted.keys():
            return
        changed = wanted.keys() ^ self._wanted.keys()
        self._wanted = wanted
        for job_id in changed:
            entry = self._entries.get(job_id)
            if entry is not None and entry.status is None and entry.group is not None:
                self._track(entry)  # its pick key changed: records asked for go first
        self._wake.set()

    def unwatch(self, job_id: str) -> None:
        """Stop watching a (canonical) id."""
        entry = self._entries.pop(job_id, None)
        if entry is not None:
            self._untrack(entry)
        self._refresh.pop(job_id, None)
        self._details.pop(job_id, None)
        self._wanted.pop(job_id, None)
        self._dirty.pop(job_id, None)
        self._wake.set()

    def refresh(self, job_id: str) -> None:
        """Fetch this (canonical) job next, ahead of everything else, even if it is terminal."""
        if job_id in self._entries:
            self._refresh[job_id] = None
            self._wake.set()

    def pause(self) -> None:
        """No requests until resume(), except explicit refreshes; a request in flight is withdrawn."""
        self._paused = True
        if self._inflight is not None and self._inflight[1].kind != "refresh":
            self._inflight[0].cancel()
        self._wake.set()

    def resume(self) -> None:
        """Poll again; also retries at once after an unauthorised stop or a backoff."""
        self._paused = False
        self._unauthorised = False
        self._backoff_until = 0.0
        self._list_retry_at = 0.0
        self._wake.set()

    @property
    def paused(self) -> bool:
        """Whether the user paused polling."""
        return self._paused

    @property
    def idle(self) -> bool:
        """Nothing left to fetch: every watched job is terminal (or gone) and no fetch is queued."""
        return not self._refresh and not self._details and not self._wanted and self._sweep is None and not self._active

    def states(self) -> Mapping[str, JobState]:
        """Every watched job's state, by id."""
        return {job_id: entry.state for job_id, entry in self._entries.items()}

    def engine_state(self) -> EngineState:
        """How the engine is doing now (what the header and `watch` show)."""
        now = self._monotonic()
        until = max(self._backoff_until, now + self._budget_pause_left())
        wall = self._clock()
        return EngineState(
            mode=self._mode(now),
            requests_made=self._requests,
            requests_per_second=self._budget.requests_per_second(),
            rate=self._budget.rate,
            backoff_until=wall + (until - now) if until > now else None,
            last_error=self._last_error,
            idle=self.idle,
            host=self.client.host,
            retry_at=wall + max(0.0, self._auth_retry_at - now) if self._unauthorised else None,
        )

    # -- the loop --------------------------------------------------------------------------------

    async def updates(self) -> AsyncIterator[PollUpdate]:
        """Run forever, yielding an update whenever something changed (cancel to stop).

        API faults are handled inside; any other exception (a bug) propagates from here.
        """
        if self._running:
            raise RuntimeError("the poller is already running")
        self._running = True
        try:
            while True:
                self._wake.clear()
                update = self._take_update()
                if update is not None:
                    yield update
                    continue
                action, wait = self._next_action(self._monotonic())
                if action is None:
                    await self._sleep(wait)
                else:
                    await self._perform(action)
        finally:
            self._running = False
            if self._inflight is not None:
                self._inflight[0].cancel()

    def _next_action(self, now: float) -> tuple[_Action | None, float | None]:
        """The next request by priority, or (None, seconds to sleep; None = until woken)."""
        if self._refresh:
            return _Action("refresh", next(iter(self._refresh))), None
        if self._paused:
            return None, None
        if self._unauthorised:
            if now < self._auth_retry_at:
                return None, self._auth_retry_at - now
            self._auth_retry_at = now + self._auth_recheck  # one request now; it clears or renews the stop
        hold = max(self._backoff_until - now, self._budget_pause_left())
        if hold > 0:
            return None, hold
        detail, detail_wake = self._pick_detail(now)
        active, unknown, get_wake = self._pick_get(now)
        get = unknown if active is None or (unknown is not None and self._unknown_turn) else active
        if self._sweep is None:
            # No starvation when sweeps fill the budget: a straggler that has been due since
            # before the last sweep began gets its GET before the next sweep starts (for at most
            # as many requests as the last sweep had pages, so GETs cannot starve sweeps either).
            overdue = (
                get is not None
                and self._entries[get].due_at(self.interval) < self._last_sweep_start
                and self._others_since_sweep < max(1, self._last_sweep_pages)
            )
            if not overdue:
                self._sweep = self._start_sweep(now)
                if self._sweep is not None:
                    self._last_sweep_start = now
                    self._others_since_sweep = 0
        if self._sweep is not None:
            if self._sweep.run >= SWEEP_RUN and (detail or get):
                self._sweep.run = 0  # a long sweep lets the queue behind it move too
            else:
                self._sweep.run += 1
                return _Action("page"), None
        if detail is not None and (get is None or self._detail_turn):
            self._detail_turn = False
            self._others_since_sweep += 1
            return _Action("detail", detail), None
        if get is not None:
            # Records of ended jobs and status GETs take turns: neither waits for the other to drain.
            self._detail_turn = detail is not None
            if active is not None and unknown is not None:
                self._unknown_turn = not self._unknown_turn
            self._others_since_sweep += 1
            return _Action("get", get), None
        record, record_wake = self._pick_record(now)
        if record is not None:
            return _Action("record", record), None
        wake = min(detail_wake, get_wake, record_wake, self._discovery_due(now))
        return None, (None if wake == math.inf else max(0.0, wake - now))

    def _list_usable(self, now: float) -> bool:
        return now >= self._list_retry_at

    def _start_sweep(self, now: float) -> Sweep | None:
        """A sweep starts when a job it covers is due, and only if pages beat GETs."""
        if not self._list_usable(now):
            return None
        covered = (self._groups[True, True], self._groups[True, False])
        if all(group.first_due(now) is None for group in covered):
            if self._discovery_due(now) <= now:
                return Sweep(self._total_hint, 1)  # page one only: what is new on the domain
            return None
        one_page = now < self._one_page_until
        sweep = Sweep(self._total_hint, 1 if one_page else MAX_SWEEP_PAGES)
        if self._pages_worth(sweep) == 0:
            for group in covered:
                for entry in list(group.members.values()):
                    entry.covered = False  # GETs are cheaper for every one of them
                    self._track(entry)
            return None
        return sweep

    def _discovery_due(self, now: float) -> float:
        """When following needs a read of page one of its own (inf while sweeps will read it anyway)."""
        covered = (self._groups[True, True], self._groups[True, False])
        if not self._following or not self._list_usable(now) or any(group.members for group in covered):
            return math.inf
        return self._top_read_at + self.interval

    def _pages_worth(self, sweep: Sweep) -> int:
        """The sweep's cost rule over the active jobs it has not seen (by counts where it can)."""
        seen = sweep.seen
        placed = (e.depth for job_id, e in self._placed.items() if job_id not in seen)
        return sweep.pages_worth(placed, unlisted=len(self._unlisted), unknown=len(self._never_listed))

    def _pick_detail(self, now: float) -> tuple[str | None, float]:
        """The next record wanted at once: changes into a terminal status, in order."""
        first: str | None = None
        wake = math.inf
        for job_id in list(self._details):
            entry = self._entries.get(job_id)
            if entry is None or entry.state.gone or entry.held:
                del self._details[job_id]
                continue
            if entry.retry_at > now:
                wake = min(wake, entry.retry_at)
                continue
            if entry.state.status in TERMINAL_STATUSES:
                return job_id, now
            if first is None:
                first = job_id
        return first, wake

    def _pick_get(self, now: float) -> tuple[str | None, str | None, float]:
        """The due jobs sweeps don't reach.

        The one with an active status confirmed longest ago, and the first (records asked for
        first) whose status is still unknown.
        """
        list_usable = self._list_usable(now)
        picks: dict[bool, _Entry | None] = {True: None, False: None}  # by "status unknown"
        wake = math.inf
        for (covered, unknown), group in self._groups.items():
            first = group.first_due(now)
            if covered and list_usable:
                if first is not None:
                    wake = now  # a sweep will come for it
                wake = min(wake, group.next_due())
                continue
            wake = min(wake, group.next_due())
            best = picks[unknown]
            if first is not None and (best is None or group.key(first) < group.key(best)):
                picks[unknown] = first
        if not list_usable and (self._groups[True, True].members or self._groups[True, False].members):
            wake = min(wake, self._list_retry_at)
        active, unknown_pick = picks[False], picks[True]
        return (active.id if active else None), (unknown_pick.id if unknown_pick else None), wake

    def _unknown_key(self, entry: _Entry) -> tuple[bool, int]:
        return (entry.id not in self._wanted, entry.order)

    def _pick_record(self, now: float) -> tuple[str | None, float]:
        """The first record the app asked for that can go now."""
        wake = math.inf
        for job_id in list(self._wanted):
            entry = self._entries.get(job_id)
            if entry is None or entry.has_record or entry.state.gone or entry.held:
                del self._wanted[job_id]
                continue
            if entry.retry_at > now:
                wake = min(wake, entry.retry_at)
                continue
            return job_id, now
        return None, wake

    async def _sleep(self, seconds: float | None) -> None:
        if seconds is None:
            await self._wake.wait()
            return
        # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives just as the
        # event is set (e.g. follow() or unwatch() right before the consumer cancels the loop), and
        # the loop would never stop. A hair longer, so a timer that fires a little early doesn't spin.
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds + 0.002)
        finally:
            waiter.cancel()

    # -- requests --------------------------------------------------------------------------------

    async def _perform(self, action: _Action) -> None:
        call: Awaitable[object]
        if action.kind == "page":
            assert self._sweep is not None
            call = self.client.list_jobs(limit=PAGE, starting_after=self._sweep.cursor)
        else:
            assert action.job_id is not None
            call = self.client.get_job(action.job_id)
        self._requests += 1
        # Its own task, so pause() can withdraw it even while it waits on the budget.
        task: asyncio.Future[object] = asyncio.ensure_future(call)
        # Read its outcome even when this loop is cancelled first (at quit), so asyncio never
        # reports "Task exception was never retrieved" for a request the app no longer wants.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._inflight = (task, action)
        try:
            await asyncio.wait({task})
        finally:
            self._inflight = None
            if not task.done():
                task.cancel()
        if task.cancelled():
            return  # withdrawn by pause(); it is asked again after resume()
        now = self._monotonic()
        exc = task.exception()
        if exc is None:
            result = task.result()
            self._succeeded()
            if action.kind == "page":
                assert isinstance(result, JobListPage)
                self._apply_page(result, now)
            else:
                assert isinstance(result, Job)
                self._apply_job(action, result, now)
        elif isinstance(exc, errors.ApiError):
            self._failed(action, exc, now)
        else:
            raise exc  # a bug, not a network or server fault: never retried as if transient

    def _apply_page(self, page: JobListPage, now: float) -> None:
        sweep = self._sweep
        assert sweep is not None
        items = page.data
        ids = [item.id.lower() for item in items]
        cursor_ignored = sweep.pages > 0 and any(job_id in sweep.listed for job_id in ids)
        if sweep.cursor is None:
            self._top_read_at = now
            if self._following:
                self._discover(ids, items)
        for offset, (job_id, item) in enumerate(zip(ids, items, strict=True)):
            entry = self._entries.get(job_id)
            if entry is None:
                continue
            if cursor_ignored:
                if item.status:  # the statuses are still true, only the paging is wrong
                    self._observe(entry, item.status, now, preset=item.preset)
                continue
            position = sweep.position + offset
            if entry.depth is not None and entry.depth != UNLISTED:
                sweep.shift = position - entry.depth
            entry.depth = float(position)
            entry.covered = True
            sweep.seen.add(job_id)
            if item.status:
                self._observe(entry, item.status, now, preset=item.preset)
            else:
                self._track(entry)
        if page.total_count is not None:
            sweep.total_hint = self._total_hint = page.total_count
        self._list_failures = 0
        if cursor_ignored:
            log.info("the list endpoint ignored starting_after; sweeping page 1 only for a while")
            self._one_page_until = now + PAGING_RECHECK
            self._end_sweep(reached_end=False)
            return
        sweep.listed.update(ids)
        sweep.pages += 1
        sweep.position += len(items)
        if ids:
            sweep.cursor = ids[-1]
        if len(items) < PAGE:
            self._end_sweep(reached_end=True)
        elif self._pages_worth(sweep) == 0:
            self._end_sweep(reached_end=False)

    def _discover(self, ids: list[str], items: list[JobSummary]) -> None:
        """Watch the jobs above the newest one page one showed last time (the first read: the N most recent)."""
        top = self._top
        if top is None:
            fresh = list(range(min(self._recent, len(ids))))
        else:
            fresh = list(itertools.takewhile(lambda i: ids[i] not in top, range(len(ids))))
        self._top = set(ids)
        new: dict[str, None] = {}
        for i in fresh:
            try:
                job_id = normalize_job_id(ids[i])
            except ValueError:
                continue  # not an id we could ever poll
            if job_id not in self._entries and job_id not in new:
                new[job_id] = None
                item = items[i]  # reported with its canonical id: nothing after this normalises again
                self._discovered.append(item if item.id == job_id else item.model_copy(update={"id": job_id}))
        if new:
            self.watch(new)  # status unknown: this very page reports it as a change, a first sighting

    def _unseen(self, sweep: Sweep) -> list[_Entry]:
        """Active jobs this sweep has not met (a job met has a finite depth)."""
        placed = [e for job_id, e in self._placed.items() if job_id not in sweep.seen]
        return [*placed, *self._unlisted.values(), *self._never_listed.values()]

    def _end_sweep(self, *, reached_end: bool) -> None:
        """Active jobs this pass missed become stragglers (individual GETs)."""
        sweep = self._sweep
        assert sweep is not None
        for entry in self._unseen(sweep):
            depth = UNLISTED if reached_end or sweep.estimate(entry.depth) == UNLISTED else entry.depth
            if entry.covered or depth != entry.depth:
                entry.covered = False
                entry.depth = depth
                self._track(entry)
        self._last_sweep_pages = max(1, sweep.pages)
        self._sweep = None

    def _apply_job(self, action: _Action, job: Job, now: float) -> None:
        if action.kind == "refresh":
            self._refresh.pop(action.job_id or "", None)
        entry = self._entries.get(action.job_id or "")
        if entry is None:
            return  # unwatched while in flight
        self._observe(entry, job.status or entry.state.status, now, preset=job.preset, job=job)

    def _observe(
        self,
        entry: _Entry,
        status: str | None,
        now: float,
        *,
        preset: str | None = None,
        job: Job | None = None,
    ) -> None:
        """The server confirmed `status` for this job (with its full record when `job` is set)."""
        old = entry.state
        wall = self._clock()
        changes: dict[str, object] = {"confirmed_at": wall, "gone": False}
        if job is not None or not entry.held:
            # A list sighting confirms the status but not a record the API refused us.
            changes["last_error"] = None
            entry.held = False
        if status is not None:
            changes["status"] = status
        if preset:
            changes["preset"] = preset
        if job is not None:
            changes["job"] = job
        entry.state = dataclasses.replace(old, **changes)  # type: ignore[arg-type]
        entry.confirmed = now
        entry.retry_at = 0.0
        entry.failures = 0
        self._dirty[entry.id] = None
        if status is not None and status != old.status:
            self._changes.append(StatusChange(entry.id, old.status, status, wall))
            if job is None and old.status is not None and status in TERMINAL_STATUSES:
                # Seen ending: its outputs or error are wanted now. A job first seen already
                # ended gets its record only when the app asks (want_records).
                self._details[entry.id] = None
        if job is not None:
            self._details.pop(entry.id, None)
            self._wanted.pop(entry.id, None)
        self._track(entry)

    def _track(self, entry: _Entry) -> None:
        """Reschedule the entry after anything that may change whether, when or how it is polled.

        Status, confirmation, retry time, coverage, depth, a record asked for.
        """
        self._untrack(entry)
        if not entry.active:
            return
        self._active[entry.id] = entry
        self._groups[entry.covered, entry.status is None].add(entry, entry.due_at(self.interval))
        if entry.depth is None:
            self._never_listed[entry.id] = entry
        elif entry.depth == UNLISTED:
            self._unlisted[entry.id] = entry
        else:
            self._placed[entry.id] = entry

    def _untrack(self, entry: _Entry) -> None:
        entry.stamp += 1  # its heap items go stale
        if entry.group is not None:
            del entry.group.members[entry.id]
            entry.group = None
        job_id = entry.id
        self._active.pop(job_id, None)
        self._never_listed.pop(job_id, None)
        self._unlisted.pop(job_id, None)
        self._placed.pop(job_id, None)

    # -- outcomes --------------------------------------------------------------------------------

    def _succeeded(self) -> None:
        self._failures = self._transport_failures = self._limited = 0
        self._backoff_until = 0.0
        self._last_error = None
        self._unauthorised = False

    def _failed(self, action: _Action, exc: errors.ApiError, now: float) -> None:
        message = errors.describe(exc)
        if isinstance(exc, errors.RateLimited):
            # Everyone waits: the budget is the whole process's. The action stays queued.
            self._limited += 1
            wait = exc.retry_after if exc.retry_after is not None else self._backoff.delay(self._limited)
            self._budget.pause_for(wait)
            self._backoff_until = max(self._backoff_until, now + wait)
            self._last_error = message
            return
        if isinstance(exc, (errors.BadKey, errors.AuthHeaderError)):
            if not self._unauthorised:
                self._auth_retry_at = now + self._auth_recheck
            self._unauthorised = True
            self._last_error = message
            self._refresh.pop(action.job_id or "", None)
            return
        if action.kind == "page":
            if self._sweep is not None:
                self._last_sweep_pages = max(1, self._sweep.pages)
            self._sweep = None  # start over later; covered jobs get GETs meanwhile
            if isinstance(exc, (errors.NotFound, errors.Forbidden, errors.BadRequest)):
                self._list_retry_at = now + LIST_REFUSED_FOR
                self._last_error = f"list endpoint: {message}"
            else:
                self._transient(exc, now)
                self._list_failures += 1
                self._list_retry_at = now + self._backoff.delay(self._list_failures, self._list_backoff_max)
            return
        job_id = action.job_id or ""
        self._refresh.pop(job_id, None)  # a refresh is one attempt, never a retry loop
        entry = self._entries.get(job_id)
        if isinstance(exc, (errors.NotFound, errors.Forbidden, errors.BadRequest)):
            # A definite answer about this job: the API is fine, the job is not to be polled.
            self._failures = self._transport_failures = self._limited = 0
            self._last_error = None
            if entry is not None:
                gone = isinstance(exc, errors.NotFound)
                entry.held = not gone
                note = "not found: deleted, or never existed" if gone else message
                entry.state = dataclasses.replace(entry.state, gone=gone, last_error=note)
                self._track(entry)
                self._details.pop(job_id, None)
                self._wanted.pop(job_id, None)
                self._dirty[job_id] = None
            return
        self._transient(exc, now)
        if entry is not None:
            entry.failures += 1
            entry.retry_at = now + self._backoff.delay(entry.failures)
            entry.state = dataclasses.replace(entry.state, last_error=message)
            self._track(entry)
            self._dirty[job_id] = None

    def _transient(self, exc: errors.ApiError, now: float) -> None:
        """5xx, timeouts, dropped connections, malformed bodies: back off for a while."""
        self._failures += 1
        if isinstance(exc, errors.TransportError):
            self._transport_failures += 1
        else:
            self._transport_failures = 0
        self._backoff_until = now + self._backoff.delay(self._failures)
        self._last_error = errors.describe(exc)

    # -- reporting -------------------------------------------------------------------------------

    @property
    def _budget(self) -> RequestBudget:
        budget = self.client.budget
        assert budget is not None
        return budget

    def _budget_pause_left(self) -> float:
        return self._budget.pause_left()

    def _mode(self, now: float) -> EngineMode:
        # Unauthorised beats paused: pausing does not fix the key, and the header must keep saying so.
        if self._unauthorised:
            return "unauthorised"
        if self._paused:
            return "paused"
        if self._transport_failures >= self._offline_after:
            return "offline"
        if self._backoff_until > now or self._budget_pause_left() > 0:
            return "backing-off"
        return "running"

    def _take_update(self) -> PollUpdate | None:
        engine = self.engine_state()
        signature = (engine.mode, engine.last_error, engine.idle)
        if not self._dirty and not self._changes and not self._discovered and signature == self._reported:
            return None
        jobs = tuple(self._entries[i].state for i in self._dirty if i in self._entries)
        changes = tuple(c for c in self._changes if c.id in self._entries)
        discovered = tuple(job for job in self._discovered if job.id in self._entries)
        self._dirty.clear()
        self._changes.clear()
        self._discovered.clear()
        self._reported = signature
        return PollUpdate(jobs=jobs, changes=changes, engine=engine, discovered=discovered)


def _rotation_key(entry: _Entry) -> tuple[float, int]:
    return (-math.inf if entry.confirmed is None else entry.confirmed, entry.order)
