"""Job ids: Daily's are UUIDs; anything else is refused before a request is made."""

from __future__ import annotations

import re

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SEPARATORS = re.compile(r"[\s,;]+")


def is_job_id(text: str) -> bool:
    return bool(_UUID.match(text.strip().lower()))


def normalize_job_id(text: str) -> str:
    """The canonical (lower-case) id, or ValueError naming the bad input."""
    candidate = text.strip().lower()
    if not _UUID.match(candidate):
        raise ValueError(f"not a job id (expected a UUID): {text.strip()!r}")
    return candidate


def split_job_ids(text: str) -> tuple[list[str], list[str]]:
    """Split pasted text on spaces, commas or newlines into (valid ids, rejected pieces).

    Valid ids come back normalized, in order, without duplicates.
    """
    valid: list[str] = []
    rejected: list[str] = []
    for piece in _SEPARATORS.split(text):
        if not piece:
            continue
        if is_job_id(piece):
            job_id = piece.lower()
            if job_id not in valid:
                valid.append(job_id)
        else:
            rejected.append(piece)
    return valid, rejected
