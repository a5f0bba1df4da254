"""Commands and the shared store: `watch` and `get` record what they saw, `watch` alone watches the
saved list, `watched` reads a busy, full or read-only store, `get --json` is the API's body whole."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_faults import lock_held, tmpfs
from support import BATCHMON

from tui.sim import Faults, SimServer, Simulator
from tui.store.database import Store

KEY = "store-cli-secret-77aa"
FAST = ("--interval", "0.5", "--rate", "20")


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=5, api_key=KEY), Faults()) as running:
        yield running


def run(server: SimServer, *args: str, state: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | {"DAILY_API_KEY": KEY, "DAILY_API_URL": server.base_url}
    if state is not None:
        env["XDG_STATE_HOME"] = str(state)
    result = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=90)
    assert "Traceback" not in result.stderr and KEY not in result.stdout + result.stderr
    return result


def state_db(state: Path | None = None) -> Path:
    return Path(state or os.environ["XDG_STATE_HOME"]) / "batchmon" / "batchmon.db"


def watched(server: SimServer, state: Path | None = None) -> dict[str, dict[str, str | None]]:
    result = run(server, "watched", "--json", state=state)
    assert result.returncode == 0, result.stderr
    return {job["id"]: job for job in json.loads(result.stdout)}


def test_watch_alone_watches_the_saved_list_and_records_what_it_saw(server: SimServer) -> None:
    sim = server.sim
    done = sim.create_job(status="finished")
    failing = sim.create_job(outcome="error", error="no audio", processing_in=0.2, done_in=0.8)
    other = sim.create_job(status="finished")  # not on the list: neither watched nor recorded
    assert run(server, "add", done, failing).returncode == 0
    result = run(server, "watch", "--exit-status", *FAST)
    assert result.returncode == 1, result.stderr
    assert done in result.stdout and failing in result.stdout and other not in result.stdout
    seen = watched(server)
    assert set(seen) == {done, failing}
    assert seen[done]["status"] == "finished" and seen[done]["confirmed_at"] is not None
    assert seen[failing]["status"] == "error"
    store = Store(state_db())
    store.open()
    try:
        assert [status for status, _ in store.timeline(failing)][-1] == "error"
    finally:
        store.close()


def test_watch_alone_with_an_empty_list_says_so(server: SimServer) -> None:
    result = run(server, "watch", *FAST)
    assert result.returncode == 2
    assert result.stderr.startswith("batchmon: no job ids given and the watch list is empty")


def test_get_records_the_status_of_a_watched_job(server: SimServer) -> None:
    job = server.sim.create_job(status="finished")
    assert run(server, "add", job).returncode == 0
    assert watched(server)[job]["status"] is None
    assert run(server, "get", job).returncode == 0
    assert watched(server)[job]["status"] == "finished"


def test_get_json_prints_unknown_fields_whole(server: SimServer) -> None:
    big = "x" * 250_000
    job = server.sim.create_job(status="finished")
    server.sim.set_extra(job, {"notes": big, "nested": {"deep": [1, 2, {"k": "v"}]}})
    result = run(server, "get", job, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["notes"] == big and body["nested"] == {"deep": [1, 2, {"k": "v"}]}
    assert body["id"] == job


def _seed(server: SimServer, state: Path) -> list[str]:
    ids = [server.sim.create_job(status="finished") for _ in range(2)]
    assert run(server, "add", *ids, state=state).returncode == 0
    return ids


def test_watched_reads_a_store_another_process_holds_locked(server: SimServer, tmp_path: Path) -> None:
    ids = _seed(server, tmp_path)
    with lock_held(state_db(tmp_path)):
        assert list(watched(server, tmp_path)) == ids
        added = run(server, "add", server.sim.create_job(), state=tmp_path)
        assert added.returncode == 2 and "busy" in added.stderr and added.stderr.count("\n") == 1


def test_watched_reads_a_read_only_store(server: SimServer, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as disk:
        ids = _seed(server, disk.where)
        disk.remount("ro")
        assert list(watched(server, disk.where)) == ids
        added = run(server, "add", server.sim.create_job(), state=disk.where)
        assert added.returncode == 2 and added.stderr.count("\n") == 1


def test_watched_reads_a_store_on_a_full_disk(server: SimServer, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as disk:
        ids = _seed(server, disk.where)
        disk.fill()
        assert list(watched(server, disk.where)) == ids


def test_more_than_a_hundred_thousand_ids_at_once_are_refused_in_one_line(server: SimServer) -> None:
    ids = "\n".join(f"5f0c2a9e-7b41-4d8a-9c3e-{i:012x}" for i in range(100_001))
    env = dict(os.environ) | {"DAILY_API_KEY": KEY, "DAILY_API_URL": server.base_url}
    result = subprocess.run([BATCHMON, "add", "-"], input=ids, capture_output=True, text=True, env=env, timeout=90)
    assert result.returncode == 2
    assert result.stderr == "batchmon: 100,001 job ids given at once; at most 100,000 (give them in parts)\n"
    assert watched(server) == {}, "nothing was added"


def test_a_key_that_takes_quit_is_refused_at_start(server: SimServer) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "batchmon" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\nadd = "q"\n')
    result = run(server, "--demo")
    assert result.returncode == 2
    assert "add = 'q' takes 'q' from quit" in result.stderr and result.stderr.count("\n") == 1


def test_a_job_deleted_with_the_command_leaves_the_watch_list(server: SimServer) -> None:
    kept, doomed = server.sim.create_job(status="finished"), server.sim.create_job(status="finished")
    assert run(server, "add", kept, doomed).returncode == 0
    result = run(server, "delete", doomed, "--yes")
    assert result.returncode == 0 and result.stdout == f"deleted {doomed}\n"
    assert list(watched(server)) == [kept]
    assert run(server, "add", doomed).returncode == 0
    again = run(server, "delete", doomed, "--yes")  # already gone at Daily: dropped all the same
    assert again.returncode == 2 and "no such job" in again.stderr
    assert list(watched(server)) == [kept]


def test_list_records_the_statuses_of_watched_jobs(server: SimServer) -> None:
    job = server.sim.create_job(status="finished")
    assert run(server, "add", job).returncode == 0
    assert run(server, "list", "--limit", "100").returncode == 0
    assert watched(server)[job]["status"] == "finished"
