"""The sweep cost rule on its own: how many more list pages beat one GET per unseen active job."""

from __future__ import annotations

import pytest

from tui.poller.sweep import PAGE, UNLISTED, Sweep


def sweep(position: int = 0, *, total: int | None = None, max_pages: int = 1000, pages: int = 0) -> Sweep:
    s = Sweep(total, max_pages)
    s.position, s.pages = position, pages
    return s


def test_nothing_unseen_means_no_pages() -> None:
    assert sweep().pages_worth([]) == 0


def test_one_page_for_jobs_on_it() -> None:
    assert sweep().pages_worth([0.0, 5.0, 99.0]) == 1


def test_pages_win_a_tie() -> None:
    # One job on the next page: one page or one GET cost the same; the page confirms more.
    assert sweep().pages_worth([50.0]) == 1


def test_deep_pages_when_many_jobs_are_there() -> None:
    # 300 jobs at positions 500..799: 8 pages beat 300 GETs.
    assert sweep().pages_worth([float(d) for d in range(500, 800)]) == 8


def test_no_deep_pages_for_a_few_jobs() -> None:
    # 3 jobs under 2,000 newer ones: 20 pages cost more than 3 GETs.
    assert sweep().pages_worth([2000.0, 2001.0, 2002.0]) == 0


def test_stops_when_the_rest_is_cheaper_by_get() -> None:
    # 50 jobs on the next page, then 2 stragglers 5,000 deep: one page, then GETs.
    depths = [float(d) for d in range(100, 150)] + [5000.0, 5001.0]
    assert sweep(100).pages_worth(depths) == 1


def test_unlisted_jobs_only_count_as_gets() -> None:
    assert sweep().pages_worth([UNLISTED, UNLISTED]) == 0
    assert sweep().pages_worth([UNLISTED] * 10 + [10.0]) == 1


@pytest.mark.parametrize(("unknown", "total", "pages"), [(1, None, 1), (200, 10_000, 100), (5, 10_000, 0)])
def test_never_seen_jobs_are_spread_over_the_list(unknown: int, total: int | None, pages: int) -> None:
    # Unknown depths are taken as evenly spread over what is left of the list (total_count as a hint).
    assert sweep(total=total).pages_worth([None] * unknown) == pages


def test_the_page_cap_holds() -> None:
    assert sweep(max_pages=1).pages_worth([float(d) for d in range(500)]) == 1
    assert sweep(max_pages=1, pages=1, position=PAGE).pages_worth([150.0]) == 0


def test_estimate_follows_the_shift_and_drops_jobs_passed_by() -> None:
    s = sweep(300)
    assert s.estimate(None) is None
    assert s.estimate(UNLISTED) == UNLISTED
    s.shift = 50.0
    assert s.estimate(400.0) == 450.0  # newer jobs pushed it down
    assert s.estimate(260.0) == 310.0
    assert s.estimate(100.0) == UNLISTED  # more than a page behind where it should be: gone or omitted
    assert s.estimate(200.0) == 300.0  # not met yet but within a page: next in line
