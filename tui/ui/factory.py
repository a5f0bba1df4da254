"""The one factory that builds the App for the CLI, the demo, the tests and the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from pydantic import SecretStr

from tui.api.ids import PickedIds
from tui.core import locations
from tui.core.config import Settings
from tui.core.session import Session
from tui.ui.app import FLUSH_EVERY, SAVE_EVERY, BatchmonApp
from tui.ui.keymap import binding_ids, check_keymap
from tui.ui.screens.main import MainScreen
from tui.ui.widgets.job_table import JobTable

DEMO_JOBS = 24
DEMO_SEED = 7
DEMO_SPEED = 2.0  # the seeded schedule plays out over about two and a half minutes
DEMO_SPAWN_EVERY = 15.0  # seconds: a new job every 10-20 s, so following the domain shows life


def build_app(
    settings: Settings,
    *,
    picked: PickedIds | None = None,
    demo: bool = False,
    state_path: Path | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    app_class: type[BatchmonApp] = BatchmonApp,
    flush_every: float = FLUSH_EVERY,
    save_every: float = SAVE_EVERY,
    backoff_initial: float = 1.0,
    follow: bool | None = None,
    recent: int | None = None,
) -> BatchmonApp:
    """The app, with its session (client, poller, store and WatchList) (`picked`: ids checked at the edge).

    Demo mode serves a seeded simulator on a loopback port (stopped when the app exits), watches
    its jobs, needs no key, and keeps its own watch list, started afresh each run.
    """
    bindings = [*MainScreen.BINDINGS, *JobTable.BINDINGS]
    where = f"{locations.config_file()}: keymap"
    check_keymap(settings.keymap, binding_ids(bindings), where, bindings)  # ConfigError before any I/O
    api_url, api_key = settings.api_url, settings.api_key
    on_exit: Callable[[], None] | None = None
    if demo:
        from tui.sim import SimServer, Simulator  # the simulator is only needed for the demo
        from tui.sim.spawner import Spawner

        sim = Simulator(jobs=DEMO_JOBS, seed=DEMO_SEED, speed=DEMO_SPEED)
        server = SimServer(sim).start()
        spawner = Spawner(sim, DEMO_SPAWN_EVERY, seed=DEMO_SEED).start()

        def on_exit() -> None:
            spawner.stop()
            server.stop()

        api_url, api_key = server.base_url, SecretStr(sim.api_key)
        follow = True if follow is None else follow  # the demo follows its domain unless told not to
        given = picked or PickedIds([], 0)
        picked = PickedIds([*reversed(sim.ids()), *given.ids], given.ignored, given.near_misses, given.samples)
        if state_path is None:
            state_path = locations.state_db(demo=True)
            # The simulator starts from scratch each run, so yesterday's demo jobs no longer exist.
            for suffix in ("", "-wal", "-shm"):
                state_path.with_name(state_path.name + suffix).unlink(missing_ok=True)
    session = Session.build(
        settings,
        api_url=api_url,
        api_key=api_key,
        state_path=state_path,
        transport=transport,
        clock=clock,
        backoff_initial=backoff_initial,
        follow=follow,
        recent=recent,
        demo=demo,
    )
    return app_class(
        session=session,
        picked=picked,
        clock=clock,
        demo=demo,
        on_exit=on_exit,
        flush_every=flush_every,
        save_every=save_every,
    )
