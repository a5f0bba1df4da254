"""`batchmon links` and `batchmon download` run as subprocesses against the simulator on a loopback port."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import BATCHMON, unreachable_url

from tui.sim import Faults, SimServer, Simulator
from tui.sim.content import render

KEY = "cli-outputs-key-0b7e"
MISSING_ID = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=5, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    server.sim.file_requests.clear()
    yield server.sim
    server.faults.reset()


def environment(url: str) -> dict[str, str]:
    return {**os.environ, "DAILY_API_KEY": KEY, "DAILY_API_URL": url}


def run(server: SimServer, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = environment(url or server.base_url)
    result = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=30)
    for stream in (result.stdout, result.stderr):
        assert KEY not in stream
        assert "Traceback" not in stream
    return result


def served(sim: Simulator, job_id: str, name: str) -> bytes:
    rendered = render(name, job_id=job_id, preset=sim.job(job_id).preset)
    assert rendered is not None
    return rendered[0].encode()


def test_links_for_people_and_as_json(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    people = run(server, "links", job_id)
    assert people.returncode == 0, people.stderr
    rows = [line.split() for line in people.stdout.splitlines()]
    assert [row[:2] for row in rows] == [["transcription", f] for f in ("json", "srt", "txt", "vtt")] + [
        ["summary", "txt"]
    ]
    assert all(row[2].startswith(f"http://localhost:{server.port}/files/{job_id}/") for row in rows)

    as_json = run(server, "links", job_id, "--json")
    assert as_json.returncode == 0
    body = json.loads(as_json.stdout)
    assert [(item["kind"], item["format"]) for item in body] == [tuple(row[:2]) for row in rows]
    assert all(set(item) == {"kind", "format", "link"} for item in body)


def test_links_of_a_job_that_is_not_finished_says_its_status(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(status="processing", done_in=None)
    result = run(server, "links", job_id)
    assert result.returncode == 2
    assert result.stderr == f"batchmon: job {job_id} is processing: it has no outputs to fetch yet\n"
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["links", "download"])
@pytest.mark.usefixtures("sim")
def test_unknown_or_bad_id_exits_2(server: SimServer, command: str, tmp_path: Path) -> None:
    extra = ["--dir", str(tmp_path)] if command == "download" else []
    unknown = run(server, command, MISSING_ID, *extra)
    assert unknown.returncode == 2 and "no such job" in unknown.stderr
    bad = run(server, command, "not-an-id", *extra)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_unreachable_api_exits_3(server: SimServer, tmp_path: Path) -> None:
    offline = run(server, "download", MISSING_ID, "--dir", str(tmp_path), url=unreachable_url())
    assert offline.returncode == 3 and "could not reach 127.0.0.1" in offline.stderr
    # The last line is batchmon's; the message's wording about the cause is the API client's.
    assert offline.stderr.splitlines()[-1].startswith("batchmon: could not reach 127.0.0.1:")
    assert list(tmp_path.iterdir()) == []


def test_download_prints_each_path_and_writes_the_served_bytes(
    server: SimServer, sim: Simulator, tmp_path: Path
) -> None:
    job_id = sim.create_job(preset="soap-notes", status="finished")
    result = run(server, "download", job_id, "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress display when stderr is not a terminal
    folder = tmp_path / job_id
    names = ["transcription.json", "transcription.srt", "transcription.txt", "transcription.vtt"]
    names += ["soap.json", "concept.json"]
    assert result.stdout.splitlines() == [str(folder / name) for name in names]
    sources = ["transcript.json", "transcript.srt", "transcript.txt", "transcript.vtt", "soap.json", "concept.json"]
    for name, source in zip(names, sources, strict=True):
        assert (folder / name).read_bytes() == served(sim, job_id, source)
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    # The key went to the API only, never to the file host.
    files = sim.file_requests.entries()
    assert len(files) == len(names)
    assert all(entry.header("authorization") is None and entry.host.startswith("localhost:") for entry in files)


def test_download_filters_and_refuses_to_overwrite(server: SimServer, sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    first = run(server, "download", job_id, "--dir", str(tmp_path), "--kind", "transcription", "--format", "TXT")
    assert first.stdout == f"{tmp_path / job_id / 'transcription.txt'}\n"
    target = tmp_path / job_id / "transcription.txt"
    target.write_text("edited by hand")

    again = run(server, "download", job_id, "--dir", str(tmp_path), "--format", "txt")
    assert again.returncode == 2
    assert again.stderr == f"batchmon: {target} exists; --force replaces it\n"
    assert again.stdout == f"{tmp_path / job_id / 'summary.txt'}\n"  # the other txt output is still saved
    assert target.read_text() == "edited by hand"

    forced = run(
        server, "download", job_id, "--dir", str(tmp_path), "--kind", "transcription", "--format", "txt", "--force"
    )
    assert forced.returncode == 0 and target.read_bytes() == served(sim, job_id, "transcript.txt")

    missing = run(server, "download", job_id, "--dir", str(tmp_path), "--kind", "soap")
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"batchmon: job {job_id} has no soap output (it has: transcription json,")


def test_download_into_download_dir_from_the_config(server: SimServer, sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "batchmon" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'download_dir = "{tmp_path / "saved"}"\n')
    result = run(server, "download", job_id, "--kind", "summary")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'saved' / job_id / 'summary.txt'}\n"


def test_several_jobs_report_each_failure_and_exit_with_the_worst(
    server: SimServer, sim: Simulator, tmp_path: Path
) -> None:
    done = sim.create_job(preset="summarize", status="finished")
    waiting = sim.create_job(status="submitted", processing_in=None)
    result = run(server, "download", waiting, done, "--dir", str(tmp_path), "--kind", "summary")
    assert result.returncode == 2
    assert result.stdout == f"{tmp_path / done / 'summary.txt'}\n"
    assert result.stderr == f"batchmon: job {waiting} is submitted: it has no outputs to fetch yet\n"

    server.faults.link_ttl = 0  # every link expired, even a fresh one: a file-host failure
    expired = run(server, "download", done, "--dir", str(tmp_path / "b"), "--kind", "summary")
    assert expired.returncode == 3
    assert "summary txt: localhost refused the link" in expired.stderr and "Request has expired" in expired.stderr
    assert not (tmp_path / "b" / done / "summary.txt").exists()


def test_a_killed_download_leaves_no_file_under_the_final_name(
    server: SimServer, sim: Simulator, tmp_path: Path
) -> None:
    job_id = sim.create_job(status="finished")
    server.faults.file_rate = 1000  # the Deepgram JSON takes several seconds
    folder = tmp_path / job_id
    proc = subprocess.Popen(
        [BATCHMON, "download", job_id, "--dir", str(tmp_path), "--format", "json"],
        env=environment(server.base_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        parts: list[Path] = []
        while time.monotonic() < deadline:
            parts = [p for p in folder.glob(".transcription.json.*.part") if p.stat().st_size > 0]
            if parts:
                break
            time.sleep(0.02)
        assert parts, "the download never started writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (folder / "transcription.json").exists()
    assert [p.name for p in folder.iterdir()] == [parts[0].name]  # only the partial temporary file
    assert parts[0].stat().st_size < len(served(sim, job_id, "transcript.json"))


def test_progress_is_drawn_on_a_terminal(server: SimServer, sim: Simulator, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    server.faults.file_rate = 2000
    main, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [BATCHMON, "download", job_id, "--dir", str(tmp_path), "--kind", "summary"],
            env=environment(server.base_url),
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=30,
        )
        os.close(secondary)
        drawn = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0
    assert proc.stdout.decode() == f"{tmp_path / job_id / 'summary.txt'}\n"
    size = len(served(sim, job_id, "summary.txt"))
    assert b"\rsummary txt  " in drawn and f"/ {size} B".encode() in drawn
    assert drawn.endswith(b"\r")  # the line is cleared when the file is done
