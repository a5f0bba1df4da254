"""Property-based tests of the running app: random key sequences, and random or adversarial JSON from the server.

Whatever the keys or the bodies: no unhandled exception, and the watch list changes only by explicit
add and remove actions (in memory and in the store alike).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send
from strategies import any_value, json_values, outputs
from support import T0, FakeClock
from textual.binding import Binding

from tui.api.ids import pick_job_ids
from tui.core.config import CopySettings, Settings
from tui.sim import Simulator, create_app
from tui.store.database import Store
from tui.ui.app import BatchmonApp
from tui.ui.factory import build_app
from tui.ui.screens.main import MainScreen

PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
GONE_ID = "0b7e2f0c-95a4-4d3e-8f61-3a2c9d1e7b55"  # watched, but the simulator never had it

# The app's keys (all but quit: it would end the example early), plus the ones a user hits by accident.
BOUND = sorted({binding.key for binding in MainScreen.BINDINGS if isinstance(binding, Binding) and binding.key != "q"})
KEYS = [*BOUND, "escape", "enter", "tab", "shift+tab", "up", "down", "left", "right", "home", "end"]
KEYS += ["pageup", "pagedown", "space", "backspace", "j", "k", "y", "n", "u", "ctrl+s", "ctrl+z"]
keys = st.lists(st.sampled_from(KEYS) | st.sampled_from("abcxyz0123456789-/"), max_size=20)


def every_state(sim: Simulator) -> list[str]:
    """Jobs in every state the list can hold: active, ended, an unknown status, and one that is gone."""
    ids = [
        sim.create_job(status="submitted", processing_in=None, done_in=None),
        sim.create_job(status="processing", processing_in=None, done_in=None),
        sim.create_job(preset="soap-notes", status="finished"),
        sim.create_job(status="error", error="Error: silent file"),
        sim.create_job(status="processing", processing_in=None, done_in=None),
    ]
    sim.force_status(ids[-1], "queued-for-gpu")
    return [*ids, GONE_ID]


def make_app(transport: httpx2.AsyncBaseTransport, ids: list[str], folder: Path, tick: float = 0.05) -> BatchmonApp:
    settings = Settings(
        api_key=SecretStr("sim-key"),
        api_url="http://sim/v1",
        rate=20,
        interval=0.5,
        download_dir=folder / "downloads",
        copy=CopySettings(osc52=True, tmux=False, native=False),  # no clipboard tools run
    )
    return build_app(
        settings,
        picked=pick_job_ids("\n".join(ids)),
        state_path=folder / "batchmon.db",
        transport=transport,
        clock=FakeClock(),
        flush_every=tick,
        save_every=2 * tick,
        backoff_initial=0.05,
    )


def stored(folder: Path) -> list[str]:
    store = Store(folder / "batchmon.db")
    store.open()
    try:
        return list(store.load())
    finally:
        store.close()


def recording_removals(app: BatchmonApp) -> list[str]:
    """Every id the app asked the WatchList to remove (the one explicit way a job leaves it)."""
    removed: list[str] = []
    remove = app.watchlist.remove

    def spy(job_ids: Any) -> list[str]:
        job_ids = list(job_ids)
        removed.extend(job_ids)
        return remove(job_ids)

    app.watchlist.remove = spy  # type: ignore[method-assign,assignment]
    return removed


@PROPERTY
@given(sequence=keys)
def test_random_keys_never_crash_and_never_lose_a_job(sequence: list[str]) -> None:
    sim = Simulator(seed=3, clock=lambda: T0)
    ids = every_state(sim)

    async def run(folder: Path) -> tuple[list[str], list[str], list[str]]:
        app = make_app(httpx2.ASGITransport(app=create_app(sim)), ids, folder)
        removed = recording_removals(app)
        async with app.run_test(headless=True, size=(100, 30)) as pilot:
            await pilot.pause(0.1)
            for key in sequence:
                await pilot.press(key)
                assert app.is_running and app._exception is None, f"after {key!r} in {sequence}"
            await pilot.pause(0.1)
            kept = app.watchlist.ids()
        assert app._exception is None
        return kept, removed, stored(folder)

    with tempfile.TemporaryDirectory() as name:
        kept, removed, on_disk = asyncio.run(run(Path(name)))
    # Random keys never form a job id in the add dialog, so nothing is added; what left was removed.
    assert set(ids) - set(kept) <= set(removed)
    assert set(kept) <= set(ids)
    assert sorted(on_disk) == sorted(kept)


class Spoiler:
    """ASGI: the simulator, except that the next API answers are the given bodies (200, as JSON)."""

    def __init__(self, sim: Simulator) -> None:
        self.app = create_app(sim)
        self.bodies: deque[bytes] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or not self.bodies:
            await self.app(scope, receive, send)
            return
        body = self.bodies.popleft()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def dumped(value: Any) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b'{"not": "serialisable"}'


def job_like(ids: list[str]) -> st.SearchStrategy[Any]:
    """A record with the right keys and random values, or with some keys missing, or extra ones."""
    known = {
        "id": st.sampled_from(ids) | any_value,
        "status": st.sampled_from(["submitted", "processing", "finished", "error", "odd"]) | any_value,
        "preset": st.sampled_from(["soap-notes", "transcript"]) | any_value,
        "input": any_value,
        "output": outputs | any_value,
        "error": any_value,
    }
    return st.fixed_dictionaries({}, optional=known).flatmap(
        lambda record: st.dictionaries(st.text(max_size=10), json_values, max_size=3).map(lambda extra: extra | record)
    )


def bodies(ids: list[str]) -> st.SearchStrategy[bytes]:
    listing = st.fixed_dictionaries(
        {"data": st.lists(job_like(ids) | any_value, max_size=4)},
        optional={"total_count": any_value, "has_more": any_value, "next_cursor": any_value},
    )
    return (
        st.builds(dumped, job_like(ids) | listing | any_value)
        | st.binary(max_size=64)
        | st.sampled_from([b"", b"{", b"[", b"null", b'{"data": null}', b"1e999", b'"\x1b]52;c;aGk=\x07"'])
    )


@PROPERTY
@given(data=st.data())
def test_random_and_adversarial_bodies_never_crash_the_app(data: st.DataObject) -> None:
    sim = Simulator(seed=5, clock=lambda: T0)
    ids = every_state(sim)
    # Each bad answer doubles the backoff: a few bodies keep an example short.
    served = data.draw(st.lists(bodies(ids), min_size=1, max_size=5), label="bodies")
    spoiler = Spoiler(sim)

    async def run(folder: Path) -> tuple[list[str], list[str]]:
        app = make_app(httpx2.ASGITransport(app=spoiler), ids, folder)
        async with app.run_test(headless=True, size=(100, 30)) as pilot:
            spoiler.bodies.extend(served)
            await wait(pilot, lambda: not spoiler.bodies, app)
            for key in ("down", "r", "enter"):  # rows and detail drawn from them
                await pilot.press(key)
            await pilot.pause(0.2)
            assert app.is_running and app._exception is None, "the app stopped"
            kept = app.watchlist.ids()
        assert app._exception is None
        return kept, stored(folder)

    with tempfile.TemporaryDirectory() as name:
        kept, on_disk = asyncio.run(run(Path(name)))
    assert sorted(kept) == sorted(on_disk) == sorted(ids)


async def wait(pilot: Any, condition: Callable[[], bool], app: BatchmonApp, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert app.is_running and app._exception is None, "the app stopped"
        assert loop.time() < deadline, "the app stopped asking the server"
        await pilot.pause(0.05)
