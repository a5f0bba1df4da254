"""A simulated Daily Batch Processor API: state machine, ASGI app, loopback server and faults."""

from tui.sim.app import create_app
from tui.sim.faults import Faults
from tui.sim.server import SimServer, serve_async
from tui.sim.state import Simulator

__all__ = ["Faults", "SimServer", "Simulator", "create_app", "serve_async"]
