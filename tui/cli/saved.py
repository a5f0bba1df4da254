"""`batchmon add`, `remove` and `watched`: the saved watch list, without the network."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Container, Sequence
from typing import Any

from tui.api.ids import pick_job_ids
from tui.api.models import TERMINAL_STATUSES
from tui.api.shortids import NoMatch, ShortIdError, resolve
from tui.cli.common import (
    EXIT_OK,
    Handler,
    UsageError,
    age_seconds,
    iso,
    open_store,
    pick,
)
from tui.core import locations
from tui.present.formatting import status_label
from tui.present.text import printable
from tui.store.database import Store, StoreError


def _add(args: argparse.Namespace) -> int:
    import time

    picked = pick(args.job_ids or ["-"])
    try:
        store = open_store()
        try:
            added = store.add(picked.ids, time.time())
        finally:
            store.close()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    print(f"added {len(added)}, already watched {len(picked.ids) - len(added)}, ignored {picked.ignored}")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:

    if not (args.job_ids or args.finished or args.followed or args.older_than):
        raise UsageError("say which jobs: JOB_ID..., --finished, --followed or --older-than AGE")
    cutoff = time.time() - age_seconds(args.older_than) if args.older_than else None
    try:
        store = open_store()
        try:
            jobs = store.load()
            chosen, unknown = _chosen_ids(args.job_ids, store, jobs) if args.job_ids else (list(jobs), 0)
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


def _chosen_ids(raw: Sequence[str], store: Store, watched: Container[str]) -> tuple[list[str], int]:
    """The watched ids named by whole ids or short ones (`-`: ids in stdin); and how many name none.

    Short ids go through the project's one resolver (tui.api.shortids), as for every command.
    """
    chosen: list[str] = []
    unknown = 0
    for text in raw:
        if text == "-":
            picked = pick_job_ids(sys.stdin.read())
            chosen += [job_id for job_id in picked.ids if job_id in watched]
            unknown += sum(job_id not in watched for job_id in picked.ids)
            continue
        try:
            job_id = resolve(text, store.ids_with_prefix)
        except NoMatch:
            unknown += 1
            continue
        except ShortIdError as exc:
            raise UsageError(printable(exc)) from None
        if job_id in watched:
            chosen.append(job_id)
        else:
            unknown += 1
    return list(dict.fromkeys(chosen)), unknown


def _watched(args: argparse.Namespace) -> int:
    from tui.store.database import Store, StoredJob
    from tui.store.legacy import LEGACY_NAME

    try:
        # Read-only first: it works on a full or read-only disk and beside a writer holding the lock.
        store = Store(locations.state_db())
        if not store.path.exists() and not store.path.with_name(LEGACY_NAME).exists():
            jobs: dict[str, StoredJob] = {}  # nothing saved yet: nothing to create for it
        else:
            if not store.open_for_reading():
                store = open_store()  # a 0.1.0 list to import, an older schema to upgrade, or damage to set aside
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
                        "added_at": iso(job.added_at),
                        "confirmed_at": iso(job.confirmed_at),
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
        confirmed = iso(job.confirmed_at) or "-"
        print(f"{status_label(job.status):<14} {printable(job.id):<36}  {printable(job.preset or '-'):<12} {confirmed}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    """This family's commands on the `batchmon` parser."""
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


HANDLERS: dict[str, Handler] = {"add": _add, "remove": _remove, "watched": _watched}
