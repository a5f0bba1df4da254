"""The WatchList following the domain: found jobs saved as followed, the choice remembered."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx2

from tui.api import BatchClient, RequestBudget
from tui.core.watchlist import WatchList
from tui.poller import Poller
from tui.sim import Simulator, create_app
from tui.store.database import Store

KEY = "follow-watchlist-key"


def make_list(db: Path, sim: Simulator) -> WatchList:
    transport = httpx2.ASGITransport(app=create_app(sim))
    client = BatchClient("http://sim.test/v1", KEY, budget=RequestBudget(20), transport=transport)
    return WatchList(Store(db), Poller(client, interval=0.05))


async def test_found_jobs_are_saved_as_followed_and_the_choice_is_remembered(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sim = Simulator(api_key=KEY)
    older = [sim.create_job(status="finished") for _ in range(3)]
    mine = sim.create_job(status="finished")
    model = make_list(db, sim)
    model.open([mine], follow=True, recent=2)
    assert model.following and model.recent == 2

    async def pump() -> None:
        async for update in model.poller.updates():
            model.receive(update)

    task = asyncio.create_task(pump())
    try:
        deadline = time.monotonic() + 4
        views = []
        fresh = ""
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            views += model.take().views
            if older[2] in model and not fresh:
                fresh = sim.create_job(status="processing")
            if fresh and fresh in model:
                break
        assert fresh in model
        # The two most recent when following began (one of them already watched by hand), then the new one.
        assert model.ids() == [mine, older[2], fresh]
        assert [model.view(i).followed for i in model.ids()] == [False, True, True]
        assert fresh in {view.id for view in views}  # handed out as a row to add
        model.set_following(False)
        assert not model.following
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        model.close()
        await model.poller.client.aclose()
    saved = Store(db)
    saved.open()
    jobs = saved.load()
    assert [(i, jobs[i].followed) for i in jobs] == [(mine, False), (older[2], True), (fresh, True)]
    assert (saved.setting("follow"), saved.setting("recent")) == ("off", "2")
    saved.close()
    again = make_list(db, sim)
    again.open()
    assert not again.following and again.recent == 2
    again.add([fresh])  # added by hand now: no longer only followed
    assert not again.view(fresh).followed
    again.close()
    third = make_list(db, sim)
    third.open(follow=True)
    assert third.following and not third.view(fresh).followed
    third.close()
    await again.poller.client.aclose()
    await third.poller.client.aclose()


async def test_another_instance_adding_a_followed_job_by_hand_is_seen(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sim = Simulator(api_key=KEY)
    job = sim.create_job(status="finished")
    here = make_list(db, sim)
    here.open()
    following = Store(db)  # another instance, following the domain, found it
    following.open()
    following.add([job], 1.0, followed=True)
    following.close()
    here.reconcile()
    assert here.view(job).followed
    there = make_list(db, sim)
    there.open([job])  # by hand, in another instance
    reconciled = here.reconcile()
    assert reconciled is not None and [view.id for view in reconciled.views] == [job]
    assert not here.view(job).followed
    here.close()
    there.close()
    await here.poller.client.aclose()
    await there.poller.client.aclose()
