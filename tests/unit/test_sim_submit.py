"""The simulator's submit and delete: documented bodies accepted, malformed ones refused, lost answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from support import T0, FakeClock

from tui.sim import Faults, SimServer, Simulator, create_app

AUTH = {"Authorization": "Bearer sim-key"}


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return Simulator(clock=clock)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(sim, Faults()))
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim/v1", headers=AUTH) as c:
        yield c


def body(**changes: Any) -> dict[str, Any]:
    """A documented transcript submit, with top-level fields replaced (None drops one)."""
    base: dict[str, Any] = {
        "preset": "transcript",
        "inParams": {"sourceType": "recordingId", "recordingId": "rec-1", "language": "en-GB"},
        "outParams": {"s3Config": {"s3KeyTemplate": "call-{job_id}-{epoch_time}", "useReplacement": True}},
        "transformParams": {
            "transcript": {"model": "nova-2", "punctuate": True, "redact": ["pci"], "endpointing": 300}
        },
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


@pytest.mark.parametrize("preset", ["transcript", "summarize", "soap-notes"])
async def test_each_documented_preset_is_accepted(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient, preset: str
) -> None:
    r = await client.post("/batch-processor", json=body(preset=preset))
    assert r.status_code == 200, r.text
    job_id = r.json()["id"]
    assert sim.ids()[0] == job_id  # newest first
    listed = (await client.get("/batch-processor")).json()["data"][0]
    assert listed == {"id": job_id, "preset": preset, "status": "submitted"}
    clock.advance(120)
    assert sim.status(job_id) == "finished"
    assert [s for s, _ in sim.transitions(job_id)] == ["submitted", "processing", "finished"]


async def test_template_tokens_are_substituted_in_output_keys(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient
) -> None:
    job_id = (await client.post("/batch-processor", json=body())).json()["id"]
    clock.advance(120)
    keys = [f["s3Config"]["key"] for f in sim.record(job_id)["output"]["transcription"]]
    assert keys[0].startswith(f"{sim.domain}/{job_id}/transcript/call-{job_id}-{int(T0)}")


@pytest.mark.parametrize("spelling", ["s3Config", "s3config"])
async def test_both_spellings_of_s3config_are_accepted(
    sim: Simulator, clock: FakeClock, client: httpx2.AsyncClient, spelling: str
) -> None:
    out = {spelling: {"s3KeyTemplate": "plain-name"}}
    job_id = (await client.post("/batch-processor", json=body(outParams=out))).json()["id"]
    clock.advance(120)
    keys = {f["s3Config"]["key"] for f in sim.record(job_id)["output"]["transcription"]}
    assert f"{sim.domain}/{job_id}/transcript/plain-name.txt" in keys


async def test_uri_source_and_no_transform_params(sim: Simulator, client: httpx2.AsyncClient) -> None:
    in_params = {"sourceType": "uri", "uri": "https://media.example.org/a.mp4"}
    r = await client.post("/batch-processor", json=body(inParams=in_params, transformParams=None, outParams=None))
    assert r.status_code == 200
    assert sim.record(r.json()["id"])["input"] == in_params


def _template(template: Any, replace: Any = True) -> dict[str, Any]:
    return {"s3Config": {"s3KeyTemplate": template, "useReplacement": replace}}


@pytest.mark.parametrize(
    ("changes", "info"),
    [
        ({"preset": None}, "preset"),
        ({"preset": 3}, "preset"),
        ({"inParams": None}, "inParams"),
        ({"inParams": {"sourceType": "recordingId", "recordingId": ""}}, "recordingId"),
        ({"inParams": {"sourceType": "uri", "recordingId": "r"}}, "uri"),
        ({"inParams": {"sourceType": "s3", "uri": "x"}}, "sourceType"),
        ({"inParams": {"sourceType": "uri", "uri": "x", "language": 5}}, "language"),
        ({"outParams": []}, "outParams"),
        ({"outParams": _template("a" * 1025)}, "1024"),
        ({"outParams": _template("")}, "1024"),
        ({"outParams": _template("name with space")}, "may hold only"),
        ({"outParams": _template("{jobid}")}, "may hold only"),
        ({"outParams": _template("{job_id")}, "may hold only"),
        ({"outParams": _template("x-{job_id}", replace=False)}, "useReplacement"),
        ({"outParams": _template("x-{job_id}", replace=None)}, "useReplacement"),
        ({"outParams": _template("x", replace="yes")}, "useReplacement"),
        ({"transformParams": "x"}, "transformParams"),
        ({"transformParams": {"transcript": []}}, "transformParams.transcript"),
        ({"transformParams": {"transcript": {"punctuate": "true"}}}, "punctuate"),
        ({"transformParams": {"transcript": {"model": 2}}}, "model"),
        ({"transformParams": {"transcript": {"endpointing": "300"}}}, "endpointing"),
        ({"transformParams": {"transcript": {"redact": [1]}}}, "redact"),
    ],
)
async def test_malformed_submits_are_400_with_info(
    sim: Simulator, client: httpx2.AsyncClient, changes: dict[str, Any], info: str
) -> None:
    r = await client.post("/batch-processor", json=body(**changes))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid-request-error"
    assert info in r.json()["info"]
    assert len(sim) == 0


async def test_a_body_that_is_not_json_is_a_parsing_error(sim: Simulator, client: httpx2.AsyncClient) -> None:
    r = await client.post(
        "/batch-processor", content=json.dumps(body())[:-1], headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]) == (400, "json-parsing-error")
    assert len(sim) == 0


@pytest.mark.usefixtures("sim")
async def test_second_delete_is_404(client: httpx2.AsyncClient) -> None:
    job_id = (await client.post("/batch-processor", json=body())).json()["id"]
    first = await client.delete(f"/batch-processor/{job_id}")
    assert first.status_code == 200
    assert (first.json()["id"], first.json()["status"], first.json()["input"]["recordingId"]) == (
        job_id,
        "submitted",
        "rec-1",
    )
    second = await client.delete(f"/batch-processor/{job_id}")
    assert (second.status_code, second.json()["error"]) == (404, "not-found")
    assert (await client.get("/batch-processor")).json()["total_count"] == 0


def test_lost_answers_act_then_drop_over_loopback() -> None:
    with SimServer() as server, httpx2.Client(base_url=server.base_url, headers=AUTH) as c:
        server.faults.lose_answers = 2
        with pytest.raises(httpx2.RemoteProtocolError):
            c.post("/batch-processor", json=body())
        assert len(server.sim) == 1  # the job was created all the same
        job_id = server.sim.ids()[0]
        assert c.get(f"/batch-processor/{job_id}").status_code == 200  # GETs are never lost
        with pytest.raises(httpx2.RemoteProtocolError):
            c.delete(f"/batch-processor/{job_id}")
        assert len(server.sim) == 0  # deleted all the same
        assert server.faults.lose_answers == 0
        assert c.post("/batch-processor", json=body()).status_code == 200  # the count is used up


def test_lose_answers_is_settable_through_the_admin_endpoint() -> None:
    with SimServer() as server, httpx2.Client(timeout=5) as c:
        assert c.put(f"{server.root_url}/_sim/faults", json={"lose_answers": 1}).status_code == 200
        assert server.faults.lose_answers == 1
        assert c.put(f"{server.root_url}/_sim/faults", json={"lose_answers": -1}).status_code == 400
        assert c.put(f"{server.root_url}/_sim/faults", json={"lose_answers": True}).status_code == 400
