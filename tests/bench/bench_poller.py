"""Benchmark: the polling engine against a naive per-job poller, over real loopback.

    python tests/bench/bench_poller.py [--jobs 1000] [--active 200] [--rate 5] [--seconds 60]
                                       [--interval 1] [--idle 60] [--speed 1] [--layout newest]
                                       [--unwatched 0] [--seed 7] [--table]
                                       [--scenario normal|ignore-cursor|omits|list-500] [--known records|none]

Each phase serves a fresh simulator (same seed, so the same jobs and schedules) over a loopback
port, with the simulator's own rate limiter enforcing the budget (`Faults(rate_limit=rate)`):

1. engine: the Poller watches `--jobs` jobs, of which `--active` change during the run
   (submitted -> processing -> finished/error at times spread over the run), for `--seconds`;
2. naive: round-robin GET of every non-terminal watched job, as fast as the same RequestBudget
   allows, for the same time;
3. idle: once every job has finished and the engine has fetched what it wanted, the requests it
   makes in an `--idle`-second window (must be 0). Runs while phase 2 runs, on phase 1's server.

Both pollers start from the same knowledge: each watched job's record as of the start (as a
restored session would have it). Detection latency = when the poller first saw a job at or past
a transition minus the simulator's exact transition time, over the transitions that happened
during the run; the ones not seen by the end of the run are counted as undetected.

Prints one JSON object; `--table` runs 100, 1,000 and 10,000 watched jobs and prints a markdown
table too. `--layout spread` puts the active watched jobs among `--unwatched` unwatched jobs in
random creation order instead of newest first (a harder case for list sweeps).

`--scenario` degrades the list endpoint for both pollers (the naive one never lists): it ignores
its cursor (always page 1), leaves 30% of jobs out, or answers 500. `--known none` starts from ids
alone (a first launch) instead of every job's record.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tui.api import (
    BatchClient,
    Job,
    RequestBudget,
    errors,
)
from tui.poller import Poller
from tui.sim import Faults, SimServer, Simulator

KEY = "bench-key"
PATH_INDEX = {"submitted": 0, "processing": 1, "finished": 2, "error": 2}


@dataclass
class Workload:
    sim: Simulator
    watched: list[str]
    active: list[str]
    known: dict[str, Job]


@dataclass
class Observations:
    """(wall time, status) per job, in the order a poller saw them."""

    seen: dict[str, list[tuple[float, str]]] = field(default_factory=dict)

    def add(self, job_id: str, status: str, at: float) -> None:
        self.seen.setdefault(job_id, []).append((at, status))


def build(args: argparse.Namespace, jobs: int, active: int) -> Workload:
    """Same seed, same jobs, same schedules (relative to now)."""
    rng = random.Random(args.seed)
    sim = Simulator(seed=args.seed, api_key=KEY)
    unwatched = args.unwatched
    # Creation order is list order reversed: the list shows the last created first.
    kinds = ["done"] * (jobs - active) + ["active"] * active
    if args.layout == "newest":
        order = ["other"] * unwatched + kinds[: jobs - active] + kinds[jobs - active :]
    else:
        order = ["other"] * unwatched + kinds
        rng.shuffle(order)
    span = args.seconds / args.speed
    start = args.warmup
    watched: list[str] = []
    active_ids: list[str] = []
    for kind in order:
        if kind == "other":
            sim.create_job(status=rng.choice(("finished", "finished", "error")))
        elif kind == "done":
            watched.append(sim.create_job(status=rng.choice(("finished",) * 6 + ("error",))))
        else:
            processing = start + rng.uniform(0.0, 0.55) * span
            done = processing + rng.uniform(0.05, 0.4) * span
            outcome = "error" if rng.random() < 0.15 else "finished"
            job_id = sim.create_job(status="submitted", processing_in=processing, done_in=done, outcome=outcome)
            watched.append(job_id)
            active_ids.append(job_id)
    known = {job_id: Job.model_validate(sim.record(job_id)) for job_id in watched}
    return Workload(sim, watched, active_ids, known)


def window_stats(times: list[float]) -> dict[str, int]:
    times = sorted(times)

    def most(seconds: float) -> int:
        return max((i + 1 - bisect.bisect_right(times, t - seconds) for i, t in enumerate(times)), default=0)

    return {"max_in_1s": most(1.0), "max_in_5s": most(5.0)}


def latency(work: Workload, seen: Observations, begin: float, end: float) -> dict[str, Any]:
    delays: list[float] = []
    censored: list[float] = []  # undetected ones, as (end of run - transition): a lower bound
    undetected = skipped = 0
    for job_id in work.active:
        looks = [(t, PATH_INDEX.get(s, -1), s) for t, s in seen.seen.get(job_id, []) if t <= end]
        for status, at in work.sim.transitions(job_id, include_future=True)[1:]:
            if not begin <= at <= end:
                continue
            want = PATH_INDEX[status]
            hit = next(((t, s) for t, index, s in looks if index >= want and t >= at - 0.001), None)
            if hit is None:
                undetected += 1
                censored.append(end - at)
                continue
            if hit[1] != status:
                skipped += 1  # went straight past it between two looks; counted when seen later
            delays.append(max(0.0, hit[0] - at))
    delays.sort()
    everything = sorted(delays + censored)

    def pct(q: float, values: list[float] = delays) -> float | None:
        if not values:
            return None
        return round(values[min(len(values) - 1, math.ceil(q * len(values)) - 1)], 3)

    return {
        "transitions": len(delays) + undetected,
        "detected": len(delays),
        "undetected": undetected,
        "seen_only_later_state": skipped,
        "p50_s": pct(0.50),
        "p95_s": pct(0.95),
        "max_s": round(delays[-1], 3) if delays else None,
        # Undetected transitions counted as (end of run - transition time): a lower bound.
        "p50_with_undetected_s": pct(0.50, everything),
        "p95_with_undetected_s": pct(0.95, everything),
    }


def served(sim: Simulator, begin: float, end: float) -> dict[str, Any]:
    entries = [e for e in sim.requests.entries() if begin <= e.at <= end]
    return {
        "requests": len(entries),
        **window_stats([e.at for e in entries]),
        "http_429": sum(1 for e in entries if e.status == 429),
        "lists": sum(1 for e in entries if e.path.endswith("/batch-processor")),
        "gets": sum(1 for e in entries if not e.path.endswith("/batch-processor")),
    }


SCENARIOS: dict[str, dict[str, Any]] = {
    "normal": {},
    "ignore-cursor": {"list_ignores_paging": True},
    "omits": {"list_omits": 0.3},
    "list-500": {"status": 500, "status_paths": r"/batch-processor$"},
}


def faults(args: argparse.Namespace) -> Faults:
    return Faults(rate_limit=args.rate, **SCENARIOS[args.scenario])


def known(args: argparse.Namespace, work: Workload) -> dict[str, Job] | None:
    return work.known if args.known == "records" else None


async def engine_phase(args: argparse.Namespace, jobs: int, active: int) -> tuple[dict[str, Any], Any]:
    work = build(args, jobs, active)
    server = SimServer(work.sim, faults(args))
    await asyncio.to_thread(server.start)
    client = BatchClient(server.base_url, KEY, budget=RequestBudget(args.rate))
    poller = Poller(client, interval=args.interval)
    seen = Observations()
    poller.watch(work.watched, known=known(args, work))

    async def consume() -> None:
        async for update in poller.updates():
            for change in update.changes:
                seen.add(change.id, change.status, change.observed_at)

    begin = time.time()
    task = asyncio.create_task(consume())
    await asyncio.sleep(args.seconds)
    end = time.time()
    state = poller.engine_state()
    states = poller.states()
    # Jobs seen ending must have their final record; a job first seen ended gets one on demand only.
    pending = sum(
        1
        for job_id, looks in seen.seen.items()
        if len(looks) > 1
        and (s := states[job_id]).status in ("finished", "error")
        and (s.job is None or s.job.status != s.status)
    )
    result = {
        **served(work.sim, begin, end),
        "engine_requests_made": state.requests_made,
        "latency": latency(work, seen, begin, end),
        "terminal_records_pending_at_end": pending,
    }

    async def idle_phase() -> dict[str, Any]:
        """Wait for every job to finish and the engine to fetch what it wants, then count."""
        last = max((at for j in work.active for _, at in work.sim.transitions(j, include_future=True)), default=0)
        await asyncio.sleep(max(0.0, last - time.time()) + 0.1)
        drain_began = time.time()
        deadline = drain_began + args.drain_timeout
        while not poller.idle and time.time() < deadline:
            await asyncio.sleep(0.2)
        drained = poller.idle
        drain_end = time.time()
        await asyncio.sleep(args.idle)
        quiet_end = time.time()
        await shut_down(task, client, server)
        return {
            "all_finished_and_drained": drained,
            "drain_seconds": round(drain_end - drain_began, 1),
            "window_seconds": args.idle,
            "requests": served(work.sim, drain_end, quiet_end)["requests"],
        }

    return result, idle_phase


async def shut_down(task: asyncio.Task[Any], client: BatchClient, server: SimServer) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.aclose()
    await asyncio.to_thread(server.stop)


async def naive_phase(args: argparse.Namespace, jobs: int, active: int) -> dict[str, Any]:
    work = build(args, jobs, active)
    server = SimServer(work.sim, faults(args))
    await asyncio.to_thread(server.start)
    client = BatchClient(server.base_url, KEY, budget=RequestBudget(args.rate))
    seen = Observations()
    records = known(args, work)
    status: dict[str, str | None] = {j: records[j].status if records else None for j in work.watched}
    ring = [j for j in work.watched if status[j] not in ("finished", "error")]

    async def poll() -> None:
        while ring:
            for job_id in list(ring):
                try:
                    job = await client.get_job(job_id)
                except errors.RateLimited as exc:
                    await asyncio.sleep(exc.retry_after or 1.0)
                    continue
                except errors.ApiError:
                    continue
                if job.status != status[job_id]:
                    status[job_id] = job.status
                    seen.add(job_id, job.status or "", time.time())
                if job.status in ("finished", "error"):
                    ring.remove(job_id)
            if not ring:
                await asyncio.sleep(3600)

    begin = time.time()
    task = asyncio.create_task(poll())
    await asyncio.sleep(args.seconds)
    end = time.time()
    await shut_down(task, client, server)
    return {**served(work.sim, begin, end), "latency": latency(work, seen, begin, end)}


async def run_one(args: argparse.Namespace, jobs: int, active: int) -> dict[str, Any]:
    engine, idle_phase = await engine_phase(args, jobs, active)
    naive, idle = await asyncio.gather(naive_phase(args, jobs, active), idle_phase())
    p95 = engine["latency"]["p95_with_undetected_s"]
    naive_p95 = naive["latency"]["p95_with_undetected_s"]
    budget_1s = math.floor(args.rate + 1e-9)
    return {
        "config": {
            "jobs": jobs,
            "active": active,
            "unwatched": args.unwatched,
            "layout": args.layout,
            "rate": args.rate,
            "interval": args.interval,
            "seconds": args.seconds,
            "speed": args.speed,
            "seed": args.seed,
            "scenario": args.scenario,
            "known": args.known,
        },
        "engine": engine,
        "naive": naive,
        "idle_after_all_finished": idle,
        "targets": {
            "never_over_budget": engine["max_in_1s"] <= budget_1s and engine["max_in_5s"] <= 5 * budget_1s,
            "zero_429": engine["http_429"] == 0,
            "p95_at_most_2s": p95 is not None and p95 <= 2.0,
            "p95_10x_lower_than_naive": p95 is not None and (naive_p95 is None or p95 * 10 <= naive_p95),
            "zero_requests_idle": idle["requests"] == 0 and idle["all_finished_and_drained"],
            "undetected": engine["latency"]["undetected"],
        },
    }


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| watched | active | poller | requests | max in 1 s | max in 5 s | 429s | p50 | p95 | max "
        "| undetected | p95 incl. undetected | requests in idle window |\n"
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [head]
    for r in results:
        c = r["config"]
        for name in ("engine", "naive"):
            x = r[name]
            lat = x["latency"]
            idle = r["idle_after_all_finished"]["requests"] if name == "engine" else "n/a"
            rows.append(
                f"| {c['jobs']:,} | {c['active']} | {name} | {x['requests']} | {x['max_in_1s']} | {x['max_in_5s']} "
                f"| {x['http_429']} | {_s(lat['p50_s'])} | {_s(lat['p95_s'])} | {_s(lat['max_s'])} "
                f"| {lat['undetected']} of {lat['transitions']} | ≥ {_s(lat['p95_with_undetected_s'])} | {idle} |"
            )
    return "\n".join(rows)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="watched jobs")
    parser.add_argument("--active", type=int, default=200, help="watched jobs that change during the run")
    parser.add_argument("--unwatched", type=int, default=0, help="other jobs in the account")
    parser.add_argument("--layout", choices=("newest", "spread"), default="newest")
    parser.add_argument("--rate", type=float, default=5.0, help="budget, requests/s (also the simulator's limit)")
    parser.add_argument("--interval", type=float, default=1.0, help="the engine's poll-interval floor")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each polling phase")
    parser.add_argument("--idle", type=float, default=60.0, help="the all-finished window, seconds")
    parser.add_argument("--speed", type=float, default=1.0, help=">1 packs the transitions into the start of the run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before the first transition")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--scenario", choices=tuple(SCENARIOS), default="normal", help="how the list endpoint misbehaves"
    )
    parser.add_argument("--known", choices=("records", "none"), default="records", help="what the pollers start from")
    parser.add_argument("--table", action="store_true", help="100, 1,000 and 10,000 watched jobs")
    args = parser.parse_args()
    if args.table:
        sizes = [(n, min(args.active, n // 5)) for n in (100, 1000, 10000)]
        results = [asyncio.run(run_one(args, n, a)) for n, a in sizes]
        print(json.dumps(results, indent=2))
        print()
        print(table(results))
    else:
        print(json.dumps(asyncio.run(run_one(args, args.jobs, args.active)), indent=2))


if __name__ == "__main__":
    main()
