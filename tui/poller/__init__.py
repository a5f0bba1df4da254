"""The polling engine and what it reports (see tui.poller.engine for how it schedules)."""

from tui.poller.engine import Poller
from tui.poller.types import EngineMode, EngineState, JobState, PollUpdate, StatusChange

__all__ = ["EngineMode", "EngineState", "JobState", "PollUpdate", "Poller", "StatusChange"]
