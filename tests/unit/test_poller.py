"""The polling engine against the simulator, with faults injected on the real failure paths.

Most tests run the simulator in-process (httpx2.ASGITransport); timeouts, dropped connections and
the simulator's own rate limiter are exercised over a real loopback SimServer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest

from tui.api import BatchClient, Job, RequestBudget, errors
from tui.poller import Poller, PollUpdate, StatusChange, engine
from tui.poller.sweep import PAGE
from tui.sim import Faults, SimServer, Simulator, create_app

KEY = "poller-test-key"
LIST_PATH = "/v1/batch-processor"
# Short backoffs so recoveries happen within a test's time.
FAST: dict[str, Any] = {"backoff_initial": 0.05, "backoff_max": 0.2, "list_backoff_max": 0.2}


def job_path(job_id: str) -> str:
    return f"{LIST_PATH}/{job_id}"


async def wait_until(condition: Callable[[], object], timeout: float = 4.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


class Rig:
    """A simulator, a client on one budget, and a running poller whose updates are recorded."""

    def __init__(
        self,
        sim: Simulator,
        faults: Faults,
        *,
        base_url: str,
        transport: httpx2.AsyncBaseTransport | None,
        rate: float = 20,
        interval: float = 0.1,
        timeout: httpx2.Timeout | None = None,
        key: str | None = KEY,
        **poller_options: Any,
    ) -> None:
        self.sim = sim
        self.faults = faults
        self.base_url = base_url
        self.transport = transport
        self.budget = RequestBudget(rate)
        self.client = BatchClient(base_url, key, budget=self.budget, transport=transport, timeout=timeout)
        self.poller = Poller(self.client, interval=interval, **{**FAST, **poller_options})
        self.updates: list[PollUpdate] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Rig:
        self._task = asyncio.create_task(self._consume())
        return self

    async def _consume(self) -> None:
        async for update in self.poller.updates():
            self.updates.append(update)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    # what the simulator saw

    def requests(self, since: int = 0) -> list[Any]:
        return self.sim.requests.entries()[since:]

    def count(self) -> int:
        return self.sim.requests.count

    def gets(self, job_id: str, since: int = 0) -> int:
        return sum(1 for r in self.requests(since) if r.path == job_path(job_id))

    def lists(self, since: int = 0) -> int:
        return sum(1 for r in self.requests(since) if r.path == LIST_PATH)

    # what the engine said

    def changes(self) -> list[StatusChange]:
        return [change for update in self.updates for change in update.changes]

    def modes(self) -> list[str]:
        return [update.engine.mode for update in self.updates]

    def state(self, job_id: str) -> Any:
        return self.poller.states()[job_id]

    def confirmed_since(self, ids: list[str], wall: float) -> bool:
        states = self.poller.states()
        return all((states[i].confirmed_at or 0) >= wall for i in ids)


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[..., Rig]]:
    rigs: list[Rig] = []
    servers: list[SimServer] = []

    def make(
        sim: Simulator | None = None, faults: Faults | None = None, *, loopback: bool = False, **options: Any
    ) -> Rig:
        sim = sim if sim is not None else Simulator(api_key=KEY)
        faults = faults if faults is not None else Faults()
        if loopback:
            server = SimServer(sim, faults).start()
            servers.append(server)
            rig = Rig(sim, faults, base_url=server.base_url, transport=None, **options)
        else:
            transport = httpx2.ASGITransport(app=create_app(sim, faults))
            rig = Rig(sim, faults, base_url="http://sim.test/v1", transport=transport, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.close()
    for server in servers:
        await asyncio.to_thread(server.stop)


def records(sim: Simulator, ids: list[str]) -> dict[str, Job]:
    """What a restored session knows already (spares the one GET per new job)."""
    return {job_id: Job.model_validate(sim.record(job_id)) for job_id in ids}


def active_jobs(sim: Simulator, n: int, **schedule: Any) -> list[str]:
    schedule = {"status": "processing", "processing_in": None, "done_in": None, **schedule}
    return [sim.create_job(**schedule) for _ in range(n)]


# -- what gets polled ----------------------------------------------------------------------------


async def test_terminal_jobs_are_not_polled_again(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    done = [rig.sim.create_job(status="finished") for _ in range(3)] + [rig.sim.create_job(status="error")]
    live = rig.sim.create_job(status="processing", processing_in=None, done_in=0.2)
    rig.poller.watch([*done, live])
    rig.start()
    await wait_until(lambda: rig.state(live).status == "finished" and rig.poller.idle, what="idle")
    assert rig.state(live).job is not None and rig.state(live).job.status == "finished"
    assert rig.gets(live) == 1  # its record once it was seen finishing
    # First seen already ended (by the sweep): no record GET of their own.
    assert [rig.gets(j) for j in done] == [0, 0, 0, 0]
    assert [(rig.state(j).status, rig.state(j).job) for j in done] == [("finished", None)] * 3 + [("error", None)]
    before = rig.count()
    await asyncio.sleep(0.3)  # three intervals
    assert rig.count() == before, rig.requests(before)
    # A user's explicit refresh still works for a terminal job.
    rig.poller.refresh(done[0])
    await wait_until(lambda: rig.gets(done[0]) == 1, what="refresh of a terminal job")
    await asyncio.sleep(0.2)
    assert rig.count() == before + 1


async def test_records_on_demand(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    done = [rig.sim.create_job(status="finished") for _ in range(3)]
    stored = rig.sim.create_job(status="error", error="Error: silent file")
    rig.poller.watch(done)
    rig.poller.watch([stored], statuses={stored: "error"})  # the store knew its status, not its record
    rig.start()
    await wait_until(lambda: all(rig.state(j).status == "finished" for j in done) and rig.poller.idle, what="idle")
    assert rig.count() == 1 and rig.lists() == 1  # one page saw them all; nothing for `stored`
    rig.poller.want_records([done[1], stored, done[1], "not an id"])  # duplicates and junk ignored
    await wait_until(lambda: rig.state(stored).job is not None and rig.poller.idle, what="records")
    assert rig.state(stored).job.error == "Error: silent file"
    assert rig.state(done[1]).job is not None and rig.state(done[0]).job is None
    assert (rig.gets(done[1]), rig.gets(stored)) == (1, 1)
    rig.poller.want_records([done[1], stored])  # they have their records now
    await asyncio.sleep(0.2)
    assert rig.count() == 3
    assert not [c for c in rig.changes() if c.id == stored]  # known status confirmed, not a change


async def test_a_wish_for_records_replaces_the_last_one(make_rig: Callable[..., Rig]) -> None:
    """Rows scrolled away before their turn no longer need their records: only the last wish is fetched."""
    rig = make_rig()
    done = [rig.sim.create_job(status="finished") for _ in range(4)]
    rig.poller.watch(done, statuses=dict.fromkeys(done, "finished"))
    rig.poller.want_records(done[:3])  # the rows on screen a moment ago
    rig.poller.want_records(done[3:])  # the rows on screen now
    rig.start()
    await wait_until(lambda: rig.state(done[3]).job is not None and rig.poller.idle, what="the record")
    await asyncio.sleep(0.2)
    assert [rig.gets(job) for job in done] == [0, 0, 0, 1]


async def test_known_terminal_statuses_mean_no_requests(make_rig: Callable[..., Rig]) -> None:
    """10,000 finished jobs, the store knows the status of all but the newest 200: after the first
    sweep (two pages) the engine makes no requests, and its loop blocks instead of waking."""
    rig = make_rig(interval=0.05)
    jobs = [rig.sim.create_job(status="finished") for _ in range(10_000)]
    old, new = jobs[:-200], jobs[-200:]
    rig.poller.watch(jobs, statuses=dict.fromkeys(old, "finished"))
    decisions = 0
    original = rig.poller._next_action

    def counting(now: float) -> Any:
        nonlocal decisions
        decisions += 1
        return original(now)

    rig.poller._next_action = counting  # type: ignore[method-assign]
    rig.start()
    await wait_until(lambda: rig.poller.idle, what="first sweep")
    assert rig.lists() == 2 and rig.count() == 2
    assert all(rig.state(j).status == "finished" for j in new)
    settled = decisions
    await asyncio.sleep(2.0)  # 40 intervals
    assert rig.count() == 2
    assert decisions - settled <= 1


async def test_status_change_fetches_the_full_record_once(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    job = rig.sim.create_job(preset="summarize", status="submitted", processing_in=0.2, done_in=0.4)
    rig.poller.watch([job], known=records(rig.sim, [job]))
    rig.start()
    await wait_until(lambda: (s := rig.state(job)).job is not None and s.job.status == "finished", what="record")
    assert {(c.previous, c.status) for c in rig.changes() if c.id == job} == {
        ("submitted", "processing"),
        ("processing", "finished"),
    }
    assert {ref.kind for ref in rig.state(job).job.outputs()} == {"transcription", "summary"}
    assert 1 <= rig.gets(job) <= 2  # one per change at most (two changes; they may merge)
    gets = rig.gets(job)
    await asyncio.sleep(0.3)
    assert rig.gets(job) == gets


async def test_new_active_job_gets_its_record_when_asked(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    job = rig.sim.create_job(
        status="processing", processing_in=None, done_in=None, source={"sourceType": "uri", "uri": "https://x/a.mp4"}
    )
    rig.poller.watch([job])
    assert rig.state(job).status is None and rig.state(job).confirmed_at is None
    rig.start()
    await wait_until(lambda: rig.state(job).status == "processing", what="status")
    assert rig.changes()[0] == StatusChange(job, None, "processing", rig.changes()[0].observed_at)
    assert rig.gets(job) == 0 and rig.state(job).job is None  # the list told its status
    rig.poller.want_records([job])
    await wait_until(lambda: rig.state(job).job is not None, what="record")
    assert rig.state(job).job.input.uri == "https://x/a.mp4"
    await asyncio.sleep(0.5)
    assert rig.gets(job) == 1  # afterwards the list confirms it


async def test_active_jobs_are_confirmed_by_list_sweeps(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.15)
    jobs = active_jobs(rig.sim, 150)  # two pages
    rig.sim.create_job(status="finished")  # newest, unwatched
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    start = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, start), what="first sweep")
    mark, wall = rig.count(), time.time()
    await asyncio.sleep(0.6)
    assert rig.confirmed_since(jobs, wall + 0.3)  # every job confirmed again recently
    assert sum(rig.gets(j, mark) for j in jobs) == 0
    lists = rig.lists(mark)
    assert 4 <= lists <= 2 * (0.6 / 0.15 + 1), lists  # two pages per sweep, one sweep per interval
    assert len(rig.updates) >= rig.lists() - 1  # an update after every page, not per sweep


async def test_sweep_stops_when_gets_are_cheaper(make_rig: Callable[..., Rig]) -> None:
    """Three active watched jobs under 2,000 newer unwatched ones: don't page down 20 pages."""
    rig = make_rig(interval=0.15)
    jobs = active_jobs(rig.sim, 3)
    for _ in range(2000):
        rig.sim.create_job(status="finished")
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await asyncio.sleep(0.7)
    assert rig.lists() <= 2
    assert all(rig.gets(j) >= 3 for j in jobs), [rig.gets(j) for j in jobs]
    rig.sim.force_status(jobs[1], "finished")
    await wait_until(lambda: rig.state(jobs[1]).status == "finished", timeout=1.0, what="change")


