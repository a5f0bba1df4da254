"""The `batchmon` command: argument parsing, the headless commands, and launching the TUI."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tui import __version__, locations
from tui.api import BatchClient, Job, RequestBudget, with_retries
from tui.api import errors as api_errors
from tui.api.ids import normalize_job_id
from tui.api.models import STATUS_SYMBOLS, TERMINAL_STATUSES
from tui.config import ConfigError, Settings, load_settings, require_key
from tui.text import json_preview, printable, shown

if TYPE_CHECKING:
    from tui.poller import JobState, Poller

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_BUG = 70  # outside the contract on purpose: a bug in batchmon, not the user's input

MAX_SIM_JOBS = 100_000
MIN_SIM_SPEED, MAX_SIM_SPEED = 0.001, 1000.0

SUBCOMMANDS = ("get", "list", "watch", "simulate", "locate")

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad input from the user; the message is one line."""


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, metavar="R", help="request budget, requests/s (default 5, at most 20)")
    parser.add_argument("--interval", type=float, metavar="S", help="poll interval floor in seconds (default 1)")
    parser.add_argument("--profile", metavar="NAME", help="a [profiles.NAME] table of the config file")


def build_parser() -> argparse.ArgumentParser:
    """The parser for the subcommands; the TUI form (`batchmon [JOB_ID ...]`) has its own."""
    parser = argparse.ArgumentParser(prog="batchmon", description="Monitor Daily Batch Processor jobs.")
    parser.add_argument("--version", action="version", version=f"batchmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    get = commands.add_parser("get", help="show one job")
    get.add_argument("job_id", metavar="JOB_ID")
    get.add_argument("--json", action="store_true", help="print the API's JSON")

    listing = commands.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="how many jobs (default 20)")
    listing.add_argument("--recording-id", metavar="R", help="only jobs for this recording")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")

    watch = commands.add_parser("watch", help="print status changes until every job has ended")
    watch.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    watch.add_argument("--json", action="store_true", help="JSON lines: id, status, previous, observed_at")
    watch.add_argument("--exit-status", action="store_true", help="exit 1 if any job ended in error")

    simulate = commands.add_parser("simulate", help="run the simulated Batch Processor API")
    simulate.add_argument("--port", type=int, default=8765, metavar="P", help="loopback port (default 8765; 0 = any free port)")
    simulate.add_argument("--jobs", type=int, default=24, metavar="N", help="jobs to seed (default 24)")
    simulate.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    simulate.add_argument("--speed", type=float, default=1.0, metavar="X", help="time factor (default 1)")

    commands.add_parser("locate", help="print the config, state and log file paths")
    for sub in (get, listing, watch):
        _common_options(sub)
    return parser


def build_tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchmon",
        description="Monitor Daily Batch Processor jobs. Commands: " + ", ".join(SUBCOMMANDS) + " (see batchmon COMMAND --help).",
    )
    parser.add_argument("--version", action="version", version=f"batchmon {__version__}")
    parser.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="job ids to add to the watch list")
    parser.add_argument("--demo", action="store_true", help="run against the built-in simulator (no key needed)")
    _common_options(parser)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {name: getattr(args, name, None) for name in ("rate", "interval", "profile")}
    return load_settings(flags=flags)


def _client(settings: Settings) -> BatchClient:
    require_key(settings)
    return BatchClient(settings.api_url, settings.api_key, budget=RequestBudget(settings.rate))


def _job_ids(raw: Sequence[str]) -> list[str]:
    ids: list[str] = []
    for text in raw:
        try:
            job_id = normalize_job_id(text)
        except ValueError as exc:
            raise UsageError(printable(exc)) from None
        if job_id not in ids:
            ids.append(job_id)
    return ids


# get

async def _get(args: argparse.Namespace) -> int:
    (job_id,) = _job_ids([args.job_id])
    async with _client(_settings(args)) as client:
        job = await with_retries(lambda: client.get_job(job_id))
    if args.json:
        print(json.dumps(job.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
    else:
        print(format_job(job))
    return EXIT_OK


def status_label(status: str | None) -> str:
    if status is None:
        return "? unknown"
    return f"{STATUS_SYMBOLS.get(status, '?')} {shown(status, 100)}"


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
            page = await with_retries(
                lambda: client.list_jobs(limit=args.limit, recording_id=args.recording_id)
            )
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

    ids = _job_ids(args.job_ids)
    settings = _settings(args)
    async with _client(settings) as client:
        poller = Poller(client, interval=settings.interval)
        poller.watch(ids)
        report = _WatchReport(client, poller, ids, as_json=args.json)
        try:
            async for update in poller.updates():
                for change in update.changes:
                    await report.change(change.id, change.status, change.previous, change.observed_at)
                for state in update.jobs:
                    await report.job(state, api_in_trouble=bool(update.engine.last_error))
                report.engine(update.engine.mode, update.engine.last_error)
                if all(s.gone or s.status in TERMINAL_STATUSES for s in poller.states().values()):
                    break
        except asyncio.CancelledError:  # Ctrl-C: say where things stood, then stop
            print(f"batchmon: interrupted; {report.summary()}", file=sys.stderr, flush=True)
            raise
    print(f"batchmon: {report.summary()}", file=sys.stderr, flush=True)
    return report.exit_code(args.exit_status)


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
    when = datetime.fromtimestamp(observed_at, timezone.utc)
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
    run_forever(port=args.port, jobs=args.jobs, seed=args.seed, speed=args.speed, on_ready=ready)
    return EXIT_OK


def _locate(args: argparse.Namespace) -> int:
    print(f"config  {locations.config_file()}")
    print(f"state   {locations.state_file()}")
    print(f"log     {locations.log_file()}")
    return EXIT_OK


# the TUI

def _tui(args: argparse.Namespace) -> int:
    from tui.app import build_app  # Textual loads only for the TUI
    from tui.crashguard import run_app

    settings = _settings(args)
    ids = _job_ids(args.job_ids)
    if not args.demo:
        require_key(settings)
    _log_to_file(demo=args.demo)
    app = build_app(settings, job_ids=ids, demo=args.demo)
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


def _describe(exc: api_errors.ApiError) -> str:
    if isinstance(exc, (api_errors.BadKey, api_errors.AuthHeaderError)):
        return f"the API refused the key ({exc}); check DAILY_API_KEY"
    if isinstance(exc, api_errors.NotFound):
        return f"no such job ({exc})"
    if isinstance(exc, api_errors.TransportError):
        return str(exc)  # names the host and the cause already
    if isinstance(exc, api_errors.RateLimited) and exc.retry_after is not None:
        return f"{exc}; the API asks to wait {exc.retry_after:g} s, try again later"
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_libraries()
    is_command = bool(argv) and argv[0] in SUBCOMMANDS
    parser = build_parser() if is_command else build_tui_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage line on bad arguments
    handlers = {"get": _get, "list": _list, "watch": _watch}
    try:
        if not is_command:
            return _tui(args)
        if args.command in handlers:
            return asyncio.run(handlers[args.command](args))
        return _simulate(args) if args.command == "simulate" else _locate(args)
    except (UsageError, ConfigError) as exc:
        print(f"batchmon: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except api_errors.ApiError as exc:
        print(f"batchmon: {shown(_describe(exc))}", file=sys.stderr)
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
