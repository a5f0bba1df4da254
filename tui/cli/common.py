"""What every command shares: exit codes, the usage error, settings and client, ids, the store."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tui.api import BatchClient, RequestBudget
from tui.api import errors as api_errors
from tui.api.ids import PickedIds, pick_job_ids
from tui.api.shortids import ShortIdError, looks_like_prefix, resolve
from tui.core import locations
from tui.core.config import ConfigError, Settings, load_settings, require_key
from tui.present.text import printable, shown
from tui.store.database import StoreError

if TYPE_CHECKING:
    from tui.store.database import Store

# A command: sync, or async (run with asyncio.run); returns the exit code.
Handler = Callable[[argparse.Namespace], int] | Callable[[argparse.Namespace], Coroutine[Any, Any, int]]

EXIT_OK = 0


EXIT_JOB_FAILED = 1


EXIT_USAGE = 2


EXIT_API = 3


EXIT_BUG = 70  # outside the contract on purpose: a bug in batchmon, not the user's input


class UsageError(Exception):
    """Bad input from the user; the message is one line."""


class NoRoute(Exception):
    """Every route of the base URL answers 404: a base URL without /v1, most likely."""


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, metavar="R", help="request budget, requests/s (default 5, at most 20)")
    parser.add_argument("--interval", type=float, metavar="S", help="poll interval floor in seconds (default 1)")
    parser.add_argument("--profile", metavar="NAME", help="a [profiles.NAME] table of the config file")


_SAID: set[str] = set()  # settings warnings already printed by this process


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings for a command; their warnings go to stderr once (the TUI shows them as toasts)."""
    flags = {name: getattr(args, name, None) for name in ("rate", "interval", "profile")}
    settings = load_settings(flags=flags)
    if getattr(args, "command", None):
        for warning in settings.warnings:
            if warning not in _SAID:
                _SAID.add(warning)
                print(f"batchmon: warning: {printable(warning)}", file=sys.stderr)
    return settings


def client_for(settings: Settings) -> BatchClient:
    require_key(settings)
    return BatchClient(settings.api_url, settings.api_key, budget=RequestBudget(settings.rate))


MAX_IDS_AT_ONCE = 100_000  # the size batchmon is measured at; a million took 16 s to paint and 1 GB


def pick(raw: Sequence[str]) -> PickedIds:
    """The ids in the arguments (`-` reads stdin), picked out of whatever text holds them; more
    than MAX_IDS_AT_ONCE is a UsageError."""
    texts = [sys.stdin.read() if text == "-" else text for text in raw]
    picked = pick_job_ids("\n".join(texts))
    if len(picked.ids) > MAX_IDS_AT_ONCE:
        raise UsageError(f"{len(picked.ids):,} job ids given at once; at most {MAX_IDS_AT_ONCE:,} (give them in parts)")
    return picked


def say_ignored(picked: PickedIds) -> None:
    if picked.ignored:
        named = ", ".join(repr(printable(line)[:40]) for line in picked.samples)
        noun = "line" if picked.ignored == 1 else "lines"
        print(f"batchmon: ignored {picked.ignored} {noun} without a job id: {named}", file=sys.stderr)


def open_store() -> Store:
    from tui.store.database import Store

    store = Store(locations.state_db())
    for warning in store.open():
        print(f"batchmon: {printable(warning)}", file=sys.stderr)
    return store


def one_id(text: str) -> str:
    """A whole id, or the watched id a short one (a unique prefix) stands for; UsageError otherwise."""
    return resolved_ids([text])[0]


def resolved_ids(texts: Sequence[str]) -> list[str]:
    """Each text as a whole id, short ids resolved against the watch list (opened only if needed)."""
    store: Store | None = None

    def lookup(prefix: str, limit: int) -> list[str]:
        nonlocal store
        if store is None:
            store = open_store()
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


def pick_ids(raw: Sequence[str]) -> PickedIds:
    """Like pick, with arguments that are short ids resolved against the watch list."""
    short = [text for text in raw if text != "-" and looks_like_prefix(text)]
    picked = pick([text for text in raw if text not in short])
    if not short:
        return picked
    ids = list(dict.fromkeys([*picked.ids, *resolved_ids(short)]))
    return PickedIds(ids, picked.ignored, picked.near_misses, picked.samples)


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def exit_code_for(exc: api_errors.ApiError) -> int:
    if isinstance(exc, api_errors.NotFound):
        return EXIT_USAGE  # the user named a job that does not exist
    return EXIT_API


async def no_route(args: argparse.Namespace) -> bool:
    """After a 404: whether the list endpoint 404s too, i.e. the base URL has no Batch Processor under it."""
    try:
        async with client_for(settings_for(args)) as client:
            await client.list_jobs(limit=1)
    except api_errors.NotFound:
        return True
    except (api_errors.ApiError, ConfigError):
        return False
    return False


def no_route_message() -> str:
    return "the API answers 404 for every route: does DAILY_API_URL end in /v1? (e.g. https://api.daily.co/v1)"


AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


MAX_RECENT = 100  # one list page


def age_seconds(text: str) -> float:
    """`7d`, `12h`, `30m`, `45s`, `2w` in seconds."""
    match = re.fullmatch(r"\s*(\d{1,9}(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if match is None:
        raise UsageError(f"--older-than: {shown(text, 40)!r} is not an age like 7d, 12h or 30m")
    return float(match[1]) * AGE_UNITS[match[2]]


def recent_count(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_RECENT:
        raise UsageError(f"--recent must be between 0 and {MAX_RECENT}")
    return value
