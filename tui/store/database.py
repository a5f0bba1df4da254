"""The watch list on disk: a SQLite database shared by every batchmon instance of a user."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.store.errors import BUSY, FULL, NEWER, READ_ONLY, is_busy, kind_at, kind_of, plain
from tui.store.errors import StoreError as StoreError  # imported from here by every layer above
from tui.store.files import ensure_private_dir
from tui.store.legacy import LEGACY_NAME, import_legacy
from tui.store.rows import ForeignChanges as ForeignChanges
from tui.store.rows import Observation as Observation
from tui.store.rows import StoredJob as StoredJob
from tui.store.rows import stored_job, stored_jobs
from tui.store.schema import (
    APPLICATION_ID as APPLICATION_ID,
)
from tui.store.schema import (
    GOOD_ID,
    JOB_COLUMNS,
    MIGRATIONS,
    NEXT_REV,
    SCHEMA,
)
from tui.store.schema import (
    SCHEMA_VERSION as SCHEMA_VERSION,
)
from tui.store.snapshot import check_integrity, empty_list, open_snapshot
from tui.store.values import UPSERT_RECORD, dump, is_number

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 5.0  # seconds; writes take milliseconds, so a longer wait means something is stuck
CONFIRM_DELAY = 30.0  # seconds a staged mere confirmation may wait before `dirty` asks for a flush
TOMBSTONE_DAYS = 30  # removals are remembered this long for other instances' foreign_changes()


@dataclass
class _Pending:
    """Staged observations of one job since the last flush."""

    stored_status: str | None  # the status in the database when first staged
    latest: Observation
    record: str | dict[str, Any] | None  # the newest record staged, if any
    changes: list[tuple[str, float]] = field(default_factory=list)  # (status, at) as staged, repeats dropped

    @property
    def urgent(self) -> bool:
        """A status change or a record: worth writing at once (a mere confirmation can wait)."""
        return self.record is not None or any(status != self.stored_status for status, _ in self.changes)


class _Unusable(Exception):
    """The file is not a batchmon database, or is corrupt: it must be set aside."""


class Store:
    """The watch list in SQLite (WAL), shared by several batchmon instances.

    add() and remove() commit at once. Observations are staged in memory and written by flush()
    in one transaction: a status change or a new record makes the store `dirty` at once; a mere
    confirmation (same status, newer time) only after CONFIRM_DELAY seconds, and rides along with
    any earlier flush. close() flushes what is staged. Every write transaction takes the next
    number of a global revision counter and stamps the rows it changes (removals leave a
    tombstone), so foreign_changes() reads only rows newer than its last look, and leaves out the
    revisions this instance wrote itself. A removed job's observed transitions are kept (they are
    history; re-adding the job shows them again); its record goes.

    Every method raises StoreError (one short line for the user) when the database cannot be read
    or written, e.g. when another instance holds its lock longer than BUSY_TIMEOUT; a failed
    flush() keeps what was staged. Use one Store from one thread at a time.

    `open(fallback=True)` (the TUI) opens a store that is busy, full or read-only for reading
    only: `unwritable` says why, every write raises it, and `retry_writable()` tries again.
    After a busy failure the next attempts do not wait for the lock (no freeze per attempt).
    """

    def __init__(self, path: Path, *, busy_timeout: float | None = None) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout  # None: BUSY_TIMEOUT
        self.unwritable: StoreError | None = None  # why writes fail (opened for reading only), else None
        self._impatient = False  # the last write found the lock taken: do not wait for it until one works
        self._conn: sqlite3.Connection | None = None
        self._staged: dict[str, _Pending] = {}
        self._urgent = False  # something staged is a status change or a record
        self._staged_since: float | None = None  # monotonic time of the oldest staged observation
        self._seen_rev = 0  # the highest revision foreign_changes() (or load) has looked at
        self._own_revs: set[int] = set()  # revisions we wrote above _seen_rev
        self._echo: set[str] = set()  # ids whose unseen foreign change our own write stamped over
        self._data_version: int | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened
        self._stamp: tuple[int, int] | None = None  # (size, mtime) when replaced() last read the header
        self._page_size = 4096

    # -- opening ------------------------------------------------------------------------------

    def open(self, *, fallback: bool = False, check: bool = True) -> list[str]:
        """Open or create the database; returns warnings for the user. Raises StoreError.

        Creates the folder and schema; a file that is not a batchmon database or is corrupt is
        moved aside (never deleted) and a new one made; a newer schema is refused, left alone.
        A 0.1.0 watchlist.json in the same folder is imported once and kept as a backup.
        `fallback`: a store that cannot be written is opened for reading (see `unwritable`).
        `check` False leaves the full integrity check to `check_integrity()` (another thread).
        """
        if self._conn is not None:
            return []
        try:
            return self._open_writable(check)
        except StoreError as exc:
            if not fallback or exc.kind == NEWER:
                raise
            self._open_for_reading(exc)
            return []

    def _open_writable(self, check: bool) -> list[str]:
        warnings: list[str] = []
        try:
            ensure_private_dir(self.path.parent)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path.parent}: {exc.strerror or exc}", kind_of(exc)) from None
        try:
            self._conn = self._connect(check)
        except _Unusable as why:
            warnings.append(self._set_aside(str(why)))
            try:
                self._conn = self._connect(check)
            except _Unusable as again:
                raise StoreError(f"cannot create watch list {self.path}: {again}") from None
        try:
            legacy = self.path.with_name(LEGACY_NAME)
            if legacy.exists():
                warnings.extend(import_legacy(legacy, self._writing))
            with self._errors("read"):
                self._data_version = _data_version(self._conn)  # first: a commit after it is noticed later
                self._seen_rev = self._current_rev(self._conn)
                self._page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
            self._identity = _identity(self.path)
        except StoreError:
            self._conn.close()
            self._conn = None
            raise
        return warnings

    def _open_for_reading(self, why: StoreError) -> None:
        """The saved list, read-only (or an empty one in memory when even reading fails); writes raise `why`."""
        conn = open_snapshot(self.path, self._timeout())
        self._identity = _identity(self.path) if conn is not None else None
        self._conn = conn if conn is not None else empty_list()
        self.unwritable = why
        self._data_version = _data_version(self._conn)
        self._seen_rev = 0 if conn is None else self._current_rev(self._conn)  # an empty stand-in has seen nothing

    def open_for_reading(self) -> bool:
        """Open only to read (`watched`: works on a busy, full or read-only disk); False when the
        file cannot be read that way (missing, an older schema, damaged): then `open()` it.
        """
        if self._conn is not None:
            return True
        conn = open_snapshot(self.path, self._timeout())
        if conn is None:
            return False
        self._conn, self._identity = conn, _identity(self.path)
        self.unwritable = StoreError(f"watch list {self.path} was opened for reading only", READ_ONLY)
        return True

    def retry_writable(self) -> list[str] | None:
        """Open for writing what was opened for reading only; warnings once writable, None while not."""
        if self.unwritable is None:
            return []
        reading, seen = self._conn, self._seen_rev
        self._conn = None
        try:
            warnings = self._open_writable(check=False)  # the reading connection was checked, or is checked aside
        except StoreError as exc:
            self._conn, self.unwritable = reading, exc
            return None
        if reading is not None:
            reading.close()
        self.unwritable = None
        self._seen_rev, self._data_version = seen, None  # what others wrote meanwhile is reported as theirs
        return warnings

    def check_integrity(self) -> str | None:
        """The full integrity check over a connection of its own, safe from another thread: why the
        file is damaged, or None. Slow for a big file (0.2 s at 100,000 jobs): kept off the UI's path.
        """
        return check_integrity(self.path, self._timeout())

    def set_aside_damaged(self, why: str) -> list[str]:
        """Close, move the damaged file aside and open a new one (the caller writes the list again)."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        self._identity = self._stamp = None
        self.unwritable = None
        return [self._set_aside(why), *self.open(fallback=True, check=False)]

    def be_patient(self) -> None:
        """Wait BUSY_TIMEOUT for a busy lock from now on (a last save before exit)."""
        self.busy_timeout, self._impatient = BUSY_TIMEOUT, False
        if self._conn is not None and self.unwritable is None:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

    def _timeout(self) -> float:
        if self._impatient:
            return 0.0
        return BUSY_TIMEOUT if self.busy_timeout is None else self.busy_timeout

    def _connect(self, check: bool = True) -> sqlite3.Connection:
        """Connect, check what the file is, set WAL and create or check the schema."""
        try:
            # Created 0600 before SQLite sees it: records may hold job details, and SQLite gives
            # its -wal and -shm files the database file's permissions.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise StoreError(f"cannot create {self.path}: {exc.strerror or exc}", kind_of(exc)) from None
        timeout = self._timeout()
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._check_identity(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # in WAL: a kill -9 loses nothing committed
            conn.execute("PRAGMA cache_size = -16384")  # 16 MB: flushes touch pages all over a large file
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:  # new (or another instance is creating it: we waited for its lock)
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute(NEXT_REV)
            elif version < SCHEMA_VERSION:  # an older batchmon's database: upgraded in place
                for step in MIGRATIONS[version - 1 :]:
                    for statement in step:
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            cutoff = time.time() - TOMBSTONE_DAYS * 86400
            conn.execute("DELETE FROM removed WHERE removed_at < ?", (cutoff,))
            conn.execute("COMMIT")
            if (
                check and conn.execute("PRAGMA integrity_check(1)").fetchone()[0] != "ok"
            ):  # quick_check misses index damage
                raise _Unusable("it is corrupt")
        except _Unusable:
            conn.close()
            raise
        except StoreError:
            conn.close()
            raise
        except sqlite3.OperationalError as exc:  # busy, no permission, I/O: not the file's fault
            conn.close()
            raise self._failure("open", exc) from None
        except sqlite3.DatabaseError as exc:  # not a database, malformed
            conn.close()
            raise _Unusable(plain(exc)) from None
        return conn

    def _check_identity(self, conn: sqlite3.Connection) -> None:
        """Raise _Unusable for a foreign or damaged file, StoreError for a newer batchmon's database."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer batchmon (schema {version}); upgrade batchmon to use it", NEWER
                )
            if version < 1:
                raise _Unusable("its schema version is missing")
            return
        tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        if app_id != 0 or tables:
            raise _Unusable("it is not a batchmon database")

    def _set_aside(self, why: str) -> str:
        """Move an unusable database (and its -wal/-shm) to `<name>.corrupt-<time>`; never deletes."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        try:
            for suffix in ("-wal", "-shm", "-journal", ""):  # the database last: a stale -wal must never meet a new one
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
        except OSError as exc:
            raise StoreError(
                f"{self.path} is unusable and cannot be moved aside: {exc.strerror or exc}", kind_of(exc)
            ) from None
        return f"Watch list {self.path} was unusable ({why}); moved it to {target.name} and started empty"

    def replaced(self) -> bool:
        """The file at `path` is no longer the database open here.

        Deleted, replaced, emptied or overwritten while we ran. SQLite would go on writing to
        what it holds open, and the next start would find the watch list gone; `reopen()` and
        `restore()` rescue it.

        Never opens the file itself: closing any descriptor of it would drop the SQLite locks this
        process holds (POSIX locks belong to the process). `os.stat` tells a deleted or replaced
        file; when its size or time changed, a second SQLite connection (which SQLite shares the
        locks with) reads the header afresh.
        """
        if self._conn is None or self._identity is None:
            return False
        try:
            info = os.stat(self.path)
        except OSError:
            return True
        if (info.st_dev, info.st_ino) != self._identity or info.st_size == 0 or info.st_size % self._page_size:
            return True  # a database file is whole pages
        stamp = (info.st_size, info.st_mtime_ns)
        if stamp == self._stamp:
            return False
        try:
            peek = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=self._timeout())
            try:
                app_id = peek.execute("PRAGMA application_id").fetchone()[0]
            finally:
                peek.close()
        except sqlite3.OperationalError as exc:
            return not is_busy(exc)  # busy: someone is writing it, so it is still a database
        except sqlite3.DatabaseError:
            return True
        self._stamp = stamp
        return bool(app_id != APPLICATION_ID)

    def reopen(self) -> list[str]:
        """Open `path` afresh (the file open before is not ours any more); staged observations are kept.

        An unusable file there is set aside and a new database made, as `open()` does. Raises StoreError.
        """
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):  # the old file is being given up anyway
                self._conn.close()
            self._conn = None
        self._identity = self._stamp = None
        return self.open()

    def restore(self, jobs: Iterable[StoredJob]) -> list[str]:
        """Write watched jobs the file lacks, as known in memory; returns the ids written.

        After the file was lost, or an add failed. Records are not written (stage them).
        """
        written: list[str] = []
        with self._writing("save to") as (conn, rev):
            for job in jobs:
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO jobs (id, added_at, status, preset, confirmed_at, rev) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (job.id, job.added_at, job.status, job.preset, job.confirmed_at, rev),
                )
                if inserted.rowcount:
                    written.append(job.id)
        return written

    def close(self) -> None:
        """Flush what is staged and close; a closed Store can be opened again."""
        if self._conn is None:
            return
        try:
            if self._staged:
                self.flush()
        finally:
            self._conn.close()
            self._conn = None
            self.unwritable = None

    # -- reading ------------------------------------------------------------------------------

    def load(self) -> dict[str, StoredJob]:
        """Every watched job, in the order added (records are not parsed: see record())."""
        conn = self._db()
        with self._errors("read"):
            self._data_version = _data_version(conn)  # first: a commit after it is noticed later
            with self._reading(conn):
                self._seen_rev = self._current_rev(conn)
                rows = conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {GOOD_ID} ORDER BY seq").fetchall()
        self._own_revs.clear()
        self._echo.clear()
        return stored_jobs(rows)

    def record_text(self, job_id: str) -> str | None:
        """The stored full record of a job as the JSON text the API sent, None if there is none."""
        with self._errors("read"):
            row = (
                self._db()
                .execute("SELECT r.json FROM jobs j JOIN records r ON r.seq = j.seq WHERE j.id = ?", (job_id,))
                .fetchone()
            )
        return row[0] if row is not None and isinstance(row[0], str) else None

    def record(self, job_id: str) -> dict[str, Any] | None:
        """The stored full record of a job, parsed; None if there is none or it cannot be read."""
        text = self.record_text(job_id)
        if text is None:
            return None
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict):
            log.warning("stored record of %r is unreadable; ignored", job_id)
            return None
        return record

    def timeline(self, job_id: str) -> list[tuple[str, float]]:
        """The observed transitions of a job, (status, at), oldest first."""
        with self._errors("read"):
            rows = self._db().execute(
                "SELECT status, observed_at FROM transitions WHERE job_id = ? ORDER BY observed_at, rowid",
                (job_id,),
            )
            return [(status, float(at)) for status, at in rows if isinstance(status, str) and is_number(at)]

    def ids_with_prefix(self, prefix: str, limit: int) -> list[str]:
        """Watched ids starting with `prefix` (case-insensitive), at most `limit`, in id order.

        A range scan of the id index, so it costs the same at 100 or 100,000 watched jobs.
        """
        low = prefix.lower()
        if not low:
            return []
        high = low[:-1] + chr(ord(low[-1]) + 1)  # the first string above every one starting with `low`
        with self._errors("read"):
            rows = self._db().execute(
                "SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (low, high, limit)
            )
            return [row[0] for row in rows if isinstance(row[0], str)]

    def add(self, ids: Iterable[str], now: float, *, followed: bool = False) -> list[str]:
        """Watch these ids (committed at once); returns the ones newly added, in order.

        `followed`: found by following the domain. Adding by hand a job that was followed makes
        it a hand-added one (bulk removal of followed jobs leaves it alone).
        """
        batch = [job_id for job_id in dict.fromkeys(ids) if isinstance(job_id, str) and job_id]
        if not batch:
            return []
        with self._writing("add to") as (conn, rev):
            conn.executemany(
                "INSERT OR IGNORE INTO jobs (id, added_at, rev, followed) VALUES (?, ?, ?, ?)",
                ((job_id, now, rev, followed) for job_id in batch),
            )
            added = [row[0] for row in conn.execute("SELECT id FROM jobs WHERE rev = ? ORDER BY seq", (rev,))]
            conn.execute("DELETE FROM removed WHERE id IN (SELECT id FROM jobs WHERE rev = ?)", (rev,))
            if not followed:
                conn.executemany(
                    "UPDATE jobs SET followed = 0, rev = ? WHERE id = ? AND followed IS NOT 0",
                    ((rev, job_id) for job_id in batch),
                )
        return added

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Stop watching these ids (committed at once); returns the ones removed."""
        batch = [job_id for job_id in dict.fromkeys(ids) if isinstance(job_id, str)]
        if not batch:
            return []
        removed: list[str] = []
        with self._writing("remove from") as (conn, rev):
            for job_id in batch:
                for (seq,) in conn.execute("DELETE FROM jobs WHERE id = ? RETURNING seq", (job_id,)).fetchall():
                    conn.execute("DELETE FROM records WHERE seq = ?", (seq,))
                    removed.append(job_id)
            now = time.time()
            conn.executemany(
                "INSERT OR REPLACE INTO removed (id, rev, removed_at) VALUES (?, ?, ?)",
                ((job_id, rev, now) for job_id in removed),
            )
        for job_id in removed:
            self._staged.pop(job_id, None)
        return removed

    def setting(self, key: str) -> str | None:
        """A remembered choice of the user (None if never set)."""
        with self._errors("read"):
            row = self._db().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row is not None and isinstance(row[0], str) else None

    def set_setting(self, key: str, value: str) -> None:
        """Remember a choice of the user (committed at once)."""
        with self._writing("save to") as (conn, _rev):
            conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # -- staged observations ------------------------------------------------------------------

    def stage(self, observation: Observation) -> None:
        """Keep an observation in memory until flush(); ids not watched are ignored."""
        pending = self._staged.get(observation.id)
        if pending is None:
            with self._errors("read"):
                row = (
                    self._db()
                    .execute(
                        "SELECT CASE WHEN typeof(status) = 'text' THEN status END FROM jobs WHERE id = ?",
                        (observation.id,),
                    )
                    .fetchone()
                )
            if row is None:
                return  # not watched (perhaps removed while its request was in flight)
            pending = self._staged[observation.id] = _Pending(row[0], observation, None)
        elif observation.confirmed_at < pending.latest.confirmed_at:
            return  # older than what is staged: an answer that arrived late
        if not pending.changes or pending.changes[-1][0] != observation.status:
            pending.changes.append((observation.status, observation.confirmed_at))
        pending.latest = observation
        if observation.record is not None:
            pending.record = observation.record
        self._urgent = self._urgent or pending.urgent
        if self._staged_since is None:
            self._staged_since = time.monotonic()

    @property
    def dirty(self) -> bool:
        """True when staged observations should be flushed now."""
        if self._urgent:
            return True
        return self._staged_since is not None and time.monotonic() - self._staged_since >= CONFIRM_DELAY

    def flush(self) -> int:
        """Write staged observations in one transaction; returns the job rows written.

        Only changed rows are written, with a transition row per status change. An observation
        older than the stored confirmation (another instance saw the job later) does not
        overwrite it; its record is kept only if none is stored.
        """
        if not self._staged:
            self._urgent, self._staged_since = False, None
            return 0
        written = 0
        texts = {job_id: dump(job_id, pending.record) for job_id, pending in self._staged.items()}
        with self._writing("save to") as (conn, rev):
            for job_id, pending in self._staged.items():
                row = conn.execute(
                    "SELECT seq, status, confirmed_at, has_record IS 1, rev FROM jobs WHERE id = ?", (job_id,)
                ).fetchone()
                if row is None:
                    continue  # removed meanwhile
                seq, status, confirmed_at, has_record, row_rev = row
                latest = pending.latest
                record_text = texts[job_id]
                stale = is_number(confirmed_at) and latest.confirmed_at < confirmed_at
                if stale:
                    if record_text is None or has_record:
                        continue
                    conn.execute("UPDATE jobs SET has_record = 1, rev = ? WHERE seq = ?", (rev, seq))
                elif latest.confirmed_at == confirmed_at and status == latest.status and record_text is None:
                    continue  # nothing new
                else:
                    previous = status if isinstance(status, str) else None
                    since = confirmed_at if is_number(confirmed_at) else -math.inf
                    for new_status, at in pending.changes:
                        if new_status != previous and at > since:  # older sightings are already history
                            conn.execute(
                                "INSERT INTO transitions (job_id, status, observed_at) VALUES (?, ?, ?)",
                                (job_id, new_status, at),
                            )
                            previous = new_status
                    conn.execute(
                        "UPDATE jobs SET status = ?, preset = coalesce(?, preset), confirmed_at = ?, "
                        "has_record = has_record IS 1 OR ?, rev = ? WHERE seq = ?",
                        (latest.status, latest.preset, latest.confirmed_at, record_text is not None, rev, seq),
                    )
                if record_text is not None:
                    conn.execute(UPSERT_RECORD, (seq, record_text))
                if type(row_rev) is int and row_rev > self._seen_rev and row_rev not in self._own_revs:
                    self._echo.add(job_id)  # another instance's change we have not reported yet
                written += 1
        self._staged.clear()
        self._urgent, self._staged_since = False, None
        return written

    # -- other instances ----------------------------------------------------------------------

    def foreign_changes(self) -> ForeignChanges | None:
        """What other instances committed since our last look; None if nothing.

        Cheap when nothing happened (PRAGMA data_version); otherwise reads only rows stamped with
        a revision above the last one seen, leaving out this instance's own writes.
        """
        conn = self._db()
        with self._errors("read"):
            version = _data_version(conn)
            if version == self._data_version:
                return None
            self._data_version = version
            with self._reading(conn):
                top = self._current_rev(conn)
                rows = conn.execute(
                    f"SELECT {JOB_COLUMNS}, rev FROM jobs WHERE rev > ? AND rev <= ? AND {GOOD_ID} ORDER BY seq",
                    (self._seen_rev, top),
                ).fetchall()
                gone = conn.execute(
                    "SELECT id, rev FROM removed WHERE rev > ? AND rev <= ? ORDER BY rev", (self._seen_rev, top)
                ).fetchall()
        own, echo = self._own_revs, self._echo
        upserted = [stored_job(row) for row in rows if row[7] not in own or row[0] in echo]
        removed = [job_id for job_id, rev in gone if rev not in own and isinstance(job_id, str)]
        self._seen_rev = max(self._seen_rev, top)
        self._own_revs = {rev for rev in own if rev > self._seen_rev}
        self._echo = set()
        return ForeignChanges(upserted, removed) if upserted or removed else None

    # -- plumbing -----------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"watch list {self.path} is not open")
        return self._conn

    @staticmethod
    def _current_rev(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()
        return row[0] if row is not None and type(row[0]) is int else 0

    @contextmanager
    def _reading(self, conn: sqlite3.Connection) -> Iterator[None]:
        """One snapshot across several SELECTs."""
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _writing(self, doing: str) -> Iterator[tuple[sqlite3.Connection, int]]:
        """A write transaction with the next revision number; rolled back on any error."""
        conn = self._db()
        if self.unwritable is not None:
            raise StoreError(str(self.unwritable), self.unwritable.kind)
        with self._errors(doing):
            if self._impatient:  # it was busy a moment ago: fail at once rather than freeze the caller
                conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("BEGIN IMMEDIATE")
            try:
                rev = conn.execute(NEXT_REV).fetchone()[0]
                yield conn, rev
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if self._impatient:
            self._impatient = False
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout() * 1000)}")
        self._own_revs.add(rev)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """sqlite3 errors become one short StoreError line."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._failure(doing, exc) from None

    def _failure(self, doing: str, exc: sqlite3.Error) -> StoreError:
        kind = kind_at(exc, self.path.parent)
        if kind == BUSY:
            self._impatient = True
            return StoreError(f"watch list {self.path} is busy (another batchmon holds it); try again", BUSY)
        why = plain(exc)
        if kind == FULL and "full" not in why:
            why += " (the disk is full)"
        return StoreError(f"cannot {doing} watch list {self.path}: {why}", kind)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever ANOTHER connection commits to the database (ours do not count)."""
    value: int = conn.execute("PRAGMA data_version").fetchone()[0]
    return value
