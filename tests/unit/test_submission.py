"""Submission checks (tui.api.submission) and lost answers (tui.api.outcomes) against the simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
import stamina
from support import unreachable_url

from tui.api import BatchClient, errors
from tui.api.outcomes import DeleteOutcome, delete_checked, submit_once
from tui.api.submission import (
    InvalidSubmit,
    SubmitForm,
    language_note,
    parse_option,
    parse_value,
    preview_template,
    template_problem,
)
from tui.sim import Faults, SimServer, Simulator

KEY = "submit-key"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=3, seed=4, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    stamina.set_testing(True, attempts=3)
    yield server.sim
    stamina.set_testing(False)
    server.faults.reset()


@pytest.fixture
async def client(server: SimServer, sim: Simulator) -> AsyncIterator[BatchClient]:  # noqa: ARG001  # a fresh sim
    async with BatchClient(server.base_url, KEY, timeout=httpx2.Timeout(3)) as api:
        yield api


def form(**changes: str) -> SubmitForm:
    fields: dict[str, Any] = {"preset": "transcript", "source_type": "recordingId", "source": "rec-42"}
    fields.update(changes)
    return SubmitForm(**fields)


# -- checks before sending ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", ["", "plain", "a/b.c-d*e", "x-{job_id}", "{domain_name}/{epoch_time}/{job_id}", "a" * 1024]
)
def test_valid_templates(template: str) -> None:
    assert template_problem(template) is None


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("a" * 1025, "at most 1024"),
        ("has space", "' '"),
        ("under_score", "'_'"),
        ("{jobid}", "braces only in"),
        ("{job_id", "braces only in"),
        ("x}{job_id}", "braces only in"),
        ("{JOB_ID}", "braces only in"),
    ],
)
def test_invalid_templates_say_why(template: str, said: str) -> None:
    problem = template_problem(template)
    assert problem is not None and said in problem


def test_preview_substitutes_each_token() -> None:
    shown = preview_template("{domain_name}/{job_id}-{epoch_time}.x", job_id="J", domain="acme", now=1700000000.9)
    assert shown == "acme/J-1700000000.x"
    assert preview_template("", job_id="J") == "output"


def test_use_replacement_is_set_only_when_tokens_are_used() -> None:
    with_tokens = form(template="call-{job_id}").request().to_json()
    assert with_tokens["outParams"] == {"s3Config": {"s3KeyTemplate": "call-{job_id}", "useReplacement": True}}
    plain = form(template="call").request().to_json()
    assert plain["outParams"] == {"s3Config": {"s3KeyTemplate": "call"}}


def test_request_body_follows_the_docs() -> None:
    body = (
        SubmitForm(
            preset="transcript",
            source_type="uri",
            source=" https://media.example.org/a.mp4 ",
            language="pt-BR",
            options={"punctuate": True, "model": "nova-2"},
        )
        .request()
        .to_json()
    )
    assert body == {
        "preset": "transcript",
        "inParams": {"sourceType": "uri", "uri": "https://media.example.org/a.mp4", "language": "pt-BR"},
        "outParams": {"s3Config": {"s3KeyTemplate": "output"}},
        "transformParams": {"transcript": {"punctuate": True, "model": "nova-2"}},
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preset": ""}, "preset"),
        ({"preset": "two words"}, "preset"),
        ({"source": "  "}, "source"),
        ({"source": "rec 42"}, "source"),
        ({"source_type": "uri", "source": "ftp://x/a.mp4"}, "source"),
        ({"source_type": "uri", "source": "media.example.org/a.mp4"}, "source"),
        ({"source_type": "uri", "source": "https://"}, "source"),
        ({"source_type": "s3"}, "source_type"),
        ({"language": "english please"}, "language"),
        ({"template": "{job-id}"}, "template"),
    ],
)
def test_problems_name_the_field(changes: dict[str, str], field: str) -> None:
    f = form(**changes)
    assert field in f.problems()
    with pytest.raises(InvalidSubmit) as caught:
        f.request()
    assert caught.value.field == field


def test_languages_outside_the_list_are_sent_with_a_note() -> None:
    assert language_note("en-GB") is None
    assert "not in the documented list" in (language_note("eu") or "")
    f = form(language="eu")
    assert f.problems() == {}
    assert f.request().in_params.language == "eu"
    assert any("documented list" in note for note in f.notes())


def test_options_for_other_presets_get_a_note() -> None:
    assert form(preset="summarize").notes() == []
    assert "transcript preset" in form(preset="summarize", options={"punctuate": True}).notes()[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("False", False), ("300", 300), ("0.5", 0.5), ("nova-2", "nova-2"), ("nan", "nan"), ("", "")],
)
def test_option_values_are_parsed(raw: str, value: object) -> None:
    assert parse_value(raw) == value and type(parse_value(raw)) is type(value)


def test_option_keys_are_checked() -> None:
    assert parse_option("redact=true") == ("redact", True)
    assert parse_option("redact=pci, ssn") == ("redact", ["pci", "ssn"])
    assert parse_option("endpointing=300") == ("endpointing", 300)
    for bad in ("redact", "=true", "colour=red"):
        with pytest.raises(InvalidSubmit):
            parse_option(bad)


# -- against the simulator --------------------------------------------------------------------------


async def test_submit_once_returns_the_new_id(client: BatchClient, sim: Simulator) -> None:
    result = await submit_once(client, form(template="t-{job_id}").request())
    assert (result.lost, result.job_id) == (False, sim.ids()[0])
    assert result.job_id is not None
    assert sim.record(result.job_id)["input"] == {"sourceType": "recordingId", "recordingId": "rec-42"}


async def test_server_rejection_keeps_error_and_info(client: BatchClient, sim: Simulator) -> None:
    before = len(sim)
    request = form().request()
    request.preset = "dance"  # a preset the server does not know: only it can say so
    with pytest.raises(errors.BadRequest) as caught:
        await submit_once(client, request)
    assert caught.value.error == "invalid-request-error" and "preset" in (caught.value.info or "")
    assert len(sim) == before


async def test_lost_submit_answer_finds_the_job_and_does_not_send_again(
    client: BatchClient, server: SimServer, sim: Simulator
) -> None:
    sim.create_job(preset="transcript", source={"sourceType": "recordingId", "recordingId": "rec-lost"})  # older twin
    before = len(sim)
    server.faults.lose_answers = 1
    result = await submit_once(client, form(source="rec-lost").request())
    assert result.lost and result.checked
    assert len(sim) == before + 1  # sent exactly once
    assert result.job_id == sim.ids()[0]  # the new one, not the older job with the same source
    posts = [e for e in sim.requests.entries() if e.method == "POST"]
    assert len(posts) >= 1 and posts[-1].status == 0


async def test_lost_answer_without_a_job_says_none_was_found(
    client: BatchClient, server: SimServer, sim: Simulator
) -> None:
    before = len(sim)
    server.faults.lose_answers = 1
    request = form(source="rec-rejected").request()
    request.preset = "dance"  # the server refuses it, then the answer is lost: no job appears
    result = await submit_once(client, request, recheck_after=0.05)
    assert (result.lost, result.checked, result.job_id) == (True, True, None)
    assert len(sim) == before


async def test_unreachable_server_raises_before_anything_is_sent() -> None:
    async with BatchClient(unreachable_url(), KEY, timeout=httpx2.Timeout(2)) as api:
        stamina.set_testing(True, attempts=1)
        try:
            with pytest.raises(errors.ConnectionFailed) as caught:
                await submit_once(api, form().request())
        finally:
            stamina.set_testing(False)
    assert caught.value.may_have_arrived is False


async def test_delete_checked_outcomes(client: BatchClient, server: SimServer, sim: Simulator) -> None:
    first, second = sim.create_job(), sim.create_job()
    done = await delete_checked(client, first)
    assert (done.outcome, done.lost, done.job and done.job.id) == (DeleteOutcome.DELETED, False, first)
    assert (await delete_checked(client, first)).outcome is DeleteOutcome.NOT_FOUND
    server.faults.lose_answers = 1
    lost = await delete_checked(client, second)
    assert (lost.outcome, lost.lost) == (DeleteOutcome.DELETED, True)  # re-checked with a GET: 404
    assert second not in sim
    third = sim.create_job()
    server.faults.lose_answers = 1
    server.faults.status, server.faults.status_paths = 500, "^/v1/batch-processor/[^/]+$"
    # An error answer is an answer: raised as such, no re-check, the lost-answer count untouched.
    with pytest.raises(errors.ServerError):
        await delete_checked(client, third)
    assert third in sim and server.faults.lose_answers == 1
