"""`batchmon submit` and `batchmon delete`: the headless commands that change jobs at Daily."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tui.api import BatchClient, with_retries
from tui.api import errors as api_errors
from tui.api.outcomes import DeleteOutcome, delete_checked, submit_once
from tui.api.submission import PRESETS, TRANSCRIPT_OPTIONS, InvalidSubmit, SubmitForm, parse_option
from tui.cli.common import (
    EXIT_API,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
    UsageError,
    client_for,
    common_options,
    open_store,
    pick_ids,
    say_ignored,
    settings_for,
)
from tui.cli.watch import watch_jobs
from tui.core import locations
from tui.present.formatting import status_label
from tui.present.text import shown

FORM_FLAGS = {
    "preset": "--preset",
    "source": "--recording-id/--uri",
    "language": "--language",
    "template": "--template",
}


def add_parsers(commands: Any) -> None:
    """`submit` and `delete` on the `batchmon` parser."""
    submit = commands.add_parser("submit", help="submit a job and print its id")
    submit.add_argument("--preset", required=True, metavar="P", help=f"{', '.join(PRESETS)} (or a newer one)")
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument("--recording-id", metavar="R", help="a Daily recording id")
    source.add_argument("--uri", metavar="U", help="an http(s) URL of an audio or video file")
    submit.add_argument("--language", metavar="L", help="a language tag such as en, en-GB, pt-BR (default en)")
    submit.add_argument(
        "--template", metavar="T", help="output name; may use {epoch_time} {domain_name} {job_id} (default: output)"
    )
    submit.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"a transcript option ({', '.join(TRANSCRIPT_OPTIONS)}); true/false and numbers are parsed",
    )
    submit.add_argument("--watch", action="store_true", help="then print its status changes, like batchmon watch")
    submit.add_argument("--json", action="store_true", help='print {"id": ...} (and JSON lines with --watch)')

    delete = commands.add_parser("delete", help="delete jobs at Daily, their outputs in Daily's storage included")
    delete.add_argument("job_ids", nargs="+", metavar="JOB_ID", help="ids, or - to read them from stdin")
    delete.add_argument("--yes", action="store_true", help="do not ask (required when stdin is not a terminal)")
    common_options(submit)
    common_options(delete)


def _ask(question: str) -> bool:
    """A y/N question on the terminal; anything but y/yes (or end of input) is no."""
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


# submit


def _form(args: argparse.Namespace) -> SubmitForm:
    options: dict[str, Any] = {}
    try:
        for text in args.option:
            key, value = parse_option(text)
            options[key] = value
    except InvalidSubmit as exc:
        raise UsageError(f"--option: {shown(exc)}") from None
    uri = args.uri is not None
    return SubmitForm(
        preset=args.preset,
        source_type="uri" if uri else "recordingId",
        source=args.uri if uri else args.recording_id,
        language=args.language or "",
        template=args.template or "",
        options=options,
    )


async def submit(args: argparse.Namespace) -> int:
    form = _form(args)
    try:
        request = form.request()
    except InvalidSubmit as exc:
        raise UsageError(f"{FORM_FLAGS.get(exc.field, exc.field)}: {shown(exc)}") from None
    for note in form.notes():
        print(f"batchmon: note: {shown(note)}", file=sys.stderr)
    settings = settings_for(args)
    async with client_for(settings) as client:
        while True:
            try:
                result = await submit_once(client, request)
            except api_errors.BadRequest as exc:
                print(f"batchmon: the server refused the job: {shown(exc)}", file=sys.stderr)
                return EXIT_USAGE
            if not result.lost:
                break
            problem = shown(result.problem)
            print(f"batchmon: the submit's answer was lost ({problem}): outcome unknown", file=sys.stderr)
            if not result.checked:
                print(
                    "batchmon: the job list could not be read either; check with `batchmon list` before submitting "
                    "again",
                    file=sys.stderr,
                )
                return EXIT_API
            if result.job_id is not None:
                _watch_list_add(result.job_id)
                print(
                    f"batchmon: a matching job appeared since: {shown(result.job_id)} (most likely this one; "
                    "added to the watch list); not submitting again",
                    file=sys.stderr,
                )
                return EXIT_API
            if not sys.stdin.isatty():
                print(
                    "batchmon: no matching job appeared, so it was most likely not created; re-running is safe",
                    file=sys.stderr,
                )
                return EXIT_API
            if not _ask("No matching job appeared on the list. Send it again? [y/N] "):
                return EXIT_API
    assert result.job_id is not None
    _watch_list_add(result.job_id)
    print(json.dumps({"id": result.job_id}) if args.json else shown(result.job_id), flush=True)
    if not args.watch:
        return EXIT_OK
    return await watch_jobs([result.job_id], settings, as_json=args.json)


def _watch_list_add(job_id: str) -> None:
    """The new job goes on the watch list at once; failing to save it does not undo the submit."""
    from tui.store.database import StoreError

    try:
        store = open_store()
        try:
            store.add([job_id], time.time())
        finally:
            store.close()
    except StoreError as exc:
        print(f"batchmon: submitted, but not added to the watch list: {shown(exc)}", file=sys.stderr)


# delete


async def delete(args: argparse.Namespace) -> int:
    if not args.yes and not sys.stdin.isatty():
        raise UsageError("delete asks before deleting; pass --yes when stdin is not a terminal")
    picked = pick_ids(args.job_ids)  # short ids (unique prefixes of watched ids) resolved
    say_ignored(picked)
    if not picked.ids:
        raise UsageError("no job ids given (expected UUIDs)")
    codes: list[int] = []
    async with client_for(settings_for(args)) as client:
        for job_id in picked.ids:
            if not args.yes and not await _confirm(client, job_id):
                print(f"kept {job_id}")
                continue
            codes.append(await _delete_one(client, job_id))
    return max(codes, default=EXIT_OK)


async def _confirm(client: BatchClient, job_id: str) -> bool:
    """Ask, naming the job (with what is known of it) and saying its outputs go too."""
    described = job_id
    try:
        job = await with_retries(lambda: client.get_job(job_id))
    except api_errors.NotFound:
        pass  # the DELETE will say so
    except api_errors.ApiError:
        pass  # ask all the same; the id names the job
    else:
        source = job.input.recording_id or job.input.uri if job.input else None
        parts = [job.preset or "", status_label(job.status), source or ""]
        described = f"{job_id} ({', '.join(shown(p) for p in parts if p)})"
    return _ask(f"Delete job {described} at Daily? Its outputs in Daily's storage are deleted too. [y/N] ")


async def _delete_one(client: BatchClient, job_id: str) -> int:
    def fail(message: str, code: int) -> int:
        print(f"batchmon: {job_id}: {message}", file=sys.stderr)
        return code

    try:
        result = await delete_checked(client, job_id)
    except api_errors.BadRequest as exc:
        return fail(f"the server refused: {shown(exc)}", EXIT_USAGE)
    except api_errors.ApiError as exc:
        return fail(shown(api_errors.describe(exc)), EXIT_API)
    lost = f"the answer was lost ({shown(result.problem)}); " if result.lost else ""
    if result.outcome is DeleteOutcome.DELETED:
        confirmed = " (answer lost; a GET confirmed it is gone)" if result.lost else ""
        print(f"deleted {job_id}{confirmed}", flush=True)
        forget_deleted(job_id)
        return EXIT_OK
    if result.outcome is DeleteOutcome.NOT_FOUND:
        forget_deleted(job_id)
        return fail("no such job (already deleted, or another domain's)", EXIT_USAGE)
    if result.outcome is DeleteOutcome.STILL_THERE:
        return fail(f"{lost}the job still exists, so it was not deleted; run the command again", EXIT_API)
    return fail(f"{lost}checking with a GET failed too: whether it was deleted is unknown", EXIT_API)


def forget_deleted(job_id: str) -> None:
    """A job gone from Daily leaves the watch list (as the TUI's X does); a store that cannot be
    written is said in one line and the job stays listed."""
    if not locations.state_db().exists():
        return
    from tui.store.database import StoreError

    try:
        store = open_store()
        try:
            store.remove([job_id])
        finally:
            store.close()
    except StoreError as exc:
        print(f"batchmon: {job_id} stays on the watch list: {shown(exc)}", file=sys.stderr)


HANDLERS: dict[str, Handler] = {"submit": submit, "delete": delete}