async def test_sweep_pages_deep_when_that_beats_gets(make_rig: Callable[..., Rig]) -> None:
    """300 active watched jobs under 500 newer unwatched ones: 8 pages beat 300 GETs."""
    rig = make_rig(interval=0.3)
    jobs = active_jobs(rig.sim, 300)
    for _ in range(500):
        rig.sim.create_job(status="finished")
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    start = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, start), what="deep sweep")
    await asyncio.sleep(0.3)
    assert sum(rig.gets(j) for j in jobs) == 0
    old = jobs[0]  # the deepest
    rig.sim.force_status(old, "error")
    await wait_until(lambda: rig.state(old).status == "error", timeout=2.0, what="deep change")


async def test_long_sweeps_do_not_starve_gets_or_records(make_rig: Callable[..., Rig]) -> None:
    """Three-page sweeps always due (tiny interval): stragglers and records still get their turn."""
    rig = make_rig(interval=0.01)
    jobs = active_jobs(rig.sim, 300)
    rig.faults.list_omits = 0.03
    omitted = [j for j in jobs if rig.faults.omits(j)]
    assert 3 <= len(omitted) <= 25
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.lists() >= 4, what="sweeping")
    mark = rig.count()
    changed = next(j for j in jobs if j not in omitted)
    rig.sim.force_status(changed, "finished")
    await wait_until(lambda: (s := rig.state(changed)).job is not None and s.job.status == "finished", what="record")
    await wait_until(lambda: all(rig.gets(j, mark) >= 2 for j in omitted), timeout=4, what="straggler GETs")
    assert rig.lists(mark) >= 5  # sweeps kept going meanwhile


