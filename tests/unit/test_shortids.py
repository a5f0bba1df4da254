"""Short ids: a prefix of a watched id, resolved through the store's index."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.api.shortids import MIN_PREFIX, ShortIdError, looks_like_prefix, resolve
from tui.store.database import Store

A = "3f2a9c1b-0000-4000-8000-000000000001"
B = "3f2a9c1b-0000-4000-8000-000000000002"
C = "7b00ffee-1111-4111-8111-111111111111"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "state.db")
    opened.open()
    opened.add([A, B, C], time.time())
    yield opened
    opened.close()


def test_ids_with_prefix_is_a_range_of_the_id_index(store: Store) -> None:
    assert store.ids_with_prefix("3f2a", 10) == [A, B]
    assert store.ids_with_prefix("3F2A9C1B-0000-4000-8000-00000000000", 1) == [A]
    assert store.ids_with_prefix("7b00", 10) == [C]
    assert store.ids_with_prefix("0", 10) == []
    plan = (
        store._db()
        .execute("EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", ("a", "b", 2))
        .fetchall()
    )
    assert "USING COVERING INDEX" in str(plan) or "USING INDEX" in str(plan)


def test_unique_prefix_resolves(store: Store) -> None:
    assert resolve("7b00ff", store.ids_with_prefix) == C
    assert resolve("  7B00FFEE ", store.ids_with_prefix) == C


def test_whole_id_needs_no_lookup() -> None:
    def never(_prefix: str, _limit: int) -> list[str]:
        raise AssertionError("looked up a whole id")

    assert resolve(A.upper(), never) == A


def test_ambiguous_prefix_names_the_candidates(store: Store) -> None:
    with pytest.raises(ShortIdError) as caught:
        resolve("3f2a9c1b", store.ids_with_prefix)
    assert "ambiguous" in str(caught.value) and A in str(caught.value) and B in str(caught.value)


def test_unknown_and_short_prefixes(store: Store) -> None:
    with pytest.raises(ShortIdError, match="no watched job id starts with 'abcd'"):
        resolve("abcd", store.ids_with_prefix)
    with pytest.raises(ShortIdError, match="too short"):
        resolve("7b0"[: MIN_PREFIX - 1], store.ids_with_prefix)
    with pytest.raises(ShortIdError, match="not a job id"):
        resolve("hello", store.ids_with_prefix)


def test_what_looks_like_a_prefix() -> None:
    assert looks_like_prefix("3f2a9c1b") and looks_like_prefix("3F2A-9c")
    assert not looks_like_prefix("list") and not looks_like_prefix("-x") and not looks_like_prefix(A)


def test_settings_are_remembered_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = Store(path)
    first.open()
    assert first.setting("theme") is None
    first.set_setting("theme", "nord")
    first.close()
    again = Store(path)
    again.open()
    assert again.setting("theme") == "nord"
    assert again.load() == {}  # a setting is no job
    again.close()
