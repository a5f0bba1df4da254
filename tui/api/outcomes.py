"""Submits and deletes whose answer was lost: find out what the server did instead of repeating them."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from enum import Enum

from tui.api import errors
from tui.api.client import BatchClient, with_retries
from tui.api.models import Job, SubmitRequest

CHECK_TIMEOUT = 15.0  # s spent re-checking before saying the outcome stays unknown
RECHECK_AFTER = 2.0  # s before a second look for a lost submit's job


@dataclass(frozen=True)
class Submitted:
    """What became of a submit.

    `lost`: the answer never arrived; `job_id` is then a matching job found on the list (None if
    none was found, or if `checked` is False because the list could not be read either).
    """

    job_id: str | None
    lost: bool = False
    checked: bool = True
    problem: str = ""  # what went wrong on the way, when lost


def matches(job: Job, request: SubmitRequest) -> bool:
    """Whether `job` could be the one `request` created: same preset and the same source."""
    wanted = request.in_params
    got = job.input
    if job.preset != request.preset or got is None or got.source_type != wanted.source_type:
        return False
    return got.recording_id == wanted.recording_id and got.uri == wanted.uri


async def recent_ids(client: BatchClient) -> set[str]:
    """Ids on the list's first page (newest first): taken before sending, so new jobs can be told apart."""
    page = await with_retries(client.list_jobs, timeout=CHECK_TIMEOUT)
    return {item.id for item in page.data}


async def find_match(client: BatchClient, request: SubmitRequest, before: set[str]) -> Job | None:
    """A job that appeared since `before` with the request's preset and source.

    List items lack the source, so each new one of the right preset is fetched.
    """
    page = await with_retries(client.list_jobs, timeout=CHECK_TIMEOUT)
    for item in page.data:
        if item.id in before or item.preset not in (None, request.preset):
            continue
        try:
            job = await with_retries(functools.partial(client.get_job, item.id), timeout=CHECK_TIMEOUT)
        except errors.NotFound:
            continue  # deleted in the meantime
        if matches(job, request):
            return job
    return None


async def submit_once(
    client: BatchClient, request: SubmitRequest, *, recheck_after: float = RECHECK_AFTER
) -> Submitted:
    """Send the request once; never again on its own. A lost answer is checked against the list.

    Raises what the server answered (BadRequest with its info, say) and transport errors that
    surely happened before anything was sent.
    """
    before = await recent_ids(client)
    try:
        return Submitted((await client.submit(request)).id)
    except errors.TransportError as exc:
        if not exc.may_have_arrived:
            raise
        problem = str(exc)
    try:
        match = await find_match(client, request, before)
        if match is None:
            # After a timeout the server may still be working on it: look once more a little later.
            await asyncio.sleep(recheck_after)
            match = await find_match(client, request, before)
    except errors.ApiError:
        return Submitted(None, lost=True, checked=False, problem=problem)
    return Submitted(match.id if match else None, lost=True, problem=problem)


class DeleteOutcome(Enum):
    """What a DELETE came to, once checked."""

    DELETED = "deleted"
    NOT_FOUND = "not found"  # it was already gone
    STILL_THERE = "still there"  # the answer was lost and a GET shows the job: nothing was deleted
    UNKNOWN = "unknown"  # the answer was lost and the re-check failed too


@dataclass(frozen=True)
class Deleted:
    """A delete's outcome, and whether its answer was lost."""

    job_id: str
    outcome: DeleteOutcome
    job: Job | None = None  # the DELETE answer (the job as it was), when it arrived
    lost: bool = False  # the answer was lost; `outcome` comes from a re-check with GET
    problem: str = ""


async def delete_checked(client: BatchClient, job_id: str) -> Deleted:
    """DELETE once; a lost answer is re-checked with a GET (404 means it was deleted)."""
    try:
        return Deleted(job_id, DeleteOutcome.DELETED, await client.delete_job(job_id))
    except errors.NotFound:
        return Deleted(job_id, DeleteOutcome.NOT_FOUND)
    except errors.TransportError as exc:
        if not exc.may_have_arrived:
            raise
        problem = str(exc)
    try:
        await with_retries(lambda: client.get_job(job_id), timeout=CHECK_TIMEOUT)
    except errors.NotFound:
        return Deleted(job_id, DeleteOutcome.DELETED, lost=True, problem=problem)
    except errors.ApiError:
        return Deleted(job_id, DeleteOutcome.UNKNOWN, lost=True, problem=problem)
    return Deleted(job_id, DeleteOutcome.STILL_THERE, lost=True, problem=problem)
