"""The `batchmon` command: the parsers, dispatch to the command families, and launching the TUI."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tui import __version__
from tui.api import errors as api_errors
from tui.api.ids import pick_job_ids
from tui.cli import jobs, outputs, read, saved, services, watch
from tui.cli.common import (
    EXIT_API,
    EXIT_BUG,
    EXIT_OK,
    EXIT_USAGE,
    NoRoute,
    UsageError,
    common_options,
    exit_code_for,
    no_route,
    no_route_message,
    recent_count,
    settings_for,
)
from tui.cli.usage import UnknownCommand, check_first_word, command_help, overview
from tui.core import locations
from tui.core.config import ConfigError, require_key
from tui.present.text import printable, shown
from tui.store.errors import FULL, READ_ONLY, kind_of
from tui.store.files import ensure_private_file

if TYPE_CHECKING:
    pass

SUBCOMMANDS = (
    "add", "remove", "watched", "get", "list", "watch", "links", "show", "download", "submit", "delete",
    "simulate", "serve", "locate",
)  # fmt: skip


log = logging.getLogger(__name__)

FAMILIES = (saved, read, watch, outputs, jobs, services)  # each: add_parsers(commands), HANDLERS


def build_parser() -> argparse.ArgumentParser:
    """The parser for the subcommands; the TUI form (`batchmon [JOB_ID ...]`) has its own."""
    parser = argparse.ArgumentParser(prog="batchmon", description="Monitor Daily Batch Processor jobs.")
    parser.add_argument("--version", action="version", version=f"batchmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    for family in FAMILIES:
        family.add_parsers(commands)
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
    common_options(parser)
    return parser


def _tui(args: argparse.Namespace) -> int:
    from tui.ui.crashguard import run_app
    from tui.ui.factory import build_app  # Textual loads only for the TUI

    settings = settings_for(args)
    picked = pick_job_ids("\n".join(args.job_ids))
    if not args.demo:
        require_key(settings)
    _log_to_file(demo=args.demo, required=False)  # a read-only state folder still shows the saved list
    follow = True if args.recent is not None and args.follow is None else args.follow  # --recent N: follow
    app = build_app(settings, picked=picked, demo=args.demo, follow=follow, recent=recent_count(args.recent))
    crash = run_app(app)
    if crash is not None:
        return _report_bug(crash, demo=args.demo)
    return app.return_code or EXIT_OK


def _log_to_file(demo: bool, required: bool = True) -> None:
    """batchmon's own log goes to its log file, never to the terminal the TUI is drawing on; a log
    that cannot be written is a ConfigError, or (not `required`, on a read-only or full disk) one
    line and no log."""
    path = locations.log_file(demo=demo)
    try:
        ensure_private_file(path)  # 0600 in a 0700 folder, even when the TUI runs before any store
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        problem = f"cannot write the log file {path}: {exc.strerror or exc}"
        if required or kind_of(exc) not in (READ_ONLY, FULL):  # not a folder at all: a mistake to say
            raise ConfigError(problem) from None
        print(f"batchmon: {shown(problem)}; running without a log", file=sys.stderr)
        return
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
    handlers = {name: handler for family in FAMILIES for name, handler in family.HANDLERS.items()}
    try:
        if not is_command:
            return _tui(args)
        outcome = handlers[args.command](args)
        return asyncio.run(outcome) if inspect.iscoroutine(outcome) else int(outcome)
    except (UsageError, ConfigError) as exc:
        print(f"batchmon: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except NoRoute:
        print(f"batchmon: {no_route_message()}", file=sys.stderr)
        return EXIT_API
    except api_errors.ApiError as exc:
        if isinstance(exc, api_errors.NotFound) and is_command and asyncio.run(no_route(args)):
            print(f"batchmon: {no_route_message()}", file=sys.stderr)
            return EXIT_API
        print(f"batchmon: {shown(api_errors.describe(exc))}", file=sys.stderr)
        return exit_code_for(exc)
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