# -- a misbehaving list endpoint -----------------------------------------------------------------


async def test_list_that_ignores_paging_falls_back_to_gets(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.1)
    jobs = active_jobs(rig.sim, 110)  # the oldest 10 are not on the first page
    rig.faults.list_ignores_paging = True
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    start = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, start), timeout=5, what="all confirmed")
    deep, shallow = jobs[:10], jobs[10:]
    assert all(rig.gets(j) >= 1 for j in deep)
    assert sum(rig.gets(j) for j in shallow) == 0
    mark = rig.count()
    await asyncio.sleep(0.3)
    assert rig.lists(mark) <= 0.3 / 0.1 + 2  # page 1 once per interval, no loop on it
    rig.sim.force_status(deep[0], "finished")
    await wait_until(lambda: rig.state(deep[0]).status == "finished", timeout=3, what="change")


async def test_list_that_ignores_its_cursor_keeps_page_one_swept(make_rig: Callable[..., Rig]) -> None:
    """First launch (no statuses known) against a list that ignores its cursor: page 1 is still
    swept about once an interval while hundreds of jobs wait to be discovered by GET, and jobs
    found active deeper down are polled ahead of the undiscovered ones."""
    rig = make_rig(interval=0.2)
    deep_active: list[str] = []
    for i in range(300):
        rig.sim.create_job(status="finished")
        if i % 5 == 0:
            deep_active += active_jobs(rig.sim, 1)
    page_one = [rig.sim.create_job(status="finished") if i % 2 else active_jobs(rig.sim, 1)[0] for i in range(100)]
    top_active = page_one[::2]
    rig.faults.list_ignores_paging = True
    watched = rig.sim.ids()
    rig.poller.watch(watched)
    rig.start()
    await wait_until(lambda: all(rig.state(j).status == "processing" for j in top_active), what="page 1 seen")
    await wait_until(lambda: sum(rig.state(j).status == "processing" for j in deep_active) >= 3, what="deep found")
    found = [j for j in deep_active if rig.state(j).status == "processing"]
    undiscovered = sum(rig.state(j).status is None for j in watched)
    assert undiscovered > 100  # still discovering: what follows happens meanwhile
    rig.sim.force_status(top_active[7], "finished")
    rig.sim.force_status(found[0], "error")
    began = time.monotonic()
    await wait_until(lambda: rig.state(top_active[7]).status == "finished", timeout=1.5, what="page 1 change")
    await wait_until(lambda: rig.state(found[0]).status == "error", timeout=1.5, what="deep change")
    assert time.monotonic() - began < 1.5
    lists = [r.at for r in rig.requests() if r.path == LIST_PATH]
    gaps = [b - a for a, b in itertools.pairwise(lists)]
    assert len(lists) >= 6 and max(gaps) < 0.6, gaps  # page 1 about once an interval throughout


