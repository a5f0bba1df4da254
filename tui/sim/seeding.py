"""Deterministic, realistic-looking jobs for demos, tests and benchmarks."""

from __future__ import annotations

import random
from typing import Any

from tui.sim.job import DEFAULT_ERROR, ERROR, FINISHED, PRESETS, PROCESSING, SUBMITTED, Job, new_uuid

MEETINGS = ("standup-notes", "weekly-sync", "design-review", "all-hands", "customer-call", "retro", "interview")
MEDIA = ("weekly-sync", "customer-call", "podcast-episode", "lecture", "town-hall", "support-call", "webinar")
LANGUAGES = ("en", "en", "en", "en-US", "en-GB", "es", "de", "fr", "pt-BR")
ERRORS = (
    DEFAULT_ERROR,
    DEFAULT_ERROR,
    "Error: Failed to download input file",
    "Error: Recording not found",
)
# The first four seeded jobs take one status each so any N >= 4 shows every state.
KINDS = (FINISHED, ERROR, PROCESSING, SUBMITTED)
KIND_WEIGHTS = (45, 10, 20, 25)


def seeded_jobs(count: int, rng: random.Random, now: float, speed: float) -> list[Job]:
    """`count` jobs in a mix of states; future transitions fall within about five minutes at speed 1."""
    recordings: list[str] = []
    jobs = []
    for i in range(count):
        kind = KINDS[i] if i < len(KINDS) else rng.choices(KINDS, KIND_WEIGHTS)[0]
        job_id = new_uuid(rng)
        preset = rng.choices(PRESETS, (55, 30, 15))[0]
        jobs.append(
            Job(
                id=job_id,
                preset=preset,
                input=random_input(rng, recordings),
                template=random_template(rng, preset),
                events=_timeline(rng, kind, now, speed),
                error=rng.choice(ERRORS),
            )
        )
    return jobs


def random_input(rng: random.Random, recordings: list[str] | None = None) -> dict[str, Any]:
    """A recordingId or uri input; recordings are sometimes reused, as when one call is transcribed and summarised."""
    if rng.random() < 0.5:
        if recordings and rng.random() < 0.3:
            recording_id = rng.choice(recordings)
        else:
            recording_id = new_uuid(rng)
            if recordings is not None:
                recordings.append(recording_id)
        return {"sourceType": "recordingId", "recordingId": recording_id}
    name = f"{rng.choice(MEDIA)}-2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    ext = rng.choice(("mp4", "mp3"))
    return {
        "sourceType": "uri",
        "uri": f"https://media.example.org/uploads/{name}.{ext}",
        "language": rng.choice(LANGUAGES),
    }


def random_template(rng: random.Random, preset: str) -> str:
    if preset == "soap-notes":
        return f"visit-{rng.randint(1, 9999):04d}"
    return rng.choice(MEETINGS)


def _timeline(rng: random.Random, kind: str, now: float, speed: float) -> list[tuple[str, float]]:
    """Offsets are drawn in seconds at speed 1, then compressed by `speed`."""

    def at(offset: float) -> float:
        return now + offset / speed

    outcome = ERROR if rng.random() < 0.15 else FINISHED
    if kind in (FINISHED, ERROR):
        done = -rng.uniform(60, 3 * 3600)
        processing = done - rng.uniform(20, 300)
        created = processing - rng.uniform(1, 60)
        outcome = kind
    elif kind == PROCESSING:
        processing = -rng.uniform(5, 120)
        created = processing - rng.uniform(1, 30)
        done = rng.uniform(10, 240)
    else:
        created = -rng.uniform(0, 30)
        processing = rng.uniform(5, 120)
        done = processing + rng.uniform(20, 180)
    return [(SUBMITTED, at(created)), (PROCESSING, at(processing)), (outcome, at(done))]
