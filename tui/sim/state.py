"""The simulated Batch Processor: jobs, their lifecycle over time, and the list endpoint's paging."""

from __future__ import annotations

import bisect
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from tui.sim.job import (
    DEFAULT_ERROR,
    ERROR,
    FINISHED,
    PRESETS,
    PROCESSING,
    SUBMITTED,
    TERMINAL,
    Job,
    SimError,
    new_uuid,
)
from tui.sim.outputs import OutputFile, lists_single_files, output_files, output_object
from tui.sim.requestlog import RequestLog
from tui.sim.seeding import random_input, random_template, seeded_jobs

MAX_LIMIT = 100
OLDEST = "OLDEST"
# Allowed template characters per the submit docs; replacement tokens are checked separately.
TEMPLATE_RE = re.compile(r"^[A-Za-z0-9./*-]{1,1024}$")
TOKEN_RE = re.compile(r"\{(epoch_time|domain_name|job_id)\}")
# Submitted media whose name says so ends in error, so demos can produce failures through POST.
FAILING_URI_RE = re.compile(r"silent|corrupt|invalid", re.IGNORECASE)


class Simulator:
    """Jobs keyed by id; every status is derived from the clock, so transition times are exact."""

    def __init__(
        self,
        *,
        jobs: int = 0,
        seed: int = 0,
        speed: float = 1.0,
        api_key: str = "sim-key",
        clock: Callable[[], float] = time.time,
        domain: str = "sim-domain",
        bucket: str = "sim-bp-outputs",
        region: str = "us-west-2",
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.clock = clock
        self.speed = speed
        self.api_key = api_key
        self.domain = domain
        self.bucket = bucket
        self.region = region
        self.requests = RequestLog(clock)  # API requests (/v1)
        self.file_requests = RequestLog(clock)  # download-link requests (/files), headers included
        self.link_secret = secrets.token_bytes(16)  # signs the download links access-link mints
        self._rng = random.Random(seed)
        # The server thread and the test/demo thread both touch the jobs.
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._order: list[tuple[float, str]] = []  # (created_at, id) ascending; lists read it backwards
        for job in seeded_jobs(jobs, self._rng, clock(), speed):
            self._add(job)

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def now(self) -> float:
        return self.clock()

    def ids(self) -> list[str]:
        """Every job id, newest first."""
        with self._lock:
            return [job_id for _, job_id in reversed(self._order)]

    def job(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise SimError(404, "not-found", f"batch processor job {job_id} not found") from None

    def status(self, job_id: str) -> str:
        return self.job(job_id).status_at(self.clock())

    def transitions(self, job_id: str, *, include_future: bool = False) -> list[tuple[str, float]]:
        """`(status, entered_at)` pairs in order; future ones only with `include_future`."""
        with self._lock:
            return self.job(job_id).transitions(None if include_future else self.clock())

    def outputs(self, job_id: str) -> list[OutputFile]:
        """The job's output files; empty unless it is finished now."""
        with self._lock:
            job = self.job(job_id)
            if job.status_at(self.clock()) != FINISHED:
                return []
            return output_files(job.preset, self.domain, job.id, job.template)

    def record(self, job_id: str) -> dict[str, Any]:
        """The body of GET /batch-processor/:id."""
        with self._lock:
            job = self.job(job_id)
            status = job.status_at(self.clock())
            output = {}
            if status == FINISHED:
                files = output_files(job.preset, self.domain, job.id, job.template)
                output = output_object(files, self.bucket, self.region, as_lists=lists_single_files(job.id))
            body: dict[str, Any] = {
                "id": job.id,
                "preset": job.preset,
                "status": status,
                "input": dict(job.input),
                "output": output,
            }
            if status == ERROR:
                body["error"] = job.error
            body.update(job.extra)
            return body

    def list_jobs(
        self,
        *,
        limit: int = MAX_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
        recording_id: str | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> dict[str, Any]:
        """The body of GET /batch-processor: newest first by creation time, ties broken by id.

        `skip` hides jobs entirely (used by the list_omits fault).
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise SimError(400, "invalid-request-error", f"limit must be between 1 and {MAX_LIMIT}")
        if starting_after is not None and ending_before is not None:
            raise SimError(400, "invalid-request-error", "use only one of starting_after and ending_before")
        with self._lock:
            keys = self._order
            if recording_id is not None or skip is not None:
                keys = [k for k in keys if self._visible(k[1], recording_id, skip)]
            # `keys` is oldest first, so "after" in newest-first order means lower indices.
            if starting_after is not None:
                end = bisect.bisect_left(keys, self._cursor_key(starting_after, "starting_after"))
                page = keys[max(0, end - limit) : end]
            elif ending_before == OLDEST:
                page = keys[:limit]
            elif ending_before is not None:
                start = bisect.bisect_right(keys, self._cursor_key(ending_before, "ending_before"))
                page = keys[start : start + limit]
            else:
                page = keys[-limit:]
            now = self.clock()
            data = [
                {"id": job_id, "preset": self._jobs[job_id].preset, "status": self._jobs[job_id].status_at(now)}
                for _, job_id in reversed(page)
            ]
            return {"total_count": len(keys), "data": data}

    # -- changing ------------------------------------------------------------------------------

    def create_job(
        self,
        *,
        preset: str = "transcript",
        source: dict[str, Any] | None = None,
        status: str = SUBMITTED,
        outcome: str = FINISHED,
        processing_in: float | None = 1.0,
        done_in: float | None = 3.0,
        error: str | None = None,
        job_id: str | None = None,
    ) -> str:
        """Add a job in `status` now and schedule the rest; a `None` delay means "until forced".

        Delays are clock seconds from now (not scaled by speed). `preset` and `status` may be any
        string, for lenient-parsing tests; an unknown status schedules nothing.
        """
        if status in TERMINAL:
            outcome = status
        if outcome not in TERMINAL:
            raise ValueError(f"outcome must be one of {TERMINAL}")
        if processing_in is not None and done_in is not None and done_in < processing_in:
            raise ValueError("done_in must not be before processing_in")
        with self._lock:
            now = self.clock()
            path = [SUBMITTED, PROCESSING, outcome]
            events = [(s, now) for s in path[: path.index(status) + 1]] if status in path else [(status, now)]
            if status == SUBMITTED and processing_in is not None:
                events.append((PROCESSING, now + processing_in))
                if done_in is not None:
                    events.append((outcome, now + done_in))
            elif status == PROCESSING and done_in is not None:
                events.append((outcome, now + done_in))
            job = Job(
                id=job_id or new_uuid(self._rng),
                preset=preset,
                input=dict(source) if source is not None else random_input(self._rng),
                template=random_template(self._rng, preset),
                events=events,
                error=error or DEFAULT_ERROR,
            )
            self._add(job)
            return job.id

    def submit(self, body: Any) -> str:
        """Validate a POST /batch-processor body and start the job; raises SimError(400)."""
        preset, source, template_spec = _parse_submit(body)
        with self._lock:
            job_id = new_uuid(self._rng)
            template = _expand_template(template_spec, job_id=job_id, domain=self.domain, now=self.clock())
            failing = FAILING_URI_RE.search(str(source.get("uri", ""))) is not None
            processing_in = self._rng.uniform(1, 5) / self.speed
            done_in = processing_in + self._rng.uniform(5, 30) / self.speed
            self.create_job(
                preset=preset,
                source=source,
                outcome=ERROR if failing else FINISHED,
                processing_in=processing_in,
                done_in=done_in,
                job_id=job_id,
            )
            self._jobs[job_id].template = template
            return job_id

    def force_status(self, job_id: str, status: str) -> None:
        """Put the job in `status` now (any string) and cancel its remaining schedule."""
        with self._lock:
            self.job(job_id).force(status, self.clock())

    def set_extra(self, job_id: str, fields: dict[str, Any]) -> None:
        """Merge `fields` into the job's record as-is: unknown keys, or odd values for known ones."""
        with self._lock:
            self.job(job_id).extra.update(fields)

    def delete(self, job_id: str) -> dict[str, Any]:
        """Remove the job; returns its record, as DELETE does."""
        with self._lock:
            body = self.record(job_id)
            job = self._jobs.pop(job_id)
            index = bisect.bisect_left(self._order, (job.created_at, job_id))
            del self._order[index]
            return body

    def set_api_key(self, key: str) -> None:
        self.api_key = key

    # -- internals -----------------------------------------------------------------------------

    def _add(self, job: Job) -> None:
        if job.id in self._jobs:
            raise ValueError(f"duplicate job id {job.id}")
        self._jobs[job.id] = job
        bisect.insort(self._order, (job.created_at, job.id))

    def _visible(self, job_id: str, recording_id: str | None, skip: Callable[[str], bool] | None) -> bool:
        if recording_id is not None and self._jobs[job_id].input.get("recordingId") != recording_id:
            return False
        return skip is None or not skip(job_id)

    def _cursor_key(self, job_id: str, name: str) -> tuple[float, str]:
        # An unknown cursor is refused rather than treated as "start over": silently restarting
        # would make a paginating client loop or miss jobs without noticing.
        job = self._jobs.get(job_id)
        if job is None:
            raise SimError(400, "invalid-request-error", f"{name}: no batch processor job {job_id}")
        return (job.created_at, job.id)


def _parse_submit(body: Any) -> tuple[str, dict[str, Any], str]:
    """Returns (preset, input echo, s3KeyTemplate); raises SimError(400) on a bad body."""

    def bad(info: str) -> SimError:
        return SimError(400, "invalid-request-error", info)

    if not isinstance(body, dict):
        raise bad("request body must be a JSON object")
    preset = body.get("preset")
    if preset not in PRESETS:
        raise bad(f"preset must be one of {', '.join(PRESETS)}")
    in_params = body.get("inParams")
    if not isinstance(in_params, dict):
        raise bad("inParams is required")
    source_type = in_params.get("sourceType")
    field = {"uri": "uri", "transcriptUri": "uri", "recordingId": "recordingId"}.get(str(source_type))
    if field is None:
        raise bad("inParams.sourceType must be one of uri, recordingId")
    value = in_params.get(field)
    if not isinstance(value, str) or not value:
        raise bad(f"inParams.{field} is required for sourceType {source_type}")
    source: dict[str, Any] = {"sourceType": source_type, field: value}
    language = in_params.get("language")
    if language is not None:
        if not isinstance(language, str):
            raise bad("inParams.language must be a string")
        source["language"] = language
    # Some real clients omit outParams; accept that with Daily's apparent default name.
    out_params = body.get("outParams", {})
    if not isinstance(out_params, dict):
        raise bad("outParams must be an object")
    # The docs' table spells it `s3config`, their examples and live clients `s3Config` (api notes §9.11).
    # Which one Daily reads is unknown, so both are accepted; batchmon itself sends `s3Config`.
    s3 = out_params.get("s3Config", out_params.get("s3config", {}))
    if not isinstance(s3, dict):
        raise bad("outParams.s3Config must be an object")
    replacing = s3.get("useReplacement", False)
    if not isinstance(replacing, bool):
        raise bad("outParams.s3Config.useReplacement must be a boolean")
    template = s3.get("s3KeyTemplate", "output")
    if not isinstance(template, str) or not 1 <= len(template) <= 1024:
        raise bad("outParams.s3Config.s3KeyTemplate must be a string of 1 to 1024 characters")
    if TOKEN_RE.search(template) and not replacing:
        raise bad("outParams.s3Config.s3KeyTemplate uses {...} tokens but useReplacement is not true")
    if not TEMPLATE_RE.match(TOKEN_RE.sub("x", template) if replacing else template):
        raise bad(
            "outParams.s3Config.s3KeyTemplate may hold only A-Z a-z 0-9 . / - * "
            "and the tokens {epoch_time} {domain_name} {job_id}"
        )
    _check_transform_params(body.get("transformParams"), bad)
    return preset, source, template


# transformParams.transcript options and the JSON types Daily documents for them (passed to Deepgram).
TRANSCRIPT_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "language": (str,),
    "model": (str,),
    "tier": (str,),
    "profanity_filter": (bool,),
    "punctuate": (bool,),
    "endpointing": (bool, int, float),
    "redact": (bool, list),
    "extra": (dict,),
}


def _check_transform_params(params: Any, bad: Callable[[str], SimError]) -> None:
    """Known transcript options must have their documented types; unknown ones pass through to Deepgram."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise bad("transformParams must be an object")
    transcript = params.get("transcript")
    if transcript is None:
        return
    if not isinstance(transcript, dict):
        raise bad("transformParams.transcript must be an object")
    for name, value in transcript.items():
        types = TRANSCRIPT_OPTION_TYPES.get(name)
        if types is not None and not isinstance(value, types):
            kinds = " or ".join(t.__name__ for t in types).replace("dict", "object").replace("str", "string")
            raise bad(f"transformParams.transcript.{name} must be a {kinds}")
    redact = transcript.get("redact")
    if isinstance(redact, list) and not all(isinstance(item, str) for item in redact):
        raise bad("transformParams.transcript.redact must be a boolean or a list of strings")


def _expand_template(template: str, *, job_id: str, domain: str, now: float) -> str:
    return template.replace("{job_id}", job_id).replace("{domain_name}", domain).replace("{epoch_time}", str(int(now)))
