"""The `batchmon` command: argument parsing, the headless commands, and launching the TUI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui import __version__
from tui.api import BatchClient, Job, RequestBudget, with_retries
from tui.api import errors as api_errors
from tui.api.ids import PickedIds, pick_job_ids
from tui.api.models import TERMINAL_STATUSES
from tui.api.shortids import ShortIdError, looks_like_prefix, resolve
from tui.cli.usage import UnknownCommand, check_first_word, command_help, overview
from tui.core import locations
from tui.core.config import ConfigError, Settings, load_settings, require_key
from tui.outputs import DownloadExists, OutputError, OutputLink, Outputs, SaveError, download_folder
from tui.present.formatting import status_label
from tui.present.text import json_preview, printable, shown
from tui.store.database import StoreError

if TYPE_CHECKING:
    from tui.poller import JobState, Poller, PollUpdate
    from tui.store.database import Store

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_BUG = 70  # outside the contract on purpose: a bug in batchmon, not the user's input

MAX_SIM_JOBS = 100_000
MIN_SIM_SPEED, MAX_SIM_SPEED = 0.001, 1000.0

SUBCOMMANDS = (
    "add", "remove", "watched", "get", "list", "watch", "links", "show", "download", "submit", "delete",
    "simulate", "serve", "locate",
)  # fmt: skip

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad input from the user; the message is one line."""


class NoRoute(Exception):
    """Every route of the base URL answers 404: a base URL without /v1, most likely."""


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, metavar="R", help="request budget, requests/s (default 5, at most 20)")
    parser.add_argument("--interval", type=float, metavar="S", help="poll interval floor in seconds (default 1)")
    parser.add_argument("--profile", metavar="NAME", help="a [profiles.NAME] table of the config file")


def build_parser() -> argparse.ArgumentParser:
    """The parser for the subcommands; the TUI form (`batchmon [JOB_ID ...]`) has its own."""
    parser = argparse.ArgumentParser(prog="batchmon", description="Monitor Daily Batch Processor jobs.")
    parser.add_argument("--version", action="version", version=f"batchmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    add = commands.add_parser("add", help="add to the watch list without opening the TUI")
    add.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="ids, or - to read any text holding them from stdin")

    remove = commands.add_parser("remove", help="remove from the watch list (never from Daily)")
    remove.add_argument(
        "job_ids", nargs="*", metavar="JOB_ID", help="ids or unique prefixes of watched ids, or - to read stdin"
    )
    remove.add_argument("--finished", action="store_true", help="only jobs that have ended (finished or error)")
    remove.add_argument("--followed", action="store_true", help="only jobs added by following the domain")
    remove.add_argument("--older-than", metavar="AGE", help="only jobs added more than AGE ago (e.g. 7d, 12h, 30m)")

    watched = commands.add_parser("watched", help="the watch list with last known statuses (no network)")
    watched.add_argument("--json", action="store_true", help="a JSON array: id, status, preset, added_at, confirmed_at")

    get = commands.add_parser("get", help="show one job")
    get.add_argument("job_id", metavar="JOB_ID")
    get.add_argument("--json", action="store_true", help="print the API's JSON")

    listing = commands.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="how many jobs (default 20)")
    listing.add_argument("--recording-id", metavar="R", help="only jobs for this recording")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")

    watch = commands.add_parser("watch", help="print status changes until every job has ended")
    watch.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="ids, or - to read them from stdin")
    watch.add_argument("--follow", action="store_true", help="also every job that appears on the domain from now on")
    watch.add_argument("--recent", type=int, metavar="N", help="with --follow: also the N most recent jobs (<= 100)")
    watch.add_argument(
        "--until-idle", action="store_true", help="with --follow: stop once all have ended and nothing new appeared"
    )
    watch.add_argument("--json", action="store_true", help="JSON lines: id, status, previous, observed_at")
    watch.add_argument("--exit-status", action="store_true", help="exit 1 if any job ended in error")

    simulate = commands.add_parser("simulate", help="run the simulated Batch Processor API")
    simulate.add_argument(
        "--port", type=int, default=8765, metavar="P", help="loopback port (default 8765; 0 = any free port)"
    )
    simulate.add_argument("--jobs", type=int, default=24, metavar="N", help="jobs to seed (default 24)")
    simulate.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    simulate.add_argument("--speed", type=float, default=1.0, metavar="X", help="time factor (default 1)")
    simulate.add_argument(
        "--spawn-every", type=float, metavar="S", help="also submit a new job about every S seconds (for --follow)"
    )

    serve = commands.add_parser("serve", help="the TUI in a browser, served on loopback (textual-serve)")
    serve.add_argument("--port", type=int, default=8000, metavar="P", help="loopback port (default 8000)")
    serve.add_argument("--demo", action="store_true", help="serve the demo (the built-in simulator)")
    _common_options(serve)

    commands.add_parser("locate", help="print the config, state and log file paths")
    from tui.cli.jobs import add_job_commands  # it imports this module's helpers

    output_commands = [*_add_output_commands(commands), _add_show_command(commands)]
    for sub in (get, listing, watch, *output_commands, *add_job_commands(commands)):
        _common_options(sub)
    return parser


