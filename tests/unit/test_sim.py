"""Tests for the simulated Batch Processor API (tui.sim)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Any

import httpx2
import pytest
from support import T0, FakeClock, load_example

from tui.sim import Faults, SimServer, Simulator, create_app, serve_async
from tui.sim.faultlayer import ConnectionDropped
from tui.sim.requestlog import RequestLog

AUTH = {"Authorization": "Bearer sim-key"}
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return Simulator(clock=clock)


@pytest.fixture
def faults() -> Faults:
    return Faults()


def asgi_client(sim: Simulator, faults: Faults | None = None, **kwargs: Any) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=create_app(sim, faults))
    return httpx2.AsyncClient(transport=transport, base_url="http://sim/v1", **kwargs)


@pytest.fixture
async def client(sim: Simulator, faults: Faults) -> AsyncIterator[httpx2.AsyncClient]:
    async with asgi_client(sim, faults, headers=AUTH) as c:
        yield c


def make_jobs(sim: Simulator, clock: FakeClock, count: int, **kwargs: Any) -> list[str]:
    """`count` jobs created one second apart, oldest first."""
    ids = []
    for _ in range(count):
        ids.append(sim.create_job(**kwargs))
        clock.advance(1)
    return ids


# -- auth and errors -----------------------------------------------------------------------------


async def test_missing_authorization_header_is_400(sim: Simulator) -> None:
    async with asgi_client(sim) as c:
        r = await c.get("/batch-processor")
    assert r.status_code == 400
    assert r.json()["error"] == "authorization-header-error"
    assert r.json()["info"]


@pytest.mark.parametrize("header", ["sim-key", "Basic c2ltLWtleQ==", "Bearer", "Bearer   "])
async def test_malformed_authorization_header_is_400(sim: Simulator, header: str) -> None:
    async with asgi_client(sim, headers={"Authorization": header}) as c:
        r = await c.get("/batch-processor")
    assert r.status_code == 400
    assert r.json()["error"] == "authorization-header-error"


async def test_wrong_key_is_401_without_info(sim: Simulator) -> None:
    async with asgi_client(sim, headers={"Authorization": "Bearer nope"}) as c:
        r = await c.get("/batch-processor")
    assert r.status_code == 401
    assert r.json() == load_example("error-401.json")


async def test_revoking_the_key_mid_run_gives_401(sim: Simulator, client: httpx2.AsyncClient) -> None:
    assert (await client.get("/batch-processor")).status_code == 200
    sim.set_api_key("rotated")
    assert (await client.get("/batch-processor")).status_code == 401


async def test_unknown_job_is_404(client: httpx2.AsyncClient) -> None:
    job_id = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
    for path in (f"/batch-processor/{job_id}", f"/batch-processor/{job_id}/access-link"):
        r = await client.get(path)
        assert r.status_code == 404
        assert r.json() == {"error": "not-found", "info": f"batch processor job {job_id} not found"}
    assert (await client.delete(f"/batch-processor/{job_id}")).status_code == 404


async def test_unknown_route_answers_json_404(client: httpx2.AsyncClient) -> None:
    r = await client.get("/batch-processors")
    assert r.status_code == 404
    assert r.json()["error"] == "not-found"


# -- lifecycle -----------------------------------------------------------------------------------


async def test_lifecycle_follows_the_schedule_exactly(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    job_id = sim.create_job(processing_in=1.0, done_in=3.0)

    async def status() -> str:
        status: str = (await client.get(f"/batch-processor/{job_id}")).json()["status"]
        return status

    assert await status() == "submitted"
    clock.advance(0.999)
    assert await status() == "submitted"
    clock.advance(0.001)
    assert await status() == "processing"
    clock.advance(1.999)
    assert await status() == "processing"
    clock.advance(0.001)
    assert await status() == "finished"
    assert sim.transitions(job_id) == [("submitted", T0), ("processing", T0 + 1.0), ("finished", T0 + 3.0)]
    job = sim.job(job_id)
    assert (job.created_at, job.processing_at, job.done_at, job.outcome) == (T0, T0 + 1.0, T0 + 3.0, "finished")


def test_transitions_only_show_the_past_unless_asked(sim: Simulator, clock: FakeClock) -> None:
    job_id = sim.create_job(processing_in=2.0, done_in=5.0, outcome="error")
    clock.advance(2.5)
    assert sim.transitions(job_id) == [("submitted", T0), ("processing", T0 + 2.0)]
    assert sim.transitions(job_id, include_future=True)[-1] == ("error", T0 + 5.0)


def test_none_delay_stays_until_forced(sim: Simulator, clock: FakeClock) -> None:
    waiting = sim.create_job(processing_in=None)
    running = sim.create_job(status="processing", done_in=None)
    clock.advance(10_000)
    assert sim.status(waiting) == "submitted"
    assert sim.status(running) == "processing"
    sim.force_status(running, "finished")
    assert sim.status(running) == "finished"
    assert sim.transitions(running)[-1] == ("finished", T0 + 10_000)


def test_force_status_cancels_the_rest_of_the_schedule(sim: Simulator, clock: FakeClock) -> None:
    job_id = sim.create_job(processing_in=1.0, done_in=3.0, error="Error: boom")
    sim.force_status(job_id, "error")
    clock.advance(100)
    assert sim.status(job_id) == "error"
    assert sim.record(job_id)["error"] == "Error: boom"
    assert sim.transitions(job_id) == [("submitted", T0), ("error", T0)]


def test_create_job_rejects_a_done_time_before_processing(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="done_in must not be before processing_in"):
        sim.create_job(processing_in=5.0, done_in=1.0)


# -- job bodies ----------------------------------------------------------------------------------

EXAMPLE_FOR_PRESET = {
    "transcript": "job-finished-transcript.json",
    "summarize": "job-finished-summarize.json",
    "soap-notes": "job-finished-soap.json",
}


def output_layout(output: dict[str, Any], prefix: str, template: str) -> dict[str, list[str]]:
    """Each output as "<format> <key>" with the domain/jobId prefix removed and the template as <t>."""
    layout: dict[str, list[str]] = {}
    for kind, value in output.items():
        for entry in value if isinstance(value, list) else [value]:
            assert set(entry) == {"format", "s3Config"}
            assert set(entry["s3Config"]) == {"key", "bucket", "region"}
            key = entry["s3Config"]["key"]
            assert key.startswith(prefix)
            layout.setdefault(kind, []).append(f"{entry['format']} {key.removeprefix(prefix).replace(template, '<t>')}")
    return layout


@pytest.mark.parametrize("preset", ["transcript", "summarize", "soap-notes"])
async def test_finished_outputs_per_preset_match_the_examples(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient, preset: str
) -> None:
    example = load_example(EXAMPLE_FOR_PRESET[preset])
    example_template = PurePosixPath(example["output"]["transcription"][0]["s3Config"]["key"]).stem
    expected = output_layout(example["output"], f"acme-health/{example['id']}/", example_template)

    job_id = sim.create_job(preset=preset)
    before = (await client.get(f"/batch-processor/{job_id}")).json()
    assert before["output"] == {}
    clock.advance(3)
    body = (await client.get(f"/batch-processor/{job_id}")).json()
    assert list(body) == list(example)
    assert (body["id"], body["preset"], body["status"]) == (job_id, preset, "finished")
    assert output_layout(body["output"], f"{sim.domain}/{job_id}/", sim.job(job_id).template) == expected
    s3 = body["output"]["transcription"][0]["s3Config"]
    assert (s3["bucket"], s3["region"]) == (sim.bucket, sim.region)


async def test_error_job_looks_like_the_example(sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient) -> None:
    source = {"sourceType": "uri", "uri": "https://media.example.org/uploads/silent-test-clip.mp3"}
    job_id = sim.create_job(source=source, outcome="error")
    clock.advance(3)
    body = (await client.get(f"/batch-processor/{job_id}")).json()
    assert list(body) == list(load_example("job-error.json"))
    assert body == {
        "id": job_id,
        "preset": "transcript",
        "status": "error",
        "input": source,
        "output": {},
        "error": "Error: Failed to transcribe. May be invalid audio or silent file",
    }


async def test_unknown_fields_status_and_preset_pass_through(sim: Simulator, client: httpx2.AsyncClient) -> None:
    job_id = sim.create_job(preset="translate")
    sim.set_extra(job_id, {"priority": "high", "output": None})
    sim.force_status(job_id, "paused")
    body = (await client.get(f"/batch-processor/{job_id}")).json()
    assert (body["preset"], body["status"], body["priority"], body["output"]) == ("translate", "paused", "high", None)
    listed = (await client.get("/batch-processor")).json()["data"]
    assert listed == [{"id": job_id, "preset": "translate", "status": "paused"}]


# -- access links and files ----------------------------------------------------------------------


async def test_access_link_is_400_until_finished(sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient) -> None:
    job_id = sim.create_job()
    for _ in range(2):  # submitted, then processing
        r = await client.get(f"/batch-processor/{job_id}/access-link")
        assert r.status_code == 400
        assert r.json() == {"error": "invalid-request-error", "info": "job is not finished"}
        clock.advance(1.5)


async def test_access_links_serve_realistic_files(sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient) -> None:
    summary_job = sim.create_job(preset="summarize")
    soap_job = sim.create_job(preset="soap-notes")
    clock.advance(3)
    body = (await client.get(f"/batch-processor/{summary_job}/access-link")).json()
    example = load_example("access-link.json")
    assert list(body) == list(example)
    assert [t["format"] for t in body["transcription"]] == [t["format"] for t in example["transcription"]]
    assert only(body["summary"])["format"] == example["summary"]["format"]
    assert set(only(body["summary"])) == set(example["summary"]) == {"format", "link"}
    links = {t["format"]: t["link"] for t in body["transcription"]}
    assert all(link.startswith(f"http://files.sim/files/{summary_job}/") for link in links.values())

    async with asgi_client(sim) as anonymous:  # the signature is the credential
        txt = await anonymous.get(links["txt"])
        srt = await anonymous.get(links["srt"])
        vtt = await anonymous.get(links["vtt"])
        deepgram = (await anonymous.get(links["json"])).json()
        summary = await anonymous.get(only(body["summary"])["link"])
        soap_links = (await client.get(f"/batch-processor/{soap_job}/access-link")).json()
        soap = (await anonymous.get(only(soap_links["soap"])["link"])).json()
        concept = (await anonymous.get(only(soap_links["concept"])["link"])).json()
        again = await anonymous.get(links["txt"])

    assert txt.status_code == 200 and txt.text.startswith("Speaker 0: ")
    assert txt.headers["content-type"].startswith("text/plain")
    assert srt.text.startswith("1\n00:00:00,000 --> ")
    assert vtt.text.startswith("WEBVTT\n\n00:00:00.000 --> ")
    alternative = deepgram["results"]["channels"][0]["alternatives"][0]
    assert alternative["transcript"].startswith("Good morning")
    assert alternative["paragraphs"]["paragraphs"][0]["sentences"][0]["text"]
    assert "Action items" in summary.text
    assert set(soap) == {"Subjective", "Objective", "Assessment", "Plan"}
    assert concept["concepts"][0]["text"]
    assert again.text == txt.text


def only(entry: Any) -> dict[str, Any]:
    """A one-file kind: an object (as the docs show) or a one-item list (as live clients read it)."""
    if isinstance(entry, list):
        assert len(entry) == 1
        entry = entry[0]
    assert isinstance(entry, dict)
    return entry


async def test_file_with_bad_signature_is_403(sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient) -> None:
    job_id = sim.create_job()
    clock.advance(3)
    link = (await client.get(f"/batch-processor/{job_id}/access-link")).json()["transcription"][0]["link"]
    forged = link.replace("transcript.json", "transcript.txt")
    tampered = link[:-4] + "0000"
    for url in (forged, tampered, link.split("?")[0]):
        r = await client.get(url)
        assert r.status_code == 403
        assert "AccessDenied" in r.text
    assert (await client.get(link)).status_code == 200


# -- submit and delete ---------------------------------------------------------------------------


async def test_submit_creates_a_job_that_progresses(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    body = {
        "preset": "summarize",
        "inParams": {"sourceType": "uri", "uri": "https://media.example.org/uploads/all-hands.mp4", "language": "en"},
        "outParams": {"s3Config": {"s3KeyTemplate": "sync-{job_id}", "useReplacement": True}},
    }
    r = await client.post("/batch-processor", json=body)
    assert r.status_code == 200
    job_id = r.json()["id"]
    assert list(r.json()) == ["id"]
    record = sim.record(job_id)
    assert (record["status"], record["input"]) == ("submitted", body["inParams"])
    clock.advance(60)
    summary_key = sim.record(job_id)["output"]["summary"]["s3Config"]["key"]
    assert summary_key == f"{sim.domain}/{job_id}/summary/sync-{job_id}"


async def test_submit_of_a_silent_file_ends_in_error(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    body = {"preset": "transcript", "inParams": {"sourceType": "uri", "uri": "https://x.example/silent.mp3"}}
    job_id = (await client.post("/batch-processor", json=body)).json()["id"]
    clock.advance(60)
    assert sim.status(job_id) == "error"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"{not json", "json-parsing-error"),
        (b"", "json-parsing-error"),
        (b"[]", "invalid-request-error"),
        (
            b'{"preset": "dance", "inParams": {"sourceType": "recordingId", "recordingId": "r"}}',
            "invalid-request-error",
        ),
        (b'{"preset": "transcript"}', "invalid-request-error"),
        (b'{"preset": "transcript", "inParams": {"sourceType": "uri"}}', "invalid-request-error"),
        (b'{"preset": "transcript", "inParams": {"sourceType": "ftp", "uri": "x"}}', "invalid-request-error"),
        (
            b'{"preset": "transcript", "inParams": {"sourceType": "uri", "uri": "x"},'
            b' "outParams": {"s3Config": {"s3KeyTemplate": "bad name!"}}}',
            "invalid-request-error",
        ),
    ],
)
async def test_bad_submit_bodies_are_400(
    sim: Simulator, client: httpx2.AsyncClient, content: bytes, error: str
) -> None:
    r = await client.post("/batch-processor", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == error
    assert len(sim) == 0


async def test_delete_returns_the_job_and_removes_it(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    keep, gone = make_jobs(sim, clock, 2)
    r = await client.delete(f"/batch-processor/{gone}")
    assert r.status_code == 200
    assert r.json()["id"] == gone and "output" in r.json()
    assert (await client.get(f"/batch-processor/{gone}")).status_code == 404
    assert (await client.delete(f"/batch-processor/{gone}")).status_code == 404
    listed = (await client.get("/batch-processor")).json()
    assert listed == {"total_count": 1, "data": [{"id": keep, "preset": "transcript", "status": "processing"}]}


# -- list endpoint -------------------------------------------------------------------------------


async def list_ids(client: httpx2.AsyncClient, **params: Any) -> list[str]:
    r = await client.get("/batch-processor", params=params)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["data"]]


async def test_list_is_newest_first_with_id_tie_break(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    older = make_jobs(sim, clock, 3)
    same_time = [sim.create_job() for _ in range(3)]
    expected = sorted(same_time, reverse=True) + older[::-1]
    body = (await client.get("/batch-processor")).json()
    assert body["total_count"] == 6
    assert [item["id"] for item in body["data"]] == expected
    example = load_example("job-list-page.json")
    assert list(body) == list(example)
    assert list(body["data"][0]) == list(example["data"][0])
    assert sim.ids() == expected


async def test_list_pages_with_starting_after_and_ending_before(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    newest_first = make_jobs(sim, clock, 7)[::-1]
    page1 = await list_ids(client, limit=3)
    page2 = await list_ids(client, limit=3, starting_after=page1[-1])
    page3 = await list_ids(client, limit=3, starting_after=page2[-1])
    assert (page1, page2, page3) == (newest_first[:3], newest_first[3:6], newest_first[6:])
    assert await list_ids(client, limit=3, starting_after=page3[-1]) == []
    assert await list_ids(client, limit=3, ending_before=page2[0]) == page1
    assert await list_ids(client, limit=2, ending_before=page3[0]) == newest_first[4:6]
    assert await list_ids(client, limit=3, ending_before="OLDEST") == newest_first[-3:]


async def test_list_limit_defaults_to_100_and_is_bounded(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    make_jobs(sim, clock, 150)
    body = (await client.get("/batch-processor")).json()
    assert (body["total_count"], len(body["data"])) == (150, 100)
    assert len(await list_ids(client, limit=1)) == 1
    assert len(await list_ids(client, limit=100)) == 100
    for bad in ("0", "101", "-1", "ten"):
        r = await client.get("/batch-processor", params={"limit": bad})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid-request-error"


async def test_list_rejects_unknown_or_conflicting_cursors(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    a, b = make_jobs(sim, clock, 2)
    for params in ({"starting_after": "nope"}, {"ending_before": "nope"}, {"starting_after": a, "ending_before": b}):
        r = await client.get("/batch-processor", params=params)
        assert r.status_code == 400
        assert r.json()["error"] == "invalid-request-error"


async def test_list_filters_by_recording_id(sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient) -> None:
    recording = {"sourceType": "recordingId", "recordingId": "c3d9e1f2-4a5b-4c6d-8e7f-90a1b2c3d4e5"}
    mine = [sim.create_job(source=recording)]
    clock.advance(1)
    make_jobs(sim, clock, 3)
    mine.append(sim.create_job(source=recording, preset="summarize"))
    body = (await client.get("/batch-processor", params={"recordingId": recording["recordingId"]})).json()
    assert body["total_count"] == 2
    assert [item["id"] for item in body["data"]] == mine[::-1]


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("sim")
async def test_status_fault_answers_json_or_html(faults: Faults, client: httpx2.AsyncClient) -> None:
    faults.status = 500
    r = await client.get("/batch-processor")
    assert (r.status_code, r.json()["error"]) == (500, "server-error")
    faults.status = 503
    r = await client.get("/batch-processor")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert "503" in r.text
    faults.status = None
    assert (await client.get("/batch-processor")).status_code == 200


async def test_status_fault_can_be_limited_to_some_paths(
    sim: Simulator, faults: Faults, client: httpx2.AsyncClient
) -> None:
    job_id = sim.create_job()
    faults.status, faults.status_paths = 502, r"^/v1/batch-processor$"
    assert (await client.get("/batch-processor")).status_code == 502
    assert (await client.get(f"/batch-processor/{job_id}")).status_code == 200


async def test_latency_fault_delays_answers(faults: Faults, client: httpx2.AsyncClient) -> None:
    faults.latency = 0.2
    started = time.perf_counter()
    assert (await client.get("/batch-processor")).status_code == 200
    assert time.perf_counter() - started >= 0.2


async def test_drop_fault_aborts_the_asgi_call(faults: Faults, client: httpx2.AsyncClient) -> None:
    # Over ASGITransport the abort surfaces as the app's exception; over TCP see the loopback test.
    faults.drop = 1.0
    with pytest.raises(ConnectionDropped):
        await client.get("/batch-processor")


async def test_drop_fault_is_probabilistic_and_deterministic(sim: Simulator) -> None:
    outcomes = []
    for _ in range(2):
        faults = Faults(drop=0.5)
        run = []
        async with asgi_client(sim, faults, headers=AUTH) as c:
            for _ in range(20):
                try:
                    await c.get("/batch-processor")
                    run.append(True)
                except ConnectionDropped:
                    run.append(False)
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert 3 <= outcomes[0].count(False) <= 17


async def test_truncate_fault_cuts_a_200_body_in_half(
    sim: Simulator, faults: Faults, client: httpx2.AsyncClient
) -> None:
    job_id = sim.create_job()
    whole = (await client.get(f"/batch-processor/{job_id}")).content
    faults.truncate = True
    r = await client.get(f"/batch-processor/{job_id}")
    assert r.status_code == 200
    assert r.content == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert (await client.get("/batch-processor/missing")).json()["error"] == "not-found"


async def test_non_json_fault_answers_html(faults: Faults, client: httpx2.AsyncClient) -> None:
    faults.non_json = True
    r = await client.get("/batch-processor")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")


async def test_wrong_shape_fault_answers_a_list(sim: Simulator, faults: Faults, client: httpx2.AsyncClient) -> None:
    job_id = sim.create_job()
    faults.wrong_shape = True
    body = (await client.get(f"/batch-processor/{job_id}")).json()
    assert isinstance(body, list)
    assert body[0]["id"] == job_id


async def test_list_ignores_paging_fault(
    sim: Simulator, clock: FakeClock, faults: Faults, client: httpx2.AsyncClient
) -> None:
    newest_first = make_jobs(sim, clock, 5)[::-1]
    faults.list_ignores_paging = True
    assert await list_ids(client, limit=2, starting_after=newest_first[1]) == newest_first
    assert await list_ids(client, ending_before="OLDEST", limit=500) == newest_first


async def test_list_omits_fault_is_deterministic_per_job(
    sim: Simulator, clock: FakeClock, faults: Faults, client: httpx2.AsyncClient
) -> None:
    ids = make_jobs(sim, clock, 100)
    faults.list_omits = 0.3
    first = await list_ids(client)
    assert first == await list_ids(client)
    missing = set(ids) - set(first)
    assert 15 <= len(missing) <= 45
    assert (await client.get("/batch-processor")).json()["total_count"] == len(first)
    # Omitted jobs still answer individually, as a client's per-job fallback expects.
    assert (await client.get(f"/batch-processor/{missing.pop()}")).status_code == 200


async def test_faults_apply_to_v1_only(
    sim: Simulator, clock: FakeClock, faults: Faults, client: httpx2.AsyncClient
) -> None:
    job_id = sim.create_job()
    clock.advance(3)
    link = (await client.get(f"/batch-processor/{job_id}/access-link")).json()["transcription"][2]["link"]
    faults.status, faults.non_json = 500, True
    assert (await client.get(link)).status_code == 200
    assert (await client.get("http://sim/_sim/faults")).json()["status"] == 500


# -- rate limiting -------------------------------------------------------------------------------


async def statuses(client: httpx2.AsyncClient, count: int) -> list[int]:
    return [(await client.get("/batch-processor")).status_code for _ in range(count)]


async def test_rate_limit_one_second_window(clock: FakeClock, faults: Faults, client: httpx2.AsyncClient) -> None:
    faults.rate_limit = 5
    assert await statuses(client, 6) == [200] * 5 + [429]
    r = await client.get("/batch-processor")
    assert r.json() == load_example("error-429.json")
    assert "retry-after" not in r.headers
    clock.advance(0.99)
    assert await statuses(client, 1) == [429]
    clock.advance(0.02)  # 1.01 s after the burst
    assert await statuses(client, 1) == [200]


async def test_rate_limit_five_second_window(clock: FakeClock, faults: Faults, client: httpx2.AsyncClient) -> None:
    faults.rate_limit = 2
    # A client hammering through its 429s fills the 5 s window (10 attempts) ...
    assert (await statuses(client, 12)).count(200) == 2
    clock.advance(1.5)
    # ... so it stays locked out after the 1 s window has cleared ...
    assert await statuses(client, 1) == [429]
    clock.advance(3.6)
    # ... until the burst leaves the 5 s window.
    assert await statuses(client, 2) == [200, 200]


async def test_setting_the_rate_limit_starts_afresh(faults: Faults, client: httpx2.AsyncClient) -> None:
    faults.rate_limit = 2
    assert await statuses(client, 3) == [200, 200, 429]
    faults.reset()
    faults.rate_limit = 2  # as the next test using a shared server would
    assert await statuses(client, 2) == [200, 200]


async def test_rate_limit_sends_retry_after_when_asked(
    sim: Simulator, faults: Faults, client: httpx2.AsyncClient
) -> None:
    faults.rate_limit, faults.retry_after = 1, 2
    await statuses(client, 1)
    r = await client.get("/batch-processor")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    assert sim.requests.count_status(429) == 1


# -- seeding and scale ---------------------------------------------------------------------------


def test_same_seed_gives_the_same_jobs_and_schedule() -> None:
    a = Simulator(jobs=30, seed=7, clock=FakeClock())
    b = Simulator(jobs=30, seed=7, clock=FakeClock())
    c = Simulator(jobs=30, seed=8, clock=FakeClock())
    assert a.ids() == b.ids()
    assert [a.transitions(i, include_future=True) for i in a.ids()] == [
        b.transitions(i, include_future=True) for i in b.ids()
    ]
    assert [a.record(i) for i in a.ids()] == [b.record(i) for i in b.ids()]
    assert set(a.ids()).isdisjoint(c.ids())
    assert all(re.match(UUID_RE, i) for i in a.ids())


def test_seeded_mix_has_every_status_preset_and_source() -> None:
    sim = Simulator(jobs=60, seed=1, clock=FakeClock())
    records = [sim.record(i) for i in sim.ids()]
    assert {r["status"] for r in records} == {"submitted", "processing", "finished", "error"}
    assert {r["preset"] for r in records} == {"transcript", "summarize", "soap-notes"}
    assert {r["input"]["sourceType"] for r in records} == {"uri", "recordingId"}
    uris = [r["input"] for r in records if r["input"]["sourceType"] == "uri"]
    assert all(u["uri"].startswith("https://media.example.org/uploads/") and u["language"] for u in uris)
    assert all(r["error"].startswith("Error: ") for r in records if r["status"] == "error")
    assert all(r["output"] for r in records if r["status"] == "finished")


def test_four_seeded_jobs_already_cover_every_status() -> None:
    sim = Simulator(jobs=4, seed=123, clock=FakeClock())
    assert {sim.status(i) for i in sim.ids()} == {"submitted", "processing", "finished", "error"}


@pytest.mark.parametrize("speed", [1.0, 10.0])
def test_seeded_jobs_keep_changing_within_minutes(speed: float) -> None:
    sim = Simulator(jobs=40, seed=2, speed=speed, clock=FakeClock())
    future = [at - T0 for i in sim.ids() for _, at in sim.transitions(i, include_future=True) if at > T0]
    assert future, "a demo needs upcoming transitions"
    assert max(future) <= 300 / speed
    assert min(future) >= 1 / speed


def test_speed_divides_every_duration() -> None:
    slow = Simulator(jobs=10, seed=4, clock=FakeClock())
    fast = Simulator(jobs=10, seed=4, speed=10, clock=FakeClock())
    for i in slow.ids():
        for (_, a), (_, b) in zip(
            slow.transitions(i, include_future=True), fast.transitions(i, include_future=True), strict=True
        ):
            assert b - T0 == pytest.approx((a - T0) / 10)


async def test_ten_thousand_jobs_stay_cheap() -> None:
    started = time.perf_counter()
    sim = Simulator(jobs=10_000, seed=5, clock=FakeClock())
    ids = sim.ids()
    for job_id in ids:
        sim.transitions(job_id)
    async with asgi_client(sim, headers=AUTH) as c:
        last = (await c.get("/batch-processor", params={"starting_after": ids[5000]})).json()["data"][-1]["id"]
    assert last == ids[5100]
    assert time.perf_counter() - started < 3.0


# -- request log and admin -----------------------------------------------------------------------


def test_request_log_windows() -> None:
    clock = FakeClock()
    log = RequestLog(clock)
    for offset in (0.0, 0.1, 0.5, 0.95, 1.2, 4.0, 9.0):
        log.add("GET", "/v1/batch-processor", 200, at=T0 + offset)
    log.add("GET", "/v1/batch-processor", 429)
    assert log.count == 8
    assert log.count_status(429) == 1
    assert log.max_in_window(1.0) == 5  # T0 counted at 0, 0.1, 0.5, 0.95 plus the 429 at T0
    assert log.max_in_window(5.0) == 7
    assert log.entries()[0][:4] == (T0, "GET", "/v1/batch-processor", 200)


async def test_admin_endpoints_drive_the_simulator(sim: Simulator, faults: Faults, client: httpx2.AsyncClient) -> None:
    admin = "http://sim/_sim"
    r = await client.put(f"{admin}/faults", json={"latency": 0.01, "status_paths": "access-link"})
    assert r.status_code == 200
    assert (faults.latency, faults.status_paths) == (0.01, "access-link")
    assert (await client.get(f"{admin}/faults")).json()["latency"] == 0.01
    for bad in ({"nope": 1}, {"status": "500"}, {"status": 200}, {"truncate": 1}, {"drop": 2}, {"status_paths": "("}):
        assert (await client.put(f"{admin}/faults", json=bad)).status_code == 400
    assert faults.status is None
    assert (await client.delete(f"{admin}/faults")).json()["latency"] == 0.0

    r = await client.post(f"{admin}/jobs", json={"preset": "summarize", "processing_in": None, "extra": {"x": 1}})
    job_id = r.json()["id"]
    assert (sim.status(job_id), sim.record(job_id)["x"]) == ("submitted", 1)
    assert (await client.post(f"{admin}/jobs", json={"colour": "red"})).status_code == 400
    r = await client.post(f"{admin}/jobs/{job_id}/status", json={"status": "finished"})
    assert r.json()["status"] == "finished"
    transitions = (await client.get(f"{admin}/jobs/{job_id}/transitions")).json()["transitions"]
    assert [s for s, _ in transitions] == ["submitted", "finished"]

    await client.put(f"{admin}/api-key", json={"api_key": "other"})
    assert sim.api_key == "other"
    assert (await client.get("/batch-processor")).status_code == 401
    stats = (await client.get(f"{admin}/stats")).json()
    assert (stats["jobs"], stats["requests"], stats["by_status"]) == (1, 1, {"401": 1})
    await client.delete(f"{admin}/stats")
    assert sim.requests.count == 0


# -- over a real loopback port -------------------------------------------------------------------


def test_sim_server_serves_on_a_free_loopback_port() -> None:
    with SimServer(Simulator(jobs=5, seed=1)) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.root_url == f"http://127.0.0.1:{server.port}"
        r = httpx2.get(f"{server.base_url}/batch-processor", headers=AUTH)
        assert r.status_code == 200 and r.json()["total_count"] == 5
        port = server.port
    assert f"sim-server-{port}" not in {t.name for t in threading.enumerate()}
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_loopback_access_links_point_at_the_server() -> None:
    with SimServer() as server:
        job_id = server.sim.create_job(status="finished")
        with httpx2.Client(base_url=server.base_url, headers=AUTH) as c:
            link = c.get(f"/batch-processor/{job_id}/access-link").json()["transcription"][3]["link"]
            assert link.startswith(f"http://localhost:{server.port}/files/{job_id}/transcript.vtt?expires=")
            assert httpx2.get(link).text.startswith("WEBVTT")


def test_loopback_drop_gives_a_transport_error_and_the_server_recovers() -> None:
    with SimServer() as server, httpx2.Client(base_url=server.base_url, headers=AUTH) as c:
        server.faults.drop = 1.0
        with pytest.raises(httpx2.RemoteProtocolError):
            c.get("/batch-processor")
        server.faults.drop = 0.0
        assert c.get("/batch-processor").status_code == 200
        assert [e.status for e in server.sim.requests.entries()] == [0, 200]


def test_loopback_latency_and_admin_over_http() -> None:
    with SimServer() as server, httpx2.Client(headers=AUTH, timeout=5) as c:
        assert c.put(f"{server.root_url}/_sim/faults", json={"latency": 0.3}).status_code == 200
        started = time.perf_counter()
        assert c.get(f"{server.base_url}/batch-processor").status_code == 200
        assert time.perf_counter() - started >= 0.3
        with pytest.raises(httpx2.ReadTimeout):
            c.get(f"{server.base_url}/batch-processor", timeout=0.1)


async def test_serve_async_inside_a_running_loop() -> None:
    async with serve_async(Simulator(jobs=3, seed=9)) as server:
        async with httpx2.AsyncClient(base_url=server.base_url, headers=AUTH) as c:
            # Several concurrent requests prove the loop isn't blocked by the server.
            bodies = await asyncio.gather(*(c.get("/batch-processor") for _ in range(5)))
        assert all(b.json()["total_count"] == 3 for b in bodies)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGINT delivery to a child")
def test_run_forever_serves_until_ctrl_c_without_traceback() -> None:
    code = (
        "from tui.sim.server import run_forever\n"
        "run_forever(0, 3, 1, 1.0, 'k', lambda url, key: print(url, key, flush=True))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url, key = proc.stdout.readline().split()
        assert key == "k"
        r = httpx2.get(f"{base_url}/batch-processor", headers={"Authorization": f"Bearer {key}"})
        assert r.json()["total_count"] == 3
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in stderr
