"""`batchmon watch`: one line per observed status change until every job has ended."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tui.api import BatchClient
from tui.api import errors as api_errors
from tui.api.ids import PickedIds
from tui.api.models import TERMINAL_STATUSES
from tui.cli.common import (
    EXIT_API,
    EXIT_JOB_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
    NoRoute,
    UsageError,
    client_for,
    common_options,
    no_route,
    pick_ids,
    recent_count,
    say_ignored,
    settings_for,
)
from tui.cli.record import Recorder
from tui.core import locations
from tui.core.config import Settings
from tui.present.formatting import status_label
from tui.present.text import shown

if TYPE_CHECKING:
    from tui.poller import JobState, Poller, PollUpdate


async def _watch(args: argparse.Namespace) -> int:
    if (args.recent is not None or args.until_idle) and not args.follow:
        raise UsageError("--recent and --until-idle go with --follow")
    recent = recent_count(args.recent) or 0
    picked = pick_ids(args.job_ids) if args.job_ids else PickedIds([], 0)
    say_ignored(picked)
    if not args.job_ids and not args.follow:  # as `batchmon` alone reopens it: the saved list
        picked = PickedIds(_saved_ids(), 0)
        if not picked.ids:
            raise UsageError("no job ids given and the watch list is empty (batchmon add JOB_ID... adds some)")
    if not picked.ids and not args.follow:
        raise UsageError("no job ids given (expected UUIDs)")
    return await watch_jobs(
        list(picked.ids),
        settings_for(args),
        follow=args.follow,
        recent=recent,
        until_idle=args.until_idle,
        as_json=args.json,
        exit_status=args.exit_status,
        no_route_check=lambda: no_route(args),
    )


async def watch_jobs(
    ids: list[str],
    settings: Settings,
    *,
    follow: bool = False,
    recent: int = 0,
    until_idle: bool = False,
    as_json: bool = False,
    exit_status: bool = False,
    no_route_check: Callable[[], Awaitable[bool]] | None = None,
) -> int:
    """Print the jobs' status changes until each has ended (following: until stopped, or idle)."""
    from tui.poller import Poller  # the engine is only needed here

    async with client_for(settings) as client:
        poller = Poller(client, interval=settings.interval)
        poller.watch(ids)
        poller.follow(follow, recent=recent)
        report = _WatchReport(client, poller, ids, as_json=as_json)
        recorder = Recorder()  # what is seen of watched jobs goes into the shared store
        quiet_since = time.monotonic()  # following: when the last job was found or changed
        probed = False  # the first 404 is checked once against the list endpoint (a base URL without /v1)
        try:
            async for update in _updates_or_ticks(poller, settings.interval / 2):
                if update is not None:
                    if update.discovered or update.changes:
                        quiet_since = time.monotonic()
                    ids += [job.id for job in update.discovered]  # the report's list: in its summary
                    for change in update.changes:
                        await report.change(change.id, change.status, change.previous, change.observed_at)
                    for state in update.jobs:
                        if state.gone and not probed:
                            probed = True
                            if no_route_check is not None and await no_route_check():
                                raise NoRoute
                        await report.job(state, api_in_trouble=bool(update.engine.last_error))
                    report.engine(update.engine.mode, update.engine.last_error)
                    for state in update.jobs:
                        recorder.seen_state(state)
                    recorder.flush()
                # Ended when what was PRINTED is final: the engine's own states may be ahead of
                # updates still queued (a slow loop), and stopping on them loses those lines.
                ended = report.all_final(poller.states())
                if ended and not follow:
                    break
                # Idle: everything ended, and a read of the list one interval after that found nothing new.
                if ended and until_idle and poller.top_read_at >= quiet_since + settings.interval:
                    break
        except asyncio.CancelledError:  # Ctrl-C: say where things stood, then stop
            print(f"batchmon: interrupted; {report.summary()}", file=sys.stderr, flush=True)
            raise
        finally:
            recorder.close()
    print(f"batchmon: {report.summary()}", file=sys.stderr, flush=True)
    return report.exit_code(exit_status)


def _saved_ids() -> list[str]:
    """The saved watch list, read only (a busy or read-only store is fine)."""
    from tui.store.database import Store, StoreError

    store = Store(locations.state_db())
    try:
        if not store.open_for_reading():
            return []
        try:
            return list(store.load())
        finally:
            store.close()
    except StoreError as exc:
        raise UsageError(str(exc)) from None


