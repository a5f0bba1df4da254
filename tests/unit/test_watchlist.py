"""The WatchList without Textual: a real Store on a temporary path, real poller types."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx2
import pytest
from support import T0, FakeClock, load_example

from tui.api import BatchClient, Job
from tui.core.watchlist import WatchList
from tui.poller import EngineState, JobState, Poller, PollUpdate, StatusChange
from tui.sim import Simulator, create_app
from tui.store.database import Observation, Store

ENGINE = EngineState(mode="running", requests_made=0, requests_per_second=0.0, rate=5.0)


def new_id() -> str:
    return str(uuid.uuid4())


def make_poller() -> Poller:
    # A real poller whose loop never runs: the WatchList only tells it what to watch.
    sim = Simulator(seed=1, clock=lambda: T0)
    client = BatchClient("http://sim/v1", None, transport=httpx2.ASGITransport(app=create_app(sim)))
    return Poller(client, interval=1.0)


def make_list(path: Path, clock: FakeClock, **kwargs: Any) -> WatchList:
    return WatchList(Store(path), make_poller(), clock=clock, **kwargs)


def update(*states: JobState, changes: tuple[StatusChange, ...] = ()) -> PollUpdate:
    return PollUpdate(jobs=states, changes=changes, engine=ENGINE)


def record(job_id: str, example: str = "job-finished-transcript.json") -> Job:
    return Job.model_validate({**load_example(example), "id": job_id})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "batchmon.db"


def test_open_adds_ids_once_and_watches_them(db: Path, clock: FakeClock) -> None:
    a, b = new_id(), new_id()
    model = make_list(db, clock)
    added, warnings = model.open([a, b, a])
    assert added.added == [a, b] and added.already == 1 and warnings == []
    assert model.ids() == [a, b] and len(model) == 2 and a in model
    assert set(model.poller.states()) == {a, b}
    assert model.counts() == {"waiting": 2}
    assert model.add([b]).added == []
    model.close()
    again = make_list(db, clock)
    again.open()
    assert again.ids() == [a, b]


def test_saved_jobs_can_reach_the_poller_after_opening_in_batches(db: Path, clock: FakeClock) -> None:
    saved = [new_id() for _ in range(5)]
    first = make_list(db, clock)
    first.open(saved)
    first.store.stage(Observation(saved[0], "finished", None, T0, None))
    first.close()
    fresh = new_id()
    model = make_list(db, clock)
    model.open([fresh], poll=False)  # the first frame does not wait for the poller
    assert model.ids() == [*saved, fresh]
    assert set(model.poller.states()) == {fresh}  # given now, saved ones later
    batches = model.start_polling(batch=2)
    assert next(batches) == 2
    model.remove([saved[3]])  # between two batches: skipped, not handed over
    assert list(batches) == [3, 5]
    removed = saved[3]
    assert set(model.poller.states()) == {fresh, *saved} - {removed}
    assert model.poller.states()[saved[0]].status == "finished"  # its saved status goes with it
    model.close()


def test_poll_results_change_views_counts_and_are_saved(db: Path, clock: FakeClock) -> None:
    a, b = new_id(), new_id()
    model = make_list(db, clock)
    model.open([a, b])
    model.receive(update(JobState(a, status="processing", preset="transcript", confirmed_at=T0)))
    model.receive(update(JobState(a, status="finished", preset="transcript", job=record(a), confirmed_at=T0 + 1)))
    changes = model.take()
    assert [view.id for view in changes.views] == [a]  # coalesced: one row to repaint
    view = changes.views[0]
    assert view.status == "finished" and view.job is not None and view.confirmed_at == T0 + 1
    assert model.counts() == {"finished": 1, "waiting": 1}
    assert model.store.dirty
    assert model.save() > 0 and not model.store.dirty
    model.close()
    again = make_list(db, clock)
    again.open()
    saved = again.view(a)
    assert saved.status == "finished" and saved.preset == "transcript"
    assert saved.partial and saved.job is None, "records are not read at start"
    loaded = again.view(a, load=True)
    assert loaded.job is not None and loaded.job.id == a and not loaded.partial
    assert again.counts() == {"finished": 1, "waiting": 1}


def test_finished_jobs_are_not_polled_after_a_restart(db: Path, clock: FakeClock) -> None:
    a = new_id()
    model = make_list(db, clock)
    model.open([a])
    model.receive(update(JobState(a, status="finished", preset="summarize", confirmed_at=T0)))
    model.take()
    model.close()
    again = make_list(db, clock)
    again.open()
    assert again.poller.states()[a].status == "finished"
    assert again.poller.idle, "a job known to be finished needs no request"


def test_a_mere_confirmation_is_saved_only_now_and_then(db: Path, clock: FakeClock) -> None:
    a = new_id()
    model = make_list(db, clock, confirmation_save_every=60.0)
    model.open([a])
    model.receive(update(JobState(a, status="processing", confirmed_at=T0)))
    model.take()
    assert model.store.flush() == 1
    model.receive(update(JobState(a, status="processing", confirmed_at=T0 + 30)))
    assert model.take().views[0].confirmed_at == T0 + 30  # shown at once
    assert model.store.flush() == 0  # but not worth a write
    model.receive(update(JobState(a, status="processing", confirmed_at=T0 + 61)))
    model.take()
    assert model.store.flush() == 1


def test_endings_are_announced_but_first_sightings_are_not(db: Path, clock: FakeClock) -> None:
    a, b, c = new_id(), new_id(), new_id()
    model = make_list(db, clock)
    model.open([a, b, c])
    failed = record(b, "job-error.json")
    model.receive(
        update(
            JobState(a, status="finished", preset="soap-notes", confirmed_at=T0),
            JobState(b, status="error", preset="transcript", job=failed, confirmed_at=T0),
            JobState(c, status="finished", confirmed_at=T0),
            changes=(
                StatusChange(a, "processing", "finished", T0),
                StatusChange(b, "submitted", "error", T0),
                StatusChange(c, None, "finished", T0),
            ),
        )
    )
    ended = model.take().ended
    assert [(end.id, end.status) for end in ended] == [(a, "finished"), (b, "error")]
    assert ended[0].preset == "soap-notes" and ended[0].error is None
    assert ended[1].error == failed.error


def test_results_for_removed_jobs_are_dropped(db: Path, clock: FakeClock) -> None:
    a, b = new_id(), new_id()
    model = make_list(db, clock)
    model.open([a, b])
    model.receive(update(JobState(a, status="processing", confirmed_at=T0)))
    assert model.remove([a, new_id()]) == [a]
    assert model.take().views == []
    assert a not in model and a not in model.poller.states()
    assert model.counts() == {"waiting": 1}
    model.close()
    again = make_list(db, clock)
    again.open()
    assert again.ids() == [b]


def test_detail_has_the_timeline_including_what_is_not_saved_yet(db: Path, clock: FakeClock) -> None:
    a = new_id()
    model = make_list(db, clock)
    model.open([a])
    model.receive(
        update(JobState(a, status="submitted", confirmed_at=T0), changes=(StatusChange(a, None, "submitted", T0),))
    )
    model.take()
    model.save()
    model.receive(
        update(
            JobState(a, status="processing", confirmed_at=T0 + 5),
            changes=(StatusChange(a, "submitted", "processing", T0 + 5),),
        )
    )
    model.take()  # staged, not flushed
    assert model.detail(a).timeline == (("submitted", T0), ("processing", T0 + 5))


def test_records_are_asked_for_only_where_none_is_anywhere(db: Path, clock: FakeClock) -> None:
    a, b, c, d = new_id(), new_id(), new_id(), new_id()
    model = make_list(db, clock)
    model.open([a, b, c, d])
    model.receive(
        update(
            JobState(a, status="finished", confirmed_at=T0),  # from a list sweep: no record
            JobState(b, status="finished", job=record(b), confirmed_at=T0),
            JobState(c, gone=True),
        )
    )
    model.take()
    assert model.lacking_records([a, b, c, d, new_id()]) == [a, d]


def test_an_unreadable_stored_record_is_asked_for_again(db: Path, clock: FakeClock) -> None:
    a = new_id()
    store = Store(db)
    store.open()
    store.add([a], T0)
    store.stage(Observation(a, "finished", "transcript", T0, {"id": a, "input": "not an object"}))
    store.flush()
    store.close()
    model = make_list(db, clock)
    model.open()
    view = model.view(a, load=True)
    assert view.job is None and not view.partial and view.status == "finished"
    assert model.lacking_records([a]) == [a]


def test_another_instances_changes_are_followed(db: Path, clock: FakeClock) -> None:
    a, b, c = new_id(), new_id(), new_id()
    model = make_list(db, clock)
    model.open([a, b])
    assert model.reconcile() is None
    other = Store(db)
    other.open()
    other.add([c], T0 + 1)
    other.remove([a])
    other.stage(Observation(b, "finished", "summarize", T0 + 2))
    other.flush()
    other.close()
    reconciled = model.reconcile()
    assert reconciled is not None
    assert reconciled.removed == [a]
    assert {view.id: view.status for view in reconciled.views} == {c: None, b: "finished"}
    assert model.ids() == [b, c]
    assert c in model.poller.states() and a not in model.poller.states()
    assert model.counts() == {"finished": 1, "waiting": 1}
    assert model.reconcile() is None


def test_a_store_that_cannot_be_opened_leaves_a_working_list_in_memory(tmp_path: Path, clock: FakeClock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    model = make_list(blocker / "batchmon.db", clock)
    a = new_id()
    added, _ = model.open([a])
    assert added.added == [a] and model.problem
    assert model.ids() == [a] and a in model.poller.states()


def test_a_hundred_thousand_saved_jobs_open_without_reading_records(db: Path, clock: FakeClock) -> None:
    ids = [new_id() for _ in range(100_000)]
    store = Store(db)
    store.open()
    store.add(ids, T0)
    for job_id in ids[:1000]:
        store.stage(Observation(job_id, "finished", "transcript", T0, {"id": job_id, "status": "finished"}))
    store.flush()
    store.close()
    model = make_list(db, clock)
    model.open()
    views = model.views()
    assert len(views) == 100_000
    assert views[0].partial and views[0].job is None and views[0].status == "finished"
    assert model.counts() == {"finished": 1000, "waiting": 99_000}
    assert model.view(ids[0], load=True).job is not None


def test_a_record_nested_too_deep_is_cut_shown_and_saved(db: Path, clock: FakeClock) -> None:
    a = new_id()
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(400):  # deeper than pydantic serialises
        inner["a"] = {}
        inner = inner["a"]
    job = Job.model_validate({"id": a, "status": "finished", "preset": "transcript", "weird": deep})
    model = make_list(db, clock)
    model.open([a])
    model.receive(update(JobState(a, status="finished", preset="transcript", job=job, confirmed_at=T0)))
    assert model.take().views[0].job is job
    model.close()
    again = make_list(db, clock)
    again.open()
    view = again.view(a, load=True)
    assert view.status == "finished" and view.job is not None  # the parser cut the nesting, so it saves
    assert "nested too deeply" in str(view.job.unknown_fields)
    assert again.lacking_records([a]) == []


# -- no lost data: a database lost or damaged while running, an add that failed -------------------


def _saved_ids(db: Path) -> list[str]:
    store = Store(db)
    store.open()
    try:
        return list(store.load())
    finally:
        store.close()


def _damage(db: Path, how: str) -> None:
    if how == "deleted":
        db.unlink()
    elif how == "emptied":
        db.write_bytes(b"")
    elif how == "overwritten":
        db.write_bytes(b"not a database " * 500)
    else:  # replaced by another file under the same name
        db.rename(db.with_name("elsewhere.db"))
        db.write_bytes(b"")


@pytest.mark.parametrize("how", ["deleted", "emptied", "overwritten", "replaced"])
def test_a_database_lost_while_running_is_rewritten_from_memory(db: Path, clock: FakeClock, how: str) -> None:
    ids = [new_id() for _ in range(10)]
    model = make_list(db, clock)
    model.open(ids)
    model.receive(update(JobState(ids[0], status="finished", job=record(ids[0]), confirmed_at=T0)))
    model.take()
    model.save()
    _damage(db, how)
    assert model.store.replaced()
    model.save()  # the App's save timer
    assert model.problem is None
    assert any("saved the 10 watched jobs again" in notice for notice in model.notices)
    assert len(model) == 10, "memory is never emptied"
    more = new_id()
    model.add([more])  # keeps working on the new file
    model.close()
    assert sorted(_saved_ids(db)) == sorted([*ids, more])
    again = make_list(db, clock)
    again.open()
    view = again.view(ids[0], load=True)
    assert view.status == "finished" and view.job is not None, "the record was written again too"


def test_an_add_the_store_refused_is_saved_when_the_store_works_again(
    db: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.store.database import StoreError

    model = make_list(db, clock)
    model.open()
    original = Store.add

    def broken(_self: Store, _ids: Any, _now: float, **_: Any) -> list[str]:
        raise StoreError("watch list is busy (another batchmon holds it); try again")

    monkeypatch.setattr(Store, "add", broken)
    job_id = new_id()
    assert model.add([job_id]).added == [job_id]
    assert model.problem is not None and job_id in model
    monkeypatch.setattr(Store, "add", original)
    model.save()
    assert model.problem is None
    assert _saved_ids(db) == [job_id]


def test_adds_are_committed_at_once(db: Path, clock: FakeClock) -> None:
    model = make_list(db, clock)
    model.open()
    job_id = new_id()
    model.add([job_id])  # no save(), no close(): another reader sees it already
    assert _saved_ids(db) == [job_id]


async def test_a_record_is_stored_as_the_api_sent_it_and_read_back_from_that(db: Path, clock: FakeClock) -> None:
    # body -> Job + raw; raw stored; raw read back -> Job. A dump of the parsed Job would differ:
    # numbers become strings (coerce_numbers_to_str), a long unknown string is cut.
    sim = Simulator(seed=1, clock=lambda: T0)
    transport = httpx2.ASGITransport(app=create_app(sim))
    job_id = sim.create_job()
    sim.set_extra(job_id, {"preset": 7, "note": "x" * 100_500, "nested": {"b": 1, "a": [1.50, None]}})
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim/v1") as plain:
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        body = (await plain.get(f"/batch-processor/{job_id}", headers=headers)).text
    async with BatchClient("http://sim/v1", sim.api_key, transport=transport) as client:
        job = await client.get_job(job_id)
    assert job.raw == body and job.preset == "7"
    assert json.dumps(job.model_dump(mode="json", by_alias=True, exclude_unset=True)) != body

    model = make_list(db, clock)
    model.open([job_id])
    model.receive(update(JobState(job_id, status=job.status, preset=job.preset, confirmed_at=T0, job=job)))
    model.take()
    model.save()
    model.close()
    store = Store(db)
    store.open()
    assert store.record_text(job_id) == body
    store.close()

    again = make_list(db, clock)
    again.open()
    read_back = again.view(job_id, load=True).job
    assert read_back is not None and read_back.raw == body and read_back == job
    again.close()
