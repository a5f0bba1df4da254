"""A long-lived writer (the store as the TUI drives it) beside short-lived `batchmon add`/`remove` processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import BATCHMON

pytestmark = pytest.mark.slow

# What the TUI does with its store every couple of seconds, sped up: look for a replaced file,
# stage observations, flush, read other instances' changes. It stops when `stop` appears.
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tui.store.database import Store, Observation

    store = Store(Path(sys.argv[1]))
    store.open()
    known = list(store.load())
    stop = Path(sys.argv[2])
    n = 0
    while not stop.exists():
        if store.replaced():  # nobody replaces the file here: a wrong answer would make the TUI rescue
            print("replaced", flush=True)
        changes = store.foreign_changes()
        if changes is not None:
            known = [j.id for j in changes.upserted if j.id not in changes.removed] + known
            known = [i for i in dict.fromkeys(known) if i not in changes.removed]
        for job_id in known[:20]:
            n += 1
            status = ("submitted", "processing", "finished")[n % 3]
            store.stage(Observation(job_id, status, "transcript", time.time(), {"id": job_id, "status": status}))
        store.flush()
        time.sleep(0.02)
    store.close()
    print("ok", flush=True)
    """
)

ROUNDS = 8  # `add`s per shell (a count, not a time: on a busy machine a time ran too few to prove anything)
LOOPS = 3  # shells running `batchmon add` / `remove` side by side


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([BATCHMON, *args], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _shell(env: dict[str, str]) -> tuple[set[str], set[str]]:
    """Adds ROUNDS fresh ids and removes every other one it added; what the commands said."""
    added: set[str] = set()
    removed: set[str] = set()
    mine: list[str] = []
    for _ in range(ROUNDS):
        job_id = str(uuid.uuid4())
        if _cli(env, "add", job_id).startswith("added 1,"):
            added.add(job_id)
            mine.append(job_id)
        if len(mine) % 2 == 0 and mine:
            victim = mine.pop(0)
            if _cli(env, "remove", victim).startswith("removed 1"):
                removed.add(victim)
    return added, removed


def test_a_long_lived_writer_and_short_lived_commands_leave_an_ok_database(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("DAILY_API_KEY", None)
    seed = [str(uuid.uuid4()) for _ in range(30)]
    _cli(env, "add", *seed)
    db = Path(next(line.split(None, 1)[1] for line in _cli(env, "locate").splitlines() if line.startswith("state")))
    assert db.exists()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, str(script), str(db), str(stop)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        with ThreadPoolExecutor(LOOPS) as pool:
            results = list(pool.map(lambda _: _shell(env), range(LOOPS)))
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=30)
    added = set().union(*(a for a, _ in results))
    removed = set().union(*(r for _, r in results))
    assert len(added) > 10, "the commands ran"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        saved = {row[0] for row in conn.execute("SELECT id FROM jobs")}
    assert saved == (set(seed) | added) - removed
    assert writer.returncode == 0 and out.strip() == "ok", out
