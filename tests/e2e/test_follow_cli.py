"""`batchmon remove`, `watch --follow`, `list | add -` and `simulate --spawn-every`, run as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from support import BATCHMON

from tui.core import locations
from tui.sim import Faults, SimServer, Simulator
from tui.sim.spawner import Spawner
from tui.store.database import Observation, Store

KEY = "follow-cli-key-77a1"
IDS = [f"{n:08x}-1111-4222-8333-444455556666" for n in range(1, 7)]


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=3, api_key=KEY), Faults()) as running:
        yield running


def run(
    *args: str, url: str = "http://127.0.0.1:9/v1", stdin: str = "", timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAILY_API_KEY": KEY, "DAILY_API_URL": url}
    result = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=timeout, input=stdin)
    assert "Traceback" not in result.stderr and KEY not in result.stdout + result.stderr
    return result


def watched() -> dict[str, bool]:
    """id -> followed, as saved."""
    store = Store(locations.state_db())
    store.open()
    try:
        return {job.id: job.followed for job in store.load().values()}
    finally:
        store.close()


@pytest.fixture
def saved() -> dict[str, str]:
    """Six watched jobs: by hand or followed, ended or not, added a day ago or just now."""
    now = time.time()
    store = Store(locations.state_db())
    store.open()
    plan = {  # id: (followed, status, age in seconds)
        IDS[0]: (False, "finished", 86400 * 8),
        IDS[1]: (True, "finished", 86400 * 8),
        IDS[2]: (True, "processing", 86400 * 8),
        IDS[3]: (True, "error", 60),
        IDS[4]: (False, "processing", 60),
        IDS[5]: (True, None, 60),
    }
    for job_id, (followed, status, age) in plan.items():
        store.add([job_id], now - age, followed=followed)
        if status is not None:
            store.stage(Observation(job_id, status, "transcript", now - age + 1))
    store.flush()
    store.close()
    return {job_id: status or "" for job_id, (_, status, _) in plan.items()}


@pytest.mark.usefixtures("saved")
def test_remove_by_flags_keeps_the_rest() -> None:
    result = run("remove", "--finished", "--followed")
    assert (result.returncode, result.stdout.strip()) == (0, "removed 2")  # followed and ended: 1 and 3
    assert set(watched()) == {IDS[0], IDS[2], IDS[4], IDS[5]}
    result = run("remove", "--older-than", "7d")
    assert result.stdout.strip() == "removed 2"  # 0 and 2, added 8 days ago
    assert set(watched()) == {IDS[4], IDS[5]}
    assert run("remove", "--followed").stdout.strip() == "removed 1"
    assert watched() == {IDS[4]: False}


@pytest.mark.usefixtures("saved")
def test_remove_by_id_and_prefix() -> None:
    result = run("remove", IDS[0], "◆" + IDS[1][:8], "0badc0de")  # as the table shows it
    assert (result.returncode, result.stdout.strip()) == (0, "removed 2, 1 not watched")
    assert IDS[0] not in watched() and IDS[1] not in watched()
    ambiguous = run("remove", "0000000")  # every saved id starts so
    assert ambiguous.returncode == 2 and "is ambiguous" in ambiguous.stderr
    assert len(watched()) == 4  # nothing removed
    # Ids and flags together: only the named ones that match.
    assert run("remove", IDS[2], IDS[4], "--followed").stdout.strip() == "removed 1"
    assert set(watched()) == {IDS[3], IDS[4], IDS[5]}


@pytest.mark.usefixtures("saved")
def test_remove_refuses_a_short_prefix_as_get_does() -> None:
    # One resolver, one rule: two characters are too few for every command.
    removed = run("remove", IDS[0][:2])
    got = run("get", IDS[0][:2])
    assert removed.returncode == got.returncode == 2
    assert "too short for a short job id" in removed.stderr and removed.stderr == got.stderr
    assert len(watched()) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say which jobs"),
        (("--older-than", "7 days"), "not an age"),
        (("--older-than", "3x"), "not an age"),
        (("nonsense!",), "not a job id"),
    ],
)
@pytest.mark.usefixtures("saved")
def test_remove_refuses_bad_input_and_changes_nothing(args: tuple[str, ...], message: str) -> None:
    result = run("remove", *args)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert len(watched()) == 6


def test_list_json_piped_into_add(server: SimServer) -> None:
    recording = "7e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
    jobs = [server.sim.create_job(source={"sourceType": "recordingId", "recordingId": recording}) for _ in range(3)]
    server.sim.create_job()  # another recording: not added
    listing = run("list", "--recording-id", recording, "--json", url=server.base_url)
    assert listing.returncode == 0, listing.stderr
    added = run("add", "-", stdin=listing.stdout)
    assert added.returncode == 0 and added.stdout.startswith("added 3, already watched 0")
    assert watched() == dict.fromkeys(jobs, False)


def test_watch_follow_until_idle_exits_once_all_followed_jobs_ended(server: SimServer) -> None:
    sim = server.sim
    before = sim.create_job(status="processing", processing_in=None, done_in=None)  # not new: never followed
    ended = sim.create_job(status="finished")
    spawned: list[str] = []

    def spawn_later() -> None:  # once the watch has read the list: it must keep looking for new jobs
        mark = sim.requests.count
        while not any(r.path == "/v1/batch-processor" for r in sim.requests.entries()[mark:]):
            time.sleep(0.01)
        spawned.append(sim.create_job(processing_in=0.3, done_in=0.8, outcome="error"))

    thread = threading.Thread(target=spawn_later)
    thread.start()
    started = time.monotonic()
    result = run(
        "watch",
        "--follow",
        "--recent",
        "1",
        "--until-idle",
        "--json",
        "--exit-status",
        "--interval",
        "0.5",
        url=server.base_url,
        timeout=20,
    )
    thread.join()
    took = time.monotonic() - started
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1, result.stderr  # the followed job ended in error
    final = {line["id"]: line["status"] for line in lines}
    assert final == {ended: "finished", spawned[0]: "error"}  # the most recent one, and the new one
    assert before not in final
    assert next(line["status"] for line in lines if line["id"] == spawned[0]) in ("submitted", "processing")
    assert took < 8, took


def test_watch_follow_until_idle_with_nothing_happening(server: SimServer) -> None:
    result = run("watch", "--follow", "--until-idle", "--interval", "0.5", url=server.base_url, timeout=20)
    assert (result.returncode, result.stdout) == (0, "")


def test_follow_options_are_checked() -> None:
    assert run("watch", "--recent", "2", "--follow", "--until-idle", "--recent", "500").returncode == 2
    result = run("watch", "--until-idle")
    assert result.returncode == 2 and "--follow" in result.stderr
    assert run("simulate", "--spawn-every", "0").returncode == 2


def test_spawner_is_deterministic_from_the_seed() -> None:
    def spawned(seed: int) -> list[tuple[str, str, object]]:
        sim = Simulator(seed=seed, speed=2.0)
        spawner = Spawner(sim, 15.0, seed=seed)
        gaps = [spawner.next_gap() for _ in range(5)]
        assert all(10.0 <= gap <= 20.0 for gap in gaps)
        ids = [spawner.spawn() for _ in range(5)]
        return [(job_id, sim.job(job_id).preset, sim.job(job_id).input.get("sourceType")) for job_id in ids]

    assert spawned(7) == spawned(7)
    assert spawned(7) != spawned(8)


def test_spawner_thread_creates_jobs_until_stopped() -> None:
    sim = Simulator(seed=1, speed=10.0)
    spawner = Spawner(sim, 0.1, seed=1).start()
    deadline = time.monotonic() + 3
    while len(sim) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    spawner.stop()
    count = len(sim)
    assert count >= 3 and sim.ids()[0] == spawner.spawned[-1]
    time.sleep(0.3)
    assert len(sim) == count
