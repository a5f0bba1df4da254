"""Short job ids: a unique prefix of a watched job's id (as the table shows it) stands for the whole id.

The one resolver of the project: every command that takes a job id and the TUI's `a` dialog go
through `resolve`, so a prefix means the same everywhere (at least `MIN_PREFIX` characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tui.api.ids import normalize_job_id

MIN_PREFIX = 4  # shorter prefixes match too much to be worth typing
CANDIDATES = 5  # ids named when a prefix is ambiguous
_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]*$")

# (prefix, limit) -> watched ids starting with prefix, e.g. Store.ids_with_prefix
Lookup = Callable[[str, int], list[str]]


FOLLOWED_MARK = "◆"  # the table marks a followed job's id so; a pasted cell keeps it


class ShortIdError(ValueError):
    """A text that is neither a job id nor a unique prefix of a watched one; the message is one line."""


class NoMatch(ShortIdError):
    """A well-formed prefix that no watched id starts with (`remove` counts it as not watched)."""


def _bare(text: str) -> str:
    """The text without spaces around it and without the table's followed mark."""
    return text.strip().removeprefix(FOLLOWED_MARK).strip()


def looks_like_prefix(text: str) -> bool:
    """Hex digits and dashes, shorter than a whole id: meant as a short id, not as a command or a typo."""
    candidate = _bare(text).lower()
    return len(candidate) < 36 and bool(_PREFIX.match(candidate))


def resolve(text: str, lookup: Lookup) -> str:
    """The canonical id for a whole id, or the one watched id that `text` is a prefix of.

    Raises ShortIdError saying what went wrong: too short, no watched id starts with it, or the
    candidates when several do.
    """
    bare = _bare(text)
    try:
        return normalize_job_id(bare)
    except ValueError as not_whole:
        if not looks_like_prefix(bare):
            raise ShortIdError(str(not_whole)) from None
    prefix = bare.lower()
    if len(prefix) < MIN_PREFIX:
        raise ShortIdError(f"{prefix!r} is too short for a short job id (give at least {MIN_PREFIX} characters)")
    found = lookup(prefix, CANDIDATES + 1)
    if not found:
        raise NoMatch(f"no watched job id starts with {prefix!r} (a whole id works for any job)")
    if len(found) > 1:
        named = ", ".join(found[:CANDIDATES]) + (", …" if len(found) > CANDIDATES else "")
        raise ShortIdError(f"{prefix!r} is ambiguous: it starts {named}; give more characters")
    return found[0]
