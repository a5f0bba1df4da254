"""Fault matrix for the TUI over loopback: no crash, a clear word, the watch list intact, recovery, within budget.

Every case runs the real app (tui.ui.factory.build_app) under Pilot against its own simulator on a
loopback port; MATRIX_WORKERS cases run at a time, each on its own thread and event loop (all 18 at
once starved 2 cores: cases timed out), and each case is then checked by its own test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from textual.pilot import Pilot

from tui.api.ids import pick_job_ids
from tui.core.config import Settings
from tui.sim import Faults, SimServer, Simulator
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app

KEY = "tui-fault-matrix-secret-91ac"
RATE = 10
FAULTED_REQUESTS = 3  # a transient fault stays on until this many requests met it (and it was shown)
REASON = "Error: silent file"
MATRIX_WORKERS = 4  # cases at a time: each is mostly waiting on its app and server
EXPECTED = {"fine": "finished", "failing": "error", "done": "finished", "waiting": "processing"}


@dataclass
class Outcome:
    indicated: list[str]  # what the app showed while the fault was on
    ids_before: list[str]  # the watch list once the jobs were first fetched
    ids_after: list[str]  # the watch list (in memory) at the end
    stored_after: list[str]  # the watch list in the store, read back after the app exited
    final: dict[str, str | None]  # role -> status the app shows at the end
    max_per_1s: int
    still_running: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class Rig:
    server: SimServer
    state: Path
    app: BatchmonApp | None = None
    pilot: Pilot[None] | None = None
    ids: dict[str, str] = field(default_factory=dict)
    indicated: list[str] = field(default_factory=list)

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    async def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
        assert self.pilot is not None and self.app is not None
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.app.is_running and self.app._exception is None, f"app stopped while waiting for {what}"
            self.note_indication()
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            await self.pilot.pause(0.05)

    def note_indication(self) -> None:
        """Whatever the app shows that says something is wrong: engine mode, its error, a row's error."""
        assert self.app is not None
        watchlist = self.app.watchlist
        engine = watchlist.engine
        if engine is not None and (engine.mode not in ("running", "paused") or engine.last_error):
            self.indicated.append(f"{engine.mode}: {engine.last_error}")
        for job_id in self.ids.values():
            error = watchlist.view(job_id).last_error if job_id in watchlist else None
            if error:
                self.indicated.append(f"row: {error}")
        if watchlist.stopped:
            self.indicated.append(f"stopped: {watchlist.stopped}")

    def shown(self) -> bool:
        self.note_indication()
        return bool(self.indicated)

    def status(self, role: str) -> str | None:
        assert self.app is not None
        job_id = self.ids[role]
        return self.app.watchlist.view(job_id).status if job_id in self.app.watchlist else None

    def fetched(self) -> bool:
        return all(self.status(role) is not None for role in self.ids)

    def recovered(self) -> bool:
        return all(self.status(role) == EXPECTED[role] for role in self.ids)

    async def fault_until_met(self, met: int = FAULTED_REQUESTS, **faults: Any) -> None:
        before = self.sim.requests.count
        self.server.faults.update(faults)
        try:
            await self.wait_for(lambda: self.sim.requests.count >= before + met, "the fault to be met")
            await self.wait_for(self.shown, "the fault to be shown")
        finally:
            self.server.faults.reset()

    def end(self) -> None:
        self.sim.force_status(self.ids["fine"], "finished")
        self.sim.force_status(self.ids["failing"], "error")
        self.sim.force_status(self.ids["waiting"], "processing")


def jobs(sim: Simulator) -> dict[str, str]:
    """Jobs in every state; the held ones move only when `end` moves them (that proves recovery)."""
    return {
        "fine": sim.create_job(status="processing", processing_in=None, done_in=None),
        "failing": sim.create_job(status="processing", error=REASON, processing_in=None, done_in=None),
        "done": sim.create_job(status="finished"),
        "waiting": sim.create_job(status="submitted", processing_in=None, done_in=None),
    }


Scenario = Callable[[Rig], Awaitable[list[str]]]


def transient(**faults: Any) -> Scenario:
    async def scenario(rig: Rig) -> list[str]:
        await rig.wait_for(rig.fetched, "the first answers")
        await rig.fault_until_met(**faults)
        rig.end()
        return []

    return scenario


def refusal(status: int) -> Scenario:
    """400/401/403/404 stop polling (the job or the key is refused); the user's keys bring it back."""

    async def scenario(rig: Rig) -> list[str]:
        assert rig.app is not None and rig.pilot is not None
        app = rig.app
        await rig.wait_for(rig.fetched, "the first answers")
        await rig.fault_until_met(met=1, status=status)  # one refusal stops polling
        rig.end()
        if status == 401:
            # While the key is refused, p tries it again (it pauses only a running poller: "p p"
            # paused it again whenever the retry had already succeeded).
            await rig.wait_for(lambda: app.session.unauthorised, "polling stopped by the refused key")
            await rig.pilot.press("p")
        else:
            for role in ("fine", "failing", "waiting"):
                rig.app.main.table.select(rig.ids[role])
                await rig.pilot.pause()
                await rig.pilot.press("r")  # fetch this job now
        return []

    return scenario


async def list_fails(rig: Rig) -> list[str]:
    """The list endpoint fails throughout: sweeps cost nothing, jobs fall back to GETs (no alarm needed)."""
    await rig.wait_for(rig.fetched, "the first answers")
    before = rig.sim.requests.count_status(500)
    rig.server.faults.update({"status": 500, "status_paths": "^/v1/batch-processor$"})
    await rig.wait_for(lambda: rig.sim.requests.count_status(500) > before, "the list to fail")
    rig.indicated.append("(silent by design: the jobs are still polled one by one)")
    rig.end()
    return []


