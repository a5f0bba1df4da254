"""Runtime fault switches for the simulated API; all off by default."""

from __future__ import annotations

import dataclasses
import random
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, cast

from tui.sim.ratelimit import SlidingWindowLimiter

# Field name -> accepted JSON types, for partial updates through PUT /_sim/faults.
_TYPES: dict[str, tuple[type, ...]] = {
    "status": (int, type(None)),
    "status_paths": (str, type(None)),
    "latency": (int, float),
    "drop": (int, float),
    "truncate": (bool,),
    "non_json": (bool,),
    "wrong_shape": (bool,),
    "rate_limit": (int, float, type(None)),
    "retry_after": (int, float, type(None)),
    "list_ignores_paging": (bool,),
    "list_omits": (int, float),
    "link_ttl": (int, float),
    "file_rate": (int, float, type(None)),
    "file_cut": (int, type(None)),
    "lose_answers": (int,),
}


@dataclass
class Faults:
    """Mutable: tests and demos flip fields while the server runs. Applies to /v1, except the file_* ones."""

    status: int | None = None  # answer every API request with this HTTP status
    status_paths: str | None = None  # regex searched in the path; limits where `status` applies
    latency: float = 0.0  # seconds added before answering
    drop: float = 0.0  # probability of closing the connection without a complete response
    truncate: bool = False  # 200 bodies cut in half
    non_json: bool = False  # 200 bodies replaced by an HTML page
    wrong_shape: bool = False  # 200 bodies wrapped in a JSON list
    rate_limit: float | None = None  # requests per 1 s window (5x that per 5 s window)
    retry_after: float | None = None  # seconds sent in Retry-After on 429s, if set
    list_ignores_paging: bool = False  # list endpoint always returns the first page
    list_omits: float = 0.0  # fraction of jobs the list endpoint leaves out
    link_ttl: float = 3600.0  # seconds a newly minted download link stays valid (0: expired at once)
    file_rate: float | None = None  # download bodies trickle at this many bytes/s
    file_cut: int | None = None  # download connections drop after this many body bytes
    # The next N submits/deletes are carried out, then the connection drops before the answer.
    lose_answers: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False, compare=False)
    limiter: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        # Setting a limit (or resetting it) starts from a clean slate, so tests don't inherit traffic.
        if name == "rate_limit" and "limiter" in self.__dict__:
            self.limiter.clear()

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _TYPES}

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update after checking every field; raises ValueError and changes nothing."""
        for name, value in changes.items():
            _check(name, value)
        for name, value in changes.items():
            setattr(self, name, value)

    def reset(self) -> None:
        for f in dataclasses.fields(self):
            if f.name not in ("rng", "limiter"):
                setattr(self, f.name, f.default)

    def status_applies(self, path: str) -> bool:
        return self.status is not None and (self.status_paths is None or re.search(self.status_paths, path) is not None)

    def should_drop(self) -> bool:
        return self.drop > 0 and self.rng.random() < self.drop

    def take_lost_answer(self, method: str) -> bool:
        """Whether this request's answer is lost after the server acts (counts one down if so)."""
        if method not in ("POST", "DELETE") or self.lose_answers <= 0:
            return False
        self.lose_answers -= 1
        return True

    def omits(self, job_id: str) -> bool:
        """Deterministic per id (crc32, unlike hash(), is stable across processes)."""
        return zlib.crc32(job_id.encode()) / 2**32 < self.list_omits


def _check(name: str, value: Any) -> None:
    types = _TYPES.get(name)
    if types is None:
        raise ValueError(f"unknown fault {name!r}")
    # bool is an int subclass; don't let `true` pass as a status code or a rate.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ValueError(f"bad value for {name}: {value!r}")
    value = cast(Any, value)  # checked above; isinstance against a tuple narrows it to `object`
    if name in ("drop", "list_omits") and not 0 <= value <= 1:
        raise ValueError(f"{name} is a probability between 0 and 1")
    if name == "file_rate" and value is not None and value <= 0:
        raise ValueError("file_rate must be above 0 bytes/s")
    if name == "status" and value is not None and not 400 <= value <= 599:
        raise ValueError("status must be an HTTP error code (400-599)")
    never_negative = ("latency", "rate_limit", "retry_after", "link_ttl", "file_cut", "lose_answers")
    if name in never_negative and value is not None and value < 0:
        raise ValueError(f"{name} must not be negative")
    if name == "status_paths" and value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad status_paths regex: {exc}") from None
