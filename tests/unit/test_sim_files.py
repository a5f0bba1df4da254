"""The simulator's file host: link expiry, file faults, the log of what reached it, and the content it serves."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx2
import pytest
from support import FakeClock

from tui.api import BatchClient
from tui.api.models import AccessLinks
from tui.outputs import Outputs
from tui.sim import Faults, Simulator, create_app
from tui.sim.files import files_root
from tui.sim.outputs import lists_single_files

KEY = "sim-key"


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return Simulator(clock=clock, seed=3, api_key=KEY)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
async def api(sim: Simulator, faults: Faults) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(sim, faults))
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://sim/v1", headers={"Authorization": f"Bearer {KEY}"}
    ) as client:
        yield client


async def link_for(api: httpx2.AsyncClient, job_id: str, fmt: str = "txt") -> str:
    body = AccessLinks.model_validate((await api.get(f"/batch-processor/{job_id}/access-link")).json())
    return next(
        item.link for kind, item in body.links() if kind == "transcription" and item.format == fmt and item.link
    )


@pytest.mark.parametrize(
    ("api_url", "root"),
    [
        ("http://127.0.0.1:8765/v1", "http://localhost:8765"),
        ("http://localhost:8765/v1", "http://127.0.0.1:8765"),
        ("http://sim/v1", "http://files.sim"),
    ],
)
def test_links_name_another_host_than_the_api(api_url: str, root: str) -> None:
    assert files_root(api_url) == root


async def test_links_expire_after_their_ttl(
    sim: Simulator, clock: FakeClock, faults: Faults, api: httpx2.AsyncClient
) -> None:
    job_id = sim.create_job(status="finished")
    faults.link_ttl = 60
    link = await link_for(api, job_id)
    anonymous = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(sim, faults)))
    async with anonymous:
        clock.advance(59.9)
        assert (await anonymous.get(link)).status_code == 200
        clock.advance(0.1)
        expired = await anonymous.get(link)
        assert expired.status_code == 403 and "<Message>Request has expired</Message>" in expired.text
        # The expiry is signed: moving it forward breaks the signature.
        later = link.replace("expires=", "expires=9")
        assert "invalid signature" in (await anonymous.get(later)).text
    assert [entry.status for entry in sim.file_requests.entries()] == [200, 403, 403]
    assert all(entry.header("authorization") is None for entry in sim.file_requests.entries())


async def test_file_faults_trickle_and_cut(sim: Simulator, faults: Faults, api: httpx2.AsyncClient) -> None:
    job_id = sim.create_job(status="finished")
    link = await link_for(api, job_id)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(sim, faults))) as anonymous:
        whole = (await anonymous.get(link)).content
        faults.file_rate = 100_000
        trickled = await anonymous.get(link)
        assert trickled.content == whole and trickled.headers["content-length"] == str(len(whole))
    faults.file_rate, faults.file_cut = None, 10
    # ASGITransport hands the app's exception on; over a socket the client sees an incomplete body.
    with pytest.raises(ConnectionError):
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(sim, faults))) as anonymous:
            await anonymous.get(link)


async def test_new_faults_are_checked(api: httpx2.AsyncClient, faults: Faults) -> None:
    admin = "http://sim/_sim/faults"
    for bad in ({"link_ttl": -1}, {"file_rate": 0}, {"file_cut": -5}, {"file_cut": 1.5}):
        assert (await api.put(admin, json=bad)).status_code == 400
    good = await api.put(admin, json={"link_ttl": 0, "file_rate": 512, "file_cut": 100})
    assert good.status_code == 200 and (faults.link_ttl, faults.file_rate, faults.file_cut) == (0, 512, 100)
    await api.delete(admin)
    assert (faults.link_ttl, faults.file_rate, faults.file_cut) == (3600.0, None, None)


async def test_file_requests_admin_lists_header_names(sim: Simulator, api: httpx2.AsyncClient) -> None:
    job_id = sim.create_job(status="finished")
    link = await link_for(api, job_id)
    await api.get(link)  # with the API client: Authorization included, and the log says so
    listed = (await api.get("http://sim/_sim/file-requests")).json()["requests"]
    assert len(listed) == 1 and listed[0]["status"] == 200 and listed[0]["host"] == "files.sim"
    assert "authorization" in listed[0]["headers"] and KEY not in json.dumps(listed)
    await api.delete("http://sim/_sim/file-requests")
    assert (await api.get("http://sim/_sim/file-requests")).json() == {"requests": []}


async def test_shapes_follow_the_job_id_and_outputs_read_every_format(sim: Simulator, faults: Faults) -> None:
    transport = httpx2.ASGITransport(app=create_app(sim, faults))
    ids = [sim.create_job(preset="soap-notes", status="finished") for _ in range(6)]
    assert {lists_single_files(job_id) for job_id in ids} == {True, False}
    async with (
        BatchClient("http://sim/v1", KEY, transport=transport) as client,
        Outputs(client, transport=transport) as out,
    ):
        for job_id in ids:
            record = (await client.get_job(job_id)).model_dump(by_alias=True)
            links = await out.links(job_id)
            assert [link.label for link in links][-2:] == ["soap json", "concept json"]
            assert len(record["output"]["transcription"]) == 4
            data = {link.label: (await out.read(job_id, link)).data for link in links}
            deepgram = json.loads(data["transcription json"])
            utterances = deepgram["results"]["utterances"]
            lines = data["transcription txt"].decode().splitlines()
            assert [f"Speaker {u['speaker']}: {u['transcript']}" for u in utterances] == lines
            assert data["transcription vtt"].startswith(b"WEBVTT")
            assert set(json.loads(data["soap json"])) == {"Subjective", "Objective", "Assessment", "Plan"}
            assert json.loads(data["concept json"])["concepts"]
