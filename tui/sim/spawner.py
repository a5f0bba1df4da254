"""A stream of new jobs into a running simulator, so following the domain has something to find."""

from __future__ import annotations

import random
import threading

from tui.sim.job import ERROR, FINISHED, PRESETS, new_uuid
from tui.sim.seeding import random_input
from tui.sim.state import Simulator

SEED_SALT = 0x5EED  # the spawner's own stream: spawning never shifts the seeded jobs' ids


class Spawner:
    """Creates a job every `every` seconds on average (gaps between 2/3 and 4/3 of it), on a thread.

    Ids, presets, inputs, outcomes and gaps come from `seed`, so two runs spawn the same jobs in the
    same order; lifecycles take a few seconds to half a minute, compressed by the simulator's speed.
    """

    def __init__(self, sim: Simulator, every: float, *, seed: int = 0) -> None:
        if not every > 0:
            raise ValueError("every must be positive")
        self.sim = sim
        self.every = every
        self._rng = random.Random(seed ^ SEED_SALT)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.spawned: list[str] = []

    def next_gap(self) -> float:
        return self._rng.uniform(self.every * 2 / 3, self.every * 4 / 3)

    def spawn(self) -> str:
        """One new job, submitted now."""
        rng, speed = self._rng, self.sim.speed
        processing_in = rng.uniform(1, 5) / speed
        job_id = self.sim.create_job(
            preset=rng.choices(PRESETS, (55, 30, 15))[0],
            source=random_input(rng),
            outcome=ERROR if rng.random() < 0.15 else FINISHED,
            processing_in=processing_in,
            done_in=processing_in + rng.uniform(5, 30) / speed,
            job_id=new_uuid(rng),
        )
        self.spawned.append(job_id)
        return job_id

    def start(self) -> Spawner:
        self._thread = threading.Thread(target=self._run, name="sim-spawner", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.next_gap()):
            self.spawn()
