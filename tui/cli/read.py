"""`batchmon get` and `list`: jobs as the API tells them."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from tui.api import Job, with_retries
from tui.cli.common import (
    EXIT_OK,
    Handler,
    UsageError,
    client_for,
    common_options,
    one_id,
    settings_for,
)
from tui.cli.record import record_seen
from tui.present.formatting import status_label
from tui.present.text import json_preview, shown

if TYPE_CHECKING:
    pass


async def _get(args: argparse.Namespace) -> int:
    job_id = one_id(args.job_id)
    async with client_for(settings_for(args)) as client:
        job, body = await with_retries(lambda: client.get_job_body(job_id))
    record_seen([job], [body])
    if args.json:
        print(json.dumps(body, indent=2))  # as the API sent it: the model cuts unknown fields for the screen
    else:
        print(format_job(job))
    return EXIT_OK


def format_job(job: Job) -> str:
    """A job for people: aligned fields, every value made printable."""
    rows: list[tuple[str, str]] = [
        ("id", job.id),
        ("preset", job.preset or "-"),
        ("status", status_label(job.status)),
    ]
    if job.input is not None:
        rows.append(("source", job.input.source_type or "-"))
        if job.input.recording_id:
            rows.append(("recording", job.input.recording_id))
        if job.input.uri:
            rows.append(("uri", job.input.uri))
        if job.input.language:
            rows.append(("language", job.input.language))
    if job.error:
        rows.append(("error", job.error))
    for name, value in job.unknown_fields.items():
        rows.append((name, json_preview(value)))  # names and values are the server's: both made inert
    lines = [f"{shown(name, 100):<10} {shown(value)}" for name, value in rows]
    outputs = job.outputs()
    lines.append(f"{'outputs':<10} {len(outputs) if outputs else 'none yet' if not job.is_terminal else 'none'}")
    for ref in outputs:
        where = ref.s3_uri or ref.key or "-"
        lines.append(f"  {shown(ref.kind, 100):<14} {shown(ref.format or '-', 100):<5} {shown(where)}")
    return "\n".join(lines)


async def _list(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    async with client_for(settings_for(args)) as client:
        jobs: list[Any] = []
        if args.limit <= 100:
            page = await with_retries(lambda: client.list_jobs(limit=args.limit, recording_id=args.recording_id))
            jobs, total = page.data, page.total_count
        else:
            async for job in client.iter_jobs(recording_id=args.recording_id):
                jobs.append(job)
                if len(jobs) >= args.limit:
                    break
            total = None
    record_seen(jobs)  # the watched ones' statuses, for `watched` and the next TUI
    if args.json:
        body = {"total_count": total, "data": [job.model_dump(mode="json") for job in jobs]}
        print(json.dumps(body, indent=2))
        return EXIT_OK
    if not jobs:
        print("no jobs")
        return EXIT_OK
    print(f"{'STATUS':<14} {'ID':<36}  PRESET")
    for job in jobs:
        print(f"{status_label(job.status):<14} {shown(job.id, 100):<36}  {shown(job.preset or '-', 100)}")
    if total is not None and total > len(jobs):
        print(f"({len(jobs)} of {total}; --limit N for more)")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    """This family's commands on the `batchmon` parser."""
    get = commands.add_parser("get", help="show one job")
    get.add_argument("job_id", metavar="JOB_ID")
    get.add_argument("--json", action="store_true", help="print the API's JSON")

    listing = commands.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="how many jobs (default 20)")
    listing.add_argument("--recording-id", metavar="R", help="only jobs for this recording")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    common_options(get)
    common_options(listing)


HANDLERS: dict[str, Handler] = {"get": _get, "list": _list}
