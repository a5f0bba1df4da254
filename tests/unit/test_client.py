"""The API client against the simulator over a real loopback port: every endpoint, every error class."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest
import stamina
from support import unreachable_url

from tui.api import BatchClient, RequestBudget, errors, with_retries
from tui.api.client import parse_retry_after
from tui.api.models import InParams, Job, OutParams, S3KeyTemplate, SubmitRequest
from tui.sim import Faults, SimServer, Simulator

KEY = "test-key-7f3a9c"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=1, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    server.sim.set_api_key(KEY)
    yield server.sim
    server.faults.reset()


@pytest.fixture
async def client(server: SimServer, sim: Simulator) -> AsyncIterator[BatchClient]:  # noqa: ARG001  # a fresh sim
    async with BatchClient(server.base_url, KEY, timeout=httpx2.Timeout(2)) as api:
        yield api


async def test_get_job_finished_has_outputs(client: BatchClient, sim: Simulator) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    job = await client.get_job(job_id)
    assert job.id == job_id and job.status == "finished" and job.preset == "summarize"
    kinds = {ref.kind for ref in job.outputs()}
    assert kinds == {"transcription", "summary"}
    assert all(ref.bucket and ref.key and job_id in ref.key for ref in job.outputs())


async def test_get_job_error_has_error_text(client: BatchClient, sim: Simulator) -> None:
    job_id = sim.create_job(status="error", error="Error: silent file")
    job = await client.get_job(job_id)
    assert job.status == "error" and job.error == "Error: silent file"
    assert job.outputs() == []


async def test_list_jobs_pages_and_filter(client: BatchClient, sim: Simulator) -> None:
    recording = "c3d9e1f2-4a5b-4c6d-8e7f-90a1b2c3d4e5"
    mine = [sim.create_job(source={"sourceType": "recordingId", "recordingId": recording}) for _ in range(3)]
    page = await client.list_jobs(limit=2)
    assert len(page.data) == 2 and page.total_count is not None and page.total_count >= 3
    following = await client.list_jobs(limit=2, starting_after=page.data[-1].id)
    assert following.data and following.data[0].id not in {job.id for job in page.data}
    filtered = await client.list_jobs(recording_id=recording)
    assert {job.id for job in filtered.data} == set(mine)
    newest_first = list(reversed(mine))
    assert [job.id for job in filtered.data] == newest_first


async def test_iter_jobs_walks_every_page(client: BatchClient, sim: Simulator) -> None:
    for _ in range(230 - len(sim)):
        sim.create_job()
    ids = [job.id async for job in client.iter_jobs()]
    assert len(ids) == len(sim) == len(set(ids))


async def test_iter_jobs_stops_when_server_ignores_paging(
    client: BatchClient, sim: Simulator, server: SimServer
) -> None:
    for _ in range(max(0, 150 - len(sim))):
        sim.create_job()
    server.faults.list_ignores_paging = True
    ids = [job.id async for job in client.iter_jobs(max_pages=10)]
    assert len(ids) == 100  # the repeated first page is recognised, not followed forever


async def test_access_link_before_and_after_finishing(client: BatchClient, sim: Simulator) -> None:
    job_id = sim.create_job(preset="transcript", status="processing", done_in=None)
    with pytest.raises(errors.NotFinished):
        await client.access_link(job_id)
    sim.force_status(job_id, "finished")
    links = await client.access_link(job_id)
    assert [kind for kind, _ in links.links()] == ["transcription"] * 4
    async with httpx2.AsyncClient() as plain:
        for _, link in links.links():
            assert link.link is not None
            response = await plain.get(link.link)
            assert response.status_code == 200 and response.content


async def test_submit_and_delete(client: BatchClient, sim: Simulator) -> None:
    request = SubmitRequest(
        preset="transcript",
        inParams=InParams(sourceType="uri", uri="https://media.example.org/a.mp4"),
        outParams=OutParams(s3Config=S3KeyTemplate(s3KeyTemplate="standup")),
    )
    created = await client.submit(request)
    assert created.id in sim
    deleted = await client.delete_job(created.id)
    assert deleted.id == created.id
    with pytest.raises(errors.NotFound) as caught:
        await client.get_job(created.id)
    assert caught.value.error == "not-found" and created.id in (caught.value.info or "")


async def test_missing_key_is_auth_header_error(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    async with BatchClient(server.base_url, None) as anonymous:
        with pytest.raises(errors.AuthHeaderError) as caught:
            await anonymous.get_job(job_id)
    assert caught.value.error == "authorization-header-error"


async def test_wrong_key_is_bad_key_and_never_in_message(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    wrong = "wrong-key-d00d"
    async with BatchClient(server.base_url, wrong) as api:
        with pytest.raises(errors.BadKey) as caught:
            await api.get_job(job_id)
    assert caught.value.status == 401
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (418, errors.UnexpectedStatus),
        (429, errors.RateLimited),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
async def test_status_codes_map_to_the_tree(
    client: BatchClient, sim: Simulator, server: SimServer, status: int, expected: type
) -> None:
    job_id = sim.create_job()
    server.faults.status = status
    with pytest.raises(expected) as caught:
        await client.get_job(job_id)
    assert isinstance(caught.value, errors.ResponseError)
    assert caught.value.status == status


async def test_rate_limit_carries_retry_after(client: BatchClient, sim: Simulator, server: SimServer) -> None:
    job_id = sim.create_job()
    server.faults.rate_limit = 1
    server.faults.retry_after = 7

    async def hammer() -> None:
        for _ in range(5):
            await client.get_job(job_id)

    with pytest.raises(errors.RateLimited) as caught:
        await hammer()
    assert caught.value.retry_after == 7
    assert caught.value.error == "rate-limit-error"


@pytest.mark.parametrize("fault", ["non_json", "truncate", "wrong_shape"])
async def test_garbage_bodies_are_malformed(client: BatchClient, sim: Simulator, server: SimServer, fault: str) -> None:
    job_id = sim.create_job()
    setattr(server.faults, fault, True)
    with pytest.raises(errors.MalformedResponse):
        await client.get_job(job_id)


async def test_timeout(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    server.faults.latency = 0.5
    async with BatchClient(server.base_url, KEY, timeout=httpx2.Timeout(0.1)) as api:
        with pytest.raises(errors.Timeout):
            await api.get_job(job_id)
    # Let the abandoned request finish, so it doesn't count against the next test's rate limit.
    await asyncio.sleep(0.5)


async def test_dropped_connection(client: BatchClient, sim: Simulator, server: SimServer) -> None:
    job_id = sim.create_job()
    server.faults.drop = 1.0
    with pytest.raises(errors.ConnectionFailed):
        await client.get_job(job_id)


async def test_connection_refused() -> None:
    async with BatchClient(unreachable_url(), KEY) as api:
        with pytest.raises(errors.ConnectionFailed, match=r"^could not reach 127.0.0.1:\d+: connection refused$"):
            await api.get_job("5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10")


async def test_budget_spaces_requests(server: SimServer, sim: Simulator) -> None:
    job_id = sim.create_job()
    server.faults.rate_limit = 10  # the simulator enforces what the budget promises
    budget = RequestBudget(10)
    refused_before = sim.requests.count_status(429)
    async with BatchClient(server.base_url, KEY, budget=budget) as api:
        for _ in range(25):
            await api.get_job(job_id)
    assert budget.requests_made == 25
    assert sim.requests.count_status(429) == refused_before


@pytest.fixture
def no_backoff_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.mark.usefixtures("no_backoff_waits")
async def test_with_retries_recovers_from_transient_errors(
    client: BatchClient, sim: Simulator, server: SimServer
) -> None:
    job_id = sim.create_job()
    server.faults.status = 503
    calls = 0

    async def flaky() -> Job:
        nonlocal calls
        calls += 1
        if calls == 2:
            server.faults.status = None
        return await client.get_job(job_id)

    job = await with_retries(flaky)
    assert job.id == job_id and calls == 2


async def test_with_retries_does_not_retry_not_found(client: BatchClient) -> None:
    calls = 0

    async def missing() -> object:
        nonlocal calls
        calls += 1
        return await client.get_job("0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a")

    with pytest.raises(errors.NotFound):
        await with_retries(missing)
    assert calls == 1


def test_parse_retry_after() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("inf", 3600.0),
        ("Infinity", 3600.0),
        ("1e18", 3600.0),
        ("1e400", 3600.0),
        ("-5", 0.0),
        ("-inf", 0.0),
        ("nan", None),
        ("3599.5", 3599.5),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 3600.0),
        ("Mon, 01 Jan 1900 00:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after_is_clamped(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header, now=1_700_000_000.0) == seconds


async def test_429_with_an_absurd_retry_after_is_bounded(
    client: BatchClient, sim: Simulator, server: SimServer
) -> None:
    job_id = sim.create_job()
    server.faults.status = 429
    server.faults.retry_after = 1e18
    with pytest.raises(errors.RateLimited) as caught:
        await client.get_job(job_id)
    assert caught.value.retry_after == 3600.0


async def test_bad_job_id_never_reaches_the_server() -> None:
    async with BatchClient("http://127.0.0.1:9/v1", KEY) as api:
        with pytest.raises(ValueError, match="not a job id"):
            await api.get_job("../admin")


async def test_a_body_that_cannot_be_decoded_is_a_malformed_response() -> None:
    def handler(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all")

    async with BatchClient("http://sim.test/v1", KEY, transport=httpx2.MockTransport(handler)) as api:
        with pytest.raises(errors.MalformedResponse, match="could not be decoded"):
            await api.get_job("5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10")
