"""Hostile server text (escapes, markup, huge and deep values) reaches the CLI's terminal inert and bounded."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import httpx2
import pytest
from support import BATCHMON

from tui.api.client import ERROR_TEXT_MAX, error_for_response
from tui.present.text import MAX_SHOWN, clip, json_preview, shown
from tui.sim import Faults, SimServer, Simulator

KEY = "hostile-secret-2b7c"

OSC52 = "\x1b]52;c;aGVsbG8=\x07"  # "write hello to the clipboard"
OSC8 = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b2J"
MARKUP = ["[red]", "[/", "[link=http:", "[/]", "[bold red on white]x[/]"]
HUGE = "h" * 1_000_000
CONTROL_BYTES = ("\x1b", "\x07", "\x9b", "\x9d", "\x00")


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=5, api_key=KEY), Faults()) as running:
        yield running


def run(server: SimServer, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"}
    env |= {"DAILY_API_KEY": KEY, "DAILY_API_URL": server.base_url}
    result = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert_inert(result.stdout + result.stderr)
    assert "Traceback" not in result.stderr and KEY not in result.stdout + result.stderr
    return result


def assert_inert(text: str) -> None:
    for byte in CONTROL_BYTES:
        assert byte not in text, f"raw {byte!r} reached the terminal"


def hostile_job(sim: Simulator) -> str:
    job_id = sim.create_job(status="error", error=f"failed {OSC52}{CLEAR} [red]x[/] " + HUGE)
    sim.set_extra(
        job_id,
        {
            f"name{OSC52}": "value",
            f"link{OSC8}": [f"v{OSC8}", {f"k{CLEAR}": f"v{C1_CSI}"}],
            "markup": MARKUP,
            "big": HUGE,
            "deep": json.loads("[" * 300 + '"bottom"' + "]" * 300),
        },
    )
    return job_id


def test_get_makes_every_name_and_value_inert_and_bounded(server: SimServer) -> None:
    result = run(server, "get", hostile_job(server.sim))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Shown, not acted on: the escapes appear as visible \xNN text.
    assert "name\\x1b]52;c;aGVsbG8=\\x07" in out
    assert "failed \\x1b]52;c;aGVsbG8=\\x07\\x1b[2J\\x1b[H [red]x[/]" in out
    assert all(json.dumps(tag) in out for tag in MARKUP)  # markup is plain text in the CLI
    # Bounded: no line anywhere near the 1 MB fields, and the cut is said.
    assert max(len(line) for line in out.splitlines()) < MAX_SHOWN * 4 + 200
    assert out.count("more characters not shown") == 2  # `error` and `big`
    assert "[[[[[[…]]]]]]" in out  # the deep value is shown down to a few levels only


def test_get_json_escapes_control_characters_and_survives_depth(server: SimServer) -> None:
    job_id = hostile_job(server.sim)
    result = run(server, "get", job_id, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["error"].startswith(f"failed {OSC52}")  # the API's JSON: every byte kept, escaped as \u001b
    assert f"name{OSC52}" in body


def test_list_and_watch_make_statuses_and_presets_inert(server: SimServer) -> None:
    sim = server.sim
    job_id = sim.create_job(preset=f"pre{OSC52}set{'p' * 5000}", status="submitted", processing_in=None)
    sim.force_status(job_id, f"weird{CLEAR}{OSC8}")
    listed = run(server, "list", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if job_id in line)
    assert "weird\\x1b[2J" in row and "pre\\x1b]52" in row and len(row) < 600

    env = {k: v for k, v in os.environ.items() if k != "DAILY_API_KEY"}
    env |= {"DAILY_API_KEY": KEY, "DAILY_API_URL": server.base_url}
    proc = subprocess.Popen(
        [BATCHMON, "watch", job_id, "--interval", "0.5", "--rate", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        sim.force_status(job_id, "finished")
        rest, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert_inert(first + rest + err)
    assert "weird\\x1b[2J\\x1b[H\\x1b]8;;" in first
    assert "weird\\x1b[2J" in rest and "finished" in rest  # the change away from it names it, inert


def test_error_response_text_is_cut() -> None:
    body = {"error": "invalid-request-error", "info": "i" * 1_000_000}
    response = httpx2.Response(400, json=body, request=httpx2.Request("GET", "http://a.example/v1/batch-processor"))
    message = str(error_for_response(response))
    assert len(message) < 2 * ERROR_TEXT_MAX + 50 and "invalid-request-error" in message


# -- the helpers themselves --------------------------------------------------------------------------------------


def test_clip_says_how_much_is_left_out() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 3) == "abc… (3 more characters not shown)"
    assert shown("a\x1bb" + "c" * 10, 4) == "a\\x1bbc… (9 more characters not shown)"


def test_json_preview_bounds_depth_items_and_length() -> None:
    assert json_preview({"a": [1, "x\x1b"], "b": None}) == '{"a": [1, "x\\u001b"], "b": null}'
    assert json_preview([[[[1]]]], depth=2) == "[[[…]]]"
    assert json_preview(list(range(60))).endswith(", 49, … 10 more]")
    assert len(json_preview(["x" * 10_000] * 10, limit=100)) < 120
    assert json_preview({f"\x9b{OSC52}": 1}) == '{"\\x9b\\u001b]52;c;aGVsbG8=\\u0007": 1}'
    deep: list[object] = []
    for _ in range(100_000):  # far deeper than Python's recursion limit
        deep = [deep]
    assert json_preview(deep) == "[" * 6 + "[…]" + "]" * 6
    assert json_preview({"n": 10**5000}) == '{"n": …}'  # more digits than Python will print


def test_lone_surrogates_are_shown_not_crashing_the_print() -> None:
    from tui.api.models import Job
    from tui.cli.read import format_job

    job = Job.model_validate(json.loads('{"id": "a", "note": "\\ud800", "n": {"x\\udfff": "\\ud83d"}}'))
    job.model_dump(mode="json")  # 0.1.0: UnicodeEncodeError for the nested one
    text = format_job(job)
    text.encode("utf-8")  # 0.1.0: UnicodeEncodeError, "internal error"
    assert shown("a\ud800b") == "a\\ud800b"
