"""tui.outputs against the simulator on a loopback port: links, reads, downloads, re-minting, and the key."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from support import unreachable_url

from tui.api import BatchClient, RequestBudget, errors
from tui.api.models import AccessLinks, Job
from tui.core.config import ConfigError, load_settings
from tui.outputs import (
    DownloadExists,
    OutputError,
    OutputLink,
    Outputs,
    SaveError,
    download_folder,
    main_output,
)
from tui.outputs.links import MAX_NAME
from tui.sim import Faults, SimServer, Simulator
from tui.sim.content import render

KEY = "outputs-secret-key-91c4"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with SimServer(Simulator(jobs=0, seed=7, api_key=KEY), Faults()) as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> Iterator[Simulator]:
    server.faults.reset()
    server.sim.requests.clear()
    server.sim.file_requests.clear()
    yield server.sim
    server.faults.reset()


@pytest.fixture
def faults(server: SimServer, sim: Simulator) -> Faults:  # noqa: ARG001  # a fresh sim
    return server.faults


@pytest.fixture
async def outputs(server: SimServer, sim: Simulator) -> AsyncIterator[Outputs]:  # noqa: ARG001  # a fresh sim
    async with BatchClient(server.base_url, KEY, budget=RequestBudget(20)) as client, Outputs(client) as out:
        yield out


def served(sim: Simulator, job_id: str, name: str) -> bytes:
    rendered = render(name, job_id=job_id, preset=sim.job(job_id).preset)
    assert rendered is not None
    return rendered[0].encode()


def access_link_calls(sim: Simulator) -> int:
    return sum(1 for entry in sim.requests.entries() if entry.path.endswith("/access-link"))


def link_of(links: list[OutputLink], kind: str, fmt: str = "txt") -> OutputLink:
    return next(link for link in links if link.kind == kind and link.format == fmt)


# -- names and the main output ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "filename", "label"),
    [
        (OutputLink("transcription", "srt", "u"), "transcription.srt", "transcription srt"),
        (OutputLink("summary", "txt", "u"), "summary.txt", "summary txt"),
        (OutputLink("soap", "JSON", "u"), "soap.json", "soap JSON"),
        (OutputLink("transcription", "txt", "u", index=1), "transcription-2.txt", "transcription txt #2"),
        (OutputLink("../../etc/passwd", "t x/t", "u"), "etc_passwd.t_x_t", "../../etc/passwd t x/t"),
        (OutputLink("chapters", None, "u"), "chapters", "chapters"),
        (OutputLink("..", ".", "u"), "output", ".. ."),
        (OutputLink("sum\x1b[2Jmary", "txt", "u"), "sum_2Jmary.txt", "sum\\x1b[2Jmary txt"),
    ],
)
def test_file_names_are_safe_and_labels_printable(link: OutputLink, filename: str, label: str) -> None:
    assert link.filename == filename
    assert link.label == label


def _links(*pairs: tuple[str, str | None]) -> list[OutputLink]:
    return [OutputLink(kind, fmt, f"u{i}") for i, (kind, fmt) in enumerate(pairs)]


@pytest.mark.parametrize(
    ("preset", "pairs", "expected"),
    [
        ("transcript", [("transcription", "json"), ("transcription", "srt"), ("transcription", "txt")], 2),
        ("transcript", [("transcription", "json"), ("transcription", "TXT")], 1),
        ("transcript", [("summary", "txt"), ("transcription", "json"), ("transcription", "vtt")], 1),
        ("summarize", [("transcription", "txt"), ("summary", "txt")], 1),
        ("soap-notes", [("transcription", "txt"), ("concept", "json"), ("soap", "json")], 2),
        ("soap-notes", [("transcription", "json"), ("concept", "json")], 0),  # no soap: the first
        ("something-new", [("chapters", "json"), ("transcription", "txt")], 0),
        (None, [("summary", "txt"), ("transcription", "txt")], 0),
    ],
)
def test_main_output(preset: str | None, pairs: list[tuple[str, str | None]], expected: int) -> None:
    links = _links(*pairs)
    assert main_output(preset, links) is links[expected]


def test_main_output_of_nothing_and_of_output_refs() -> None:
    assert main_output("transcript", []) is None
    job = Job.model_validate(
        {
            "id": "j",
            "output": {
                "transcription": [{"format": "json", "s3Config": {"key": "a.json"}}],
                "summary": {"format": "txt", "s3Config": {"key": "s"}},
            },
        }
    )
    main = main_output("summarize", job.outputs())
    assert main is not None and main.key == "s"


# -- both shapes, and kinds added later ---------------------------------------------------------

LINK = {"format": "txt", "link": "https://files.example/x"}


@pytest.mark.parametrize("kind", ["transcription", "summary", "soap", "concept", "chapters"])
@pytest.mark.parametrize("shape", ["object", "list"])
def test_access_link_kinds_as_object_or_list(kind: str, shape: str) -> None:
    second = {"format": "txt", "link": "https://files.example/y"}
    value: Any = LINK if shape == "object" else [LINK, second]
    body = AccessLinks.model_validate({"id": "j", "status": "finished", kind: value, "expires_in": 3600})
    assert [(k, item.link) for k, item in body.links()] == [(kind, LINK["link"])] + (
        [(kind, second["link"])] if shape == "list" else []
    )


def test_unknown_keys_that_hold_no_links_are_not_kinds() -> None:
    body = AccessLinks.model_validate(
        {"transcription": LINK, "notes": {"format": "txt"}, "tags": ["a"], "empty": [], "odd": {"link": ["x"]}}
    )
    assert [kind for kind, _ in body.links()] == ["transcription"]


def test_job_output_unknown_kinds_become_output_refs() -> None:
    job = Job.model_validate(
        {
            "id": "j",
            "output": {
                "summary": [{"format": "txt", "s3Config": {"key": "s", "bucket": "b"}}],
                "chapters": {"format": "json", "s3Config": {"key": "c.json", "bucket": "b"}},
                "highlights": [{"format": "vtt", "s3Config": {"key": "h.vtt", "bucket": "b"}}],
                "version": 2,
                "broken": {"format": "json", "s3Config": "not an object"},
            },
        }
    )
    assert [(ref.kind, ref.format, ref.s3_uri) for ref in job.outputs()] == [
        ("summary", "txt", "s3://b/s"),
        ("chapters", "json", "s3://b/c.json"),
        ("highlights", "vtt", "s3://b/h.vtt"),
    ]


async def test_simulator_serves_both_shapes_and_links_read_them_alike(
    server: SimServer, sim: Simulator, outputs: Outputs
) -> None:
    jobs = [sim.create_job(preset="summarize", status="finished") for _ in range(8)]
    shapes: dict[str, str] = {}
    async with httpx2.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}) as raw:
        for job_id in jobs:
            body = (await raw.get(f"/batch-processor/{job_id}/access-link")).json()
            record = (await raw.get(f"/batch-processor/{job_id}")).json()
            # The job's `output` and its access-link answer use the same shape.
            assert type(body["summary"]) is type(record["output"]["summary"])
            shapes[job_id] = type(body["summary"]).__name__
    assert set(shapes.values()) == {"dict", "list"}  # a seeded mix: both occur
    for job_id in jobs:
        links = await outputs.links(job_id)
        assert [link.label for link in links] == [
            "transcription json",
            "transcription srt",
            "transcription txt",
            "transcription vtt",
            "summary txt",
        ]
        assert all(link.url.startswith(f"http://localhost:{server.port}/files/{job_id}/") for link in links)


# -- the key never reaches the file host ----------------------------------------------------------


async def test_file_requests_never_carry_the_key(
    server: SimServer, sim: Simulator, outputs: Outputs, tmp_path: Path
) -> None:
    job_id = sim.create_job(preset="soap-notes", status="finished")
    links = await outputs.links(job_id)
    await outputs.read(job_id, main_output("soap-notes", links) or links[0])
    for link in links:
        await outputs.download(job_id, link, tmp_path)

    files = sim.file_requests.entries()
    assert len(files) == 1 + len(links)
    for entry in files:
        assert entry.host == f"localhost:{server.port}"
        assert entry.header("authorization") is None
        assert not any(KEY in value for _, value in entry.headers) and KEY not in entry.path
    api = sim.requests.entries()
    assert api and all(entry.header("authorization") == f"Bearer {KEY}" for entry in api)
    assert all(entry.host == f"127.0.0.1:{server.port}" for entry in api)


@pytest.mark.usefixtures("server")
async def test_the_file_log_would_catch_a_leaked_key(sim: Simulator, outputs: Outputs) -> None:
    # The check above can fail: a request that does carry the key is recorded with it.
    job_id = sim.create_job(status="finished")
    link = (await outputs.links(job_id))[0]
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as leaky:
        assert (await leaky.get(link.url)).status_code == 200
    assert sim.file_requests.entries()[-1].header("authorization") == f"Bearer {KEY}"


# -- reading and downloading ------------------------------------------------------------------------


async def test_read_streams_up_to_the_cap(sim: Simulator, outputs: Outputs) -> None:
    job_id = sim.create_job(preset="transcript", status="finished")
    link = link_of(await outputs.links(job_id), "transcription", "json")
    whole = served(sim, job_id, "transcript.json")
    seen: list[tuple[int, int | None]] = []

    full = await outputs.read(job_id, link, progress=lambda done, total: seen.append((done, total)))
    assert (full.data, full.truncated, full.size) == (whole, False, len(whole))
    assert seen[-1] == (len(whole), len(whole))

    cut = await outputs.read(job_id, link, cap=100)
    assert (cut.data, cut.truncated, cut.size) == (whole[:100], True, len(whole))
    exact = await outputs.read(job_id, link, cap=len(whole))
    assert (exact.data, exact.truncated) == (whole, False)


async def test_download_writes_exactly_the_bytes_served(sim: Simulator, outputs: Outputs, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="soap-notes", status="finished")
    folder = download_folder(tmp_path, job_id)
    links = await outputs.links(job_id)
    names = {"transcription": "transcript", "soap": "soap", "concept": "concept"}
    for link in links:
        progress: list[int] = []

        def note(done: int, _: int | None, progress: list[int] = progress) -> None:
            progress.append(done)

        path = await outputs.download(job_id, link, folder, progress=note)
        assert path == tmp_path / job_id / link.filename
        expected = served(sim, job_id, f"{names[link.kind]}.{link.format}")
        assert path.read_bytes() == expected and progress[-1] == len(expected)
    assert sorted(p.name for p in folder.iterdir()) == sorted(link.filename for link in links)


async def test_existing_file_is_refused_unless_forced(sim: Simulator, outputs: Outputs, tmp_path: Path) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    link = link_of(await outputs.links(job_id), "summary")
    target = tmp_path / "summary.txt"
    target.write_text("mine")
    with pytest.raises(DownloadExists) as caught:
        await outputs.download(job_id, link, tmp_path)
    assert caught.value.path == target and str(target) in str(caught.value)
    assert target.read_text() == "mine" and sim.file_requests.count == 0  # refused before any request
    assert await outputs.download(job_id, link, tmp_path, force=True) == target
    assert target.read_bytes() == served(sim, job_id, "summary.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["summary.txt"]


async def test_a_dropped_download_leaves_no_file(
    sim: Simulator, faults: Faults, outputs: Outputs, tmp_path: Path
) -> None:
    job_id = sim.create_job(status="finished")
    link = link_of(await outputs.links(job_id), "transcription")
    faults.file_cut = 40
    with pytest.raises(OutputError, match=r"connection to the file host localhost failed"):
        await outputs.download(job_id, link, tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the final name nor the temporary file


async def test_a_cancelled_download_leaves_no_file(
    sim: Simulator, faults: Faults, outputs: Outputs, tmp_path: Path
) -> None:
    job_id = sim.create_job(status="finished")
    link = link_of(await outputs.links(job_id), "transcription", "json")
    faults.file_rate = 2000  # a few seconds for the Deepgram JSON
    started = asyncio.Event()
    task = asyncio.create_task(outputs.download(job_id, link, tmp_path, progress=lambda *_: started.set()))
    await asyncio.wait_for(started.wait(), 5)
    [temp] = list(tmp_path.iterdir())
    assert temp.name.startswith(".transcription.json.") and temp.name.endswith(".part")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


async def test_unwritable_folder_is_a_save_error(sim: Simulator, outputs: Outputs, tmp_path: Path) -> None:
    job_id = sim.create_job(status="finished")
    link = (await outputs.links(job_id))[0]
    (tmp_path / "blocker").write_text("a file where the folder should be")
    with pytest.raises(SaveError, match="cannot write to"):
        await outputs.download(job_id, link, tmp_path / "blocker" / job_id)


# -- stale links, errors ----------------------------------------------------------------------------


async def test_an_expired_link_is_minted_again_once(sim: Simulator, faults: Faults, outputs: Outputs) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    faults.link_ttl = 0  # links minted now are expired at once
    stale = link_of(await outputs.links(job_id), "summary")
    faults.link_ttl = 3600
    fetched = await outputs.read(job_id, stale)
    assert fetched.data == served(sim, job_id, "summary.txt")
    assert fetched.link.url != stale.url and (fetched.link.kind, fetched.link.format) == ("summary", "txt")
    assert [entry.status for entry in sim.file_requests.entries()] == [403, 200]
    assert access_link_calls(sim) == 2


async def test_a_link_that_stays_expired_is_reported_after_one_retry(
    sim: Simulator, faults: Faults, outputs: Outputs, tmp_path: Path
) -> None:
    job_id = sim.create_job(preset="summarize", status="finished")
    faults.link_ttl = 0
    link = link_of(await outputs.links(job_id), "summary")
    with pytest.raises(OutputError) as caught:
        await outputs.download(job_id, link, tmp_path)
    message = str(caught.value)
    assert message.startswith("summary txt: localhost refused the link") and "Request has expired" in message
    assert "\n" not in message
    assert [entry.status for entry in sim.file_requests.entries()] == [403, 403]
    assert access_link_calls(sim) == 2
    assert list(tmp_path.iterdir()) == []


async def test_a_deleted_job_is_reported_as_not_found(sim: Simulator, outputs: Outputs) -> None:
    job_id = sim.create_job(status="finished")
    link = (await outputs.links(job_id))[0]
    sim.delete(job_id)
    with pytest.raises(errors.NotFound):  # the file is gone (404), and so is the job
        await outputs.read(job_id, link)
    assert [entry.status for entry in sim.file_requests.entries()] == [404]


async def test_links_of_an_unfinished_or_unknown_job(sim: Simulator, outputs: Outputs) -> None:
    running = sim.create_job(status="processing", done_in=None)
    with pytest.raises(errors.NotFinished):
        await outputs.links(running)
    with pytest.raises(errors.NotFound):
        await outputs.links("0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a")


async def test_unreachable_file_host_is_named(outputs: Outputs) -> None:
    url = unreachable_url().replace("/v1", "/files/x.txt")
    with pytest.raises(OutputError, match=r"^summary txt: could not connect to the file host 127\.0\.0\.1$"):
        await outputs.read("j", OutputLink("summary", "txt", url))
    with pytest.raises(OutputError, match="not an http"):
        await outputs.read("j", OutputLink("summary", "txt", "ftp://files.example/x"))


# -- the request budget: a user's request goes first -----------------------------------------------


async def until_granted(budget: RequestBudget | None, count: int) -> None:
    assert budget is not None
    while budget.requests_made < count:
        await asyncio.sleep(0.005)


async def test_urgent_requests_jump_the_queue_and_spacing_holds() -> None:
    budget = RequestBudget(10)
    loop = asyncio.get_running_loop()
    granted: list[tuple[str, float]] = []

    async def take(name: str, urgent: bool = False) -> None:
        await budget.acquire(urgent=urgent)
        granted.append((name, loop.time()))

    background = [asyncio.create_task(take(f"bg{i}")) for i in range(5)]
    await until_granted(budget, 2)  # bg0 and bg1 are through; bg2..bg4 wait
    await take("user", urgent=True)
    await asyncio.gather(*background)
    order = [name for name, _ in granted]
    assert order[:2] == ["bg0", "bg1"] and order[2] == "user" and order[3:] == ["bg2", "bg3", "bg4"]
    times = [at for _, at in granted]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.1  # never above the rate
    assert budget.requests_made == 6


async def test_a_cancelled_waiter_does_not_take_a_slot() -> None:
    budget = RequestBudget(5)
    await budget.acquire()
    doomed = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.wait_for(budget.acquire(urgent=True), 1)
    assert budget.requests_made == 2


# -- where downloads go -----------------------------------------------------------------------------


def test_download_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("platformdirs.user_downloads_dir", lambda: str(tmp_path / "Downloads"))
    assert download_folder(None, "abc") == tmp_path / "Downloads" / "batchmon" / "abc"
    assert download_folder(tmp_path / "mine", "abc") == tmp_path / "mine" / "abc"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert download_folder(Path("~/out"), "abc") == tmp_path / "out" / "abc"
    assert download_folder(tmp_path, "../../x") == tmp_path / "x"


def test_download_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / "config.toml"
    assert load_settings(path=config, env={}).download_dir is None
    config.write_text('download_dir = "~/Transcripts"\n')
    assert load_settings(path=config, env={}).download_dir == tmp_path / "Transcripts"
    config.write_text("download_dir = 3\n")
    with pytest.raises(ConfigError, match="download_dir must be a string"):
        load_settings(path=config, env={})


async def test_access_links_go_before_queued_polling(server: SimServer, sim: Simulator, faults: Faults) -> None:
    finished = sim.create_job(status="finished")
    polled = [sim.create_job(status="processing", done_in=None) for _ in range(6)]
    faults.rate_limit = 4  # the simulator refuses anything above the budget
    async with BatchClient(server.base_url, KEY, budget=RequestBudget(4)) as client, Outputs(client) as out:
        background = [asyncio.create_task(client.get_job(job_id)) for job_id in polled]
        await until_granted(client.budget, 2)  # two GETs are through, four wait in the budget
        await out.links(finished)
        await asyncio.gather(*background)
    paths = [entry.path for entry in sim.requests.entries()]
    assert paths.index(f"/v1/batch-processor/{finished}/access-link") == 2
    assert sim.requests.count_status(429) == 0 and sim.requests.max_in_window(1.0) <= 4


def test_file_names_never_leave_the_folder() -> None:
    rng = random.Random(11)
    alphabet = "aZ9._-/\\ :*?\x00\x1b\u202e\u00e9\U0001f600"
    for _ in range(2000):
        kind = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        fmt = None if rng.random() < 0.2 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        name = OutputLink(kind, fmt, "u", rng.randint(0, 99)).filename
        assert name and not name.startswith(".") and len(name) <= 2 * MAX_NAME + 4
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", name) and name.count(".") <= 1
