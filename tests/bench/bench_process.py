"""Whole-process benchmarks: the installed `batchmon` in a real terminal, beside a baseline from the same run.

Run: python tests/bench/bench_process.py [options] SCENARIO [N]

  reopen N         the watch list already holds N jobs: launch -> first frame with the jobs,
                   key -> paint p50/p95 (`j` presses), resident memory. Baseline: naive_table.py
                   (a stock DataTable filled naively) reading the same ids from a file.
  first-launch N   N ids on the command line, empty state folder. Baseline: naive_table.py given
                   the same ids on its command line.
  idle N           N watched jobs, all finished in the simulator: after a warm-up, CPU (% of one
                   core) and requests on the wire over a window. Baseline: naive_table.py idle.
  add N            `batchmon add -` with N ids on stdin, whole process. Baseline: a Python process
                   that copies the same ids from stdin into a text file.
  all              reopen 100000, reopen 10000, first-launch 10000, idle 10000, add 100000.

Black box: only the command-line contract (design.md) is used. Each app runs alone in a private
tmux server at 160x48; the screen is read with `tmux capture-pane` every --poll seconds, so every
time includes up to one poll period plus one capture (both printed). The API is
`batchmon simulate` on a loopback port; the ids come from its list endpoint, so the simulator
knows every id. Each run gets its own XDG folders. Ctrl-C or SIGTERM stop everything started here.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NAIVE_APP = HERE / "naive_table.py"
WIDTH, HEIGHT = 160, 48
TERMINAL = {"finished", "error"}
KEY_TIMEOUT = 5.0  # seconds a key may take to move the highlighted row before it counts as missed
WARMUP_KEY_TIMEOUT = 15.0  # the untimed first key: an app still busy loading may take long
ROWS_FOR_PAINT = 20  # a frame "shows the jobs" when this many (or all N) job rows are on screen
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID_RE = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}")
NUMBER = r"\d{1,3}(?:[,_\u00a0\u2009\u202f]\d{3})+|\d+"  # 100000, 100,000, 100 000 (no-break spaces)
JOBS_COUNT_RE = re.compile(rf"Jobs\s+(?:(?:{NUMBER})/)?({NUMBER})")
SGR_RE = re.compile(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;?<>=]*[A-Za-z@`]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")


class BenchError(Exception):
    """A scenario could not be measured; the message says why."""


# -- /proc --------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB: resident memory now and at its peak."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def start_time(pid: int) -> str:
    """When the process started (clock ticks since boot), "" if it is gone: tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2 :].split()
    return "" if fields[0] == "Z" else fields[19]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    return found


