"""The 0.1.0 watch list (`watchlist.json`), imported once into the database and kept as a backup."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.store.values import UPSERT_RECORD, dump, finite, is_number

log = logging.getLogger(__name__)

LEGACY_NAME = "watchlist.json"  # the 0.1.0 store, imported once from the database's folder


def import_legacy(
    legacy: Path, writing: Callable[[str], AbstractContextManager[tuple[sqlite3.Connection, int]]]
) -> list[str]:
    """Import a 0.1.0 watchlist.json once, in one transaction; keep it renamed as a backup."""
    try:
        raw = legacy.read_bytes()
        info = legacy.stat()
    except OSError as exc:
        return [f"cannot read the old watch list {legacy}: {exc.strerror or exc}; not imported"]
    identity = f"{info.st_size}:{info.st_mtime_ns}"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return [f"the old watch list {legacy} is not valid JSON; not imported (the file is kept)"]
    version = data.get("version") if isinstance(data, dict) else None
    if version != 1 or not isinstance(data.get("jobs"), list):
        return [f"the old watch list {legacy} has an unknown format; not imported (the file is kept)"]
    jobs, skipped = _legacy_jobs(data["jobs"])
    imported = 0
    with writing("import into") as (conn, rev):
        done = conn.execute("SELECT value FROM meta WHERE key = 'imported'").fetchone()
        if done is None or done[0] != identity:  # another instance may have just imported it
            for job in jobs:
                imported += _insert_legacy(conn, job, rev)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('imported', ?)", (identity,))
    backup = legacy.with_name(legacy.name + ".imported")
    n = 1
    while backup.exists():
        backup = legacy.with_name(f"{legacy.name}.imported-{n}")
        n += 1
    try:
        os.replace(legacy, backup)
    except FileNotFoundError:
        pass  # another instance renamed it first
    except OSError as exc:
        log.warning("cannot rename %s after importing it: %s", legacy, exc)
    if not imported:
        return []
    note = f"; {skipped} unreadable entries skipped" if skipped else ""
    return [f"imported {imported} jobs from the old watch list (kept as {backup.name}){note}"]


@dataclass
class _LegacyJob:
    id: str
    added_at: float
    record: dict[str, Any] | None
    timeline: list[tuple[str, float]]
    confirmed_at: float | None


def _legacy_jobs(items: list[Any]) -> tuple[list[_LegacyJob], int]:
    """The jobs of a 0.1.0 file (its `_parse_jobs` format); entries of the wrong shape are counted and skipped."""
    jobs: list[_LegacyJob] = []
    skipped = 0
    for item in items:
        if not isinstance(item, dict):
            skipped += 1
            continue
        job_id, record, timeline = item.get("id"), item.get("record"), item.get("timeline", [])
        added_at, confirmed_at = finite(item.get("added_at")), item.get("confirmed_at")
        entries = [(e[0], float(e[1])) for e in timeline if _is_entry(e)] if isinstance(timeline, list) else None
        if (
            not isinstance(job_id, str)
            or not job_id
            or added_at is None
            or not (confirmed_at is None or is_number(confirmed_at))
            or not (record is None or isinstance(record, dict))
            or entries is None
            or len(entries) != len(timeline)
        ):
            skipped += 1
            continue
        jobs.append(_LegacyJob(job_id, added_at, record, entries, finite(confirmed_at)))
    return jobs, skipped


def _is_entry(entry: Any) -> bool:
    return isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and is_number(entry[1])


def _insert_legacy(conn: sqlite3.Connection, job: _LegacyJob, rev: int) -> int:
    """Insert one imported job with its record and timeline; 0 if the id is already watched."""
    record_text = dump(job.id, job.record)
    preset = job.record.get("preset") if job.record is not None else None
    status = job.timeline[-1][0] if job.timeline else None
    inserted = conn.execute(
        "INSERT OR IGNORE INTO jobs (id, added_at, status, preset, confirmed_at, has_record, rev) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            job.id,
            job.added_at,
            status,
            preset if isinstance(preset, str) else None,
            job.confirmed_at,
            record_text is not None,
            rev,
        ),
    )
    if not inserted.rowcount:
        return 0
    if record_text is not None:
        conn.execute(UPSERT_RECORD, (inserted.lastrowid, record_text))
    conn.executemany(
        "INSERT INTO transitions (job_id, status, observed_at) VALUES (?, ?, ?)",
        ((job.id, status, at) for status, at in job.timeline),
    )
    return 1
