"""Picking job ids out of any text: typed, pasted, a `batchmon list` table, log lines, JSON."""

from __future__ import annotations

import json
import time
import uuid

from tui.api.ids import pick_job_ids

A, B = "5f0c2a9e-7b41-4d8a-9c3e-2e6f1b7d4a10", "d47b0e19-6c2a-4f83-b5e1-0a9c8d7e6f54"


def test_separators_case_and_repeats() -> None:
    picked = pick_job_ids(f"{A}, {B}\n{A.upper()};{B}\n\n")
    assert picked.ids == [A, B]
    assert picked.ignored == 0


def test_lines_without_an_id_are_counted_and_named() -> None:
    picked = pick_job_ids(f"nope\n{A}\n  12345  \n\n")
    assert picked.ids == [A]
    assert picked.ignored == 2
    assert picked.samples == ["nope", "12345"]


def test_a_batchmon_list_table() -> None:
    table = (
        f"STATUS         ID                                    PRESET\n✓ finished     {A}  transcript\n"
        f"● processing   {B}  soap-notes\n(2 of 9; --limit N for more)\n"
    )
    picked = pick_job_ids(table)
    assert picked.ids == [A, B]
    assert picked.ignored == 2  # the heading and the footer


def test_json_and_log_lines() -> None:
    body = json.dumps({"data": [{"id": A.upper(), "status": "finished"}, {"id": B}]}, indent=2)
    assert pick_job_ids(body).ids == [A, B]
    log = f"2026-01-01 12:00:00 INFO job={A} status=finished\n[{B}] done"
    assert pick_job_ids(log).ids == [A, B]


def test_longer_hex_tokens_are_not_ids_and_cut_ids_are_near_misses() -> None:
    picked = pick_job_ids(f"x{A}\n{A}0\n{A[:30]}")
    assert picked.ids == []
    assert picked.ignored == 3
    assert picked.near_misses == [f"{A}0", A[:30]]  # one digit too many, cut short


def test_a_hundred_thousand_ids_are_quick() -> None:
    ids = [str(uuid.uuid4()) for _ in range(100_000)]
    text = "\n".join(ids)
    started = time.perf_counter()
    picked = pick_job_ids(text)
    assert time.perf_counter() - started < 1.0
    assert picked.ids == ids


def test_a_cut_id_beside_a_whole_one_is_a_near_miss_but_dates_are_not() -> None:
    picked = pick_job_ids(f"{A} {B[:20]}\n2026-01-01 12:00 started")
    assert picked.ids == [A]
    assert picked.near_misses == [B[:20]]