def stop_pid(pid: int, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; only ever a pid this script started."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- the terminal -------------------------------------------------------------------------------


def visible_and_styles(line: str) -> tuple[str, list[tuple[str, bool]]]:
    """A captured line (with -e escapes) as plain text plus each character's (background, reverse)."""
    text: list[str] = []
    styles: list[tuple[str, bool]] = []
    background, reverse = "", False
    pos = 0
    for match in SGR_RE.finditer(line):
        for char in line[pos : match.start()]:
            text.append(char)
            styles.append((background, reverse))
        pos = match.end()
        if match.group(1) is None:
            continue
        params = list(re.split("[;:]", match.group(1))) or ["0"]
        i = 0
        while i < len(params):
            p = params[i] or "0"
            if p == "0":
                background, reverse = "", False
            elif p == "7":
                reverse = True
            elif p == "27":
                reverse = False
            elif p == "49":
                background = ""
            elif p in ("38", "48", "58"):
                width = 3 if i + 1 < len(params) and params[i + 1] == "5" else 5
                if p == "48":
                    background = ";".join(params[i + 1 : i + width])
                i += width - 1
            elif (len(p) == 2 and p[0] == "4") or (len(p) == 3 and p[:2] == "10"):
                background = p
            i += 1
    for char in line[pos:]:
        text.append(char)
        styles.append((background, reverse))
    return "".join(text), styles


@dataclass
class Screen:
    """One capture of the pane, with the job rows found in it."""

    raw: str
    prefixes: set[str]
    lines: list[str] = field(init=False)
    rows: list[tuple[int, int, str, tuple[str, bool]]] = field(init=False)  # (line, column, id prefix, style)

    def __post_init__(self) -> None:
        self.lines, self.rows = [], []
        for number, line in enumerate(self.raw.splitlines()):
            text, styles = visible_and_styles(line)
            self.lines.append(text)
            for match in ID_RE.finditer(text):
                if match.group() in self.prefixes:
                    self.rows.append((number, match.start(), match.group(), styles[match.start()]))
                    break  # the first id on a line; a detail pane beside the table comes later

    def table_rows(self) -> list[tuple[int, int, str, tuple[str, bool]]]:
        """Job rows in the table: the column where most ids start (a detail pane's id is elsewhere)."""
        if not self.rows:
            return []
        column = Counter(col for _, col, _, _ in self.rows).most_common(1)[0][0]
        return [row for row in self.rows if row[1] == column]

    def jobs_count(self) -> int | None:
        """The N of a "Jobs N" (or "Jobs n/N") heading, if the screen has one."""
        match = JOBS_COUNT_RE.search("\n".join(self.lines))
        return int(re.sub(r"\D", "", match.group(1))) if match else None

    def shows_jobs(self, total: int) -> bool:
        rows = len({prefix for _, _, prefix, _ in self.table_rows()})
        count = self.jobs_count()
        return rows >= min(total, ROWS_FOR_PAINT) and (count is None or count == total)

    def highlighted(self) -> str | None:
        """The job row drawn in a style no other row has (the cursor), or None."""
        rows = self.table_rows()
        counts = Counter(style for _, _, _, style in rows)
        unique = [prefix for _, _, prefix, style in rows if counts[style] == 1]
        return unique[0] if len(unique) == 1 and len(rows) > 1 else None


class Tmux:
    """A private tmux server (own socket, no config file) where each app runs in its own session."""

    def __init__(self) -> None:
        self.socket = f"batchmon-bench-{os.getpid()}"
        self.apps: dict[str, tuple[int, str]] = {}  # session -> (pid, start time) of the app it runs
        self.socket_path = ""

    def cmd(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and done.returncode != 0:
            raise BenchError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        self.cmd("start-server", ";", "set", "-g", "exit-empty", "off", ";", "set", "-g", "remain-on-exit", "on")
        self.socket_path = self.cmd("display-message", "-p", "#{socket_path}").strip()

    def launch(self, session: str, script: Path) -> int:
        """Start `script` in a new 160x48 session; returns the pid of the process it execs."""
        self.cmd("new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), str(script))
        pid = int(self.cmd("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        self.apps[session] = (pid, start_time(pid))
        return pid

    def capture(self, session: str) -> str:
        return self.cmd("capture-pane", "-p", "-e", "-t", session)

    def dead(self, session: str) -> bool:
        return self.cmd("display-message", "-p", "-t", session, "#{pane_dead}", check=False).strip() != "0"

    def send(self, session: str, key: str) -> None:
        self.cmd("send-keys", "-t", session, key)

    def close(self, session: str) -> None:
        """End the session; its app gets SIGHUP from tmux, and SIGTERM/SIGKILL if it lingers."""
        self.cmd("kill-session", "-t", session, check=False)
        self._stop_app(session)

    def stop(self) -> None:
        self.cmd("kill-server", check=False)
        for session in list(self.apps):
            self._stop_app(session)
        if self.socket_path:
            Path(self.socket_path).unlink(missing_ok=True)  # tmux leaves it behind

    def _stop_app(self, session: str) -> None:
        pid, started = self.apps.pop(session, (0, ""))
        deadline = time.monotonic() + 2.0
        while pid and start_time(pid) == started and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and start_time(pid) == started:  # the same process, not a later one given its pid
            stop_pid(pid)


# -- the simulator ------------------------------------------------------------------------------


class Sim:
    """`batchmon simulate` on a free loopback port, in its own process group."""

    def __init__(self, batchmon: Path, jobs: int, env: dict[str, str], speed: float = 1.0, seed: int = 0) -> None:
        self.description = f"batchmon simulate --jobs {jobs} --seed {seed} --speed {speed:g}"
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(batchmon), "simulate", "--port", "0", "--jobs", str(jobs), "--seed", str(seed), "--speed", str(speed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
            # A shell's background job inherits an ignored SIGINT; `simulate` needs it to stop cleanly.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        output = self._read_until_ready(timeout=120)
        url = re.search(r"DAILY_API_URL=(\S+)", output) or re.search(r"(http://127\.0\.0\.1:\d+/v1)", output)
        key = re.search(r"DAILY_API_KEY=(\S+)", output)
        if url is None:
            self.stop()
            raise BenchError(f"could not read the simulator's address from: {output.strip()!r}")
        self.base_url = url.group(1)
        self.api_key = key.group(1) if key else "sim-key"
        self.startup = time.perf_counter() - started
        self.rss_mb = memory_mb(self.process.pid)[0]
        match = re.match(r"http://([^:/]+):(\d+)(/.*)", self.base_url)
        assert match is not None
        self.host, self.port, self.prefix = match.group(1), int(match.group(2)), match.group(3)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def _read_until_ready(self, timeout: float) -> str:
        lines: list[str] = []
        ready = threading.Event()

        def reader() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                if "DAILY_API_KEY" in line or "Ctrl-C" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise BenchError(f"`{self.description}` did not start: {''.join(lines).strip()!r}")
        return "".join(lines)

    def request(self, method: str, path: str, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}"} if auth else {}
        for attempt in range(3):
            try:
                self.conn.request(method, path, headers=headers)
                response = self.conn.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            raise BenchError(f"simulator answered {response.status} to {method} {path}: {body[:200]!r}")
        return json.loads(body)

    def jobs(self) -> list[tuple[str, str]]:
        """(id, status) of every job, newest first, through the list endpoint (100 per page)."""
        found: list[tuple[str, str]] = []
        after = ""
        while True:
            page = self.request("GET", f"{self.prefix}/batch-processor?limit=100{after}")["data"]
            found += [(job["id"], job["status"]) for job in page]
            if len(page) < 100:
                return found
            after = f"&starting_after={page[-1]['id']}"

    def wait_all_terminal(self, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs()
            if all(status in TERMINAL for _, status in jobs):
                return [job_id for job_id, _ in jobs]
            if time.monotonic() > deadline:
                raise BenchError("the simulator's jobs did not all finish in time")
            time.sleep(0.5)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/_sim/stats", auth=False)
        return result

    def clear_stats(self) -> None:
        self.request("DELETE", "/_sim/stats", auth=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGINT)  # `simulate` stops cleanly on Ctrl-C
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# -- one run of an app --------------------------------------------------------------------------


@dataclass
class Folders:
    """Private HOME and XDG folders for one run."""

    root: Path

    def env(self, sim: Sim | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root / "home"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "XDG_STATE_HOME": str(self.root / "state"),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_DATA_HOME": str(self.root / "data"),
            "XDG_CACHE_HOME": str(self.root / "cache"),
        }
        if sim is not None:
            env |= {"DAILY_API_URL": sim.base_url, "DAILY_API_KEY": sim.api_key}
        return env


@dataclass
class Bench:
    batchmon: Path
    python: str
    tmux: Tmux
    workdir: Path
    poll: float
    timeout: float
    runs: int
    _count: int = 0
    capture_ms: list[float] = field(default_factory=list)
    send_ms: list[float] = field(default_factory=list)

    def folders(self) -> Folders:
        self._count += 1
        root = self.workdir / f"run{self._count}"
        for name in ("home", "state", "config", "data", "cache"):
            (root / name).mkdir(parents=True)
        return Folders(root)

    def has_command(self, name: str) -> bool:
        """True if `batchmon NAME --help` is that command's help (0.1.0 takes unknown words as job ids)."""
        env = self.folders().env()
        done = subprocess.run(
            [str(self.batchmon), name, "--help"],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
        return done.returncode == 0 and re.search(rf"usage: batchmon {name}\b", done.stdout) is not None

    def launch(self, argv: list[str], env: dict[str, str], ids_file: Path | None = None) -> tuple[str, int, float]:
        """Start argv in a new session via a launcher script; returns (session, pid, start time).

        Ids given on the command line come from a file the script expands, because tmux cannot
        pass a command line of 10,000 ids.
        """
        self._count += 1
        session = f"run{self._count}"
        script = self.workdir / f"{session}.sh"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        expand = f" $(cat {shlex.quote(str(ids_file))})" if ids_file is not None else ""
        script.write_text(f"#!/bin/sh\nexec env -i {exports} {shlex.join(argv)}{expand}\n")
        script.chmod(0o755)
        started = time.perf_counter()
        pid = self.tmux.launch(session, script)
        return session, pid, started

    def screen(self, session: str, prefixes: set[str]) -> Screen:
        before = time.perf_counter()
        raw = self.tmux.capture(session)
        self.capture_ms.append((time.perf_counter() - before) * 1000)
        return Screen(raw, prefixes)

    def wait_painted(self, session: str, started: float, prefixes: set[str], total: int) -> float:
        """Seconds from launch to the first frame showing the jobs."""
        while True:
            screen = self.screen(session, prefixes)
            if screen.shows_jobs(total):
                return time.perf_counter() - started
            if self.tmux.dead(session):
                text = " | ".join(line.strip() for line in screen.lines if line.strip())
                raise BenchError(f"the app exited before painting: {text[-300:]}")
            if time.perf_counter() - started > self.timeout:
                raise BenchError(f"no frame with the jobs within {self.timeout:g} s")
            time.sleep(self.poll)

    def key_latencies(self, session: str, prefixes: set[str], keys: int) -> tuple[list[float], int]:
        """Milliseconds from `send-keys` to the first capture where the highlighted row moved.

        A first press, not timed, ends any "cursor follows the top row" mode and finds the key
        that moves the cursor (`j`, else Down). Keys slower than KEY_TIMEOUT count as infinite.
        """
        current = self._settle(session, prefixes)
        for key in ("j", "Down"):
            moved, current = self._press(session, prefixes, key, current, WARMUP_KEY_TIMEOUT)
            if moved is not None:
                break
            print(f"  `{key}` did not move the highlighted row within {WARMUP_KEY_TIMEOUT:g} s", flush=True)
        else:
            raise BenchError("neither j nor Down moved the highlighted row")
        latencies: list[float] = []
        missed = 0
        for n in range(keys):
            time.sleep(random.uniform(0.03, 0.08))  # keys as a person presses them, not a burst
            moved, current = self._press(session, prefixes, key, current, KEY_TIMEOUT)
            if moved is None:
                missed += 1
                print(f"  key {n + 1}: the highlighted row did not move within {KEY_TIMEOUT:g} s", flush=True)
                current = self._settle(session, prefixes)
            latencies.append(float("inf") if moved is None else moved)
        return latencies, missed

    def _press(
        self, session: str, prefixes: set[str], key: str, current: str | None, timeout: float
    ) -> tuple[float | None, str | None]:
        """(milliseconds until the highlighted row left `current`, or None on timeout; the row now highlighted)."""
        sent = time.perf_counter()
        self.tmux.send(session, key)
        self.send_ms.append((time.perf_counter() - sent) * 1000)
        while True:
            now = self.screen(session, prefixes).highlighted()
            if now is not None and now != current:
                return (time.perf_counter() - sent) * 1000, now
            if time.perf_counter() - sent > timeout:
                return None, current
            time.sleep(self.poll)

    def _settle(self, session: str, prefixes: set[str]) -> str | None:
        """The highlighted row once it has stayed put for a moment."""
        last, since = None, time.perf_counter()
        while time.perf_counter() - since < 0.3:
            now = self.screen(session, prefixes).highlighted()
            if now != last:
                last, since = now, time.perf_counter()
            time.sleep(self.poll)
        return last

    def timed(self, argv: list[str], stdin: str, env: dict[str, str]) -> tuple[float, str]:
        """(seconds the whole process took, its output on one line); BenchError if it failed."""
        started = time.perf_counter()
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=300)
        elapsed = time.perf_counter() - started
        output = (done.stdout + done.stderr).strip().replace("\n", " | ")
        if done.returncode != 0:
            raise BenchError(f"{Path(argv[0]).name} exited {done.returncode}: {output[:200]}")
        return elapsed, output

    def check_watched(self, folders: Folders, ids: list[str]) -> str:
        """Ask `batchmon watched --json` whether every id was added; BenchError if some are missing."""
        if not self.has_command("watched"):
            return "not checked (no `batchmon watched`)"
        _, output = self.timed([str(self.batchmon), "watched", "--json"], "", folders.env())
        listed = len(set(UUID_RE.findall(output)) & set(ids))
        if listed != len(ids):
            raise BenchError(f"`batchmon watched --json` lists {listed:,} of the {len(ids):,} ids added")
        return f"`batchmon watched --json` lists all {listed:,}"

    def prepare_watchlist(self, folders: Folders, ids: list[str], has_add: bool) -> str:
        """Put `ids` in the watch list; returns how it was done."""
        if has_add:
            self.timed([str(self.batchmon), "add", "-"], "\n".join(ids) + "\n", folders.env())
            return "watch list prepared with `batchmon add -`"
        state = folders.root / "state" / "batchmon"
        state.mkdir(parents=True, exist_ok=True)
        jobs: list[dict[str, Any]] = [
            {"id": i, "added_at": 1.0, "record": None, "timeline": [], "confirmed_at": None} for i in ids
        ]
        (state / "watchlist.json").write_text(json.dumps({"version": 1, "jobs": jobs}))
        return "watch list prepared as a 0.1.0 watchlist.json (no `batchmon add`), statuses unknown"


# -- results ------------------------------------------------------------------------------------


@dataclass
class Table:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, scenario: str, metric: str, mine: str, baseline: str, target: str = "") -> None:
        self.rows.append((scenario, metric, mine, baseline, target))
        print(f"  {metric}: batchmon {mine}, baseline {baseline}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def render(self) -> str:
        header = ("scenario", "metric", "batchmon", "baseline", "target")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(5)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *self.rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + [""] + [f"- {note}" for note in self.notes])


def seconds(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} s"
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f}, {len(values)} runs)"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- scenarios ----------------------------------------------------------------------------------


@dataclass
class AppRun:
    """What one app did in a launch scenario."""

    paint: list[float] = field(default_factory=list)
    keys: list[float] = field(default_factory=list)
    missed: int = 0
    rss: tuple[float, float] | None = None
    error: str | None = None


@dataclass
class App:
    """One of the two programs a launch scenario compares."""

    name: str
    argv: list[str]
    env: Callable[[], dict[str, str]]  # called once per launch: fresh folders each time
    ids_file: Path | None = None  # ids the launcher puts on the command line
    result: AppRun = field(default_factory=AppRun)


def run_apps(bench: Bench, apps: list[App], prefixes: set[str], total: int, keys: int) -> None:
    """Launch each app `runs` times, alternating, so load from elsewhere hits both alike.

    Keys and memory are measured in each app's first run.
    """
    for run in range(bench.runs):
        for app in apps:
            if app.result.error is not None:
                continue
            print(f"  {app.name}, run {run + 1}", flush=True)
            session, pid, started = bench.launch(app.argv, app.env(), app.ids_file)
            try:
                app.result.paint.append(bench.wait_painted(session, started, prefixes, total))
                if run == 0:
                    if keys:
                        app.result.keys, app.result.missed = bench.key_latencies(session, prefixes, keys)
                    app.result.rss = memory_mb(app_pid(pid, app.argv))
            except BenchError as exc:
                app.result.error = str(exc)
                print(f"  failed: {exc}", flush=True)
            finally:
                bench.tmux.close(session)


def app_pid(pane_pid: int, argv: list[str]) -> int:
    """The app's own process: the pane's process, or its child when a shell stayed in between."""
    script = argv[1] if len(argv) > 1 and argv[1].endswith(".py") else argv[0]
    marker = Path(script).name.encode()
    for pid in [pane_pid, *children(pane_pid)]:
        with contextlib.suppress(OSError):
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
    return pane_pid


def report_app(table: Table, scenario: str, mine: AppRun, base: AppRun, targets: dict[str, str], keys: bool) -> None:
    def show(run: AppRun, figure: Callable[[AppRun], str]) -> str:
        if run.error is not None and not run.paint:
            return "failed"
        return figure(run)

    table.add(
        scenario,
        "launch -> jobs painted",
        show(mine, lambda r: seconds(r.paint)),
        show(base, lambda r: seconds(r.paint)),
        targets.get("paint", ""),
    )
    if keys:
        for name, q in (("p50", 0.5), ("p95", 0.95)):

            def latency(run: AppRun, q: float = q) -> str:
                if not run.keys:
                    return "n/a"
                missed = f" ({run.missed} over {KEY_TIMEOUT:g} s)" if run.missed else ""
                value = percentile(run.keys, q)
                return f"{value:.0f} ms{missed}" if value != float("inf") else f"> {KEY_TIMEOUT * 1000:.0f} ms{missed}"

            table.add(
                scenario,
                f"key -> paint {name} ({len(mine.keys)} keys)",
                show(mine, latency),
                show(base, latency),
                targets.get(name, ""),
            )
    rss = lambda r: f"{r.rss[0]:.0f} MB (peak {r.rss[1]:.0f})" if r.rss else "n/a"  # noqa: E731
    table.add(scenario, "resident memory", show(mine, rss), show(base, rss), targets.get("rss", ""))
    for who, run in (("batchmon", mine), ("baseline", base)):
        if run.error:
            table.note(f"{scenario}: {who} failed: {run.error[:200]}")


def reopen(bench: Bench, table: Table, n: int, keys: int) -> None:
    scenario = f"reopen {n:,}"
    print(f"{scenario}: starting the simulator", flush=True)
    has_add = bench.has_command("add")
    with running_sim(bench, n) as sim:
        ids = [job_id for job_id, _ in sim.jobs()][:n]
        prefixes = {i[:8] for i in ids}
        how: list[str] = []

        def batchmon_env() -> dict[str, str]:
            folders = bench.folders()
            how.append(bench.prepare_watchlist(folders, ids, has_add))
            return folders.env(sim)

        ids_file = bench.workdir / f"ids-{n}.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        mine = App("batchmon", [str(bench.batchmon)], batchmon_env)
        base = App(
            "stock DataTable",
            [bench.python, str(NAIVE_APP), "--ids-file", str(ids_file)],
            lambda: bench.folders().env(),
        )
        run_apps(bench, [mine, base], prefixes, n, keys)
        targets = {"paint": "<= 1.5 s", "p50": "< 40 ms", "rss": "< 250 MB"} if n >= 100_000 else {}
        report_app(table, scenario, mine.result, base.result, targets, keys=keys > 0)
        table.note(
            f"{scenario}: API {sim.description} (ready in {sim.startup:.1f} s, {sim.rss_mb:.0f} MB); "
            f"{how[0] if how else 'watch list not prepared'}; baseline reads the ids from a text file"
        )


def first_launch(bench: Bench, table: Table, n: int) -> None:
    scenario = f"first-launch {n:,}"
    print(f"{scenario}: starting the simulator", flush=True)
    with running_sim(bench, n) as sim:
        ids = [job_id for job_id, _ in sim.jobs()][:n]
        prefixes = {i[:8] for i in ids}
        ids_file = bench.workdir / f"argv-{n}.txt"
        ids_file.write_text(" ".join(ids))
        mine = App("batchmon", [str(bench.batchmon)], lambda: bench.folders().env(sim), ids_file)
        base = App("stock DataTable", [bench.python, str(NAIVE_APP)], lambda: bench.folders().env(), ids_file)
        run_apps(bench, [mine, base], prefixes, n, 0)
        report_app(table, scenario, mine.result, base.result, {"paint": "<= baseline"}, keys=False)
        if mine.result.paint and base.result.paint:
            ratio = statistics.median(mine.result.paint) / statistics.median(base.result.paint)
            table.note(f"{scenario}: batchmon / baseline launch ratio {ratio:.2f}")
        table.note(
            f"{scenario}: API {sim.description}; ids on the command line (via a launcher script), empty state folder"
        )


def idle(bench: Bench, table: Table, n: int, warmup: float, window: float) -> None:
    scenario = f"idle {n:,}"
    print(f"{scenario}: starting the simulator (every job finishes within a second)", flush=True)
    has_add = bench.has_command("add")
    with running_sim(bench, n, speed=1000) as sim:
        ids = sim.wait_all_terminal()[:n]
        prefixes = {i[:8] for i in ids}
        folders = bench.folders()
        how = bench.prepare_watchlist(folders, ids, has_add)
        ids_file = bench.workdir / f"ids-idle-{n}.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        apps = [
            App("batchmon", [str(bench.batchmon)], lambda: folders.env(sim)),
            App("baseline", [bench.python, str(NAIVE_APP), "--ids-file", str(ids_file)], lambda: bench.folders().env()),
        ]
        figures: dict[str, Idle | str] = {}
        for app in apps:
            print(f"{scenario}: {app.name}, {warmup:g} s warm-up then a {window:g} s window", flush=True)
            try:
                figures[app.name] = idle_window(bench, sim, app, prefixes, n, warmup, window)
            except BenchError as exc:
                print(f"  failed: {exc}", flush=True)
                figures[app.name] = f"failed ({str(exc)[:60]})"

        def cpu(figure: Idle | str) -> str:
            return figure if isinstance(figure, str) else f"{figure.cpu / window:.1%} ({figure.cpu:.2f} CPU-s)"

        mine, base = figures["batchmon"], figures["baseline"]
        table.add(scenario, f"CPU, {window:g} s from {warmup:g} s after launch", cpu(mine), cpu(base), "< 2% of a core")
        if not isinstance(mine, str):
            table.add(scenario, f"requests in those {window:g} s", f"{mine.requests} {mine.by_status}", "-", "0")
            table.add(scenario, f"requests in the first {warmup:g} s", str(mine.warmup_requests), "-", "")
        table.note(f"{scenario}: API {sim.description}, all {n:,} jobs finished or error before launch; {how}")


@dataclass
class Idle:
    cpu: float  # CPU seconds used in the window
    requests: int  # requests the simulator served in the window
    by_status: dict[str, int]
    warmup_requests: int  # requests before the window


def idle_window(bench: Bench, sim: Sim, app: App, prefixes: set[str], n: int, warmup: float, window: float) -> Idle:
    """CPU seconds and simulator requests of one app over `window` seconds, `warmup` seconds after launch."""
    sim.clear_stats()
    session, pane_pid, started = bench.launch(app.argv, app.env())
    try:
        bench.wait_painted(session, started, prefixes, n)
        pid = app_pid(pane_pid, app.argv)
        time.sleep(max(0.0, started + warmup - time.perf_counter()))
        warmup_requests = sim.stats()["requests"]
        sim.clear_stats()
        cpu_before = cpu_seconds(pid)
        time.sleep(window)
        cpu = cpu_seconds(pid) - cpu_before
        stats = sim.stats()
        if bench.tmux.dead(session):
            raise BenchError("the app exited during the window")
        return Idle(cpu, stats["requests"], stats["by_status"], warmup_requests)
    finally:
        bench.tmux.close(session)


def add(bench: Bench, table: Table, n: int) -> None:
    scenario = f"add {n:,}"
    rng = random.Random(0)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]
    text = "\n".join(ids) + "\n"
    copy = "import sys; open(sys.argv[1], 'w').write(sys.stdin.read())"
    baseline = []
    for _ in range(bench.runs):
        folders = bench.folders()
        baseline.append(bench.timed([bench.python, "-c", copy, str(folders.root / "ids.txt")], text, folders.env())[0])
    mine = "n/a (command missing)"
    if bench.has_command("add"):
        try:
            times = []
            for _ in range(bench.runs):
                folders = bench.folders()
                elapsed, output = bench.timed([str(bench.batchmon), "add", "-"], text, folders.env())
                times.append(elapsed)
            table.note(f"{scenario}: batchmon add said: {output[:200]}; {bench.check_watched(folders, ids)}")
            mine = seconds(times)
        except BenchError as exc:
            print(f"  failed: {exc}", flush=True)
            mine = f"failed ({str(exc)[:80]})"
    table.add(scenario, "whole process", mine, seconds(baseline), "< 3 s")
    table.note(
        f"{scenario}: random uuid4 ids (the simulator is not needed); baseline is a Python process "
        "copying the same stdin into a text file (interpreter start-up plus the write)"
    )


@contextlib.contextmanager
def running_sim(bench: Bench, jobs: int, speed: float = 1.0) -> Iterator[Sim]:
    sim = Sim(bench.batchmon, jobs, bench.folders().env(), speed=speed)
    try:
        yield sim
    finally:
        sim.stop()


# -- main ---------------------------------------------------------------------------------------


def interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM cleans up as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=("reopen", "first-launch", "idle", "add", "all"))
    parser.add_argument("n", nargs="?", type=int, help="jobs (default: as in `all`)")
    default_batchmon = Path(sys.executable).parent / "batchmon"
    parser.add_argument("--batchmon", type=Path, default=default_batchmon, help="the console script under test")
    parser.add_argument("--python", default=sys.executable, help="a Python with Textual, for the baseline app")
    parser.add_argument("--runs", type=int, default=1, help="launches per app for launch-to-paint (median shown)")
    parser.add_argument("--keys", type=int, default=50, help="timed `j` presses per app in reopen (0: none)")
    parser.add_argument("--warmup", type=float, default=60.0, help="idle: seconds after launch before the window")
    parser.add_argument("--window", type=float, default=30.0, help="idle: seconds measured")
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between screen captures")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds an app may take to paint")
    parser.add_argument("--json", type=Path, help="also write the table here as JSON")
    args = parser.parse_args()
    if not args.batchmon.exists():
        parser.error(f"{args.batchmon} does not exist (--batchmon PATH)")
    if subprocess.run(["tmux", "-V"], capture_output=True).returncode != 0:
        parser.error("tmux is needed")

    def size(default: int) -> int:
        return int(args.n) if args.n and args.scenario != "all" else default

    signal.signal(signal.SIGTERM, interrupt)
    table = Table()
    tmux = Tmux()
    with tempfile.TemporaryDirectory(prefix="batchmon-bench-") as workdir:
        bench = Bench(args.batchmon, args.python, tmux, Path(workdir), args.poll, args.timeout, args.runs)
        try:
            tmux.start()
            version = subprocess.run(
                [str(args.batchmon), "--version"], capture_output=True, text=True, env=bench.folders().env()
            )
            print(
                f"{version.stdout.strip() or args.batchmon}; tmux {WIDTH}x{HEIGHT}; {os.cpu_count()} CPUs", flush=True
            )
            plan: list[Callable[[], None]] = []
            if args.scenario in ("reopen", "all"):
                sizes = [args.n] if args.n and args.scenario != "all" else [100_000, 10_000]
                plan += [functools.partial(reopen, bench, table, n, args.keys) for n in sizes]
            if args.scenario in ("first-launch", "all"):
                plan.append(lambda: first_launch(bench, table, size(10_000)))
            if args.scenario in ("idle", "all"):
                plan.append(lambda: idle(bench, table, size(10_000), args.warmup, args.window))
            if args.scenario in ("add", "all"):
                plan.append(lambda: add(bench, table, size(100_000)))
            loads = []
            for step in plan:
                loads.append(f"{os.getloadavg()[0]:.1f}")
                try:
                    step()
                except BenchError as exc:
                    table.note(f"scenario failed: {exc}")
        except KeyboardInterrupt:
            print("\ninterrupted; cleaning up", file=sys.stderr)
            return 130
        finally:
            tmux.stop()
        table.note(
            f"1-minute load average as each scenario started: {', '.join(loads)} ({os.cpu_count()} CPUs); "
            "work elsewhere on the machine slows both apps, so compare within a row"
        )
        if bench.capture_ms:
            sends = f"; one send-keys {statistics.median(bench.send_ms):.1f} ms" if bench.send_ms else ""
            table.note(
                f"one capture-pane takes {statistics.median(bench.capture_ms):.1f} ms (median){sends}; "
                f"screens are polled every {args.poll * 1000:.0f} ms; times include these"
            )
    print()
    print(table.render())
    if args.json:
        args.json.write_text(json.dumps({"rows": table.rows, "notes": table.notes}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
