"""Soak: `batchmon watch` and the TUI (headless) against 1,000 simulated jobs with a fault every ~30 s.

Run: python tests/bench/soak.py [--minutes 10] [--jobs 1000] [--rate 5] [--seed 1]

Each client gets its own simulator on a loopback port (the same seed, so the same jobs), because
each has its own request budget and the budget is checked from the simulator's request log. Faults
are switched on and off through the /_sim/ admin endpoints, on both simulators at once, for a few
seconds every ~30 s. Besides the seeded schedule, a few held jobs change status now and then
throughout, and `watch` is kept running by jobs that stay processing until the end.

Reported: crashes, jobs lost from the watch list, final statuses that disagree with the simulator,
the most requests in any 1 s window (against the budget), and resident memory sampled every 30 s
for both processes (growth over the last half should stay under 5 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BATCHMON = str(Path(sys.executable).parent / "batchmon")
KEY = "soak-secret-key"
SAMPLE_EVERY = 30.0  # seconds between memory samples
HELD = 20  # jobs that stay processing until the end, so `watch` runs the whole soak
FAULTS: list[dict[str, Any]] = [
    {"status": 500},
    {"status": 502},
    {"status": 503},
    {"status": 504},
    {"status": 429},
    {"status": 429, "retry_after": 2},
    {"drop": 1.0},
    {"drop": 0.3},
    {"truncate": True},
    {"non_json": True},
    {"wrong_shape": True},
    {"latency": 3.0},
    {"list_ignores_paging": True},
    {"list_omits": 0.3},
    {"status": 500, "status_paths": "^/v1/batch-processor$"},
]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def admin(root_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(root_url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# -- the headless TUI (run in its own process) ----------------------------------------------------------


def tui_child(api_url: str, state: str, ids_file: str, stop_file: str, result_file: str, rate: float) -> int:
    """Run the real app (build_app) headless until `stop_file` appears; write its watch list as JSON."""
    from pydantic import SecretStr

    from tui.api.ids import pick_job_ids
    from tui.core.config import Settings
    from tui.ui.factory import build_app

    settings = Settings(api_key=SecretStr(KEY), api_url=api_url, rate=rate, interval=1.0)
    ids = Path(ids_file).read_text()
    app = build_app(settings, picked=pick_job_ids(ids), state_path=Path(state))

    async def run() -> dict[str, Any]:
        async with app.run_test(headless=True, size=(160, 48)) as pilot:
            keys = ["j", "k", "s", "j", "j", "z", "z", "k"]
            n = 0
            while not Path(stop_file).exists():
                await pilot.pause(1.0)
                await pilot.press(keys[n % len(keys)])  # a user moving about now and then
                n += 1
            statuses = {job_id: app.watchlist.view(job_id).status for job_id in app.watchlist.ids()}
            return {"statuses": statuses, "running": app.is_running, "return_code": app.return_code}

    result = asyncio.run(run())
    Path(result_file).write_text(json.dumps(result))
    return 0


# -- the harness --------------------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    server: Any  # SimServer
    proc: subprocess.Popen[str] | None = None
    memory: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None and self.proc.stderr is not None
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()


def seeded(jobs: int, seed: int, speed: float) -> Any:
    from tui.sim import Simulator

    sim = Simulator(jobs=jobs - HELD, seed=seed, speed=speed, api_key=KEY)
    sim.held = [  # type: ignore[attr-defined]  # the soak's own note on the simulator
        sim.create_job(status="processing", processing_in=None, done_in=None) for _ in range(HELD)
    ]
    return sim


def over_budget(entries: list[Any], rate: float) -> int:
    """The most requests that arrived in any 1 s window, minus the budget (0 when within it)."""
    times = sorted(entry.at for entry in entries)
    worst, first = 0, 0
    for i, t in enumerate(times):
        while times[first] <= t - 1.0:
            first += 1
        worst = max(worst, i + 1 - first)
    return max(0, worst - int(rate))


def growth(memory: list[tuple[float, float]]) -> float:
    """MB gained over the last half of the samples (the first half is warm-up)."""
    if len(memory) < 2:
        return 0.0
    half = memory[len(memory) // 2 :]
    return half[-1][1] - half[0][1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-every", type=float, default=30.0)
    parser.add_argument("--child-tui", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_tui:
        api_url, state, ids_file, stop_file, result_file = args.child_tui
        return tui_child(api_url, state, ids_file, stop_file, result_file, rate=args.rate)

    from tui.sim import SimServer

    duration = args.minutes * 60
    speed = 300 / max(duration * 0.8, 1)  # the seeded schedule (5 min at speed 1) spans most of the soak
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="batchmon-soak-"))
    clients = [Client(name, SimServer(seeded(args.jobs, args.seed, speed)).start()) for name in ("watch", "tui")]
    ids = clients[0].server.sim.ids()
    assert ids == clients[1].server.sim.ids()
    (work / "ids.txt").write_text("\n".join(ids))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILY_", "XDG_"))}
    env |= {"DAILY_API_KEY": KEY, "XDG_STATE_HOME": str(work / "state"), "XDG_CONFIG_HOME": str(work / "config")}
    env |= {"XDG_DATA_HOME": str(work / "data"), "XDG_CACHE_HOME": str(work / "cache")}
    watch, tui = clients
    watch.proc = subprocess.Popen(
        [BATCHMON, "watch", "-", "--json", "--rate", str(args.rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env | {"DAILY_API_URL": watch.server.base_url},
    )
    assert watch.proc.stdin is not None
    watch.proc.stdin.write("\n".join(ids) + "\n")
    watch.proc.stdin.close()
    stop_file, result_file = work / "stop", work / "tui-result.json"
    child = [str(work / "tui.db"), str(work / "ids.txt"), str(stop_file), str(result_file)]
    tui.proc = subprocess.Popen(
        [sys.executable, __file__, "--rate", str(args.rate), "--child-tui", tui.server.base_url, *child],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for client in clients:
        client.read()

    start = time.monotonic()
    next_sample, next_fault, next_nudge = start, start + rng.uniform(10, args.fault_every), start + 3
    faults_applied: list[str] = []
    held_ids: list[str] = watch.server.sim.held
    assert held_ids == tui.server.sim.held
    print(f"soak: {args.jobs} jobs, {args.minutes:g} min, rate {args.rate:g}/s, work folder {work}", flush=True)
    try:
        while (now := time.monotonic()) < start + duration:
            if now >= next_sample:
                for client in clients:
                    assert client.proc is not None
                    mb = rss_mb(client.proc.pid)
                    if mb is not None:
                        client.memory.append((now - start, mb))
                print(
                    f"  t={now - start:5.0f}s  rss watch {watch.memory[-1][1] if watch.memory else 0:.1f} MB"
                    f"  tui {tui.memory[-1][1] if tui.memory else 0:.1f} MB  faults so far {len(faults_applied)}",
                    flush=True,
                )
                next_sample += SAMPLE_EVERY
            if now >= next_fault and now < start + duration - 30:
                fault = rng.choice(FAULTS)
                faults_applied.append(json.dumps(fault))
                for client in clients:
                    admin(client.server.root_url, "PUT", "/_sim/faults", fault)
                time.sleep(rng.uniform(2, 6))
                for client in clients:
                    admin(client.server.root_url, "DELETE", "/_sim/faults")
                next_fault = time.monotonic() + rng.uniform(0.6, 1.4) * args.fault_every
            if now >= next_nudge:
                # A job moved on now and then (never back: ended jobs are not polled): activity all along.
                job = rng.choice([j for j in ids if j not in held_ids])
                current = watch.server.sim.record(job)["status"]
                if current == "processing":  # forcing cancels the schedule: end it, never leave it hanging
                    status = rng.choice(["finished", "finished", "error"])
                    for client in clients:
                        admin(client.server.root_url, "POST", f"/_sim/jobs/{job}/status", {"status": status})
                next_nudge = now + rng.uniform(1, 3)
            if any(client.proc is not None and client.proc.poll() is not None for client in clients):
                break
            time.sleep(0.2)
        for client in clients:
            admin(client.server.root_url, "DELETE", "/_sim/faults")
        # The end: release the held jobs (and any the schedule left active), let both clients catch
        # up, then compare with the simulators.
        for job in ids:
            if watch.server.sim.record(job)["status"] not in ("finished", "error"):
                for client in clients:
                    admin(client.server.root_url, "POST", f"/_sim/jobs/{job}/status", {"status": "finished"})
        report = finish(watch, tui, ids, stop_file, result_file, args.rate)
    finally:
        for client in clients:
            if client.proc is not None and client.proc.poll() is None:
                client.proc.kill()
            client.server.stop()
    report["faults"] = len(faults_applied)
    print_table(report, watch, tui)
    bad = any(report[name][key] for name in ("watch", "tui") for key in ("crashes", "lost", "disagree", "over budget"))
    return 1 if bad or any(report[name]["growth"] >= 5 for name in ("watch", "tui")) else 0


def finish(
    watch: Client, tui: Client, ids: list[str], stop_file: Path, result_file: Path, rate: float
) -> dict[str, Any]:
    assert watch.proc is not None and tui.proc is not None
    report: dict[str, Any] = {}
    # watch ends by itself once every job has ended.
    try:
        watch.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        watch.proc.kill()
        watch.proc.wait()
    seen: dict[str, str] = {}
    for line in watch.out:
        try:
            record = json.loads(line)
            seen[record["id"]] = record["status"]
        except (ValueError, KeyError, TypeError):
            pass
    truth = {job_id: watch.server.sim.record(job_id)["status"] for job_id in ids}
    report["watch"] = {
        "crashes": int(watch.proc.returncode not in (0, 1) or any("Traceback" in line for line in watch.err)),
        "lost": sum(1 for job_id in ids if job_id not in seen),
        "disagree": sum(1 for job_id in ids if job_id in seen and seen[job_id] != truth[job_id]),
        "over budget": over_budget(watch.server.sim.requests.entries(), rate),
        "growth": growth(watch.memory),
        "exit": watch.proc.returncode,
    }
    # The TUI: give it time to confirm the last changes (it polls within its budget), then stop it.
    tui_truth = {job_id: tui.server.sim.record(job_id)["status"] for job_id in ids}
    time.sleep(min(60.0, 10 + len(ids) / rate / 20))
    stop_file.write_text("stop")
    try:
        tui.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        tui.proc.kill()
        tui.proc.wait()
    result: dict[str, Any] = (
        json.loads(result_file.read_text()) if result_file.exists() else {"statuses": {}, "running": False}
    )
    statuses: dict[str, str | None] = result["statuses"]
    report["tui"] = {
        "crashes": int(tui.proc.returncode != 0 or not result["running"] or any("Traceback" in e for e in tui.err)),
        "lost": sum(1 for job_id in ids if job_id not in statuses),
        "disagree": sum(1 for job_id in ids if job_id in statuses and statuses[job_id] != tui_truth[job_id]),
        "over budget": over_budget(tui.server.sim.requests.entries(), rate),
        "growth": growth(tui.memory),
        "exit": tui.proc.returncode,
    }
    for name, client in (("watch", watch), ("tui", tui)):
        report[name]["requests"] = client.server.sim.requests.count
        report[name]["stderr"] = "".join(client.err)[-2000:]
    return report


def print_table(report: dict[str, Any], watch: Client, tui: Client) -> None:
    print(f"\nfaults injected: {report['faults']}")
    print(f"{'':14}{'watch':>12}{'tui':>12}")
    for key in ("crashes", "lost", "disagree", "over budget", "requests", "exit"):
        print(f"{key:14}{report['watch'][key]!s:>12}{report['tui'][key]!s:>12}")
    print(f"{'growth MB':14}{report['watch']['growth']:>12.1f}{report['tui']['growth']:>12.1f}")
    print("\nRSS MB every 30 s:")
    for name, client in (("watch", watch), ("tui", tui)):
        print(f"  {name:6}" + " ".join(f"{mb:.1f}" for _, mb in client.memory))
    for name in ("watch", "tui"):
        if report[name]["crashes"]:
            print(f"\n{name} stderr (tail):\n{report[name]['stderr']}")


if __name__ == "__main__":
    sys.exit(main())
