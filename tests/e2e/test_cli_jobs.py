"""`batchmon submit` and `batchmon delete`, the installed command run against the simulator on loopback."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from support import BATCHMON, unreachable_url

from tui.sim import Faults, SimServer, Simulator

KEY = "cli-jobs-key-77a1"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=2, seed=3, api_key=KEY, speed=50), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    yield server.sim
    server.faults.reset()


def env_for(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DAILY_API_KEY=KEY, DAILY_API_URL=url)
    return env


def run(server: SimServer, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [BATCHMON, *args],
        capture_output=True,
        text=True,
        env=env_for(url or server.base_url),
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    for stream in (result.stdout, result.stderr):
        assert KEY not in stream and "Traceback" not in stream
    return result


def on_a_terminal(server: SimServer, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdin on a pseudo-terminal holding `answer` (the prompt goes to stderr)."""
    leader, follower = os.openpty()
    try:
        os.write(leader, answer.encode())
        result = subprocess.run(
            [BATCHMON, *args],
            capture_output=True,
            text=True,
            env=env_for(server.base_url),
            timeout=60,
            stdin=follower,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert "Traceback" not in result.stderr
    return result


def watched(server: SimServer) -> list[str]:
    return [job["id"] for job in json.loads(run(server, "watched", "--json").stdout)]


# -- submit ----------------------------------------------------------------------------------------


def test_submit_prints_the_id_and_watches_the_job(server: SimServer, sim: Simulator) -> None:
    result = run(server, "submit", "--preset", "summarize", "--recording-id", "rec-cli", "--language", "de")
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    assert job_id == sim.ids()[0]
    assert sim.record(job_id)["input"] == {"sourceType": "recordingId", "recordingId": "rec-cli", "language": "de"}
    assert job_id in watched(server)


def test_submit_json_with_template_and_options(server: SimServer, sim: Simulator) -> None:
    result = run(
        server,
        *("submit", "--preset", "transcript", "--uri", "https://media.example.org/talk.mp4", "--json"),
        *("--template", "talk-{job_id}", "--option", "punctuate=true", "--option", "model=nova-2"),
    )
    assert result.returncode == 0, result.stderr
    job_id = json.loads(result.stdout)["id"]
    assert sim.job(job_id).template == f"talk-{job_id}"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--uri", "ftp://media.example.org/a.mp4"), "http"),
        (("--recording-id", "r", "--template", "{jobid}"), "--template"),
        (("--recording-id", "r", "--template", "a b"), "--template"),
        (("--recording-id", "r", "--option", "colour=red"), "--option"),
        (("--recording-id", "r", "--option", "punctuate"), "KEY=VALUE"),
        (("--recording-id", "r", "--language", "en GB"), "--language"),
        (("--recording-id", " "), "recording id"),
    ],
)
def test_bad_input_is_refused_before_sending(
    server: SimServer, sim: Simulator, args: tuple[str, ...], said: str
) -> None:
    before = sim.requests.count
    result = run(server, "submit", "--preset", "transcript", *args)
    assert result.returncode == 2
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sim.requests.count == before  # nothing sent


def test_both_sources_at_once_is_a_usage_error(server: SimServer) -> None:
    result = run(server, "submit", "--preset", "transcript", "--uri", "https://x.example/a", "--recording-id", "r")
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_server_rejection_shows_its_info(server: SimServer, sim: Simulator) -> None:
    before = len(sim)
    result = run(server, "submit", "--preset", "dance", "--recording-id", "r")
    assert result.returncode == 2
    assert "refused" in result.stderr and "preset must be one of" in result.stderr
    assert len(sim) == before


def test_lost_answer_names_the_matching_job_and_does_not_resend(server: SimServer, sim: Simulator) -> None:
    before = len(sim)
    server.faults.lose_answers = 1
    result = run(server, "submit", "--preset", "transcript", "--recording-id", "rec-lost-cli")
    assert result.returncode == 3
    created = sim.ids()[0]
    assert len(sim) == before + 1  # exactly one job: no silent second submit
    assert "outcome unknown" in result.stderr and created in result.stderr
    assert result.stdout == ""
    assert created in watched(server)


def test_lost_answer_without_a_job_says_rerunning_is_safe(server: SimServer, sim: Simulator) -> None:
    before = len(sim)
    server.faults.lose_answers = 1
    result = run(server, "submit", "--preset", "dance", "--recording-id", "rec-none")  # refused, answer lost
    assert result.returncode == 3
    assert "no matching job appeared" in result.stderr and "re-running is safe" in result.stderr
    assert len(sim) == before


def test_lost_answer_on_a_terminal_offers_to_send_again(server: SimServer, sim: Simulator) -> None:
    server.faults.lose_answers = 1
    before = len(sim)
    # The first try is refused and its answer lost, so no job appears; "y" sends it again, and
    # that one is refused with an answer.
    result = on_a_terminal(server, "y\n", "submit", "--preset", "dance", "--recording-id", "rec-again")
    assert "Send it again? [y/N]" in result.stderr
    assert "preset must be one of" in result.stderr and result.returncode == 2
    posts = [e for e in sim.requests.entries() if e.method == "POST"]
    assert [e.status for e in posts[-2:]] == [0, 400]
    assert len(sim) == before


def test_unreachable_api_exits_3(server: SimServer) -> None:
    result = run(server, "submit", "--preset", "transcript", "--recording-id", "r", url=unreachable_url())
    assert result.returncode == 3 and "could not reach" in result.stderr


@pytest.mark.usefixtures("sim")
def test_submit_watch_streams_until_the_job_ends(server: SimServer) -> None:
    result = run(server, "submit", "--preset", "transcript", "--recording-id", "rec-w", "--watch", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    job_id = lines[0]["id"]
    assert lines[0] == {"id": job_id}
    assert [line["status"] for line in lines[1:]][-1] == "finished"
    assert {line["id"] for line in lines[1:]} == {job_id}


# -- delete ----------------------------------------------------------------------------------------


def test_delete_refuses_without_yes_when_stdin_is_not_a_terminal(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    result = run(server, "delete", job_id)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert job_id in sim


def test_delete_with_yes_then_again(server: SimServer, sim: Simulator) -> None:
    first, second = sim.create_job(), sim.create_job()
    result = run(server, "delete", first, second, "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"deleted {first}", f"deleted {second}"]
    assert first not in sim and second not in sim
    again = run(server, "delete", first, "--yes")
    assert again.returncode == 2 and "no such job" in again.stderr


def test_delete_lost_answer_is_rechecked(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    server.faults.lose_answers = 1
    result = run(server, "delete", job_id, "--yes")
    assert result.returncode == 0, result.stderr
    assert "a GET confirmed it is gone" in result.stdout
    assert job_id not in sim


def test_delete_asks_on_a_terminal_naming_the_job(server: SimServer, sim: Simulator) -> None:
    kept = sim.create_job(preset="summarize", source={"sourceType": "recordingId", "recordingId": "rec-ask"})
    result = on_a_terminal(server, "n\n", "delete", kept)
    assert kept in result.stderr and "rec-ask" in result.stderr
    assert "outputs in Daily's storage are deleted too" in result.stderr
    assert result.returncode == 0 and kept in sim
    result = on_a_terminal(server, "y\n", "delete", kept)
    assert result.returncode == 0 and f"deleted {kept}" in result.stdout
    assert kept not in sim


def test_delete_server_error_exits_3(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    server.faults.status, server.faults.status_paths = 500, "^/v1/batch-processor/"
    result = run(server, "delete", job_id, "--yes")
    assert result.returncode == 3
    assert job_id in sim