async def test_undiscovered_jobs_do_not_hold_up_page_one(make_rig: Callable[..., Rig]) -> None:
    """Only jobs of unknown status wait deeper down (all finished, as it turns out): the GETs that
    discover them share the budget with page-1 sweeps instead of holding them up."""
    rig = make_rig(interval=0.2)
    for _ in range(300):
        rig.sim.create_job(status="finished")
    top = active_jobs(rig.sim, 100)
    rig.faults.list_ignores_paging = True
    rig.poller.watch(rig.sim.ids())
    rig.start()
    await wait_until(lambda: all(rig.state(j).status == "processing" for j in top), what="page 1 seen")
    await asyncio.sleep(1.5)
    rig.sim.force_status(top[40], "finished")
    await wait_until(lambda: rig.state(top[40]).status == "finished", timeout=0.6, what="page 1 change")
    lists = [r.at for r in rig.requests() if r.path == LIST_PATH]
    gaps = [b - a for a, b in itertools.pairwise(lists)]
    assert len(lists) >= 6 and max(gaps) < 0.6, gaps
    assert sum(rig.state(j).status is None for j in rig.poller.states()) > 100  # still discovering


async def test_records_of_ended_jobs_and_status_gets_take_turns(make_rig: Callable[..., Rig]) -> None:
    """20 page-1 jobs seen ending queue 20 record GETs while deeper jobs are due all the time:
    the two kinds alternate, so neither detection nor the outputs wait for the other."""
    rig = make_rig(interval=0.05)
    deep = active_jobs(rig.sim, 30)
    for _ in range(100):
        rig.sim.create_job(status="finished")
    top = active_jobs(rig.sim, 20)
    rig.faults.list_ignores_paging = True
    rig.poller.watch([*deep, *top], known=records(rig.sim, [*deep, *top]))
    rig.start()
    await wait_until(lambda: all(rig.gets(j) >= 1 for j in deep), what="deep jobs polled")
    for job in top:
        rig.sim.force_status(job, "finished")
    await wait_until(lambda: all(rig.state(j).status == "finished" for j in top), what="seen ending")
    mark = rig.count()
    await wait_until(
        lambda: all((s := rig.state(j)).job is not None and s.job.status == "finished" for j in top), what="records"
    )
    after = [r.path.rsplit("/", 1)[1] for r in rig.requests(mark) if r.path != LIST_PATH]
    kinds = ["record" if job in top else "status" for job in after]
    last_record = max(i for i, kind in enumerate(kinds) if kind == "record")
    assert kinds.count("record") == 20
    assert kinds[:last_record].count("status") >= 15, kinds  # about one status GET per record


async def test_list_that_omits_jobs_falls_back_to_gets(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.2)
    jobs = active_jobs(rig.sim, 24)
    rig.faults.list_omits = 0.3
    omitted = [j for j in jobs if rig.faults.omits(j)]
    listed = [j for j in jobs if not rig.faults.omits(j)]
    assert omitted and listed
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    start = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, start), what="all confirmed")
    await asyncio.sleep(0.2)
    assert all(rig.gets(j) >= 1 for j in omitted)
    assert sum(rig.gets(j) for j in listed) == 0
    rig.sim.force_status(omitted[0], "error")
    await wait_until(lambda: rig.state(omitted[0]).status == "error", timeout=2, what="change")


async def test_list_errors_fall_back_to_gets(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.1)
    jobs = active_jobs(rig.sim, 5)
    rig.faults.update({"status": 500, "status_paths": r"/batch-processor$"})
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    start = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, start), what="confirmed by GETs")
    rig.sim.force_status(jobs[2], "finished")
    await wait_until(lambda: rig.state(jobs[2]).status == "finished", timeout=2, what="change")
    # Backed-off list probes never outnumber the GETs that do the work (equal under a loaded machine).
    assert rig.lists() <= sum(rig.gets(j) for j in jobs)
    # The list comes back: sweeps take over again.
    rig.faults.reset()
    mark = rig.count()
    await wait_until(
        lambda: len(tail := rig.requests(mark)[-3:]) == 3 and all(r.path == LIST_PATH for r in tail),
        timeout=3,
        what="sweeps again",
    )