def build_tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchmon",
        description="Monitor Daily Batch Processor jobs. Commands: "
        + ", ".join(SUBCOMMANDS)
        + " (see batchmon COMMAND --help).",
    )
    parser.add_argument("--version", action="version", version=f"batchmon {__version__}")
    parser.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="job ids to add to the watch list")
    parser.add_argument("--demo", action="store_true", help="run against the built-in simulator (no key needed)")
    parser.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        help="watch every job that appears on the domain from now on (remembered; --no-follow stops)",
    )
    parser.add_argument("--recent", type=int, metavar="N", help="following also adds the N most recent jobs (<= 100)")
    _common_options(parser)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {name: getattr(args, name, None) for name in ("rate", "interval", "profile")}
    return load_settings(flags=flags)


def _client(settings: Settings) -> BatchClient:
    require_key(settings)
    return BatchClient(settings.api_url, settings.api_key, budget=RequestBudget(settings.rate))


def _pick(raw: Sequence[str]) -> PickedIds:
    """The ids in the arguments (`-` reads stdin), picked out of whatever text holds them."""
    texts = [sys.stdin.read() if text == "-" else text for text in raw]
    return pick_job_ids("\n".join(texts))


def _say_ignored(picked: PickedIds) -> None:
    if picked.ignored:
        named = ", ".join(repr(printable(line)[:40]) for line in picked.samples)
        noun = "line" if picked.ignored == 1 else "lines"
        print(f"batchmon: ignored {picked.ignored} {noun} without a job id: {named}", file=sys.stderr)


# add, watched


def _open_store() -> Store:
    from tui.store.database import Store

    store = Store(locations.state_db())
    for warning in store.open():
        print(f"batchmon: {printable(warning)}", file=sys.stderr)
    return store


def _add(args: argparse.Namespace) -> int:
    import time

    from tui.store.database import StoreError

    picked = _pick(args.job_ids or ["-"])
    try:
        store = _open_store()
        try:
            added = store.add(picked.ids, time.time())
        finally:
            store.close()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    print(f"added {len(added)}, already watched {len(picked.ids) - len(added)}, ignored {picked.ignored}")
    return EXIT_OK


AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_RECENT = 100  # one list page
MIN_SPAWN_EVERY, MAX_SPAWN_EVERY = 0.1, 86400.0


