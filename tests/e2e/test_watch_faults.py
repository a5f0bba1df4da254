"""Fault matrix for `batchmon watch` over loopback: no crash, a clear word, and full recovery or the right exit code.

Every case has its own simulator and `batchmon watch` process; MATRIX_WORKERS cases run at a time (all 18 at
once starved 2 cores: a watch then missed its deadlines), and each case is then checked by its own test.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from support import BATCHMON

from tui.sim import Faults, SimServer, Simulator

KEY = "fault-matrix-secret-6e2f"
REASON = "Error: silent file"
FAULTED_REQUESTS = 3  # a transient fault stays on until this many requests met it
MATRIX_WORKERS = 4  # cases at a time: mostly waiting on their watch, so a few more than the cores


@dataclass
class Outcome:
    returncode: int | None
    lines: list[dict[str, Any]]  # stdout, JSON lines
    err: str
    ids: dict[str, str]  # role -> job id

    def final(self) -> dict[str, Any]:
        """role -> last status printed for that job."""
        by_id = {line["id"]: line["status"] for line in self.lines}
        return {role: by_id.get(job_id) for role, job_id in self.ids.items()}


@dataclass
class Rig:
    """One simulator on its own loopback port and one `batchmon watch --json` against it."""

    server: SimServer
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    def watch(self, *job_ids: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"}
        env |= {"DAILY_API_KEY": KEY, "DAILY_API_URL": self.server.base_url}
        args = [BATCHMON, "watch", *job_ids, "--json", "--interval", "0.5", "--rate", "20"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            reader = threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True)
            reader.start()
            self.readers.append(reader)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 25) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met")
            time.sleep(0.02)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.err)

    def fault_until_met(self, **faults: Any) -> None:
        before = self.sim.requests.count
        self.server.faults.update(faults)
        try:
            self.wait_for(lambda: self.sim.requests.count >= before + FAULTED_REQUESTS)
        finally:
            self.server.faults.reset()

    def finish(self, ids: dict[str, str], timeout: float = 45) -> Outcome:
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.proc.kill()
            for reader in self.readers:
                reader.join(timeout=5)
        return Outcome(self.proc.returncode, [json.loads(line) for line in self.out], "".join(self.err), ids)


def two_jobs(sim: Simulator) -> dict[str, str]:
    """Two jobs processing until `end` moves them on: what the watch sees after a fault proves recovery."""
    return {
        "fine": sim.create_job(status="processing", processing_in=None, done_in=None),
        "failing": sim.create_job(status="processing", error=REASON, processing_in=None, done_in=None),
    }


def end(rig: Rig, ids: dict[str, str]) -> None:
    rig.sim.force_status(ids["fine"], "finished")
    rig.sim.force_status(ids["failing"], "error")


# -- the scenarios -----------------------------------------------------------------------------------------


def transient(**faults: Any) -> Callable[[Rig], Outcome]:
    """After the first answers, the fault is on until FAULTED_REQUESTS met it; then the API is well again."""

    def scenario(rig: Rig) -> Outcome:
        ids = two_jobs(rig.sim)
        rig.watch(*ids.values())
        rig.wait_for(lambda: len(rig.out) >= 1)
        rig.fault_until_met(**faults)
        end(rig, ids)
        return rig.finish(ids)

    return scenario


def refused_then_back(rig: Rig) -> Outcome:
    """The server goes away after the first answers and comes back on the same port."""
    ids = two_jobs(rig.sim)
    rig.watch(*ids.values())
    rig.wait_for(lambda: len(rig.out) >= 1)
    rig.server.stop()
    rig.wait_for(lambda: rig.said("connection refused"))
    rig.server = SimServer(rig.sim, rig.server.faults, port=rig.server.port).start()
    end(rig, ids)
    return rig.finish(ids)


def read_timeout(rig: Rig) -> Outcome:
    ids = two_jobs(rig.sim)
    rig.watch(*ids.values())
    rig.wait_for(lambda: len(rig.out) >= 1)
    rig.server.faults.latency = 11  # beyond the client's 10 s read timeout
    try:
        rig.wait_for(lambda: rig.said("in time"), timeout=30)
    finally:
        rig.server.faults.reset()
    end(rig, ids)
    return rig.finish(ids)


def permanent(**faults: Any) -> Callable[[Rig], Outcome]:
    def scenario(rig: Rig) -> Outcome:
        ids = two_jobs(rig.sim)
        rig.server.faults.update(faults)
        rig.watch(*ids.values())
        return rig.finish(ids)

    return scenario


def deleted(rig: Rig) -> Outcome:
    """Both jobs deleted at Daily: they 404 (a 404 on every route, the list too, is a wrong base URL)."""
    ids = two_jobs(rig.sim)
    for job_id in ids.values():
        rig.sim.delete(job_id)
    rig.watch(*ids.values())
    return rig.finish(ids)


def unreachable_from_the_start(rig: Rig) -> Outcome:
    ids = two_jobs(rig.sim)
    rig.server.stop()
    rig.watch(*ids.values())
    return rig.finish(ids)


def odd_records(rig: Rig) -> Outcome:
    """Unknown statuses, extra fields, and records of the wrong shape (output a string, fields null)."""
    sim = rig.sim
    ids = {
        "odd status": sim.create_job(processing_in=None, done_in=None),
        "extra fields": sim.create_job(processing_in=0.2, done_in=1.0),
        "output a string": sim.create_job(processing_in=0.2, done_in=1.0),
        "fields null": sim.create_job(outcome="error", error=REASON, processing_in=0.2, done_in=1.0),
        "status missing": sim.create_job(processing_in=0.2, done_in=1.0),
    }
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"k": deep}
    sim.force_status(ids["odd status"], "queued-for-gpu")
    sim.set_extra(ids["extra fields"], {"region_hint": "eu", "deep": deep, "\x1b]52;c;aGk=\x07": 1})
    sim.set_extra(ids["output a string"], {"output": "s3://somewhere"})
    sim.set_extra(ids["fields null"], {"error": None, "input": None, "preset": None, "output": None})
    sim.set_extra(ids["status missing"], {"status": None})
    rig.watch(*ids.values())
    rig.wait_for(lambda: any("queued-for-gpu" in line for line in rig.out))
    sim.force_status(ids["odd status"], "finished")
    return rig.finish(ids)


SCENARIOS: dict[str, Callable[[Rig], Outcome]] = {
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
    "connection refused, then back": refused_then_back,
    "read timeout": read_timeout,
    "400": permanent(status=400),
    "401": permanent(status=401),
    "403": permanent(status=403),
    "404": deleted,
    "unreachable from the start": unreachable_from_the_start,
    "odd records": odd_records,
}


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Outcome | BaseException]]:
    rigs = {
        name: Rig(SimServer(Simulator(jobs=0, seed=n, api_key=KEY), Faults()).start())
        for n, name in enumerate(SCENARIOS)
    }

    def run(name: str) -> Outcome | BaseException:
        try:
            return SCENARIOS[name](rigs[name])
        except Exception as exc:  # reported by that case's test, not by all of them
            return exc

    try:
        with ThreadPoolExecutor(max_workers=MATRIX_WORKERS) as pool:
            yield dict(zip(rigs, pool.map(run, rigs), strict=True))
    finally:
        for rig in rigs.values():
            if rig.proc is not None:
                rig.proc.kill()
            rig.server.stop()


def outcome_of(outcomes: dict[str, Outcome | BaseException], name: str) -> Outcome:
    result = outcomes[name]
    if isinstance(result, BaseException):
        raise result
    # Whatever the fault: no crash, no traceback, the key never shown.
    assert result.returncode != 70 and "Traceback" not in result.err and "internal error" not in result.err
    assert KEY not in result.err + json.dumps(result.lines) and "\x1b" not in result.err
    assert all(line.startswith("batchmon: ") for line in result.err.splitlines()), result.err
    return result


TRANSIENT_WORDS = {
    "429 without Retry-After": "rate limited (HTTP 429)",
    "429 with Retry-After": "rate limited (HTTP 429, retry after 0.5 s)",
    "500": "HTTP 500 server-error",
    "502 HTML page": "HTTP 502 Bad Gateway",
    "503": "HTTP 503 Service Unavailable",
    "504": "HTTP 504 Gateway Timeout",
    "dropped mid-body": "closed the connection before answering",
    "not JSON": "a body that is not JSON",
    "truncated JSON": "a body that is not JSON",
    "wrong-shape JSON": "unexpected response shape",
    "connection refused, then back": "could not reach 127.0.0.1:",
    "read timeout": "no answer from 127.0.0.1:",
}


@pytest.mark.parametrize("name", TRANSIENT_WORDS)
def test_transient_fault_is_said_and_fully_recovered_from(outcomes: dict[str, Any], name: str) -> None:
    result = outcome_of(outcomes, name)
    assert result.returncode == 0, result.err
    assert result.final() == {"fine": "finished", "failing": "error"}
    assert [line.get("error") for line in result.lines if line["status"] == "error"] == [REASON]
    assert TRANSIENT_WORDS[name] in result.err and "batchmon: recovered\n" in result.err
    assert result.err.endswith("batchmon: 1 finished, 1 error\n")


@pytest.mark.parametrize(
    ("name", "code", "status", "says"),
    [
        ("400", 2, "refused", "HTTP 400 invalid-request-error"),
        ("403", 3, "refused", "HTTP 403 forbidden-error"),
        ("404", 0, "gone", None),
    ],
)
def test_refusal_of_a_job_ends_its_watch_with_the_reason(
    outcomes: dict[str, Any], name: str, code: int, status: str, says: str | None
) -> None:
    result = outcome_of(outcomes, name)
    assert result.returncode == code, result.err
    assert result.final() == {"fine": status, "failing": status}
    assert all(line.get("error", "").startswith(says) for line in result.lines) if says else True
    assert result.err.endswith(f"batchmon: 2 {status}\n")


def test_refused_key_exits_3_in_one_line(outcomes: dict[str, Any]) -> None:
    result = outcome_of(outcomes, "401")
    assert (result.returncode, result.lines) == (3, [])
    assert result.err == "batchmon: the API refused the key (HTTP 401); check DAILY_API_KEY\n"


def test_unreachable_from_the_start_exits_3_naming_the_host(outcomes: dict[str, Any]) -> None:
    result = outcome_of(outcomes, "unreachable from the start")
    assert (result.returncode, result.lines) == (3, [])
    assert result.err.startswith("batchmon: could not reach 127.0.0.1:") and result.err.count("\n") == 1


def test_odd_records_are_shown_and_followed_to_the_end(outcomes: dict[str, Any]) -> None:
    result = outcome_of(outcomes, "odd records")
    assert result.returncode == 0, result.err
    assert result.final() == {
        "odd status": "finished",
        "extra fields": "finished",
        "output a string": "finished",
        "fields null": "error",
        "status missing": "finished",
    }
    odd = [line["status"] for line in result.lines if line["id"] == result.ids["odd status"]]
    assert odd == ["queued-for-gpu", "finished"]
    assert result.err.endswith("batchmon: 4 finished, 1 error\n")
