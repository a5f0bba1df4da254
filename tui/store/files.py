"""Private files at rest: batchmon's folders 0700 and its files 0600, whoever made them first."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure_private_dir(folder: Path) -> None:
    """Create `folder` (and missing parents) 0700; an existing one of ours that others can enter is
    made 0700. Raises OSError.
    """
    missing: list[Path] = []
    here = folder
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for level in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            level.mkdir(mode=PRIVATE_DIR)
        _tighten(level, PRIVATE_DIR)
    _tighten(folder, PRIVATE_DIR)


def ensure_private_file(path: Path) -> None:
    """Create `path` 0600 in a private folder if missing; an existing one of ours readable by others
    is made 0600. Raises OSError.
    """
    ensure_private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, PRIVATE_FILE))
    _tighten(path, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    """Chmod to `mode` when group or others have any access and the file is ours (the umask or an
    older batchmon made it wider); a folder the user shares on purpose is not theirs to change.
    """
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077 | (mode & 0o700))
