"""What can go wrong fetching or saving an output, as one short line for the user."""

from __future__ import annotations

from pathlib import Path


class OutputError(Exception):
    """An output could not be read or saved (file host unreachable, HTTP 403 after re-mint, disk full, ...)."""


class SaveError(OutputError):
    """The file could not be written here (folder not writable, disk full, ...): a local problem."""


class DownloadExists(SaveError):
    """The target file exists and replacing it was not asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} already exists")