async def _updates_or_ticks(poller: Poller, tick: float) -> AsyncIterator[PollUpdate | None]:
    """The poller's updates, and None whenever `tick` seconds pass without one."""
    queue: asyncio.Queue[PollUpdate] = asyncio.Queue()

    async def pump() -> None:
        async for update in poller.updates():
            await queue.put(update)

    task = asyncio.create_task(pump())
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            try:
                await asyncio.wait({getter, task}, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            finally:
                getter.cancel()
            if getter.done() and not getter.cancelled():
                yield getter.result()
            elif task.done():
                task.result()  # a bug in the engine surfaces here
                return
            else:
                yield None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class _WatchReport:
    """What `watch` prints: status lines (with reasons, gone and refused ids), trouble notes, a summary."""

    def __init__(self, client: BatchClient, poller: Poller, ids: Sequence[str], *, as_json: bool) -> None:
        self.client, self.poller, self.ids, self.as_json = client, poller, ids, as_json
        self.final: dict[str, str] = {}  # id -> last status printed ("gone" for 404, "refused" for 400/403)
        self.refusals: list[api_errors.ResponseError] = []
        self.checked: set[tuple[str, str]] = set()  # (id, problem) pairs already looked into
        self.reached = self.troubled = False

    async def change(self, job_id: str, status: str, previous: str | None, observed_at: float) -> None:
        error = await _error_reason(self.client, self.poller.states().get(job_id)) if status == "error" else None
        self._print(job_id, status, previous, observed_at, error)

    async def job(self, state: JobState, *, api_in_trouble: bool) -> None:
        if state.gone and self.final.get(state.id) != "gone":
            self._print(state.id, "gone", state.status, time.time(), None)
        self.reached = self.reached or state.confirmed_at is not None or state.gone
        # A job-level problem while the API as a whole is fine may be a refusal (400/403), after
        # which the engine never polls the job again: find out, once per problem.
        problem = state.last_error
        if problem and not (state.gone or api_in_trouble or (state.id, problem) in self.checked):
            self.checked.add((state.id, problem))
            refusal = await _refusal(self.client, self.poller, state.id)
            if refusal is not None:
                self.refusals.append(refusal)
                self._print(state.id, "refused", state.status, time.time(), str(refusal))

    def engine(self, mode: str, problem: str | None) -> None:
        if mode == "unauthorised":
            raise api_errors.BadKey(401)  # the engine's own text would repeat "HTTP 401"
        if mode == "offline" and not self.reached:
            raise api_errors.ConnectionFailed(problem or "the API could not be reached")
        # Said when trouble starts and ends, never per retry; before the first answer, an
        # unreachable API is said once, by the error that ends the watch.
        if self.reached and bool(problem) != self.troubled:
            self.troubled = bool(problem)
            note = f"{problem}; retrying" if problem else "recovered"
            print(f"batchmon: {shown(note)}", file=sys.stderr, flush=True)

    def all_final(self, states: Mapping[str, JobState]) -> bool:
        """Every job the engine watches has ended, and that ending is what was printed for it."""
        for job_id, state in states.items():
            status = "gone" if state.gone else state.status
            if status not in (*TERMINAL_STATUSES, "gone") or self.final.get(job_id) != status:
                return False
        return True

    def summary(self) -> str:
        """Counts by status, e.g. "3 finished, 1 error, 1 gone" (jobs never heard of: "not seen")."""
        counts = Counter(self.final.get(job_id, "not seen") for job_id in self.ids)
        order = ["finished", "error", "gone"]
        ranked = sorted(counts, key=lambda status: (order.index(status) if status in order else len(order), status))
        return ", ".join(f"{counts[status]} {shown(status, 40)}" for status in ranked)

    def exit_code(self, exit_status: bool) -> int:
        if self.refusals:  # the API would not tell us about a job: 403 is about the key, 400 the request
            return EXIT_API if any(isinstance(r, api_errors.Forbidden) for r in self.refusals) else EXIT_USAGE
        failed = any(status in ("error", "gone") for status in self.final.values())
        return EXIT_JOB_FAILED if exit_status and failed else EXIT_OK

    def _print(self, job_id: str, status: str, previous: str | None, observed_at: float, error: str | None) -> None:
        self.final[job_id] = status
        _print_change(job_id, status, previous, observed_at, self.as_json, error)


async def _refusal(client: BatchClient, poller: Poller, job_id: str) -> api_errors.ResponseError | None:
    """The 400/403 the API gives for this job (then it is no longer watched), or None (then it is polled again)."""
    try:
        await client.get_job(job_id)
    except (api_errors.BadRequest, api_errors.Forbidden) as exc:
        poller.unwatch(job_id)
        return exc
    except api_errors.ApiError:
        return None
    poller.refresh(job_id)  # fine now: make sure the engine is not holding it back
    return None


async def _error_reason(client: BatchClient, state: JobState | None) -> str | None:
    """The job's error string: from the record the poller holds, else one GET (a list sweep lacks it)."""
    if state is not None and state.job is not None and state.job.status == "error":
        return state.job.error
    try:
        job = await client.get_job(state.id) if state is not None else None
    except api_errors.ApiError:
        return None  # the line still says "error"; the reason is a bonus
    return job.error if job is not None else None


def _print_change(
    job_id: str, status: str, previous: str | None, observed_at: float, as_json: bool, error: str | None
) -> None:
    when = datetime.fromtimestamp(observed_at, UTC)
    if as_json:
        record = {"id": job_id, "status": status, "previous": previous, "observed_at": when.isoformat()}
        if error is not None:
            record["error"] = error
        print(json.dumps(record), flush=True)
        return
    arrow = f"{shown(previous, 100)} → " if previous else ""
    labels = {"gone": "? gone (not found: deleted, or another account's)", "refused": "? refused by the API"}
    label = labels.get(status) or status_label(status)
    reason = f": {shown(error, 300)}" if error else ""
    print(f"{when:%H:%M:%S}  {shown(job_id, 100)}  {arrow}{label}{reason}", flush=True)


def add_parsers(commands: Any) -> None:
    """This family's commands on the `batchmon` parser."""
    watch = commands.add_parser("watch", help="print status changes until every job has ended")
    watch.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="ids, or - to read them from stdin")
    watch.add_argument("--follow", action="store_true", help="also every job that appears on the domain from now on")
    watch.add_argument("--recent", type=int, metavar="N", help="with --follow: also the N most recent jobs (<= 100)")
    watch.add_argument(
        "--until-idle", action="store_true", help="with --follow: stop once all have ended and nothing new appeared"
    )
    watch.add_argument("--json", action="store_true", help="JSON lines: id, status, previous, observed_at")
    watch.add_argument("--exit-status", action="store_true", help="exit 1 if any job ended in error")
    common_options(watch)


HANDLERS: dict[str, Handler] = {"watch": _watch}
