"""CLI manners (help, did you mean, the /v1 hint, the --demo hint), short ids, and `batchmon serve`."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx2
import pytest
import test_cli
from support import BATCHMON
from test_cli import KEY, MISSING_ID, run

from tui.sim import SimServer, Simulator

server = test_cli.server  # the simulator fixtures of test_cli, shared
sim = test_cli.sim

A = "3f2a9c1b-0000-4000-8000-0000000000a1"
B = "3f2a9c1b-0000-4000-8000-0000000000b2"
C = "7b00ffee-1111-4111-8111-1111111111c3"


def test_help_overview_lists_every_command() -> None:
    result = run("help", key=None)
    assert result.returncode == 0, result.stderr
    for command in ("add", "watched", "get", "list", "watch", "links", "download", "simulate", "serve", "locate"):
        assert f"\n  {command} " in result.stdout, command
    assert "batchmon help COMMAND" in result.stdout


def test_help_of_a_command() -> None:
    result = run("help", "get", key=None)
    assert result.returncode == 0 and result.stdout.startswith("usage: batchmon get")
    assert "--json" in result.stdout


def test_help_of_a_mistyped_command_suggests() -> None:
    result = run("help", "dowload", key=None)
    assert result.returncode == 2 and "did you mean `download`?" in result.stderr


def test_a_mistyped_command_gets_did_you_mean(server: SimServer, sim: Simulator) -> None:
    before = sim.requests.count
    result = run("lsit", url=server.base_url)
    assert result.returncode == 2
    assert result.stderr.strip() == "batchmon: unknown command 'lsit': did you mean `list`?"
    assert "not a job id" not in result.stderr
    assert sim.requests.count == before


def test_an_unknown_word_points_to_help() -> None:
    result = run("xyzzy", key=None)
    assert result.returncode == 2 and "see `batchmon help`" in result.stderr


def test_no_key_suggests_the_demo() -> None:
    result = run("list", key=None)
    assert result.returncode == 2
    assert "no API key: set DAILY_API_KEY" in result.stderr and "batchmon --demo" in result.stderr


@pytest.mark.usefixtures("sim")
def test_a_base_url_without_v1_gets_the_hint(server: SimServer) -> None:
    for args in (
        ("get", MISSING_ID),
        ("list",),
        ("download", MISSING_ID),
        ("watch", MISSING_ID),
        ("links", MISSING_ID),
    ):
        result = run(*args, url=server.root_url)
        assert result.returncode == 3, (args, result.stderr)
        assert "does DAILY_API_URL end in /v1?" in result.stderr, args


@pytest.mark.usefixtures("sim")
def test_a_missing_job_is_still_a_missing_job(server: SimServer) -> None:
    result = run("get", MISSING_ID, url=server.base_url)
    assert result.returncode == 2 and "/v1" not in result.stderr


# -- short ids ---------------------------------------------------------------------------------


@pytest.fixture
def watched(server: SimServer, sim: Simulator) -> None:  # noqa: ARG001  # the server must be up first
    for job_id in (A, B, C):
        if job_id not in sim.ids():
            sim.create_job(job_id=job_id, status="finished")
    assert run("add", A, B, C, key=None).returncode == 0


@pytest.mark.usefixtures("sim", "watched")
def test_get_takes_a_unique_prefix(server: SimServer) -> None:
    result = run("get", "7b00ff", url=server.base_url)
    assert result.returncode == 0, result.stderr
    assert C in result.stdout


@pytest.mark.usefixtures("watched")
def test_an_ambiguous_prefix_lists_the_candidates(server: SimServer, sim: Simulator) -> None:
    before = sim.requests.count
    result = run("get", "3f2a9c1b", url=server.base_url)
    assert result.returncode == 2
    assert "ambiguous" in result.stderr and A in result.stderr and B in result.stderr
    assert sim.requests.count == before


@pytest.mark.usefixtures("sim", "watched")
def test_an_unknown_prefix_says_so(server: SimServer) -> None:
    result = run("links", "abcdef12", url=server.base_url)
    assert result.returncode == 2 and "no watched job id starts with 'abcdef12'" in result.stderr


@pytest.mark.usefixtures("sim", "watched")
def test_watch_and_download_take_prefixes(server: SimServer, tmp_path: Path) -> None:
    result = run("watch", "7B00FF", "--json", url=server.base_url)
    assert result.returncode == 0, result.stderr
    assert C in result.stdout
    result = run("download", "7b00ff", "--dir", str(tmp_path), url=server.base_url)
    assert result.returncode == 0, result.stderr
    assert C in result.stdout


# -- serve -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _served_screen(port: int) -> str:
    """What the app served at the websocket draws, as text (the browser's side of a session)."""
    import aiohttp  # textual-serve's own dependency

    got = b""
    async with aiohttp.ClientSession() as session, session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
        await ws.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
        while b"Jobs" not in got:
            message = await asyncio.wait_for(ws.receive(), 20)
            if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                break
            got += message.data if isinstance(message.data, bytes) else message.data.encode()
    return got.decode("utf-8", "replace")


def test_serve_answers_http_on_its_port() -> None:
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if name != "DAILY_API_KEY"}
    proc = subprocess.Popen(
        [BATCHMON, "serve", "--port", str(port), "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx2.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx2.TransportError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "serve never answered"
                time.sleep(0.1)
        assert answer.status_code == 200
        assert "<html" in answer.text.lower() and "ws://" in answer.text
        screen = asyncio.run(_served_screen(port))
        assert "batchmon demo" in screen and "Jobs" in screen  # the TUI itself runs behind the page
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "Traceback" not in err and KEY not in out + err


def test_serve_without_a_key_says_so_at_once() -> None:
    result = run("serve", "--port", str(_free_port()), key=None)
    assert result.returncode == 2 and "batchmon --demo" in result.stderr


def test_a_bad_keymap_is_a_config_error_before_the_tui_starts(isolated_dirs) -> None:  # type: ignore[no-untyped-def]
    config = isolated_dirs / "xdg_config_home" / "batchmon" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\nad = "f2"\n')
    result = run("--demo", key=None, timeout=20)
    assert result.returncode == 2
    assert "unknown binding id 'ad' (did you mean 'add'?)" in result.stderr
    config.write_text('[keymap]\nadd = "ctrl+"\n')
    result = run("--demo", key=None, timeout=20)
    assert result.returncode == 2 and "'ctrl+' is not a key" in result.stderr


def test_retries_leave_no_log_lines_on_stderr(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job(status="finished")
    server.faults.status = 503  # answered 503 for a second and a half: get retries, then succeeds
    timer = threading.Timer(1.5, server.faults.reset)
    timer.start()
    try:
        result = run("get", job_id, url=server.base_url)
    finally:
        timer.cancel()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
