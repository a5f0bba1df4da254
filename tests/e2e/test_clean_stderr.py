"""stderr holds batchmon's own one-line messages only: no library log lines, and the host named on network faults."""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterator

import pytest
from support import BATCHMON, unreachable_url

from tui.sim import Faults, SimServer, Simulator

KEY = "stderr-secret-91ce"
JOB_ID = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=3, api_key=KEY), Faults()) as running:
        yield running


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"} | {"DAILY_API_KEY": KEY, "DAILY_API_URL": url}
    result = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=60)
    assert KEY not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize("args", [("get", JOB_ID), ("list",), ("watch", JOB_ID), ("get", JOB_ID, "--json")])
def test_unreachable_api_is_one_line_naming_the_host(args: tuple[str, ...]) -> None:
    url = unreachable_url()
    port = url.split(":")[2].split("/")[0]
    result = run(*args, url=url)
    # 0.1.0: two "stamina.retry_scheduled" lines first, and "could not reach the API: GET /batch-processor/…"
    assert result.returncode == 3
    assert result.stderr == f"batchmon: could not reach 127.0.0.1:{port}: connection refused\n"
    assert result.stdout == ""


def test_retried_server_errors_leave_one_line(server: SimServer) -> None:
    job_id = server.sim.create_job()
    server.faults.status = 503
    try:
        result = run("get", job_id, url=server.base_url)
    finally:
        server.faults.reset()
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("batchmon: HTTP 503")
    assert "stamina" not in result.stderr


def test_tls_to_a_plain_http_server_is_named(server: SimServer) -> None:
    tls = run("get", JOB_ID, url=server.base_url.replace("http://", "https://"))
    assert tls.stderr == f"batchmon: could not reach {server.base_url.split('/')[2]}: TLS handshake failed\n"


def test_dropped_answer_names_the_host(server: SimServer) -> None:
    job_id = server.sim.create_job()
    server.faults.drop = 1.0
    try:
        result = run("get", job_id, url=server.base_url)
    finally:
        server.faults.reset()
    assert result.returncode == 3
    assert result.stderr == f"batchmon: {server.base_url.split('/')[2]} closed the connection before answering\n"


@pytest.mark.parametrize("wait", [math.inf, 1e18, 3600])
def test_an_absurd_retry_after_ends_a_command_instead_of_hanging(server: SimServer, wait: float) -> None:
    job_id = server.sim.create_job()
    server.faults.status, server.faults.retry_after = 429, wait
    try:
        result = run("get", job_id, url=server.base_url)  # 0.1.0: waited for ever (inf: crashed)
    finally:
        server.faults.reset()
    assert result.returncode == 3
    assert result.stderr.startswith("batchmon: rate limited (HTTP 429, retry after ") and result.stderr.count("\n") == 1


def test_a_reader_that_goes_away_is_not_an_internal_error(server: SimServer) -> None:
    for _ in range(30):
        server.sim.create_job()
    env = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"}
    env |= {"DAILY_API_KEY": KEY, "DAILY_API_URL": server.base_url}
    read, write = os.pipe()
    os.close(read)  # `batchmon list | head -0`: nobody reads
    try:
        result = subprocess.run(
            [BATCHMON, "list", "--limit", "30"], stdout=write, stderr=subprocess.PIPE, text=True, env=env, timeout=30
        )
    finally:
        os.close(write)
    assert result.returncode == 141 and result.stderr == ""  # 0.1.0: "internal error" (BrokenPipeError), exit 70
