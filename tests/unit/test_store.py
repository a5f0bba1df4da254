"""Tests for tui.store.database: the watch list in SQLite, shared by several instances."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.store import database as store_mod
from tui.store.database import Observation, Store, StoredJob, StoreError

ROOT = Path(__file__).resolve().parents[2]
A, B, C = (
    "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10",
    "0b6e4f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
    "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "batchmon.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    s = Store(path)
    assert s.open() == []
    yield s
    s.close()


def opened(path: Path) -> Store:
    s = Store(path)
    s.open()
    return s


def obs(
    job_id: str, status: str, at: float, record: dict[str, Any] | None = None, preset: str | None = None
) -> Observation:
    return Observation(id=job_id, status=status, preset=preset, confirmed_at=at, record=record)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, to look at (or damage) the file the way another program would."""
    return sqlite3.connect(path, isolation_level=None)


# -- opening -----------------------------------------------------------------------------------


def test_open_creates_private_folder_and_database(path: Path) -> None:
    s = Store(path)
    assert s.open() == []
    s.add([A], 1.0)
    s.close()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_mod.SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == store_mod.APPLICATION_ID


def test_reopen_keeps_everything(path: Path) -> None:
    s = opened(path)
    s.add([A, B], 1.0)
    s.stage(obs(A, "finished", 5.0, {"id": A, "status": "finished"}, preset="summarize"))
    s.flush()
    s.close()
    again = opened(path)
    assert again.load() == {
        A: StoredJob(A, 1.0, "finished", "summarize", 5.0, True),
        B: StoredJob(B, 1.0, None, None, None, False),
    }
    assert again.record(A) == {"id": A, "status": "finished"}
    again.close()


def test_closed_store_raises_store_error(path: Path) -> None:
    s = opened(path)
    s.close()
    with pytest.raises(StoreError, match="not open"):
        s.load()