# -- failures and recovery -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 502},  # an HTML gateway page
        {"non_json": True},
        {"truncate": True},
        {"wrong_shape": True},
    ],
    ids=["500", "502-html", "non-json", "truncated", "wrong-shape"],
)
async def test_transient_errors_back_off_and_recover(make_rig: Callable[..., Rig], fault: dict[str, Any]) -> None:
    rig = make_rig(interval=0.05, backoff_initial=0.2, backoff_max=0.4, list_backoff_max=0.4)
    jobs = active_jobs(rig.sim, 3)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="first confirmation")
    rig.faults.update(fault)
    mark = rig.count()
    await wait_until(lambda: rig.poller.engine_state().mode == "backing-off", what="backing off")
    assert rig.poller.engine_state().last_error and rig.poller.engine_state().backoff_until
    await asyncio.sleep(0.4)
    # Without backoff this would be ~20 requests/s; with it, a handful.
    assert 1 <= rig.count() - mark <= 4, rig.count() - mark
    rig.faults.reset()
    cleared = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, cleared), what="recovery")
    await wait_until(lambda: rig.poller.engine_state().mode == "running", what="running")
    assert rig.poller.engine_state().last_error is None
    assert all(rig.state(j).last_error is None for j in jobs)
    assert "backing-off" in rig.modes() and rig.modes()[-1] == "running"


@pytest.mark.parametrize("fault", [{"drop": 1.0}, {"latency": 0.3}], ids=["dropped", "timeout"])
async def test_connection_failures_go_offline_and_recover(make_rig: Callable[..., Rig], fault: dict[str, Any]) -> None:
    rig = make_rig(loopback=True, interval=0.05, timeout=httpx2.Timeout(0.1))
    jobs = active_jobs(rig.sim, 2)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="first confirmation")
    rig.faults.update(fault)
    await wait_until(lambda: rig.poller.engine_state().mode == "offline", timeout=6, what="offline")
    assert rig.poller.engine_state().last_error
    rig.faults.reset()
    cleared = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, cleared), timeout=4, what="recovery")
    await wait_until(lambda: rig.poller.engine_state().mode == "running", what="running")
    assert "offline" in rig.modes() and rig.modes()[-1] == "running"


