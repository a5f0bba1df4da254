"""What the copy keys copy, decided without Textual."""

from __future__ import annotations

from support import T0, load_example

from tui.api import Job
from tui.core.copy_target import copy_target
from tui.core.watchlist import JobView

JOB_ID = "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"


def view(status: str | None, job: Job | None = None) -> JobView:
    return JobView(JOB_ID, status, "transcript", job, T0, T0)


def finished() -> Job:
    return Job.model_validate({**load_example("job-finished-transcript.json"), "id": JOB_ID})


def test_the_id_can_always_be_copied() -> None:
    assert copy_target(view(None), "id", None).text == JOB_ID


def test_the_first_output_or_the_highlighted_one() -> None:
    job = finished()
    outputs = job.outputs()
    first = copy_target(view("finished", job), "key", None)
    assert first.text == outputs[0].key and first.label.startswith("S3 key of ")
    chosen = copy_target(view("finished", job), "uri", outputs[1])
    assert chosen.text == outputs[1].s3_uri and chosen.text is not None and chosen.text.startswith("s3://")


def test_a_finished_job_without_its_record_is_fetched_first() -> None:
    assert copy_target(view("finished"), "key", None).fetch_first
    processing = Job.model_validate({"id": JOB_ID, "status": "processing"})
    assert copy_target(view("finished", processing), "key", None).fetch_first  # the record is older


def test_no_outputs_yet_says_why() -> None:
    target = copy_target(view("processing"), "key", None)
    assert target.text is None and not target.fetch_first
    assert target.problem == "Job 5f0c2a9e has no outputs yet (it is processing); nothing copied"
