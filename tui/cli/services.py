"""`batchmon simulate`, `serve` and `locate`: the simulator, browser mode and where files live."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.cli.common import (
    EXIT_OK,
    Handler,
    UsageError,
    common_options,
    settings_for,
)
from tui.core import locations
from tui.core.config import require_key

if TYPE_CHECKING:
    pass

MAX_SIM_JOBS = 100_000


MIN_SIM_SPEED, MAX_SIM_SPEED = 0.001, 1000.0


MIN_SPAWN_EVERY, MAX_SPAWN_EVERY = 0.1, 86400.0


def _simulate(args: argparse.Namespace) -> int:
    from tui.sim.server import run_forever

    def ready(base_url: str, api_key: str) -> None:
        print(f"Simulated Batch Processor at {base_url}  ({args.jobs} jobs, seed {args.seed})")
        print("Point batchmon at it:")
        print(f"  export DAILY_API_URL={base_url} DAILY_API_KEY={api_key}")
        print("Ctrl-C stops it.", flush=True)

    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    if not 0 <= args.jobs <= MAX_SIM_JOBS:  # seeding 10^8 jobs looked like a hang
        raise UsageError(f"--jobs must be between 0 and {MAX_SIM_JOBS:,}")
    if not MIN_SIM_SPEED <= args.speed <= MAX_SIM_SPEED:  # NaN and inf fail too
        raise UsageError(f"--speed must be between {MIN_SIM_SPEED:g} and {MAX_SIM_SPEED:g}")
    if args.spawn_every is not None and not MIN_SPAWN_EVERY <= args.spawn_every <= MAX_SPAWN_EVERY:
        raise UsageError(f"--spawn-every must be between {MIN_SPAWN_EVERY:g} and {MAX_SPAWN_EVERY:g} seconds")
    run_forever(
        port=args.port, jobs=args.jobs, seed=args.seed, speed=args.speed, on_ready=ready, spawn_every=args.spawn_every
    )
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from tui.ui.serve import serve  # aiohttp and textual-serve load only here

    if not 1 <= args.port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    settings = settings_for(args)  # a bad config or a missing key is said here, not in every browser tab
    if not args.demo:
        require_key(settings)
    tui_args = ["--demo"] if args.demo else []
    for flag in ("profile", "rate", "interval"):
        if getattr(args, flag) is not None:
            tui_args += [f"--{flag}", str(getattr(args, flag))]
    port = args.port
    print(f"batchmon in a browser: http://localhost:{port}  (from elsewhere: ssh -L {port}:localhost:{port} HOST)")
    try:
        serve(args.port, tui_args)
    except OSError as exc:
        raise UsageError(f"cannot serve on port {args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _locate(_args: argparse.Namespace) -> int:
    print(f"config  {locations.config_file()}")
    print(f"state   {locations.state_db()}")
    print(f"log     {locations.log_file()}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    """This family's commands on the `batchmon` parser."""
    simulate = commands.add_parser("simulate", help="run the simulated Batch Processor API")
    simulate.add_argument(
        "--port", type=int, default=8765, metavar="P", help="loopback port (default 8765; 0 = any free port)"
    )
    simulate.add_argument("--jobs", type=int, default=24, metavar="N", help="jobs to seed (default 24)")
    simulate.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    simulate.add_argument("--speed", type=float, default=1.0, metavar="X", help="time factor (default 1)")
    simulate.add_argument(
        "--spawn-every", type=float, metavar="S", help="also submit a new job about every S seconds (for --follow)"
    )

    serve = commands.add_parser("serve", help="the TUI in a browser, served on loopback (textual-serve)")
    serve.add_argument("--port", type=int, default=8000, metavar="P", help="loopback port (default 8000)")
    serve.add_argument("--demo", action="store_true", help="serve the demo (the built-in simulator)")

    commands.add_parser("locate", help="print the config, state and log file paths")
    common_options(serve)


HANDLERS: dict[str, Handler] = {"simulate": _simulate, "serve": _serve, "locate": _locate}
