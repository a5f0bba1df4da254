"""A store that is busy (a real second process holds its lock), full or read-only (a real tmpfs):
the saved list is shown, nothing is lost, and every queued add and remove is saved once it can be."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from pathlib import Path

import httpx2
import pytest
from store_faults import lock_held, tmpfs
from support import T0, FakeClock

from tui.api import BatchClient
from tui.core.watchlist import WatchList
from tui.poller import Poller
from tui.sim import Simulator, create_app
from tui.store.database import Store

WAIT = 0.2  # the TUI's wait for another instance's lock (tui.ui.app.STORE_WAIT)


def new_id() -> str:
    return str(uuid.uuid4())


def make_list(db: Path, busy_timeout: float = WAIT) -> WatchList:
    sim = Simulator(seed=1, clock=lambda: T0)
    client = BatchClient("http://sim/v1", None, transport=httpx2.ASGITransport(app=create_app(sim)))
    return WatchList(Store(db, busy_timeout=busy_timeout), Poller(client, interval=1.0), clock=FakeClock())


def saved(db: Path) -> list[str]:
    """The ids in the file, read with plain SQLite (another program's view); a read-only disk is
    read as immutable."""
    writable = os.access(db.parent, os.W_OK) and not os.statvfs(db.parent).f_flag & os.ST_RDONLY
    uri = db.as_uri() if writable else f"{db.as_uri()}?immutable=1"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        assert ok == "ok"
        return [row[0] for row in conn.execute("SELECT id FROM jobs ORDER BY seq")]


def seeded(db: Path, ids: list[str]) -> None:
    store = Store(db)
    store.open()
    store.add(ids, T0)
    store.close()


def test_a_busy_store_at_start_shows_the_saved_list_and_saves_queued_changes_once_free(tmp_path: Path) -> None:
    db = tmp_path / "state" / "batchmon.db"
    a, b, c = new_id(), new_id(), new_id()
    seeded(db, [a, b])
    with lock_held(db) as holder:
        model = make_list(db)
        model.open(poll=False)
        assert model.ids() == [a, b], "the saved list is shown while another process holds the lock"
        assert model.store_trouble == "store busy" and model.problem is not None
        model.add([c])
        model.remove([a])
        assert model.ids() == [b, c]
        model.save()  # still locked: kept queued
        assert model.store_trouble == "store busy"
        assert saved(db) == [a, b]
        holder.release()
        model.save()
    assert model.problem is None and model.store_trouble is None
    assert saved(db) == [b, c]
    model.close()
    assert saved(db) == [b, c], "after a clean quit the removed job stays removed"


def test_a_remove_while_the_store_is_locked_is_saved_once_possible(tmp_path: Path) -> None:
    db = tmp_path / "batchmon.db"
    a, b = new_id(), new_id()
    seeded(db, [a, b])
    model = make_list(db)
    model.open(poll=False)
    assert model.problem is None
    with lock_held(db) as holder:
        assert model.remove([a]) == [a]
        assert model.store_trouble == "store busy" and a not in model
        model.save()
        assert saved(db) == [a, b]
        holder.release()
        model.save()
    assert model.problem is None
    model.close()
    assert saved(db) == [b]
    again = make_list(db)
    again.open(poll=False)
    assert again.ids() == [b], "the next start does not bring the removed job back"
    again.close()


def test_re_adding_a_job_whose_removal_was_not_saved_keeps_it(tmp_path: Path) -> None:
    db = tmp_path / "batchmon.db"
    a = new_id()
    seeded(db, [a])
    model = make_list(db)
    model.open(poll=False)
    with lock_held(db) as holder:
        model.remove([a])
        assert model.add([a]).added == [a]
        holder.release()
    model.close()
    assert saved(db) == [a]


def test_attempts_under_a_held_lock_do_not_each_wait_for_it(tmp_path: Path) -> None:
    # The lock wait is long here (3 s) to tell waiting from not waiting on a loaded machine: the
    # first attempt waits for it, the next ones fail at once and stay queued.
    db = tmp_path / "batchmon.db"
    a = new_id()
    seeded(db, [a])
    model = make_list(db, busy_timeout=3.0)
    model.open(poll=False)
    with lock_held(db) as holder:
        model.remove([a])
        assert model.store_trouble == "store busy"
        started = time.monotonic()
        for _ in range(5):
            model.save()
        assert time.monotonic() - started < 3.0, "five retries took longer than one wait for the lock"
        assert model.store_trouble == "store busy"
        holder.release()
        model.save()
    assert model.problem is None
    model.close()
    assert saved(db) == []


def test_a_read_only_store_shows_the_saved_list_and_saves_once_writable(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as disk:
        db = disk.where / "state" / "batchmon.db"
        a, b, c = new_id(), new_id(), new_id()
        seeded(db, [a, b])
        disk.remount("ro")
        model = make_list(db)
        model.open(poll=False)
        assert model.ids() == [a, b]
        assert model.store_trouble == "store read-only"
        model.add([c])
        model.remove([a])
        model.save()
        assert model.store_trouble == "store read-only" and saved(db) == [a, b]
        disk.remount("rw")
        model.save()
        assert model.problem is None
        model.close()
        assert saved(db) == [b, c]


def test_a_full_disk_shows_the_saved_list_and_saves_once_there_is_room(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "1m") as disk:
        db = disk.where / "state" / "batchmon.db"
        a, b, c = new_id(), new_id(), new_id()
        seeded(db, [a, b])
        disk.fill()
        model = make_list(db)
        model.open(poll=False)
        assert model.ids() == [a, b]
        assert model.store_trouble == "disk full"
        model.add([c])
        model.remove([a])
        model.save()
        assert model.store_trouble == "disk full"
        disk.unfill()
        model.save()
        assert model.problem is None
        model.close()
        assert saved(db) == [b, c]


def test_a_store_that_fills_up_while_running_keeps_the_changes_queued(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "1m") as disk:
        db = disk.where / "state" / "batchmon.db"
        a = new_id()
        seeded(db, [a])
        model = make_list(db)
        model.open(poll=False)
        assert model.problem is None
        disk.fill()
        many = [new_id() for _ in range(3000)]  # more than the few pages left can take
        model.add(many)
        assert len(model) == 3001
        if model.problem is None:
            pytest.skip("the tmpfs left room for the whole add")
        assert model.store_trouble in ("disk full", "not saved")
        disk.unfill()
        model.save()
        assert model.problem is None
        model.close()
        assert saved(db) == [a, *many]


def test_a_damaged_file_found_by_the_check_aside_is_set_aside_and_saved_again(tmp_path: Path) -> None:
    db = tmp_path / "batchmon.db"
    ids = [new_id() for _ in range(3)]
    seeded(db, ids)
    model = make_list(db)
    model.open(poll=False, check=False)
    # An index that no longer matches its table (as the issue saw): quick_check misses it.
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_schema SET sql = 'CREATE INDEX jobs_by_rev ON jobs (added_at)' WHERE name = 'jobs_by_rev'"
        )
        conn.commit()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    damage = make_list(db).check_integrity()
    assert damage == "it is corrupt"
    model.damaged(damage)
    model.save()
    assert model.problem is None
    assert any("corrupt" in notice for notice in model.notices)
    model.close()
    assert saved(db) == ids
    assert [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
