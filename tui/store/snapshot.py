"""Reading the watch list without writing: for a store that is busy, full or read-only, and `watched`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tui.store.schema import APPLICATION_ID, JOB_COLUMNS, NEXT_REV, SCHEMA, SCHEMA_VERSION

# mode=ro reads a WAL database with its -wal and -shm as SQLite keeps them; where the -shm cannot
# be made (a read-only or full disk after a clean close removed it) only immutable=1 reads it, at
# the price of not seeing a -wal that was never checkpointed. Nothing is written either way.
_QUERIES = ("mode=ro", "immutable=1")


def open_snapshot(path: Path, timeout: float) -> sqlite3.Connection | None:
    """A read-only connection to the batchmon database at `path`; None when there is none to read."""
    if not path.is_file():
        return None
    for query in _QUERIES:
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?{query}",
                uri=True,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error:
            continue
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if _readable(conn):
                return conn
        except sqlite3.Error:
            pass
        conn.close()
    return None


def _readable(conn: sqlite3.Connection) -> bool:
    """Ours, of a schema this batchmon reads, and its jobs can be selected."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if app_id != APPLICATION_ID or version != SCHEMA_VERSION:
        return False
    conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs LIMIT 1").fetchall()
    return True


def empty_list() -> sqlite3.Connection:
    """An empty watch list in memory, for when the file cannot be read: nothing is ever written to it."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(NEXT_REV)
    return conn


def check_integrity(path: Path, timeout: float) -> str | None:
    """PRAGMA integrity_check over a connection of its own (safe from another thread): None when
    the file is sound or cannot be checked now, else why it is not.
    """
    conn = open_snapshot(path, timeout)
    if conn is None:
        return None
    try:
        bad = conn.execute("PRAGMA integrity_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):
            return None  # busy or I/O: not the file's fault; checked again at the next start
        return "it is corrupt"
    finally:
        conn.close()
    return None if bad == "ok" else "it is corrupt"