async def refused_then_back(rig: Rig) -> list[str]:
    await rig.wait_for(rig.fetched, "the first answers")
    port = rig.server.port
    await asyncio.to_thread(rig.server.stop)
    await rig.wait_for(rig.shown, "offline to be shown")
    rig.server = SimServer(rig.sim, rig.server.faults, port=port)
    await asyncio.to_thread(rig.server.start)
    rig.end()
    return []


async def read_timeout(rig: Rig) -> list[str]:
    await rig.wait_for(rig.fetched, "the first answers")
    rig.server.faults.latency = 11  # beyond the client's 10 s read timeout
    try:
        await rig.wait_for(rig.shown, "the timeout to be shown", timeout=30)
    finally:
        rig.server.faults.reset()
    rig.end()
    return []


async def odd_records(rig: Rig) -> list[str]:
    """Unknown statuses, extra fields (deep, hostile names), output a string, fields null, status missing."""
    sim = rig.sim
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"k": deep}
    sim.force_status(rig.ids["waiting"], "queued-for-gpu")
    sim.set_extra(rig.ids["fine"], {"region_hint": "eu", "deep": deep, "\x1b]52;c;aGk=\x07": 1, "output": "s3://x"})
    sim.set_extra(rig.ids["failing"], {"error": None, "input": None, "preset": None, "output": None})
    sim.set_extra(rig.ids["done"], {"status": None})
    await rig.wait_for(lambda: rig.status("waiting") == "queued-for-gpu", "the unknown status")
    await rig.wait_for(rig.fetched, "the odd records")
    rig.indicated.append("unknown status shown")
    rig.end()
    return []


SCENARIOS: dict[str, Scenario] = {
    "400": refusal(400),
    "401": refusal(401),
    "403": refusal(403),
    "404": refusal(404),
    "429 without Retry-After": transient(status=429),
    "429 with Retry-After": transient(status=429, retry_after=0.5),
    "500": transient(status=500),
    "502 HTML page": transient(status=502),
    "503": transient(status=503),
    "504": transient(status=504),
    "dropped mid-body": transient(drop=1.0),
    "not JSON": transient(non_json=True),
    "truncated JSON": transient(truncate=True),
    "wrong-shape JSON": transient(wrong_shape=True),
    "list endpoint 500 throughout": list_fails,
    "connection refused, then back": refused_then_back,
    "read timeout": read_timeout,
    "odd records": odd_records,
}


def run_case(name: str, state: Path) -> Outcome:
    """One case on its own event loop: the app under Pilot against its own simulator."""
    rig = Rig(SimServer(Simulator(jobs=0, seed=len(name), api_key=KEY), Faults()).start(), state)
    try:
        rig.ids = jobs(rig.sim)
        return asyncio.run(drive(name, rig))
    finally:
        rig.server.stop()


async def drive(name: str, rig: Rig) -> Outcome:
    settings = Settings(api_key=SecretStr(KEY), api_url=rig.server.base_url, rate=RATE, interval=0.5)
    app = build_app(
        settings,
        picked=pick_job_ids("\n".join(rig.ids.values())),
        state_path=rig.state,
        flush_every=0.1,
        save_every=0.2,
        backoff_initial=0.05,
    )
    rig.app = app
    async with app.run_test(headless=True, size=(120, 30)) as pilot:
        rig.pilot = pilot
        ids_before = app.watchlist.ids()
        notes = await SCENARIOS[name](rig)
        await rig.wait_for(rig.recovered, "full recovery", timeout=25)
        await pilot.pause(0.3)  # one more save
        final = {role: rig.status(role) for role in rig.ids}
        outcome = Outcome(
            indicated=rig.indicated,
            ids_before=ids_before,
            ids_after=app.watchlist.ids(),
            stored_after=[],
            final=final,
            max_per_1s=rig.sim.requests.max_in_window(1.0),
            still_running=app.is_running,
            notes=notes,
        )
    assert app._exception is None  # run_test raises it too; say so plainly
    from tui.store.database import Store

    store = Store(rig.state)
    store.open()
    try:
        outcome.stored_after = list(store.load())
    finally:
        store.close()
    return outcome


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome | BaseException]]:
    folder = tmp_path_factory.mktemp("tui-faults")

    def run(item: tuple[int, str]) -> Outcome | BaseException:
        n, name = item
        try:
            return run_case(name, folder / f"case-{n}.db")
        except BaseException as exc:  # reported by that case's test, not by all of them
            return exc

    with ThreadPoolExecutor(max_workers=MATRIX_WORKERS) as pool:
        yield dict(zip(SCENARIOS, pool.map(run, enumerate(SCENARIOS)), strict=True))


@pytest.mark.parametrize("name", SCENARIOS)
def test_fault_is_survived_shown_and_recovered_from_within_budget(
    outcomes: dict[str, Outcome | BaseException], name: str
) -> None:
    result = outcomes[name]
    if isinstance(result, BaseException):
        raise result
    assert result.still_running  # no crash
    assert result.indicated, "nothing on screen said something was wrong"
    assert KEY not in " ".join(result.indicated)
    assert sorted(result.ids_before) == sorted(result.ids_after) == sorted(result.stored_after)
    assert len(result.ids_after) == len(EXPECTED)
    assert result.final == EXPECTED
    assert result.max_per_1s <= RATE, f"{result.max_per_1s} requests in one second at a budget of {RATE}"
