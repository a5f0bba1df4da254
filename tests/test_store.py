"""Tests for tui.store: the watch list on disk."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.synchronize
import os
import re
import stat
import sys
from pathlib import Path

import filelock
import pytest

from tui import store as store_mod
from tui.store import Store, StoreError, WatchedJob


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "watchlist.json"


def on_disk(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def ids_on_disk(path: Path) -> list[str]:
    return [job["id"] for job in on_disk(path)["jobs"]]


# -- in memory ---------------------------------------------------------------------------------


def test_missing_file_is_an_empty_list(path: Path) -> None:
    s = Store(path)
    assert s.load() is None
    assert s.jobs == {}
    assert not path.parent.exists()  # reading creates nothing


def test_add_ignores_duplicates_and_blanks(path: Path) -> None:
    s = Store(path)
    assert s.add(["a", "b", "a", " ", ""], now=10.0) == ["a", "b"]
    assert s.add(["b", "c"], now=11.0) == ["c"]
    assert list(s.jobs) == ["a", "b", "c"]
    assert s.jobs["a"].added_at == 10.0 and s.jobs["c"].added_at == 11.0


def test_remove(path: Path) -> None:
    s = Store(path)
    s.add(["a", "b"], now=1.0)
    assert s.remove("a") is True
    assert s.remove("a") is False
    assert list(s.jobs) == ["b"]


def test_observe_tracks_status_changes(path: Path) -> None:
    s = Store(path)
    s.add(["a"], now=1.0)
    assert s.observe("a", {"id": "a", "status": "submitted"}, "submitted", now=2.0) is True
    assert s.observe("a", None, "submitted", now=3.0) is False
    job = s.jobs["a"]
    assert job.confirmed_at == 3.0
    assert job.record == {"id": "a", "status": "submitted"}  # None keeps the last record
    assert s.observe("a", {"id": "a", "status": "processing"}, "processing", now=4.0) is True
    assert job.timeline == [("submitted", 2.0), ("processing", 4.0)]
    assert job.status == "processing"
    assert s.observe("gone", None, "finished", now=5.0) is False
    assert "gone" not in s.jobs


# -- saving and loading ------------------------------------------------------------------------


def test_round_trip_and_file_format(path: Path) -> None:
    s = Store(path)
    s.add(["a", "b"], now=1.0)
    s.observe("a", {"id": "a", "status": "finished", "output": {"x": [1, 2]}}, "finished", now=2.5)
    s.save()
    data = on_disk(path)
    assert data["version"] == 1
    assert data["jobs"][0] == {
        "id": "a", "added_at": 1.0, "record": {"id": "a", "status": "finished", "output": {"x": [1, 2]}},
        "timeline": [["finished", 2.5]], "confirmed_at": 2.5,
    }
    t = Store(path)
    assert t.load() is None
    assert list(t.jobs) == ["a", "b"]
    assert t.jobs == s.jobs
    assert t.jobs["a"].timeline == [("finished", 2.5)]  # tuples again


def test_save_creates_private_folder_and_file(path: Path) -> None:
    s = Store(path)
    s.add(["a"], now=1.0)
    s.save()
    if sys.platform != "win32":
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    leftovers = {p.name for p in path.parent.iterdir()} - {path.name, path.name + ".lock"}
    assert leftovers == set()


def test_failed_write_keeps_the_old_file(path: Path) -> None:
    s = Store(path)
    s.add(["a"], now=1.0)
    s.save()
    before = path.read_bytes()
    s.add(["b"], now=2.0)
    s.observe("b", {"bad": object()}, "submitted", now=2.0)  # not JSON-serialisable
    with pytest.raises(StoreError, match="cannot save"):
        s.save()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, path.name + ".lock"])


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe", b"[]", b'{"version": 1}', b'{"version": 1, "jobs": [{"id": 5}]}',
     b'{"version": 1, "jobs": [{"id": "a", "added_at": "yesterday"}]}', b'{"version": 0, "jobs": []}',
     b'{"version": true, "jobs": []}'],
)
def test_corrupt_file_is_set_aside(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    s = Store(path)
    warning = s.load()
    assert warning is not None and "moved it to" in warning
    assert s.jobs == {}
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert re.fullmatch(r"watchlist\.json\.corrupt-\d{8}-\d{6}", aside[0].name)
    assert aside[0].read_bytes() == content  # never deleted or altered
    assert aside[0].name in warning
    assert not path.exists()


def test_corrupt_files_never_overwrite_each_other(path: Path) -> None:
    path.parent.mkdir(parents=True)
    for content in (b"one", b"two", b"three"):
        path.write_bytes(content)
        assert Store(path).load() is not None
    kept = sorted(p.read_bytes() for p in path.parent.iterdir() if ".corrupt-" in p.name)
    assert kept == [b"one", b"three", b"two"]


def test_corrupted_while_running_is_set_aside_on_save(path: Path) -> None:
    s = Store(path)
    s.add(["a"], now=1.0)
    s.save()
    path.write_text("garbage")
    s.add(["b"], now=2.0)
    warning = s.save()
    assert warning is not None and "unreadable" in warning
    assert ids_on_disk(path) == ["b"]  # what was in the broken file is lost from view, but kept aside
    assert any(p.read_text() == "garbage" for p in path.parent.iterdir() if ".corrupt-" in p.name)


def test_newer_version_is_refused_and_left_alone(path: Path) -> None:
    path.parent.mkdir(parents=True)
    content = json.dumps({"version": 2, "jobs": [], "future": True}).encode()
    path.write_bytes(content)
    s = Store(path)
    with pytest.raises(StoreError, match="newer batchmon"):
        s.load()
    s.add(["a"], now=1.0)
    with pytest.raises(StoreError, match="newer batchmon"):
        s.save()
    assert path.read_bytes() == content
    assert [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name] == []


def test_lock_timeout_is_a_store_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "LOCK_TIMEOUT", 0.2)
    s = Store(path)
    s.add(["a"], now=1.0)
    path.parent.mkdir(parents=True)
    holder = filelock.FileLock(s.lock_path, thread_local=False)
    with holder:
        with pytest.raises(StoreError, match="locked by another batchmon"):
            s.save()
    s.save()
    assert ids_on_disk(path) == ["a"]


# -- two instances -----------------------------------------------------------------------------


def test_two_instances_keep_each_others_additions(path: Path) -> None:
    a, b = Store(path), Store(path)
    a.load(), b.load()
    a.add(["a1"], now=1.0)
    b.add(["b1"], now=2.0)
    a.save()
    b.save()  # must not clobber a1
    assert ids_on_disk(path) == ["a1", "b1"]
    assert list(b.jobs) == ["a1", "b1"]  # b adopted the merged list
    a.add(["a2"], now=3.0)
    a.save()
    assert ids_on_disk(path) == ["a1", "b1", "a2"]
    b.reload()
    assert list(b.jobs) == ["a1", "b1", "a2"]


def test_two_instances_keep_each_others_removals(path: Path) -> None:
    a, b = Store(path), Store(path)
    a.add(["x", "y", "z"], now=1.0)
    a.save()
    b.load()
    a.remove("x")
    a.save()
    b.add(["w"], now=2.0)
    b.observe("x", {"id": "x"}, "processing", now=3.0)  # b still polls x: that's not a re-add
    b.save()
    assert ids_on_disk(path) == ["y", "z", "w"]
    assert "x" not in b.jobs
    b.remove("y")
    a.add(["v"], now=4.0)
    b.save()
    a.save()
    assert ids_on_disk(path) == ["z", "w", "v"]
    a.reload()
    assert list(a.jobs) == ["z", "w", "v"]


def test_remove_then_add_again(path: Path) -> None:
    a, b = Store(path), Store(path)
    a.add(["x"], now=1.0)
    a.save()
    b.load()
    b.remove("x")
    b.add(["x"], now=5.0)
    b.save()
    assert ids_on_disk(path) == ["x"]
    assert on_disk(path)["jobs"][0]["added_at"] == 1.0  # the earlier add time is kept


def test_both_observe_one_job(path: Path) -> None:
    a, b = Store(path), Store(path)
    a.add(["j"], now=0.0)
    a.save()
    b.load()
    a.observe("j", {"v": "a-submitted"}, "submitted", now=1.0)
    b.observe("j", {"v": "b-submitted"}, "submitted", now=1.5)
    b.observe("j", {"v": "b-processing"}, "processing", now=3.0)
    a.observe("j", {"v": "a-processing"}, "processing", now=2.0)
    a.observe("j", None, "processing", now=4.0)  # newest confirmation, no record
    b.save()
    a.save()
    job = a.jobs["j"]
    assert job.timeline == [("submitted", 1.0), ("processing", 2.0)]
    assert job.confirmed_at == 4.0
    assert job.record == {"v": "a-processing"}  # a's last record; its newest confirmation had none
    b.observe("j", {"v": "b-finished"}, "finished", now=5.0)
    b.save()
    job = b.jobs["j"]
    assert job.timeline == [("submitted", 1.0), ("processing", 2.0), ("finished", 5.0)]
    assert job.record == {"v": "b-finished"}
    assert Store(path).load() is None


def test_reload_keeps_pending_changes(path: Path) -> None:
    a, b = Store(path), Store(path)
    a.add(["a1"], now=1.0)
    a.save()
    b.add(["b1"], now=2.0)
    b.reload()
    assert list(b.jobs) == ["a1", "b1"]
    assert b.dirty
    assert ids_on_disk(path) == ["a1"]  # reload writes nothing
    b.save()
    assert ids_on_disk(path) == ["a1", "b1"] and not b.dirty


def test_merge_job_timeline_dedupes_by_time() -> None:
    theirs = WatchedJob("j", 5.0, timeline=[("submitted", 1.0), ("processing", 4.0)], confirmed_at=4.0)
    mine = WatchedJob("j", 3.0, timeline=[("submitted", 1.0), ("submitted", 2.0), ("processing", 3.0)],
                      confirmed_at=3.0, record={"r": 1})
    merged = store_mod._merge_job(theirs, mine)
    assert merged.timeline == [("submitted", 1.0), ("processing", 3.0)]
    assert merged.added_at == 3.0 and merged.confirmed_at == 4.0
    assert merged.record == {"r": 1}  # theirs is newer but has no record


def _add_fifty(path: str, prefix: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    s = Store(Path(path))
    s.load()
    barrier.wait(10)  # both have loaded the (empty) list before either saves
    for i in range(50):
        s.add([f"{prefix}-{i}"], now=float(i))
        s.save()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_two_processes_lose_nothing(path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_add_fifty, args=(str(path), name, barrier)) for name in ("p", "q")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    ids = ids_on_disk(path)
    assert len(ids) == 100
    assert set(ids) == {f"{n}-{i}" for n in ("p", "q") for i in range(50)}
    for n in ("p", "q"):  # each process's additions keep their order
        mine = [i for i in ids if i.startswith(n)]
        assert mine == [f"{n}-{i}" for i in range(50)]
    assert sorted(os.listdir(path.parent)) == sorted([path.name, path.name + ".lock"])  # no temp files


def test_changed_on_disk_notices_another_instance_saving(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.json"
    a, b = Store(path), Store(path)
    a.load()
    b.load()
    assert not a.changed_on_disk() and not b.changed_on_disk()
    a.add(["5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"], 1.0)
    a.save()
    assert not a.changed_on_disk()  # its own write
    assert b.changed_on_disk()
    b.save()  # nothing of b's to write: only merges
    assert list(b.jobs) == ["5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10"]
    assert not b.changed_on_disk()
