"""`batchmon watch` (the installed command, against the simulator): reasons, gone ids, a summary, clean errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
from support import BATCHMON

from tui.sim import Faults, SimServer, Simulator

KEY = "watch-secret-4d0a"
MISSING = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
REASON = "Error: the file has no audio \x1b[2J"
FAST = ("--interval", "0.5", "--rate", "20")


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=9, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    yield server.sim
    server.faults.reset()


def env(server: SimServer, key: str = KEY) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"}
    return base | {"DAILY_API_KEY": key, "DAILY_API_URL": server.base_url}


def watch(server: SimServer, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [BATCHMON, "watch", *args, *FAST], capture_output=True, text=True, env=env(server, key), timeout=60
    )
    assert "Traceback" not in result.stderr and KEY not in result.stdout + result.stderr
    assert "\x1b" not in result.stdout.replace("\\u001b", "") + result.stderr
    return result


def test_json_lines_carry_the_error_and_gone_ids_and_a_summary(server: SimServer, sim: Simulator) -> None:
    done = sim.create_job(processing_in=0.2, done_in=0.6)
    failing = sim.create_job(outcome="error", error=REASON, processing_in=0.2, done_in=0.8)
    already = sim.create_job(status="error", error=REASON)  # first seen in error: no transition GET
    result = watch(server, done, failing, already, MISSING, "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    last = {line["id"]: line for line in lines}
    assert last[failing]["status"] == "error" and last[failing]["error"] == REASON
    assert last[already]["status"] == "error" and last[already]["error"] == REASON
    assert last[done]["status"] == "finished" and "error" not in last[done]
    assert last[MISSING]["status"] == "gone" and set(last[MISSING]) == {"id", "status", "previous", "observed_at"}
    assert sum(line["id"] == MISSING for line in lines) == 1
    assert result.stderr == "batchmon: 1 finished, 2 error, 1 gone\n"


def test_people_see_the_reason_inert(server: SimServer, sim: Simulator) -> None:
    failing = sim.create_job(outcome="error", error=REASON, processing_in=0.2, done_in=0.6)
    result = watch(server, failing, MISSING, "--exit-status")
    assert result.returncode == 1
    error_line = next(line for line in result.stdout.splitlines() if "✗ error" in line)
    assert error_line.endswith("✗ error: Error: the file has no audio \\x1b[2J")
    assert f"{MISSING}  ? gone (not found" in result.stdout
    assert result.stderr == "batchmon: 1 error, 1 gone\n"


def test_refused_key_is_said_once_without_repeating_itself(server: SimServer, sim: Simulator) -> None:
    result = watch(server, sim.create_job(), key="revoked-key")
    assert result.returncode == 3
    # 0.1.0: "the API refused the key (HTTP 401 the API key was refused (HTTP 401))"
    assert result.stderr == "batchmon: the API refused the key (HTTP 401); check DAILY_API_KEY\n"


def test_interrupt_prints_where_things_stood(server: SimServer, sim: Simulator) -> None:
    slow = sim.create_job(processing_in=0.1, done_in=None)  # processing until forced
    done = sim.create_job(status="finished")
    proc = subprocess.Popen(
        [BATCHMON, "watch", slow, done, *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(server),
    )
    try:
        assert proc.stdout is not None
        seen = ""
        while "processing" not in seen:
            line = proc.stdout.readline()
            assert line, "watch ended early"
            seen += line
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "batchmon: interrupted; 1 finished, 1 processing\n"
