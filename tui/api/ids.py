"""Job ids: Daily's are UUIDs; anything else is refused before a request is made."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A UUID inside any text, not glued to more hex digits or letters (so a longer token is no id).
_UUID_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Za-z-])"
)
# Something that was probably meant as an id: hex and dashes, too long for a date (a cut-off paste).
_NEAR_MISS = re.compile(r"(?<![0-9A-Za-z-])[0-9A-Fa-f]{6,}(?:-[0-9A-Fa-f]*)+(?![0-9A-Za-z-])")
NEAR_MISS_MIN = 16
SAMPLES = 5  # ignored lines kept to name them


def is_job_id(text: str) -> bool:
    """Whether the text is one whole job id (a UUID, any case)."""
    return bool(_UUID.match(text.strip().lower()))


def normalize_job_id(text: str) -> str:
    """The canonical (lower-case) id, or ValueError naming the bad input."""
    candidate = text.strip().lower()
    if not _UUID.match(candidate):
        raise ValueError(f"not a job id (expected a UUID): {text.strip()!r}")
    return candidate


@dataclass(frozen=True)
class PickedIds:
    """The job ids found in some text, and what was left over."""

    ids: list[str]  # canonical (lower case), in order of first appearance, no repeats
    ignored: int  # non-blank lines that hold no job id
    near_misses: list[str] = field(default_factory=list)  # pieces that look like a cut or mistyped id
    samples: list[str] = field(default_factory=list)  # the first few ignored lines, stripped


def pick_job_ids(text: str) -> PickedIds:
    """Pick every job id (UUID) out of any text.

    Ids typed or pasted, a `batchmon list` table, log lines, JSON. A line without an id counts
    as ignored; 100,000 ids take about 0.1 s.
    """
    seen: dict[str, None] = {}
    ignored = 0
    samples: list[str] = []
    near: list[str] = []
    for line in text.splitlines():
        found = _UUID_IN_TEXT.findall(line)
        for job_id in found:
            seen[job_id.lower()] = None
        rest = _UUID_IN_TEXT.sub(" ", line) if found else line
        if len(near) < SAMPLES and "-" in rest:
            near.extend(piece for piece in _NEAR_MISS.findall(rest) if len(piece) >= NEAR_MISS_MIN)
        if found:
            continue
        stripped = line.strip()
        if not stripped:
            continue
        ignored += 1
        if len(samples) < SAMPLES:
            samples.append(stripped)
    return PickedIds(list(seen), ignored, near[:SAMPLES], samples)