@pytest.mark.parametrize("content", [b"not a database at all\n" * 100, b"SQLite format 3\x00" + b"\xff" * 200])
def test_a_file_that_is_not_sqlite_is_set_aside(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    s = Store(path)
    warnings = s.open()
    assert len(warnings) == 1 and "moved it to batchmon.db.corrupt-" in warnings[0]
    aside = [p for p in path.parent.iterdir() if p.name.startswith("batchmon.db.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content  # kept, never deleted
    assert s.add([A], 1.0) == [A] and list(s.load()) == [A]  # a fresh database works
    s.close()


def test_another_programs_database_is_set_aside(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.close()
    s = Store(path)
    assert "not a batchmon database" in s.open()[0]
    aside = next(p for p in path.parent.iterdir() if p.name.startswith("batchmon.db.corrupt-") and "-wal" not in p.name)
    with raw(aside) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
    conn.close()
    s.close()


def test_damaged_pages_are_detected_and_set_aside(path: Path) -> None:
    s = opened(path)
    s.add([f"job-{i:06d}" for i in range(5000)], 1.0)
    s.close()
    with raw(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page : len(data) - page] = b"\x5a" * (len(data) - 4 * page)  # overwrite the middle pages
    path.write_bytes(bytes(data))
    again = Store(path)
    warnings = again.open()
    assert len(warnings) == 1 and "corrupt-" in warnings[0]
    assert again.load() == {}
    again.close()


def test_sets_aside_never_overwrite_each_other(path: Path) -> None:
    path.parent.mkdir(parents=True)
    for _ in range(3):
        path.write_bytes(b"garbage" * 100)
        s = Store(path)
        s.open()
        s.close()
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 3


def test_newer_schema_is_refused_and_left_alone(path: Path) -> None:
    s = opened(path)
    s.add([A], 1.0)
    s.close()
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {store_mod.SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer batchmon"):
        Store(path).open()
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if ".corrupt-" in p.name]


def test_unwritable_folder_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create"):
        Store(blocker / "batchmon.db").open()


def test_busy_database_is_a_store_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT", 0.05)
    s = opened(path)
    blocker = raw(path)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StoreError, match="busy"):
            s.add([A], 1.0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert s.add([A], 1.0) == [A]  # nothing half-done in between
    s.close()


# -- adding and removing -----------------------------------------------------------------------


def test_add_returns_new_ids_in_order_and_skips_known_ones(store: Store) -> None:
    assert store.add([B, A, B], 1.0) == [B, A]
    assert store.add([A, C], 2.0) == [C]
    assert store.add([], 3.0) == []
    jobs = store.load()
    assert list(jobs) == [B, A, C]
    assert jobs[C] == StoredJob(C, 2.0, None, None, None, False)


def test_add_and_remove_are_committed_at_once(path: Path) -> None:
    writer = opened(path)
    writer.add([A, B], 1.0)
    reader = opened(path)  # a second connection sees it without any flush or close
    assert list(reader.load()) == [A, B]
    assert writer.remove([A, C]) == [A]
    assert list(reader.load()) == [B]
    writer.close()
    reader.close()


def test_remove_drops_record_and_staged_observations_keeps_transitions(store: Store) -> None:
    store.add([A], 1.0)
    store.stage(obs(A, "processing", 2.0, {"id": A}))
    store.flush()
    store.stage(obs(A, "finished", 3.0))
    assert store.remove([A]) == [A]
    assert store.flush() == 0 and not store.dirty
    assert store.record(A) is None
    assert store.timeline(A) == [("processing", 2.0)]  # history stays (a later issue lets users clear it)
    assert store.add([A], 4.0) == [A]  # and it can be watched again, fresh
    assert store.load()[A] == StoredJob(A, 4.0, None, None, None, False)


# -- observations ------------------------------------------------------------------------------


def test_flush_writes_status_changes_and_transitions(store: Store) -> None:
    store.add([A, B], 1.0)
    store.stage(obs(A, "submitted", 2.0, preset="transcript"))
    assert store.dirty
    assert store.flush() == 1
    assert not store.dirty
    store.stage(obs(A, "processing", 3.0))  # preset None: the stored one stays
    store.stage(obs(A, "processing", 4.0))
    store.stage(obs(A, "finished", 5.0))
    assert store.flush() == 1
    assert store.timeline(A) == [("submitted", 2.0), ("processing", 3.0), ("finished", 5.0)]
    assert store.load()[A] == StoredJob(A, 1.0, "finished", "transcript", 5.0, False)
    assert store.load()[B].status is None


def test_mere_confirmations_wait_and_add_no_transition(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add([A], 1.0)
    store.stage(obs(A, "processing", 2.0))
    store.flush()
    store.stage(obs(A, "processing", 3.0))
    assert not store.dirty  # a confirmation alone need not be written yet
    monkeypatch.setattr(store_mod, "CONFIRM_DELAY", 0.0)
    assert store.dirty  # ... but not forever
    assert store.flush() == 1
    assert store.timeline(A) == [("processing", 2.0)]
    assert store.load()[A].confirmed_at == 3.0


def test_close_flushes_staged_confirmations(path: Path) -> None:
    s = opened(path)
    s.add([A], 1.0)
    s.stage(obs(A, "processing", 2.0))
    s.flush()
    s.stage(obs(A, "processing", 9.0))
    s.close()
    again = opened(path)
    assert again.load()[A].confirmed_at == 9.0
    again.close()


def test_flush_writes_only_changed_rows(path: Path) -> None:
    s = opened(path)
    ids = [f"job-{i:04d}" for i in range(1000)]
    s.add(ids, 1.0)
    for job_id in ids:
        s.stage(obs(job_id, "processing", 2.0))
    s.flush()
    s.stage(obs(ids[10], "finished", 3.0))
    s.stage(obs(ids[20], "processing", 2.0))  # nothing new: not written
    assert s.flush() == 1
    with raw(path) as conn:
        top = conn.execute("SELECT max(rev) FROM jobs").fetchone()[0]
        assert conn.execute("SELECT id FROM jobs WHERE rev = ?", (top,)).fetchall() == [(ids[10],)]
        assert conn.execute("SELECT count(*) FROM transitions").fetchone()[0] == 1001
    conn.close()
    s.close()


def test_observations_of_unwatched_ids_are_ignored(store: Store) -> None:
    store.add([A], 1.0)
    store.stage(obs(B, "finished", 2.0))
    assert not store.dirty
    assert store.flush() == 0
    assert list(store.load()) == [A]
    assert store.timeline(B) == []


def test_a_late_older_answer_does_not_overwrite_a_newer_one(path: Path) -> None:
    a, b = opened(path), opened(path)
    a.add([A], 1.0)
    b.stage(obs(A, "processing", 5.0))  # b asked first, its answer is older
    a.stage(obs(A, "finished", 6.0, {"id": A, "status": "finished"}))
    a.flush()
    b.stage(obs(A, "processing", 5.0, {"id": A, "status": "processing"}))
    assert b.flush() == 0  # a record is already stored: nothing of b's is newer
    assert b.load()[A].status == "finished"
    assert b.timeline(A) == [("finished", 6.0)]
    assert b.record(A) == {"id": A, "status": "finished"}
    b.stage(obs(A, "processing", 4.0))  # and a late answer within b's own stream is dropped too
    b.stage(obs(A, "finished", 7.0))
    b.stage(obs(A, "processing", 6.5))
    b.flush()
    assert b.timeline(A) == [("finished", 6.0)]
    a.close()
    b.close()


def test_records_are_stored_and_kept_when_none_is_sent(store: Store) -> None:
    store.add([A], 1.0)
    record = {"id": A, "status": "finished", "output": {"summary": [{"format": "txt"}]}, "extra": [1, 2.5, None]}
    store.stage(obs(A, "finished", 2.0, record))
    store.flush()
    store.stage(obs(A, "finished", 3.0))
    store.flush()
    assert store.record(A) == record
    assert store.load()[A].has_record
    assert store.record(B) is None


def test_hostile_records_never_crash(store: Store, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store.add([A, B, C], 1.0)
    nested: dict[str, Any] = {}
    for _ in range(300):
        nested = {"x": nested}
    store.stage(obs(A, "finished", 2.0, {"id": A, "unknown": nested}))
    too_deep: dict[str, Any] = {}
    for _ in range(100_000):
        too_deep = {"x": too_deep}
    store.stage(obs(B, "finished", 2.0, {"id": B, "unknown": too_deep}))
    with caplog.at_level(logging.WARNING, logger="tui.store.database"):
        assert store.flush() == 2
    assert store.record(A) == {"id": A, "unknown": nested}  # 300 levels round-trip
    assert store.record(B) is None and not store.load()[B].has_record  # skipped ...
    assert store.load()[B].status == "finished"  # ... the status is saved all the same
    assert "cannot be stored" in caplog.text
    with raw(path) as conn:  # a record text no parser can read back
        conn.execute(
            "INSERT INTO records VALUES ((SELECT seq FROM jobs WHERE id = ?), ?)", (C, "[" * 200_000 + "]" * 200_000)
        )
        conn.execute("UPDATE jobs SET has_record = 1 WHERE id = ?", (C,))
    conn.close()
    assert store.record(C) is None


def test_rows_of_the_wrong_type_are_skipped_or_repaired(store: Store, path: Path) -> None:
    store.add([A], 1.0)
    with raw(path) as conn:
        conn.execute(
            "INSERT INTO jobs (id, added_at, status, preset, confirmed_at, has_record, rev) "
            "VALUES (x'3432', 1.0, 'finished', NULL, NULL, 0, 1)"
        )
        conn.execute(
            "INSERT INTO jobs (id, added_at, status, preset, confirmed_at, has_record, rev) "
            "VALUES (?, 'yesterday', x'00ff', x'07', 'soon', 'yes', 'one')",
            (B,),
        )
        conn.execute("INSERT INTO transitions VALUES (?, 5, 'later')", (B,))
        conn.execute("INSERT INTO transitions VALUES (?, 'finished', 3.0)", (B,))
        conn.execute(
            "INSERT INTO records VALUES ((SELECT seq FROM jobs WHERE id = ?), ?)", (B, "[1, 2]")
        )  # JSON, but not an object
    conn.close()
    jobs = store.load()
    assert list(jobs) == [A, B]  # the row whose id is not text is skipped
    assert jobs[B] == StoredJob(B, 0.0, None, None, None, False)
    assert store.timeline(B) == [("finished", 3.0)]
    assert store.record(B) is None
    store.stage(obs(B, "finished", 4.0))
    assert store.flush() == 1  # and the row is repaired by the next observation
    assert store.load()[B] == StoredJob(B, 0.0, "finished", None, 4.0, False)


def test_jobs_built_by_load_are_ordinary_stored_jobs(store: Store) -> None:
    store.add([A, B], 1.0)
    store.stage(obs(A, "finished", 2.0, {"id": A}, preset="transcript"))
    store.flush()
    jobs = store.load()
    expected = {
        A: StoredJob(A, 1.0, "finished", "transcript", 2.0, True),
        B: StoredJob(B, 1.0, None, None, None, False),
    }
    assert jobs == expected
    assert [repr(job) for job in jobs.values()] == [repr(job) for job in expected.values()]
    assert {hash(job) for job in jobs.values()} == {hash(job) for job in expected.values()}
    assert jobs[A].has_record is True and jobs[B].has_record is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        jobs[A].status = "error"  # type: ignore[misc]


# -- several instances -------------------------------------------------------------------------


def test_foreign_changes_reports_others_writes_not_own(path: Path) -> None:
    a, b = opened(path), opened(path)
    a.load()
    b.load()
    assert a.foreign_changes() is None and b.foreign_changes() is None
    a.add([A, B], 1.0)
    assert a.foreign_changes() is None  # its own add
    changes = b.foreign_changes()
    assert changes is not None
    assert changes.upserted == [StoredJob(A, 1.0, None, None, None, False), StoredJob(B, 1.0, None, None, None, False)]
    assert changes.removed == []
    assert b.foreign_changes() is None  # nothing new since

    b.stage(obs(A, "finished", 2.0, {"id": A}, preset="soap-notes"))
    b.flush()
    b.remove([B])
    b.add([C], 3.0)
    assert b.foreign_changes() is None
    changes = a.foreign_changes()
    assert changes is not None
    assert changes.upserted == [
        StoredJob(A, 1.0, "finished", "soap-notes", 2.0, True),
        StoredJob(C, 3.0, None, None, None, False),
    ]
    assert changes.removed == [B]
    assert a.foreign_changes() is None
    a.close()
    b.close()


def test_foreign_changes_while_both_write(path: Path) -> None:
    a, b = opened(path), opened(path)
    a.load()
    b.load()
    a.add([A], 1.0)
    b.add([B], 1.0)
    a.add([C], 2.0)
    b.remove([A])
    changes = a.foreign_changes()
    assert changes is not None and [j.id for j in changes.upserted] == [B] and changes.removed == [A]
    changes = b.foreign_changes()
    assert changes is not None and [j.id for j in changes.upserted] == [C] and changes.removed == []
    b.add([A], 3.0)  # removed, then added again: an upsert, no longer a removal
    changes = a.foreign_changes()
    assert changes is not None and [j.id for j in changes.upserted] == [A] and changes.removed == []
    a.close()
    b.close()


def test_own_flush_over_an_unseen_foreign_change_is_still_reported(path: Path) -> None:
    a, b = opened(path), opened(path)
    a.add([A], 1.0)
    a.load()
    b.stage(obs(A, "processing", 2.0, {"id": A, "by": "b"}))
    b.flush()
    a.stage(obs(A, "finished", 3.0))  # a writes over the row before looking
    a.flush()
    changes = a.foreign_changes()
    assert changes is not None  # the record b stored would otherwise go unnoticed by a
    assert changes.upserted == [StoredJob(A, 1.0, "finished", None, 3.0, True)]
    a.close()
    b.close()


@pytest.mark.usefixtures("monkeypatch")
def test_old_tombstones_are_pruned_on_open(path: Path) -> None:
    s = opened(path)
    s.add([A, B], 1.0)
    s.remove([A, B])
    s.close()
    with raw(path) as conn:
        conn.execute("UPDATE removed SET removed_at = 0 WHERE id = ?", (A,))
    conn.close()
    opened(path).close()
    with raw(path) as conn:
        assert conn.execute("SELECT id FROM removed").fetchall() == [(B,)]
    conn.close()


IDS = [f"job-{i}" for i in range(6)]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 1), st.lists(st.sampled_from(IDS), max_size=3)),
        st.tuples(st.just("remove"), st.integers(0, 1), st.lists(st.sampled_from(IDS), max_size=3)),
        st.tuples(
            st.just("observe"),
            st.integers(0, 1),
            st.sampled_from(IDS),
            st.sampled_from(["submitted", "processing", "finished"]),
            st.booleans(),
        ),
        st.tuples(st.just("flush"), st.integers(0, 1)),
        st.tuples(st.just("look"), st.integers(0, 1)),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(operations)
def test_two_instances_following_each_other_agree_with_the_database(ops: list[tuple[Any, ...]]) -> None:
    """Each instance keeps a view from load(), its own results and foreign_changes(); the views
    end equal to the database, and nothing reported was written by the instance itself."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batchmon.db"
        stores = [opened(path), opened(path)]
        views = [set(s.load()) for s in stores]
        touched: list[set[str]] = [set(), set()]  # ids the OTHER instance wrote since this one's last look
        staged: list[set[str]] = [set(), set()]
        clock = 0.0

        def look(who: int) -> None:
            changes = stores[who].foreign_changes()
            if changes is not None:
                reported = {job.id for job in changes.upserted} | set(changes.removed)
                assert reported <= touched[who]
                views[who] |= {job.id for job in changes.upserted}
                views[who] -= set(changes.removed)
            touched[who] = set()

        for op in ops:
            who, other = op[1], 1 - op[1]
            clock += 1
            if op[0] == "add":
                added = stores[who].add(op[2], clock)
                views[who] |= set(added)
                touched[other] |= set(added)
            elif op[0] == "remove":
                removed = stores[who].remove(op[2])
                views[who] -= set(removed)
                touched[other] |= set(removed)
            elif op[0] == "observe":
                record = {"id": op[2], "status": op[3]} if op[4] else None
                stores[who].stage(Observation(op[2], op[3], None, clock, record))
                staged[who].add(op[2])
            elif op[0] == "flush":
                stores[who].flush()
                touched[other] |= staged[who]
                staged[who] = set()
            else:
                look(who)
        for who in (0, 1):
            stores[who].flush()
            touched[1 - who] |= set(IDS)
        for who in (0, 1):
            look(who)
            assert views[who] == set(stores[who].load())
        for s in stores:
            s.close()


INSTANCE = """
import json, sys, time
from pathlib import Path
from tui.store.database import Observation, Store
path, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
s = Store(path)
s.open()
s.load()
upserted, removed, finished = set(), set(), set()

def look():
    changes = s.foreign_changes()
    if changes is not None:
        upserted.update(j.id for j in changes.upserted)
        finished.update(j.id for j in changes.upserted if j.status == "finished")
        removed.update(changes.removed)

def wait_for(done):
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
        look()

theirs = [f"{other}-{i}" for i in range(50)]
(path.parent / me).touch()  # both have loaded the (empty) list before either adds
wait_for(lambda: (path.parent / other).exists())
for i in range(50):
    s.add([f"{me}-{i}"], float(i))
    look()
wait_for(lambda: set(theirs) <= upserted | removed)
s.remove([f"{me}-{i}" for i in range(10)])
for i in range(10, 20):
    s.stage(Observation(f"{me}-{i}", "finished", None, 100.0 + i))
s.flush()
wait_for(lambda: set(theirs[:10]) <= removed and set(theirs[10:20]) <= finished)
print(json.dumps({"upserted": sorted(upserted), "removed": sorted(removed), "finished": sorted(finished)}))
s.close()
"""


def test_two_processes_lose_nothing_and_see_each_other(path: Path) -> None:
    Store(path).open()  # created once, so both start on the same file
    procs = {
        me: subprocess.Popen(
            [sys.executable, "-c", INSTANCE, str(path), me, other], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for me, other in (("p", "q"), ("q", "p"))
    }
    seen = {}
    for me, proc in procs.items():
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0
        seen[me] = json.loads(out)
    for me, other in (("p", "q"), ("q", "p")):
        reported = set(seen[me]["upserted"]) | set(seen[me]["removed"])
        assert not [i for i in reported if i.startswith(me)]  # never its own writes
        assert {f"{other}-{i}" for i in range(50)} <= reported  # all the other's adds
        assert set(seen[me]["removed"]) == {f"{other}-{i}" for i in range(10)}
        assert set(seen[me]["finished"]) == {f"{other}-{i}" for i in range(10, 20)}
    s = opened(path)
    ids = list(s.load())
    s.close()
    assert sorted(ids) == sorted(f"{n}-{i}" for n in ("p", "q") for i in range(10, 50))
    for n in ("p", "q"):  # each process's additions keep their order
        assert [i for i in ids if i.startswith(n)] == [f"{n}-{i}" for i in range(10, 50)]


# -- kill -9 -----------------------------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from tui.store.database import Observation, Store
path, tag = Path(sys.argv[1]), sys.argv[2]
s = Store(path)
s.open()
n = 0
while True:
    ids = [f"{tag}-{n}-{k}" for k in range(20)]
    s.add(ids, float(n))
    print("added", n, flush=True)  # committed: must survive anything
    for job_id in ids:
        s.stage(Observation(job_id, "finished", "transcript", float(n), {"id": job_id, "pad": "x" * 2000}))
    print("flushing", n, flush=True)
    s.flush()
    print("flushed", n, flush=True)
    n += 1
"""


def test_kill_9_mid_flush_never_corrupts_or_loses_commits(path: Path) -> None:
    Store(path).open()
    added: list[str] = []  # batches whose add was committed
    flushed: list[str] = []  # batches whose flush was committed

    def note(line: str) -> None:
        words = line.split()
        if len(words) == 2 and line.endswith("\n"):  # a line cut by the kill proves nothing
            {"added": added, "flushed": flushed}.get(words[0], []).append(f"{tag}-{words[1]}")

    for round_ in range(10):
        tag = f"r{round_}"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), tag], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        flushes = 0
        while flushes < 2 + round_ % 4:
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
            flushes += line.startswith("flushing")
            note(line)
        time.sleep(random.Random(round_).uniform(0, 0.004))  # somewhere inside that flush (or just after)
        os.kill(proc.pid, signal.SIGKILL)
        for line in proc.stdout:  # whatever it printed before it died
            note(line)
        proc.wait()
        with raw(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
        s = Store(path)
        assert s.open() == []  # not taken for corrupt
        jobs = s.load()
        for batch in added:  # every committed add is there ...
            statuses = {jobs[f"{batch}-{k}"].status for k in range(20)}
            assert len(statuses) == 1  # ... and a flush is all or nothing
            assert (statuses == {"finished"}) >= (batch in flushed)
        assert s.record(f"{flushed[-1]}-19") == {"id": f"{flushed[-1]}-19", "pad": "x" * 2000}
        s.close()


# -- the 0.1.0 watch list ----------------------------------------------------------------------


def legacy_file(folder: Path, jobs: list[dict[str, Any]], version: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    legacy = folder / "watchlist.json"
    legacy.write_text(json.dumps({"version": version, "jobs": jobs}), encoding="utf-8")
    return legacy


def test_legacy_watch_list_is_imported_once_and_kept(path: Path) -> None:
    record = {"id": A, "preset": "summarize", "status": "finished"}
    legacy = legacy_file(
        path.parent,
        [
            {
                "id": A,
                "added_at": 10,
                "record": record,
                "timeline": [["submitted", 11], ["finished", 12.5]],
                "confirmed_at": 13.0,
            },
            {"id": B, "added_at": 20.0, "record": None, "timeline": [], "confirmed_at": None},
            {"id": C, "added_at": "when?"},  # the wrong shape: skipped, counted
            {"id": A, "added_at": 99.0},  # a repeated id: the first one wins
        ],
    )
    s = Store(path)
    warnings = s.open()
    assert warnings == [
        "imported 2 jobs from the old watch list (kept as watchlist.json.imported); 1 unreadable entries skipped"
    ]
    assert s.load() == {
        A: StoredJob(A, 10.0, "finished", "summarize", 13.0, True),
        B: StoredJob(B, 20.0, None, None, None, False),
    }
    assert s.record(A) == record
    assert s.timeline(A) == [("submitted", 11.0), ("finished", 12.5)]
    s.close()
    assert not legacy.exists() and (path.parent / "watchlist.json.imported").exists()
    again = Store(path)
    assert again.open() == []  # once
    assert len(again.load()) == 2
    again.close()


def test_legacy_file_seen_again_after_import_is_not_imported_twice(path: Path) -> None:
    legacy = legacy_file(path.parent, [{"id": A, "added_at": 1.0, "timeline": [["finished", 2.0]]}])
    content = legacy.read_bytes()
    s = opened(path)
    s.remove([A])
    s.close()
    legacy.write_bytes(content)  # the same file again (the rename had failed, say)
    os.utime(legacy, ns=((path.parent / "watchlist.json.imported").stat().st_mtime_ns,) * 2)
    again = Store(path)
    assert again.open() == []
    assert again.load() == {}  # the user's removal stands
    again.close()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"version": 2, "jobs": []}', "unknown format"),
        (b"[1, 2]", "unknown format"),
    ],
)
def test_broken_legacy_file_is_not_imported_and_stays(path: Path, content: bytes, why: str) -> None:
    path.parent.mkdir(parents=True)
    legacy = path.parent / "watchlist.json"
    legacy.write_bytes(content)
    s = Store(path)
    warnings = s.open()
    assert len(warnings) == 1 and why in warnings[0] and "not imported" in warnings[0]
    assert legacy.read_bytes() == content
    assert s.load() == {}
    s.close()
