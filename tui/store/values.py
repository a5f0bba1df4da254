"""Values as the store writes and reads them: finite numbers, records as JSON text."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

log = logging.getLogger("tui.store.database")  # the store's own logger: its warnings are the store's

UPSERT_RECORD = "INSERT INTO records (seq, json) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE SET json = excluded.json"


def is_number(value: Any) -> bool:
    """Whether the value is a finite int or float (not a bool)."""
    return type(value) in (int, float) and math.isfinite(value)


def finite(value: Any) -> float | None:
    """The value as a float if it is a finite number, else None."""
    return float(value) if is_number(value) else None


def dump(job_id: str, record: str | dict[str, Any] | None) -> str | None:
    """A record as JSON text; text is the body as it came, kept as it is.

    A record that cannot be written (nested too deep, ...) is skipped.
    """
    if record is None or isinstance(record, str):
        return record
    try:
        return json.dumps(record, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:
        log.warning("record of %r cannot be stored (%s); kept the previous one", job_id, type(exc).__name__)
        return None
