"""Random and adversarial JSON against the models and the client: only the documented errors ever escape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from strategies import any_value, deep_values, nested, output_lists, outputs
from support import load_example

from tui.api import errors
from tui.api.client import BatchClient
from tui.api.models import MAX_UNKNOWN_CHARS, AccessLinks, Job, JobListPage, JobSummary
from tui.present.text import json_preview, printable

JOB_ID = "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


KNOWN = {"id", "preset", "status", "input", "output", "error", "total_count", "data", "transcription", "summary"}
job_bodies = st.fixed_dictionaries(
    {},
    optional={
        "id": st.just(JOB_ID) | any_value,
        "preset": any_value,
        "status": st.sampled_from(["submitted", "processing", "finished", "error"]) | st.text(max_size=12) | any_value,
        "input": st.fixed_dictionaries({}, optional={"sourceType": any_value, "uri": any_value}) | any_value,
        "output": outputs | any_value,
        "error": any_value,
        "unknown\x1b]8;;x\x07": any_value,
        "deep": deep_values,
        "long": st.integers(0, 3).map(lambda n: "x" * (MAX_UNKNOWN_CHARS + n * 1000)),
    },
)
page_bodies = st.fixed_dictionaries(
    {}, optional={"total_count": any_value, "data": st.lists(job_bodies, max_size=3) | any_value, "more": any_value}
)
link_bodies = st.fixed_dictionaries(
    {},
    optional={
        "id": any_value,
        "transcription": output_lists | any_value,
        "summary": st.fixed_dictionaries({}, optional={"format": any_value, "link": any_value}) | any_value,
        "soap": any_value,
        "deep": deep_values,
    },
)
bodies = job_bodies | page_bodies | link_bodies | any_value


def exercise(model: BaseModel) -> None:
    """What batchmon does with a parsed body: dump it (stored records), format it, list outputs."""
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    json.dumps(dumped)
    if isinstance(model, Job):
        model.outputs()
        assert isinstance(model.is_terminal, bool)
    if isinstance(model, AccessLinks):
        model.links()
    if isinstance(model, JobListPage):
        for item in model.data:
            exercise(item)
    for name, value in getattr(model, "unknown_fields", {}).items():
        printable(name).encode("utf-8")
        json_preview(value).encode("utf-8")


@FUZZ
@given(body=bodies, model=st.sampled_from([Job, JobListPage, JobSummary, AccessLinks]))
def test_models_raise_only_validation_errors_and_parsed_bodies_dump(body: Any, model: type[BaseModel]) -> None:
    try:
        parsed = model.model_validate(body)
    except ValidationError:
        return
    exercise(parsed)


@pytest.mark.parametrize("depth", [254, 255, 256, 300, 900])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_a_deep_unknown_field_is_cut_and_the_record_dumps(depth: int, kind: str) -> None:
    body = load_example("job-finished-transcript.json") | {"deep": nested(depth, kind=kind)}
    body["output"]["transcription"][0]["nested"] = nested(depth, kind=kind)
    job = Job.model_validate(body)
    dumped = job.model_dump(mode="json", by_alias=True)  # 0.1.0: "Maximum serialization depth exceeded"
    assert json.dumps(dumped).count("nested too deeply: dropped") == 2
    assert job.outputs() == Job.model_validate(load_example("job-finished-transcript.json")).outputs()


def test_known_fields_are_kept_whole() -> None:
    huge = "e" * (MAX_UNKNOWN_CHARS * 3)
    job = Job.model_validate({"id": JOB_ID, "status": "error", "error": huge, "note": huge})
    assert job.error == huge  # a known field is the API's: kept as sent
    assert (
        job.unknown_fields["note"].startswith("e" * MAX_UNKNOWN_CHARS)
        and "more characters dropped" in (job.unknown_fields["note"])
    )


# -- the client: raw bytes, any status, any header ---------------------------------------------------------


raw_bodies = (
    bodies.map(lambda body: json.dumps(body).encode())
    | bodies.map(lambda body: json.dumps(body).encode()[: max(1, len(json.dumps(body)) // 2)])  # truncated
    | st.integers(900, 100_000).map(lambda n: b"[" * n + b"]" * n)  # beyond the JSON parser's recursion
    | st.integers(900, 100_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
    | st.binary(max_size=64)
    | st.just(b"<html><body>502 Bad Gateway</body></html>")
    | st.just(b'{"id": 1' + b"0" * 5000 + b"}")  # more digits than Python turns into an int
)
statuses = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 418, 429, 500, 502, 503, 504])
retry_after = st.none() | st.sampled_from(["inf", "1e18", "-5", "nan", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "x"])


@FUZZ
@given(body=raw_bodies, status=statuses, wait=retry_after, call=st.sampled_from(["get", "list", "links", "delete"]))
def test_client_raises_only_api_errors(body: bytes, status: int, wait: str | None, call: str) -> None:
    headers = {"content-type": "application/json"} | ({"retry-after": wait} if wait else {})

    def answer(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, content=body, headers=headers)

    async def one_call() -> object:
        async with BatchClient("http://api.test/v1", "k", transport=httpx2.MockTransport(answer)) as client:
            if call == "get":
                return await client.get_job(JOB_ID)
            if call == "list":
                return await client.list_jobs()
            if call == "links":
                return await client.access_link(JOB_ID)
            return await client.delete_job(JOB_ID)

    try:
        parsed = asyncio.run(one_call())
    except errors.ApiError as exc:  # either outcome is fine: a typed error or a parsed answer
        assert status >= 300 or isinstance(exc, errors.MalformedResponse)  # noqa: PT017
        printable(str(exc)).encode("utf-8")
        return
    assert status < 300
    assert isinstance(parsed, BaseModel)
    exercise(parsed)


@pytest.mark.parametrize("body", [b"[" * 50_000 + b"]" * 50_000, b'{"error": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"])
@pytest.mark.parametrize("status", [200, 400, 500])
def test_json_beyond_the_parsers_depth_is_a_malformed_response_or_an_error_status(body: bytes, status: int) -> None:
    async def one_call() -> Job:
        transport = httpx2.MockTransport(lambda _request: httpx2.Response(status, content=body))
        async with BatchClient("http://api.test/v1", "k", transport=transport) as client:
            return await client.get_job(JOB_ID)

    expected = errors.MalformedResponse if status == 200 else errors.ResponseError
    with pytest.raises(expected):  # 0.1.0: RecursionError, "internal error"
        asyncio.run(one_call())


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_is_an_unexpected_status_not_an_empty_answer(status: int) -> None:
    async def one_call() -> JobListPage:
        answer = httpx2.Response(status, json={}, headers={"location": "https://elsewhere.example/"})
        async with BatchClient("http://api.test/v1", "k", transport=httpx2.MockTransport(lambda _r: answer)) as client:
            return await client.list_jobs()

    with pytest.raises(errors.UnexpectedStatus, match=f"HTTP {status}"):  # 0.1.0: an empty page, "no jobs"
        asyncio.run(one_call())