def _age(text: str) -> float:
    """`7d`, `12h`, `30m`, `45s`, `2w` in seconds."""
    match = re.fullmatch(r"\s*(\d{1,9}(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if match is None:
        raise UsageError(f"--older-than: {shown(text, 40)!r} is not an age like 7d, 12h or 30m")
    return float(match[1]) * AGE_UNITS[match[2]]


def _recent(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_RECENT:
        raise UsageError(f"--recent must be between 0 and {MAX_RECENT}")
    return value


def _remove(args: argparse.Namespace) -> int:
    from tui.store.database import StoreError

    if not (args.job_ids or args.finished or args.followed or args.older_than):
        raise UsageError("say which jobs: JOB_ID..., --finished, --followed or --older-than AGE")
    cutoff = time.time() - _age(args.older_than) if args.older_than else None
    try:
        store = _open_store()
        try:
            jobs = store.load()
            chosen, unknown = _chosen_ids(args.job_ids, list(jobs)) if args.job_ids else (list(jobs), 0)
            doomed = [
                job_id
                for job_id in chosen
                if (not args.finished or jobs[job_id].status in TERMINAL_STATUSES)
                and (not args.followed or jobs[job_id].followed)
                and (cutoff is None or jobs[job_id].added_at < cutoff)
            ]
            removed = store.remove(doomed)
        finally:
            store.close()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    note = f", {unknown} not watched" if unknown else ""
    print(f"removed {len(removed)}{note}")
    return EXIT_OK


def _chosen_ids(raw: Sequence[str], watched: list[str]) -> tuple[list[str], int]:
    """The watched ids named by full ids or unique prefixes (`-`: ids in stdin); and how many name none."""
    chosen: list[str] = []
    unknown = 0
    for text in raw:
        if text == "-":
            picked = pick_job_ids(sys.stdin.read())
            chosen += [job_id for job_id in picked.ids if job_id in watched]
            unknown += sum(job_id not in watched for job_id in picked.ids)
            continue
        prefix = text.strip().lstrip("◆").lower()  # as the table shows a followed job
        if not re.fullmatch(r"[0-9a-f-]{1,36}", prefix):
            raise UsageError(f"{shown(text, 40)!r} is not a job id")
        matches = [job_id for job_id in watched if job_id.startswith(prefix)]
        if len(matches) > 1 and prefix not in matches:
            raise UsageError(f"{shown(text, 40)!r} matches {len(matches)} watched jobs; give more of the id")
        if not matches:
            unknown += 1
        else:
            chosen.append(prefix if prefix in matches else matches[0])
    return list(dict.fromkeys(chosen)), unknown


def _watched(args: argparse.Namespace) -> int:
    from tui.store.database import StoreError

    try:
        store = _open_store()
        try:
            jobs = store.load()
        finally:
            store.close()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": job.id,
                        "status": job.status,
                        "preset": job.preset,
                        "added_at": _iso(job.added_at),
                        "confirmed_at": _iso(job.confirmed_at),
                    }
                    for job in jobs.values()
                ],
                indent=1,
            )
        )
        return EXIT_OK
    if not jobs:
        print("no jobs watched (batchmon add JOB_ID... adds some)")
        return EXIT_OK
    print(f"{'STATUS':<14} {'ID':<36}  {'PRESET':<12} CONFIRMED")
    for job in jobs.values():
        confirmed = _iso(job.confirmed_at) or "-"
        print(f"{status_label(job.status):<14} {printable(job.id):<36}  {printable(job.preset or '-'):<12} {confirmed}")
    return EXIT_OK


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


# get


def _one_id(text: str) -> str:
    """A whole id, or the watched id a short one (a unique prefix) stands for; UsageError otherwise."""
    return _resolved([text])[0]


def _resolved(texts: Sequence[str]) -> list[str]:
    """Each text as a whole id, short ids resolved against the watch list (opened only if needed)."""
    store: Store | None = None

    def lookup(prefix: str, limit: int) -> list[str]:
        nonlocal store
        if store is None:
            store = _open_store()
        return store.ids_with_prefix(prefix, limit)

    try:
        ids = [resolve(text, lookup) for text in texts]
    except ShortIdError as exc:
        raise UsageError(printable(exc)) from None
    except StoreError as exc:
        raise UsageError(printable(exc)) from None
    finally:
        if store is not None:
            store.close()
    return ids


def _pick_ids(raw: Sequence[str]) -> PickedIds:
    """Like _pick, with arguments that are short ids resolved against the watch list."""
    short = [text for text in raw if text != "-" and looks_like_prefix(text)]
    picked = _pick([text for text in raw if text not in short])
    if not short:
        return picked
    ids = list(dict.fromkeys([*picked.ids, *_resolved(short)]))
    return PickedIds(ids, picked.ignored, picked.near_misses, picked.samples)


