"""Messages the app posts to itself, each named for what happened."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.core.session import PollUpdate
from tui.ui.clipboard import CopyResult


@dataclass
class PollUpdated(Message):
    """The poller reported new job states; the app coalesces these and flushes on a timer."""

    update: PollUpdate


@dataclass
class PollerStopped(Message):
    """The poll loop ended with an error; polling has stopped until the app restarts."""

    error: str  # already made printable


@dataclass
class ImportAsked(Message):
    """The user asked to import jobs from the domain's list (`i` on the main screen)."""


@dataclass
class Copied(Message):
    """A copy attempt finished (it runs in a thread: tmux and clipboard tools are subprocesses)."""

    what: str  # e.g. "S3 key", "S3 URI", "job id"
    result: CopyResult