async def test_a_bug_is_not_taken_for_a_network_fault() -> None:
    """Only API errors are faults to back off from; anything else propagates out of updates()."""
    calls = 0

    def handler(_request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug in the request path")

    client = BatchClient("http://sim.test/v1", KEY, budget=RequestBudget(20), transport=httpx2.MockTransport(handler))
    poller = Poller(client, **FAST)
    poller.watch(["5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"])
    try:

        async def drain() -> None:
            async with asyncio.timeout(2):
                async for _ in poller.updates():
                    pass

        with pytest.raises(RuntimeError, match="a bug in the request path"):
            await drain()
    finally:
        await client.aclose()
    assert calls == 1  # not retried as if transient


async def test_a_network_fault_is_not_a_bug() -> None:
    """The same rig with a transport-level failure: the engine backs off and keeps running."""
    calls = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        raise httpx2.ConnectError("refused", request=request)

    client = BatchClient("http://sim.test/v1", KEY, budget=RequestBudget(20), transport=httpx2.MockTransport(handler))
    poller = Poller(client, **FAST)
    poller.watch(["5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"])
    modes: list[str] = []

    async def consume() -> None:
        async for update in poller.updates():
            modes.append(update.engine.mode)

    task = asyncio.create_task(consume())
    try:
        await wait_until(lambda: "offline" in modes, what="offline")
        assert not task.done() and calls >= 3
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


async def test_forbidden_job_is_not_retried_blindly(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    job, other = active_jobs(rig.sim, 1)[0], rig.sim.create_job(status="submitted")
    rig.faults.update({"status": 403, "status_paths": re.escape(job) + "$"})
    rig.poller.watch([job, other])
    rig.poller.want_records([job, other])
    rig.start()
    await wait_until(lambda: "403" in (rig.state(job).last_error or ""), what="403 noted")
    await wait_until(lambda: rig.state(other).job is not None, what="other job fine")
    await asyncio.sleep(0.5)
    assert rig.gets(job) == 1
    assert "403" in (rig.state(job).last_error or "")  # list sightings don't hide it
    assert rig.poller.engine_state().mode == "running"
    rig.faults.reset()
    rig.poller.refresh(job)
    await wait_until(lambda: rig.state(job).job is not None, what="refresh after 403")
    assert rig.state(job).last_error is None


async def test_not_found_marks_the_job_gone(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    ghost = "00000000-0000-4000-8000-000000000000"
    rig.poller.watch([ghost])
    rig.start()
    await wait_until(lambda: rig.state(ghost).gone, what="gone")
    assert rig.state(ghost).last_error
    assert rig.gets(ghost) == 1 and rig.poller.idle
    before = rig.count()
    await asyncio.sleep(0.3)
    assert rig.count() == before


async def test_job_deleted_while_watched_becomes_gone(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    jobs = active_jobs(rig.sim, 4)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="confirmed")
    rig.sim.delete(jobs[1])
    await wait_until(lambda: rig.state(jobs[1]).gone, what="gone")
    gets = rig.gets(jobs[1])
    await asyncio.sleep(0.3)
    assert rig.gets(jobs[1]) == gets  # never asked again
    assert not any(rig.state(j).gone for j in (jobs[0], jobs[2], jobs[3]))


async def test_bad_key_stops_polling_until_resume(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    jobs = active_jobs(rig.sim, 3)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="confirmed")
    rig.sim.set_api_key("revoked")  # the key is revoked mid-run
    await wait_until(lambda: rig.poller.engine_state().mode == "unauthorised", what="unauthorised")
    assert rig.modes()[-1] == "unauthorised"  # consumers were told
    assert "401" in (rig.poller.engine_state().last_error or "")
    stopped = rig.count()
    await asyncio.sleep(0.3)
    assert rig.count() == stopped
    rig.sim.set_api_key(KEY)  # fixed; the engine still waits to be told
    await asyncio.sleep(0.2)
    assert rig.count() == stopped
    rig.poller.resume()
    resumed = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, resumed), what="polling again")
    assert rig.poller.engine_state().mode == "running"
    # A refresh also tries again.
    rig.sim.set_api_key("revoked-again")
    await wait_until(lambda: rig.poller.engine_state().mode == "unauthorised", what="unauthorised again")
    rig.sim.set_api_key(KEY)
    rig.poller.refresh(jobs[0])
    await wait_until(lambda: rig.poller.engine_state().mode == "running", what="refresh retried")


async def test_missing_key_is_unauthorised_and_a_new_client_recovers(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(key=None)
    jobs = active_jobs(rig.sim, 2)
    rig.poller.watch(jobs)
    rig.start()
    await wait_until(lambda: rig.poller.engine_state().mode == "unauthorised", what="unauthorised")
    assert "authorization-header-error" in (rig.poller.engine_state().last_error or "")
    assert rig.count() == 1
    rig.poller.client = BatchClient(rig.base_url, KEY, budget=rig.budget, transport=rig.transport)
    try:
        rig.poller.resume()
        await wait_until(lambda: all(rig.state(j).status == "processing" for j in jobs), what="statuses")
        assert rig.poller.engine_state().mode == "running"
    finally:
        await rig.poller.client.aclose()


async def test_429_storm_backs_off_for_everyone(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.05)
    jobs = active_jobs(rig.sim, 5)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="confirmed")
    rig.faults.update({"status": 429, "retry_after": 0.15})
    storm = rig.count()
    await asyncio.sleep(0.5)
    assert rig.poller.engine_state().mode == "backing-off"
    times = [r.at for r in rig.requests(storm)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) >= 2 and min(gaps) >= 0.14, gaps  # Retry-After honoured between attempts
    # Another part of the process (the TUI fetching an access link, say) waits too.
    await wait_until(lambda: rig.budget.paused, what="budget paused")
    other = BatchClient(rig.base_url, KEY, budget=rig.budget, transport=rig.transport)
    try:
        began = time.monotonic()
        with pytest.raises(errors.RateLimited):
            await other.get_job(jobs[0])  # still 429 when it goes, but only after the pause
        assert time.monotonic() - began >= 0.1
    finally:
        await other.aclose()
    # Without Retry-After: exponential backoff, never hammering.
    rig.faults.update({"retry_after": None})
    mark = rig.count()
    await asyncio.sleep(0.5)
    assert rig.count() - mark <= 4
    # After the storm: the real limiter at exactly the budget, and not one 429.
    rig.faults.reset()
    rig.faults.update({"rate_limit": 20})
    before_429 = rig.sim.requests.count_status(429)
    after = rig.count()
    await wait_until(lambda: rig.poller.engine_state().mode == "running", what="running again")
    await asyncio.sleep(0.8)
    assert rig.sim.requests.count_status(429) == before_429
    tail = sorted(r.at for r in rig.requests(after))
    in_any_second = max(sum(1 for t in tail if s - 1 < t <= s) for s in tail)
    assert in_any_second <= 20


# -- control -------------------------------------------------------------------------------------


async def test_refresh_jumps_the_queue(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(rate=10)
    queued = [rig.sim.create_job(status="finished") for _ in range(30)]
    target = rig.sim.create_job(status="finished")
    rig.poller.watch([target], known=records(rig.sim, [target]))
    rig.poller.watch(queued, statuses=dict.fromkeys(queued, "finished"))
    rig.poller.want_records(queued)  # 30 record GETs to do
    rig.start()
    await wait_until(lambda: rig.count() >= 3, what="busy")
    at = rig.count()
    rig.poller.refresh(target)
    await wait_until(lambda: rig.gets(target) == 1, what="refresh")
    position = next(i for i, r in enumerate(rig.requests(at)) if r.path == job_path(target))
    assert position <= 1, position  # at most the request already in flight went first
    assert sum(rig.gets(j) for j in queued) < 30  # ... while the queue was far from done


async def test_pause_and_resume(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.05)
    jobs = active_jobs(rig.sim, 10)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="confirmed")
    rig.poller.pause()
    assert rig.poller.paused
    await wait_until(lambda: rig.modes()[-1:] == ["paused"], what="paused update")
    await asyncio.sleep(0.05)
    mark = rig.count()
    await asyncio.sleep(0.4)  # would be ~8 requests at this interval
    assert rig.count() == mark
    rig.poller.refresh(jobs[3])  # the user's explicit refresh still goes, and only that
    await wait_until(lambda: rig.count() == mark + 1, what="refresh while paused")
    await asyncio.sleep(0.2)
    assert [r.path for r in rig.requests(mark)] == [job_path(jobs[3])]
    assert rig.poller.engine_state().mode == "paused"
    mark = rig.count()
    rig.poller.resume()
    assert not rig.poller.paused
    await wait_until(lambda: rig.count() > mark + 3, what="polling again")
    assert rig.modes()[-1] == "running"


async def test_add_and_remove_jobs_while_running(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.1)
    rig.faults.list_omits = 1.0  # every job by GET, so per-job requests are countable
    a, b = active_jobs(rig.sim, 2)
    rig.poller.watch([a], known=records(rig.sim, [a]))
    rig.start()
    await wait_until(lambda: rig.gets(a) >= 2, what="a polled")
    rig.poller.watch([b], known=records(rig.sim, [b]))
    await wait_until(lambda: rig.gets(b) >= 2, what="b polled")
    rig.poller.unwatch(a)
    await asyncio.sleep(0.05)
    gets_a, gets_b = rig.gets(a), rig.gets(b)
    await asyncio.sleep(0.35)
    assert rig.gets(a) == gets_a
    assert rig.gets(b) >= gets_b + 2
    assert set(rig.poller.states()) == {b}


async def test_fair_rotation_for_jobs_the_list_cannot_reach(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.01)
    rig.faults.list_omits = 1.0
    jobs = active_jobs(rig.sim, 8)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: sum(rig.gets(j) for j in jobs) >= 16, what="16 GETs")
    order = [r.path.rsplit("/", 1)[1] for r in rig.requests() if r.path != LIST_PATH]
    for start in range(0, 16, 8):  # strict round robin: the longest unconfirmed goes first
        assert sorted(order[start : start + 8]) == sorted(jobs), order
    assert order[:8] == jobs  # never-confirmed jobs in watch order


