"""Serving the simulator on a loopback port with uvicorn in a background thread."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType

import uvicorn

from tui.sim.app import create_app
from tui.sim.faultlayer import ConnectionDropped
from tui.sim.faults import Faults
from tui.sim.state import Simulator

STARTUP_TIMEOUT = 10.0


class _HideDrops(logging.Filter):
    """Injected drops are deliberate; keep uvicorn from logging each one as a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


_HIDE_DROPS = _HideDrops()


class SimServer:
    """A simulator served by uvicorn on its own thread and event loop.

    Works from plain code and from inside a running event loop alike (see `serve_async`).
    """

    def __init__(
        self,
        sim: Simulator | None = None,
        faults: Faults | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.sim = sim if sim is not None else Simulator()
        self.faults = faults if faults is not None else Faults()
        self.app = create_app(self.sim, self.faults)
        self.host = host
        self.port = port  # the real port once started
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client uses as DAILY_API_URL."""
        return f"{self.root_url}/v1"

    def start(self) -> SimServer:
        # Binding here, before uvicorn runs, makes port 0 race-free: the port is ours already.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # leave the host program's logging alone
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=5,
            timeout_graceful_shutdown=2,
        )
        logging.getLogger("uvicorn.error").addFilter(_HIDE_DROPS)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sim-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"simulator server on port {self.port} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop accepting, close idle connections, wait briefly for in-flight requests."""
        if self._server is not None:
            self._server.should_exit = True
        thread = self._thread
        if thread is not None:
            thread.join(timeout=STARTUP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        if thread is not None and thread.is_alive():
            raise RuntimeError(f"simulator server on port {self.port} did not stop")

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@asynccontextmanager
async def serve_async(
    sim: Simulator | None = None, faults: Faults | None = None, *, port: int = 0
) -> AsyncIterator[SimServer]:
    """`async with serve_async(sim) as server:` inside a running loop (e.g. Textual's).

    The server still runs on its own thread; starting and stopping happen off the caller's loop.
    """
    server = SimServer(sim, faults, port=port)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


def run_forever(
    port: int,
    jobs: int,
    seed: int,
    speed: float,
    api_key: str = "sim-key",
    on_ready: Callable[[str, str], None] | None = None,
    spawn_every: float | None = None,
) -> None:
    """Serve until Ctrl-C (for `batchmon simulate`); `on_ready(base_url, api_key)` runs once listening.

    `spawn_every`: a new job about every so many seconds (see Spawner).
    """
    from tui.sim.spawner import Spawner

    sim = Simulator(jobs=jobs, seed=seed, speed=speed, api_key=api_key)
    server = SimServer(sim, port=port)
    spawner = Spawner(sim, spawn_every, seed=seed) if spawn_every else None
    try:
        server.start()
        if spawner is not None:
            spawner.start()
        if on_ready is not None:
            on_ready(server.base_url, api_key)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if spawner is not None:
            spawner.stop()
        server.stop()
