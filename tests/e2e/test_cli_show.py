"""`batchmon show` run as a subprocess against the simulator on a loopback port."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Iterator

import pytest
from support import BATCHMON, unreachable_url

from tui.outputs.render import render
from tui.sim import Faults, SimServer, Simulator
from tui.sim.content import render as sim_render

KEY = "cli-show-key-5d21"
MISSING_ID = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=5, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    yield server.sim
    server.faults.reset()


def environment(url: str) -> dict[str, str]:
    return {**os.environ, "DAILY_API_KEY": KEY, "DAILY_API_URL": url}


def show(server: SimServer, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [BATCHMON, "show", *args], capture_output=True, text=True, env=environment(url or server.base_url), timeout=30
    )
    for stream in (result.stdout, result.stderr):
        assert KEY not in stream and "Traceback" not in stream
    return result


def rendered(sim: Simulator, job_id: str, name: str, kind: str) -> str:
    served = sim_render(name, job_id=job_id, preset=sim.job(job_id).preset)
    assert served is not None
    return render(kind, name.rsplit(".", 1)[1], served[0].encode()).text


def test_the_main_output_is_shown_by_default(server: SimServer, sim: Simulator) -> None:
    transcript = sim.create_job(preset="transcript", status="finished")
    result = show(server, transcript)
    assert result.returncode == 0, result.stderr
    assert result.stdout == rendered(sim, transcript, "transcript.txt", "transcription")
    assert result.stdout.startswith("Speaker 0: Good morning everyone")

    soap = sim.create_job(preset="soap-notes", status="finished")
    result = show(server, soap)
    assert result.returncode == 0
    assert result.stdout == rendered(sim, soap, "soap.json", "soap")
    assert "## Assessment" in result.stdout and "{" not in result.stdout


def test_kind_and_format_choose_another_output(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    srt = show(server, job_id, "--format", "SRT")
    assert srt.returncode == 0
    assert srt.stdout.splitlines()[0].startswith("00:00:00  Speaker 0: ")
    deepgram = show(server, job_id, "--kind", "transcription", "--format", "json")
    assert deepgram.stdout == rendered(sim, job_id, "transcript.json", "transcription")
    assert deepgram.stdout.startswith("00:00:00  Speaker 0:")
    with pytest.raises(json.JSONDecodeError):
        json.loads(deepgram.stdout)  # never the raw JSON
    kind_only = show(server, job_id, "--kind", "transcription")
    assert kind_only.stdout == rendered(sim, job_id, "transcript.txt", "transcription")


def test_piped_output_is_plain_and_a_terminal_gets_drawn_markdown(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    piped = show(server, job_id)
    assert piped.returncode == 0
    assert "\x1b" not in piped.stdout and piped.stdout == rendered(sim, job_id, "summary.txt", "summary")

    main, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [BATCHMON, "show", job_id],
            env=environment(server.base_url),
            stdout=secondary,
            stderr=subprocess.PIPE,
            timeout=30,
        )
        os.close(secondary)
        drawn = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0, proc.stderr
    text = drawn.decode()
    assert "Action items" in text and "## Action items" not in text  # a heading drawn, not its source
    assert "\x1b[" in text  # styled


def test_a_job_without_that_output_lists_what_it_has(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    result = show(server, job_id, "--kind", "summary")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"batchmon: job {job_id} has no summary output (it has: transcription json")
    assert result.stderr.count("\n") == 1


def test_a_job_that_is_not_finished_says_its_status(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(status="processing", done_in=None)
    result = show(server, job_id)
    assert result.returncode == 2
    assert result.stderr == f"batchmon: job {job_id} is processing: it has no outputs to show\n"


@pytest.mark.parametrize("job_id", [MISSING_ID, "not-an-id"])
@pytest.mark.usefixtures("sim")
def test_unknown_or_bad_ids_exit_2(server: SimServer, job_id: str) -> None:
    result = show(server, job_id)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("batchmon: ") and result.stderr.count("\n") == 1


def test_network_failures_exit_3(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    result = show(server, job_id, url=unreachable_url())
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1].startswith("batchmon: could not reach 127.0.0.1")
    sim_faults = server.faults
    sim_faults.status, sim_faults.status_paths = 500, "access-link"
    result = show(server, job_id)
    assert result.returncode == 3 and result.stdout == ""


def test_a_file_host_failure_exits_3(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    server.faults.file_cut = 10  # the file host drops the connection mid-body
    result = show(server, job_id)
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.startswith("batchmon: transcription txt: ") and result.stderr.count("\n") == 1