async def test_interval_is_a_floor_per_job(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(interval=0.2)
    rig.faults.list_omits = 1.0
    jobs = active_jobs(rig.sim, 4)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()

    def times(job: str) -> list[float]:
        return [r.at for r in rig.requests() if r.path == job_path(job)]

    # A condition, not a fixed 0.7 s: a loaded machine may poll less often, never more.
    await wait_until(lambda: all(len(times(job)) >= 3 for job in jobs), timeout=10, what="three GETs a job")
    for job in jobs:
        seen = times(job)
        assert all(b - a >= 0.19 for a, b in itertools.pairwise(seen)), seen


async def test_nothing_due_means_sleeping_not_spinning(
    make_rig: Callable[..., Rig], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = make_rig()
    done = rig.sim.create_job(status="finished")
    rig.poller.watch([done], known=records(rig.sim, [done]))
    decisions = 0
    original = rig.poller._next_action

    def counting(now: float) -> Any:
        nonlocal decisions
        decisions += 1
        return original(now)

    monkeypatch.setattr(rig.poller, "_next_action", counting)
    rig.start()
    await asyncio.sleep(0.4)
    assert rig.count() == 0
    assert decisions <= 2
    # Waking it for new work is immediate.
    live = active_jobs(rig.sim, 1)[0]
    rig.poller.watch([live])
    await wait_until(lambda: rig.state(live).status == "processing", timeout=1, what="woken")


async def test_updates_refuse_a_second_consumer(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig().start()
    await asyncio.sleep(0.05)
    with pytest.raises(RuntimeError):
        await rig.poller.updates().__anext__()


# -- over real loopback, with the simulator enforcing the budget ---------------------------------


async def test_loopback_with_rate_limit_detects_every_change(make_rig: Callable[..., Rig]) -> None:
    sim = Simulator(api_key=KEY)
    for _ in range(150):
        sim.create_job(status="finished")  # older, unwatched
    jobs = [sim.create_job(status="submitted", processing_in=0.2 + 0.01 * i, done_in=0.5 + 0.01 * i) for i in range(30)]
    rig = make_rig(sim, Faults(rate_limit=20), loopback=True, interval=0.2)
    rig.poller.watch(jobs, known=records(sim, jobs))
    rig.start()
    await wait_until(lambda: all(rig.state(j).status == "finished" for j in jobs), timeout=6, what="finished")
    assert sim.requests.count_status(429) == 0
    assert sim.requests.max_in_window(1.0) <= 20
    seen = {(c.id, c.status): c.observed_at for c in rig.changes()}
    for job in jobs:
        for status, at in sim.transitions(job)[1:]:
            observed = seen.get((job, status))
            if observed is None:  # skipped straight past processing between two looks
                assert status == "processing"
                continue
            assert 0 <= observed - at <= 0.2 + 0.5, (job, status, observed - at)
    assert PAGE == 100


async def test_scheduling_cost_follows_the_active_jobs_not_the_watched() -> None:
    """20,000 watched, 10 active: a scheduling decision must not scan the 19,990 ended jobs
    (it did: about 28 ms each at 100,000 watched, on the event loop the UI shares)."""
    client = BatchClient("http://sim.test/v1", KEY, budget=RequestBudget(5))
    try:
        poller = Poller(client)
        ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(20_000)]
        poller.watch(ids, statuses=dict.fromkeys(ids[10:], "finished"))
        began = time.perf_counter()
        for _ in range(50):
            action, _wait = poller._next_action(time.monotonic())
        per_decision = (time.perf_counter() - began) / 50
        assert action is not None and action.kind == "page"
        assert per_decision < 0.001, per_decision
    finally:
        await client.aclose()


async def test_a_key_fixed_at_the_server_is_noticed_by_a_slow_recheck(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(auth_recheck=0.3)
    jobs = active_jobs(rig.sim, 2)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="confirmed")
    rig.sim.set_api_key("revoked")
    await wait_until(lambda: rig.poller.engine_state().mode == "unauthorised", what="unauthorised")
    state = rig.poller.engine_state()
    assert state.retry_at is not None and state.retry_at > time.time()
    stopped = rig.count()
    await asyncio.sleep(0.75)
    rechecks = rig.count() - stopped
    assert 1 <= rechecks <= 3, "one request per recheck, not a retry storm"
    rig.sim.set_api_key(KEY)  # fixed at the server; nobody tells the engine
    fixed = time.time()
    await wait_until(lambda: rig.confirmed_since(jobs, fixed), what="polling again by itself")
    assert rig.poller.engine_state().mode == "running"


async def test_unauthorised_is_not_hidden_by_pause_and_idle_is_reported(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig()
    jobs = active_jobs(rig.sim, 1)
    rig.poller.watch(jobs, known=records(rig.sim, jobs))
    rig.start()
    await wait_until(lambda: rig.confirmed_since(jobs, 0), what="confirmed")
    assert not rig.poller.engine_state().idle
    rig.sim.set_api_key("revoked")
    await wait_until(lambda: rig.poller.engine_state().mode == "unauthorised", what="unauthorised")
    rig.poller.pause()
    assert rig.poller.engine_state().mode == "unauthorised", "pausing does not fix the key"
    rig.sim.set_api_key(KEY)
    rig.poller.resume()
    rig.sim.force_status(jobs[0], "finished")
    await wait_until(lambda: rig.poller.engine_state().idle, what="idle once every job ended")
    await wait_until(lambda: rig.updates and rig.updates[-1].engine.idle, what="idle reported")
    assert rig.poller.engine_state().host == "sim.test:80"


async def test_a_decision_among_100000_unknown_jobs_looks_at_a_few(monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 watched, status unknown (all active): after the first decision, each decision looks
    at a handful of them, not all (it scanned them: about 250 ms a decision, on the UI's loop)."""
    looked = itertools.count()
    due_at = engine._Entry.due_at
    rotation_key = engine._rotation_key
    unknown_key = engine.Poller._unknown_key

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            next(looked)
            return real(*args)

        return wrapper

    monkeypatch.setattr(engine._Entry, "due_at", counted(due_at))
    monkeypatch.setattr(engine, "_rotation_key", counted(rotation_key))
    monkeypatch.setattr(engine.Poller, "_unknown_key", counted(unknown_key))
    client = BatchClient("http://sim.test/v1", KEY, budget=RequestBudget(5))
    try:
        poller = Poller(client)
        ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(100_000)]
        poller.watch(ids)
        kinds = {poller._next_action(time.monotonic())[0].kind}  # type: ignore[union-attr]
        before = next(looked)
        for _ in range(100):
            action, _wait = poller._next_action(time.monotonic())
            assert action is not None
            kinds.add(action.kind)
        assert kinds == {"page"}  # a sweep was started and goes on
        assert next(looked) - before < 100 * 5
    finally:
        await client.aclose()
