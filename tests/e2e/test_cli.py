"""The installed `batchmon` run as a subprocess against the simulator on a loopback port."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import BATCHMON, unreachable_url

from tui import __version__
from tui.sim import Faults, SimServer, Simulator

KEY = "cli-secret-key-5e1d"
MISSING_ID = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=2, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    yield server.sim
    server.faults.reset()


def run(
    *args: str, url: str | None = None, key: str | None = KEY, timeout: float = 30, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("DAILY_API_KEY", None)
    if key is not None:
        env["DAILY_API_KEY"] = key
    if url is not None:
        env["DAILY_API_URL"] = url
    result = subprocess.run(
        [BATCHMON, *args], capture_output=True, text=True, env=env, timeout=timeout, input=stdin or ""
    )
    # Whatever happened, the key is never printed and no traceback reaches the user.
    for stream in (result.stdout, result.stderr):
        assert KEY not in stream
        assert "Traceback" not in stream
    return result


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"batchmon {__version__}"


def test_python_dash_m_tui() -> None:
    result = subprocess.run([sys.executable, "-m", "tui", "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"batchmon {__version__}"


def test_locate_prints_isolated_paths() -> None:
    result = run("locate")
    assert result.returncode == 0
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert set(lines) == {"config", "state", "log"}
    assert lines["config"].startswith(os.environ["XDG_CONFIG_HOME"]) and lines["config"].endswith("config.toml")
    assert lines["state"].startswith(os.environ["XDG_STATE_HOME"]) and lines["state"].endswith("batchmon.db")


def test_get_for_people(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    result = run("get", job_id, url=server.base_url)
    assert result.returncode == 0, result.stderr
    assert "✓ finished" in result.stdout and "summarize" in result.stdout
    for ref in sim.outputs(job_id):
        assert ref.key in result.stdout


def test_get_json_is_the_api_record(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(status="error", error="Error: silent file")
    result = run("get", job_id, "--json", url=server.base_url)
    assert result.returncode == 0
    body = json.loads(result.stdout)
    assert body["id"] == job_id and body["status"] == "error" and body["error"] == "Error: silent file"
    assert body["input"] == sim.record(job_id)["input"]


def test_get_never_prints_escape_sequences(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(status="error", error="boom \x1b[2J\x1b]52;c;aGk=\x07 done")
    result = run("get", job_id, url=server.base_url)
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "boom \\x1b[2J" in result.stdout


def test_missing_key_exits_2() -> None:
    result = run("get", MISSING_ID, key=None)
    assert result.returncode == 2
    assert "DAILY_API_KEY" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_malformed_id_exits_2_before_any_request(server: SimServer, sim: Simulator) -> None:
    before = sim.requests.count
    result = run("get", "not-a-job", url=server.base_url)
    assert result.returncode == 2 and "not a job id" in result.stderr
    assert sim.requests.count == before


@pytest.mark.usefixtures("sim")
def test_unknown_job_exits_2(server: SimServer) -> None:
    result = run("get", MISSING_ID, url=server.base_url)
    assert result.returncode == 2 and "no such job" in result.stderr


def test_wrong_key_exits_3(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    result = run("get", job_id, url=server.base_url, key="not-the-key")
    assert result.returncode == 3 and "refused the key" in result.stderr
    assert "not-the-key" not in result.stderr


def test_unreachable_api_exits_3() -> None:
    result = run("get", MISSING_ID, url=unreachable_url())
    assert result.returncode == 3 and "could not reach 127.0.0.1:" in result.stderr


def test_garbage_answer_exits_3(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    server.faults.non_json = True
    result = run("get", job_id, url=server.base_url)
    assert result.returncode == 3 and "not JSON" in result.stderr


def test_broken_config_file_exits_2() -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "batchmon" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("rate = \n")
    result = run("get", MISSING_ID)
    assert result.returncode == 2 and str(config) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_rate_above_daily_limit_is_refused() -> None:
    result = run("get", MISSING_ID, "--rate", "50")
    assert result.returncode == 2 and "rate" in result.stderr


def test_list_for_people_and_json(server: SimServer, sim: Simulator) -> None:
    newest = sim.create_job(preset="soap-notes", processing_in=None, done_in=None)  # stays put between the calls
    people = run("list", "--limit", "5", url=server.base_url)
    assert people.returncode == 0
    rows = people.stdout.splitlines()
    assert rows[0].split() == ["STATUS", "ID", "PRESET"]
    assert newest in rows[1] and "soap-notes" in rows[1]
    machine = json.loads(run("list", "--limit", "5", "--json", url=server.base_url).stdout)
    assert machine["data"][0] == {"id": newest, "preset": "soap-notes", "status": sim.status(newest)}
    assert len(machine["data"]) == min(5, len(sim))


def test_list_beyond_one_page_follows_the_cursor(server: SimServer, sim: Simulator) -> None:
    for _ in range(max(0, 130 - len(sim))):
        sim.create_job()
    result = run("list", "--limit", "120", "--json", url=server.base_url)
    ids = [job["id"] for job in json.loads(result.stdout)["data"]]
    assert len(ids) == 120 == len(set(ids))


def test_list_recording_filter(server: SimServer, sim: Simulator) -> None:
    recording = "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
    job_id = sim.create_job(source={"sourceType": "recordingId", "recordingId": recording})
    result = run("list", "--recording-id", recording, "--json", url=server.base_url)
    assert [job["id"] for job in json.loads(result.stdout)["data"]] == [job_id]


def test_watch_json_lines_until_done(server: SimServer, sim: Simulator) -> None:
    quick = sim.create_job(processing_in=0.3, done_in=0.8)
    failing = sim.create_job(outcome="error", processing_in=0.3, done_in=1.0)
    result = run("watch", quick, failing, "--json", "--interval", "0.5", "--rate", "20", url=server.base_url)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(line) - {"error"} == {"id", "status", "previous", "observed_at"} for line in lines)
    final = {line["id"]: line["status"] for line in lines}
    assert final == {quick: "finished", failing: "error"}
    for job_id in (quick, failing):
        seen = [line for line in lines if line["id"] == job_id]
        assert seen[0]["previous"] is None
        assert all(b["previous"] == a["status"] for a, b in itertools.pairwise(seen))


def test_watch_exit_status(server: SimServer, sim: Simulator) -> None:
    failing = sim.create_job(status="error")
    fine = sim.create_job(status="finished")
    assert run("watch", failing, fine, url=server.base_url).returncode == 0
    flagged = run("watch", failing, fine, "--exit-status", url=server.base_url)
    assert flagged.returncode == 1
    assert "error" in flagged.stdout and failing in flagged.stdout
    assert run("watch", fine, "--exit-status", url=server.base_url).returncode == 0


def test_watch_wrong_key_exits_3(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    result = run("watch", job_id, url=server.base_url, key="revoked")
    assert result.returncode == 3


def test_simulate_serves_until_interrupted() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"}
    proc = subprocess.Popen(
        [BATCHMON, "simulate", "--port", "0", "--jobs", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        export = next(line for line in lines if "export" in line).split()
        settings = dict(item.split("=", 1) for item in export[1:])
        listed = run("list", "--json", url=settings["DAILY_API_URL"], key=settings["DAILY_API_KEY"])
        assert len(json.loads(listed.stdout)["data"]) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in stderr


def test_watch_unreachable_exits_3() -> None:
    result = run("watch", MISSING_ID, url=unreachable_url())
    assert result.returncode == 3 and "could not reach 127.0.0.1:" in result.stderr


def test_watch_unknown_job_is_reported_and_fails_exit_status(server: SimServer, sim: Simulator) -> None:
    fine = sim.create_job(status="finished")
    result = run("watch", fine, MISSING_ID, "--exit-status", url=server.base_url)
    assert result.returncode == 1
    assert f"{MISSING_ID}  ? gone (not found" in result.stdout


def test_add_picks_ids_out_of_stdin_and_watched_lists_them_offline(server: SimServer, sim: Simulator) -> None:
    first, second = sim.create_job(status="finished"), sim.create_job()
    listing = run("list", url=server.base_url).stdout  # a `batchmon list` table, heading and all
    assert first in listing
    result = run("add", "-", stdin=listing, url=unreachable_url())
    assert result.returncode == 0, result.stderr
    rows = [line for line in listing.splitlines() if line.strip()]
    headings = [line for line in rows if line.startswith(("STATUS", "("))]  # the heading, a "more" note
    added = len(rows) - len(headings)
    assert result.stdout.strip() == f"added {added}, already watched 0, ignored {len(headings)}"
    again = run("add", first.upper(), "nonsense", url=unreachable_url())
    assert again.stdout.strip() == "added 0, already watched 1, ignored 1"
    shown = run("watched", "--json", url=unreachable_url(), key=None)  # no network, no key needed
    assert shown.returncode == 0, shown.stderr
    jobs = {job["id"]: job for job in json.loads(shown.stdout)}
    assert {first, second} <= set(jobs) and len(jobs) == added
    assert jobs[first]["status"] is None and jobs[first]["added_at"]
    table = run("watched", key=None).stdout
    assert first in table and "waiting" in table


def test_watched_with_nothing_watched() -> None:
    result = run("watched", key=None)
    assert result.returncode == 0 and "no jobs watched" in result.stdout


def test_add_of_a_hundred_thousand_ids_is_quick() -> None:
    import time
    import uuid

    ids = "\n".join(str(uuid.uuid4()) for _ in range(100_000))
    started = time.perf_counter()
    result = run("add", "-", stdin=ids, key=None)
    elapsed = time.perf_counter() - started
    assert result.stdout.strip() == "added 100000, already watched 0, ignored 0", result.stderr
    # A guard against quadratic work only (about 1 s idle, 7 s seen beside other loads); the add
    # itself is measured by tests/bench/bench_store.py.
    assert elapsed < 20.0, elapsed


def test_watch_reads_ids_from_stdin(server: SimServer, sim: Simulator) -> None:
    done = sim.create_job(status="finished")
    result = run("watch", "-", "--json", stdin=f"job {done} was submitted\nno id here\n", url=server.base_url)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [done]
    assert "ignored 1 line" in result.stderr