async def _get(args: argparse.Namespace) -> int:
    job_id = _one_id(args.job_id)
    async with _client(_settings(args)) as client:
        job = await with_retries(lambda: client.get_job(job_id))
    if args.json:
        print(json.dumps(job.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
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


# list


async def _list(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    async with _client(_settings(args)) as client:
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


# watch


async def _watch(args: argparse.Namespace) -> int:
    from tui.poller import Poller  # the engine is only needed here

    if (args.recent is not None or args.until_idle) and not args.follow:
        raise UsageError("--recent and --until-idle go with --follow")
    recent = _recent(args.recent) or 0
    picked = _pick_ids(args.job_ids) if args.job_ids else PickedIds([], 0)
    _say_ignored(picked)
    if not picked.ids and not args.follow:
        raise UsageError("no job ids given (expected UUIDs)")
    ids = list(picked.ids)
    settings = _settings(args)
    async with _client(settings) as client:
        poller = Poller(client, interval=settings.interval)
        poller.watch(ids)
        poller.follow(args.follow, recent=recent)
        report = _WatchReport(client, poller, ids, as_json=args.json)
        quiet_since = time.monotonic()  # following: when the last job was found or changed
        probed = False  # the first 404 is checked once against the list endpoint (a base URL without /v1)
        try:
            async for update in _updates_or_ticks(poller, settings.interval / 2):
                if update is not None:
                    if update.discovered or update.changes:
                        quiet_since = time.monotonic()
                    ids += [job.id.strip().lower() for job in update.discovered]  # the report's list: in its summary
                    for change in update.changes:
                        await report.change(change.id, change.status, change.previous, change.observed_at)
                    for state in update.jobs:
                        if state.gone and not probed:
                            probed = True
                            if await _no_route(args):
                                raise NoRoute
                        await report.job(state, api_in_trouble=bool(update.engine.last_error))
                    report.engine(update.engine.mode, update.engine.last_error)
                ended = all(s.gone or s.status in TERMINAL_STATUSES for s in poller.states().values())
                if ended and not args.follow:
                    break
                # Idle: everything ended, and a read of the list one interval after that found nothing new.
                if ended and args.until_idle and poller.top_read_at >= quiet_since + settings.interval:
                    break
        except asyncio.CancelledError:  # Ctrl-C: say where things stood, then stop
            print(f"batchmon: interrupted; {report.summary()}", file=sys.stderr, flush=True)
            raise
    print(f"batchmon: {report.summary()}", file=sys.stderr, flush=True)
    return report.exit_code(args.exit_status)


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


# links, download (outputs of finished jobs)


def _add_output_commands(commands: Any) -> list[argparse.ArgumentParser]:
    links = commands.add_parser("links", help="every output's kind, format and download link")
    links.add_argument("job_id", metavar="JOB_ID")
    links.add_argument("--json", action="store_true", help="a JSON list of {kind, format, link}")

    download = commands.add_parser("download", help="save outputs; prints each path written")
    download.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    download.add_argument("--dir", metavar="DIR", help="save under DIR/<job id>/ (default: download_dir setting)")
    download.add_argument("--kind", metavar="K", help="only this kind (transcription, summary, soap, concept)")
    download.add_argument("--format", metavar="F", help="only outputs in this format (txt, srt, vtt, json)")
    download.add_argument("--force", action="store_true", help="replace files that exist")
    return [links, download]


async def _output_links(client: BatchClient, outputs: Outputs, job_id: str) -> list[OutputLink]:
    """The job's links; a job that is not finished is a usage error saying its status."""
    try:
        return await with_retries(lambda: outputs.links(job_id))
    except api_errors.NotFinished:
        try:
            status = (await with_retries(lambda: client.get_job(job_id))).status
        except api_errors.ApiError:
            status = None
        state = f"is {printable(status)}" if status else "is not finished"
        raise UsageError(f"job {job_id} {state}: it has no outputs to fetch yet") from None


async def _links(args: argparse.Namespace) -> int:
    job_id = _one_id(args.job_id)
    async with _client(_settings(args)) as client, Outputs(client) as outputs:
        links = await _output_links(client, outputs, job_id)
    if args.json:
        print(json.dumps([{"kind": link.kind, "format": link.format, "link": link.url} for link in links], indent=2))
        return EXIT_OK
    if not links:
        print("no outputs")
        return EXIT_OK
    width = max(len(printable(link.kind)) for link in links)
    for link in links:
        print(f"{printable(link.kind):<{width}}  {printable(link.format or '-'):<6} {printable(link.url)}")
    return EXIT_OK


async def _download(args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(_resolved(args.job_ids)))  # each checked strictly; short ids resolved
    settings = _settings(args)
    base = Path(args.dir).expanduser() if args.dir else settings.download_dir
    failures: list[int] = []

    def fail(message: object, code: int) -> None:
        print(f"batchmon: {printable(message)}", file=sys.stderr)
        failures.append(code)

    async with _client(settings) as client, Outputs(client) as outputs:
        for job_id in ids:
            try:
                links = _chosen(await _output_links(client, outputs, job_id), args.kind, args.format, job_id)
            except UsageError as exc:
                fail(exc, EXIT_USAGE)
                continue
            except api_errors.ApiError as exc:
                if isinstance(exc, api_errors.NotFound) and await _no_route(args):
                    raise NoRoute from None
                fail(api_errors.describe(exc), _exit_code_for(exc))
                continue
            folder = download_folder(base, job_id)
            for link in links:
                progress = _ProgressLine(link.label) if sys.stderr.isatty() else None
                try:
                    path = await outputs.download(job_id, link, folder, force=args.force, progress=progress)
                except DownloadExists as exc:
                    fail(f"{exc.path} exists; --force replaces it", EXIT_USAGE)
                except SaveError as exc:
                    fail(exc, EXIT_USAGE)
                except OutputError as exc:
                    fail(exc, EXIT_API)
                except api_errors.ApiError as exc:  # minting a fresh link failed
                    fail(api_errors.describe(exc), _exit_code_for(exc))
                else:
                    print(printable(path), flush=True)
                finally:
                    if progress is not None:
                        progress.clear()
    # A network failure outranks a usage one: it is the one worth retrying.
    return max(failures, default=EXIT_OK)


def _chosen(links: list[OutputLink], kind: str | None, fmt: str | None, job_id: str) -> list[OutputLink]:
    chosen = [
        link
        for link in links
        if (kind is None or link.kind.lower() == kind.lower())
        and (fmt is None or (link.format or "").lower() == fmt.lower())
    ]
    if not links:
        raise UsageError(f"job {job_id} has no outputs")
    if not chosen:
        wanted = " ".join(part for part in (kind, fmt) if part)
        offered = ", ".join(link.label for link in links)
        raise UsageError(f"job {job_id} has no {printable(wanted)} output (it has: {offered})")
    return chosen


class _ProgressLine:
    """`label  12.3 KB / 40.0 KB` redrawn in place on stderr, a few times a second at most."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._drawn_at = 0.0
        self._width = 0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._drawn_at < 0.1 and done != total:
            return
        self._drawn_at = now
        line = f"{self.label}  {_size(done)}" + (f" / {_size(total)}" if total else "")
        self._width = max(self._width, len(line))
        sys.stderr.write(f"\r{line:<{self._width}}")
        sys.stderr.flush()

    def clear(self) -> None:
        if self._width:
            sys.stderr.write(f"\r{' ' * self._width}\r")
            sys.stderr.flush()


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


OUTPUT_HANDLERS = {"links": _links, "download": _download}


# show (one output, rendered as the preview renders it)


def _add_show_command(commands: Any) -> argparse.ArgumentParser:
    show: argparse.ArgumentParser = commands.add_parser(
        "show", help="an output rendered as text (the job's main output by default)"
    )
    show.add_argument("job_id", metavar="JOB_ID")
    show.add_argument("--kind", metavar="K", help="this kind (transcription, summary, soap, concept)")
    show.add_argument("--format", metavar="F", help="this format (txt, srt, vtt, json)")
    return show


async def _show(args: argparse.Namespace) -> int:
    from tui.outputs.choose import pick_link
    from tui.outputs.render import render

    job_id = _one_id(args.job_id)
    async with _client(_settings(args)) as client, Outputs(client) as outputs:
        job = await with_retries(lambda: client.get_job(job_id))  # its preset decides the main output
        if job.status != "finished":
            raise UsageError(f"job {job_id} is {printable(job.status or 'not finished')}: it has no outputs to show")
        links = await _output_links(client, outputs, job_id)
        if args.kind or args.format:
            links = _chosen(links, args.kind, args.format, job_id)
        link = pick_link(links, kind=args.kind, format=args.format, preset=job.preset)
        if link is None:
            raise UsageError(f"job {job_id} has no outputs")
        try:
            fetched = await outputs.read(job_id, link)
        except OutputError as exc:
            print(f"batchmon: {printable(exc)}", file=sys.stderr)
            return EXIT_API
    rendered = render(link.kind, link.format, fetched.data, truncated=fetched.truncated)
    if rendered.note:
        print(f"batchmon: {link.label}: {rendered.note}", file=sys.stderr)
    _write_rendered(rendered.text, markdown=rendered.markdown)
    return EXIT_OK


def _write_rendered(text: str, *, markdown: bool) -> None:
    """Markdown drawn by Rich on a terminal; the text itself when piped (no escape sequences)."""
    try:
        if markdown and sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text, hyperlinks=False))
            return
        if text and not text.endswith("\n"):
            text += "\n"
        sys.stdout.buffer.write(text.encode(sys.stdout.encoding or "utf-8", errors="replace"))
        sys.stdout.flush()
    except BrokenPipeError:
        # `batchmon show ... | head`: the reader left; stop quietly, and keep Python from complaining at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115


# simulate, locate


def _simulate(args: argparse.Namespace) -> int:
    from tui.sim.server import run_forever

    def ready(base_url: str, api_key: str) -> None:
        print(f"Simulated Batch Processor at {base_url}  ({args.jobs} jobs, seed {args.seed})")
        print("Point batchmon at it:")
        print(f"  export DAILY_API_URL={base_url} DAILY_API_KEY={api_key}")
        print("Ctrl-C stops it.", flush=True)

    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    if not 0 <= args.jobs <= MAX_SIM_JOBS:  # seeding 10^8 jobs looked like a hang
        raise UsageError(f"--jobs must be between 0 and {MAX_SIM_JOBS:,}")
    if not MIN_SIM_SPEED <= args.speed <= MAX_SIM_SPEED:  # NaN and inf fail too
        raise UsageError(f"--speed must be between {MIN_SIM_SPEED:g} and {MAX_SIM_SPEED:g}")
    if args.spawn_every is not None and not MIN_SPAWN_EVERY <= args.spawn_every <= MAX_SPAWN_EVERY:
        raise UsageError(f"--spawn-every must be between {MIN_SPAWN_EVERY:g} and {MAX_SPAWN_EVERY:g} seconds")
    run_forever(
        port=args.port, jobs=args.jobs, seed=args.seed, speed=args.speed, on_ready=ready, spawn_every=args.spawn_every
    )
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from tui.ui.serve import serve  # aiohttp and textual-serve load only here

    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    settings = _settings(args)  # a bad config or a missing key is said here, not in every browser tab
    if not args.demo:
        require_key(settings)
    tui_args = ["--demo"] if args.demo else []
    for flag in ("profile", "rate", "interval"):
        if getattr(args, flag) is not None:
            tui_args += [f"--{flag}", str(getattr(args, flag))]
    port = args.port
    print(f"batchmon in a browser: http://localhost:{port}  (from elsewhere: ssh -L {port}:localhost:{port} HOST)")
    try:
        serve(args.port, tui_args)
    except OSError as exc:
        raise UsageError(f"cannot serve on port {args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _locate(args: argparse.Namespace) -> int:
    print(f"config  {locations.config_file()}")
    print(f"state   {locations.state_db()}")
    print(f"log     {locations.log_file()}")
    return EXIT_OK


# the TUI


def _tui(args: argparse.Namespace) -> int:
    from tui.ui.crashguard import run_app
    from tui.ui.factory import build_app  # Textual loads only for the TUI

    settings = _settings(args)
    picked = pick_job_ids("\n".join(args.job_ids))
    if not args.demo:
        require_key(settings)
    _log_to_file(demo=args.demo)
    follow = True if args.recent is not None and args.follow is None else args.follow  # --recent N: follow
    app = build_app(settings, picked=picked, demo=args.demo, follow=follow, recent=_recent(args.recent))
    crash = run_app(app)
    if crash is not None:
        return _report_bug(crash, demo=args.demo)
    return app.return_code or EXIT_OK


def _log_to_file(demo: bool) -> None:
    """batchmon's own log goes to its log file, never to the terminal the TUI is drawing on."""
    path = locations.log_file(demo=demo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the log file {path}: {exc.strerror or exc}") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("tui")
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def _quiet_libraries() -> None:
    """Library log lines (stamina's retry_scheduled, httpx2, uvicorn) never reach the terminal.

    Without a handler anywhere, logging prints warnings to stderr through its last resort; a
    NullHandler on the root stops that. batchmon's own log goes to its file (_log_to_file).
    """
    root = logging.getLogger()
    if not any(isinstance(handler, logging.NullHandler) for handler in root.handlers):
        root.addHandler(logging.NullHandler())
    logging.raiseExceptions = False  # a log write that fails (disk full) prints no "--- Logging error ---"


def _exit_code_for(exc: api_errors.ApiError) -> int:
    if isinstance(exc, api_errors.NotFound):
        return EXIT_USAGE  # the user named a job that does not exist
    return EXIT_API


def _help(names: list[str]) -> int:
    """`batchmon help` (the overview) or `batchmon help COMMAND`."""
    if not names:
        print(overview(build_tui_parser(), build_parser()))
        return EXIT_OK
    try:
        print(command_help(build_parser(), names[0]), end="")
    except UnknownCommand as exc:
        print(f"batchmon: {printable(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


async def _no_route(args: argparse.Namespace) -> bool:
    """After a 404: whether the list endpoint 404s too, i.e. the base URL has no Batch Processor under it."""
    try:
        async with _client(_settings(args)) as client:
            await client.list_jobs(limit=1)
    except api_errors.NotFound:
        return True
    except (api_errors.ApiError, ConfigError):
        return False
    return False


def _no_route_message() -> str:
    return "the API answers 404 for every route: does DAILY_API_URL end in /v1? (e.g. https://api.daily.co/v1)"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_libraries()
    if argv and argv[0] == "help":
        return _help(argv[1:])
    try:
        check_first_word(argv, [*SUBCOMMANDS, "help"])
    except UnknownCommand as exc:
        print(f"batchmon: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    is_command = bool(argv) and argv[0] in SUBCOMMANDS
    parser = build_parser() if is_command else build_tui_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage line on bad arguments
    from tui.cli import jobs as cli_jobs

    handlers = {"get": _get, "list": _list, "watch": _watch, **OUTPUT_HANDLERS, "show": _show}
    handlers.update(submit=cli_jobs.submit, delete=cli_jobs.delete)
    local = {
        "add": _add, "remove": _remove, "watched": _watched, "simulate": _simulate, "serve": _serve, "locate": _locate,
    }  # fmt: skip
    try:
        if not is_command:
            return _tui(args)
        if args.command in handlers:
            return asyncio.run(handlers[args.command](args))
        return local[args.command](args)
    except (UsageError, ConfigError) as exc:
        print(f"batchmon: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except NoRoute:
        print(f"batchmon: {_no_route_message()}", file=sys.stderr)
        return EXIT_API
    except api_errors.ApiError as exc:
        if isinstance(exc, api_errors.NotFound) and is_command and asyncio.run(_no_route(args)):
            print(f"batchmon: {_no_route_message()}", file=sys.stderr)
            return EXIT_API
        print(f"batchmon: {shown(api_errors.describe(exc))}", file=sys.stderr)
        return _exit_code_for(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `batchmon list | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush is quiet too
        return 141  # 128 + SIGPIPE, as a process killed by it would report
    except Exception as exc:  # a bug: one line for the user, the traceback for the log
        return _report_bug(exc, demo=False)


def _report_bug(exc: BaseException, demo: bool) -> int:
    """A bug in batchmon: the traceback (no locals, so no key) to the log, one line to the user."""
    try:
        _log_to_file(demo=demo)
    except ConfigError as unwritable:
        print(f"batchmon: internal error ({type(exc).__name__}); {shown(unwritable)}", file=sys.stderr)
        return EXIT_BUG
    log.error("unexpected error", exc_info=exc)
    print(f"batchmon: internal error; details in {locations.log_file(demo=demo)}", file=sys.stderr)
    return EXIT_BUG
