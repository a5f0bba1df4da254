"""Tests for what following the domain keeps in the store: the followed flag, settings, the v1 upgrade."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.store import database as store_mod
from tui.store.database import Store, StoredJob

A, B, C = (
    "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10",
    "0b6e4f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
    "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
)

# The schema batchmon wrote as version 1 (before following existed), as it was shipped.
SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, added_at REAL NOT NULL, status TEXT, preset TEXT,
    confirmed_at REAL, has_record INTEGER NOT NULL DEFAULT 0, rev INTEGER NOT NULL
);
CREATE INDEX jobs_by_rev ON jobs (rev);
CREATE TABLE records (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE transitions (job_id TEXT NOT NULL, status TEXT NOT NULL, observed_at REAL NOT NULL);
CREATE INDEX transitions_by_job ON transitions (job_id, observed_at);
CREATE TABLE removed (id TEXT PRIMARY KEY, rev INTEGER NOT NULL, removed_at REAL NOT NULL);
CREATE INDEX removed_by_rev ON removed (rev);
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "batchmon.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    s = Store(path)
    s.open()
    yield s
    s.close()


def test_followed_flag_is_stored_and_hand_adding_clears_it(store: Store) -> None:
    assert store.add([A, B], 1.0, followed=True) == [A, B]
    assert store.add([C], 2.0) == [C]
    jobs = store.load()
    assert [jobs[i].followed for i in (A, B, C)] == [True, True, False]
    # Found again by following: nothing changes; added by hand: no longer "followed".
    assert store.add([C], 3.0, followed=True) == []
    assert store.add([A], 3.0) == []
    jobs = store.load()
    assert [jobs[i].followed for i in (A, B, C)] == [False, True, False]
    assert jobs[B] == StoredJob(B, 1.0, None, None, None, False, True)


def test_other_instances_see_the_flag(path: Path, store: Store) -> None:
    other = Store(path)
    other.open()
    other.load()
    store.add([A], 1.0, followed=True)
    changes = other.foreign_changes()
    assert changes is not None and changes.upserted == [StoredJob(A, 1.0, None, None, None, False, True)]
    store.add([A], 2.0)  # by hand now
    changes = other.foreign_changes()
    assert changes is not None and [job.followed for job in changes.upserted] == [False]
    other.close()


def test_settings_are_remembered(path: Path, store: Store) -> None:
    assert store.setting("follow") is None
    store.set_setting("follow", "on")
    store.set_setting("recent", "5")
    store.set_setting("follow", "off")
    store.close()
    again = Store(path)
    again.open()
    assert (again.setting("follow"), again.setting("recent")) == ("off", "5")
    again.close()


def test_a_version_1_database_is_upgraded_keeping_its_jobs(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.executescript(SCHEMA_V1)
        conn.execute(f"PRAGMA application_id = {store_mod.APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO meta (key, value) VALUES ('rev', 3)")
        conn.execute(
            "INSERT INTO jobs (id, added_at, status, preset, confirmed_at, has_record, rev) "
            "VALUES (?, 1.0, 'finished', 'transcript', 5.0, 1, 2)",
            (A,),
        )
        conn.execute("INSERT INTO records (seq, json) VALUES (1, ?)", (f'{{"id": "{A}"}}',))
        conn.execute("INSERT INTO transitions VALUES (?, 'finished', 5.0)", (A,))
    conn.close()
    s = Store(path)
    assert s.open() == []
    assert s.load() == {A: StoredJob(A, 1.0, "finished", "transcript", 5.0, True, False)}
    assert s.record(A) == {"id": A}
    assert s.timeline(A) == [("finished", 5.0)]
    s.set_setting("follow", "on")
    assert s.add([B], 6.0, followed=True) == [B]
    s.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_mod.SCHEMA_VERSION == 2
    conn.close()
    again = Store(path)
    again.open()  # opening an upgraded database again migrates nothing twice
    assert again.load()[B].followed and again.setting("follow") == "on"
    again.close()
