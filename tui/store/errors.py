"""The store's one error, and what kind of trouble it is (busy, read-only, full)."""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
from pathlib import Path

BUSY = "busy"  # another process holds the write lock
READ_ONLY = "read-only"  # the file or its folder cannot be written
FULL = "full"  # the disk (or quota) is full
NEWER = "newer"  # written by a newer batchmon: never written, never read as ours
OTHER = "other"

_SQLITE_EXTENDED = {4874: FULL}  # SQLITE_IOERR_SHMSIZE: no room to grow the -shm file
# SQLite's primary result codes (extended codes keep them in the low byte)
_SQLITE_KINDS = {5: BUSY, 6: BUSY, 8: READ_ONLY, 13: FULL, 14: READ_ONLY, 3: READ_ONLY, 23: READ_ONLY}
_ERRNO_KINDS = {errno.EROFS: READ_ONLY, errno.EACCES: READ_ONLY, errno.EPERM: READ_ONLY, errno.ENOSPC: FULL}
if hasattr(errno, "EDQUOT"):
    _ERRNO_KINDS[errno.EDQUOT] = FULL

FULL_BELOW = 64 * 1024  # bytes free under which an I/O error is taken for a full disk

# What the header says for each kind: short, the state first
HEADER_WORDS = {BUSY: "store busy", READ_ONLY: "store read-only", FULL: "disk full"}


class StoreError(Exception):
    """The watch list cannot be read or written; the message is short and meant for the user."""

    def __init__(self, message: str, kind: str = OTHER) -> None:
        super().__init__(message)
        self.kind = kind


def kind_of(exc: BaseException) -> str:
    """BUSY, READ_ONLY, FULL or OTHER for an sqlite3 error or an OSError."""
    if isinstance(exc, StoreError):
        return exc.kind
    if isinstance(exc, OSError):
        return _ERRNO_KINDS.get(exc.errno or 0, OTHER)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code in _SQLITE_EXTENDED:
            return _SQLITE_EXTENDED[code]
        if isinstance(code, int) and (code & 0xFF) in _SQLITE_KINDS:
            return _SQLITE_KINDS[code & 0xFF]
        text = str(exc).lower()
        if "locked" in text:
            return BUSY
        if "full" in text:
            return FULL
        if "readonly" in text or "read-only" in text:
            return READ_ONLY
    return OTHER


def kind_at(exc: BaseException, folder: Path) -> str:
    """kind_of, where a bare I/O error on a disk with no room left is FULL (SQLite says "disk I/O error")."""
    kind = kind_of(exc)
    if kind == OTHER:
        with contextlib.suppress(OSError):
            if shutil.disk_usage(folder).free < FULL_BELOW:
                return FULL
    return kind


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether the error is another process holding the lock."""
    return isinstance(exc, sqlite3.OperationalError) and kind_of(exc) == BUSY


def plain(exc: BaseException) -> str:
    """The error's message, or its type's name when it has none."""
    return str(exc) or type(exc).__name__
