"""The models against every example body in shared/api/examples, and lenient parsing."""

from __future__ import annotations

import pytest
from support import EXAMPLES, SHARED_EXAMPLES, load_example

from tui.api.ids import normalize_job_id
from tui.api.models import AccessLinks, Job, JobListPage

JOB_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("job-*.json") if p.name != "job-list-page.json")


def test_every_example_is_covered() -> None:
    assert len(JOB_EXAMPLES) == 6


@pytest.mark.skipif(not SHARED_EXAMPLES.is_dir(), reason="shared/ is not beside this checkout")
def test_the_copy_of_the_examples_is_current() -> None:
    shared = {path.name: path.read_bytes() for path in SHARED_EXAMPLES.glob("*.json")}
    copied = {path.name: path.read_bytes() for path in EXAMPLES.glob("*.json")}
    assert copied == shared


@pytest.mark.parametrize("name", JOB_EXAMPLES)
def test_job_examples_parse(name: str) -> None:
    body = load_example(name)
    job = Job.model_validate(body)
    assert job.id == body["id"]
    assert job.status == body["status"]
    assert job.is_terminal == (body["status"] in ("finished", "error"))
    expected_files = sum(len(value) if isinstance(value, list) else 1 for value in (body.get("output") or {}).values())
    assert len(job.outputs()) == expected_files


def test_finished_soap_outputs_in_order() -> None:
    job = Job.model_validate(load_example("job-finished-soap.json"))
    kinds = [ref.kind for ref in job.outputs()]
    assert kinds == ["transcription"] * 4 + ["soap", "concept"]
    soap = job.outputs()[4]
    assert soap.key == "acme-health/d47b0e19-6c2a-4f83-b5e1-0a9c8d7e6f54/soap/visit-0412.json"
    assert soap.s3_uri == f"s3://acme-bp-outputs-example/{soap.key}"
    assert soap.region == "us-west-2"


def test_error_example_keeps_error_text() -> None:
    job = Job.model_validate(load_example("job-error.json"))
    assert job.error == "Error: Failed to transcribe. May be invalid audio or silent file"
    assert job.outputs() == []


def test_list_page_example() -> None:
    page = JobListPage.model_validate(load_example("job-list-page.json"))
    assert page.total_count == 137
    assert [job.status for job in page.data] == ["processing", "submitted", "error", "finished", "finished"]


def test_access_link_example() -> None:
    links = AccessLinks.model_validate(load_example("access-link.json"))
    kinds = [kind for kind, _ in links.links()]
    assert kinds == ["transcription"] * 4 + ["summary"]
    last = links.links()[-1][1].link
    assert last is not None and last.startswith("https://")


@pytest.mark.parametrize("name", ["error-401.json", "error-404.json", "error-429.json"])
def test_error_examples_have_an_error_string(name: str) -> None:
    assert isinstance(load_example(name)["error"], str)


@pytest.mark.parametrize("output", [None, {}, "missing"])
def test_output_may_be_missing_null_or_empty(output: object) -> None:
    body: dict[str, object] = {"id": "x", "status": "processing"}
    if output != "missing":
        body["output"] = output
    assert Job.model_validate(body).outputs() == []


def test_unknown_values_are_kept_verbatim() -> None:
    job = Job.model_validate(
        {
            "id": "x",
            "status": "paused-by-ops",
            "preset": "translate",
            "created": 1716000000,
            "output": {"summary": [{"format": "MD", "s3Config": {"key": "k", "bucket": "b"}}], "video": {}},
        }
    )
    assert job.status == "paused-by-ops" and not job.is_terminal
    assert job.preset == "translate"
    assert job.unknown_fields == {"created": 1716000000}
    assert job.output is not None and job.output.unknown_fields == {"video": {}}
    (summary,) = job.outputs()
    assert summary.format == "MD" and summary.has_format("md")


def test_output_kind_may_be_object_or_list() -> None:
    single = {"format": "txt", "s3Config": {"key": "k", "bucket": "b", "region": "r"}}
    as_object = Job.model_validate({"id": "x", "output": {"summary": single}})
    as_list = Job.model_validate({"id": "x", "output": {"summary": [single]}})
    assert as_object.outputs() == as_list.outputs()
    links = AccessLinks.model_validate({"summary": [{"format": "txt", "link": "u"}]})
    assert links.links()[0][1].link == "u"


def test_job_ids_are_uuids() -> None:
    assert normalize_job_id(" 5F0C2A9E-7B41-4D8A-9C3E-2E6F1B7D4A10 ") == "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"
    with pytest.raises(ValueError, match="not a job id"):
        normalize_job_id("../../etc/passwd")
