"""Saving a download: a temporary name beside the target, fsync, then rename; never a partial final file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from types import TracebackType

import platformdirs

from tui.outputs.errors import DownloadExists, SaveError
from tui.outputs.links import safe_name
from tui.present.text import printable


def download_folder(download_dir: Path | None, job_id: str) -> Path:
    """(download_dir or the user's downloads folder / "batchmon") / job id."""
    base = download_dir if download_dir is not None else Path(platformdirs.user_downloads_dir()) / "batchmon"
    return base.expanduser() / (safe_name(job_id) or "job")


def refuse_existing(target: Path, force: bool) -> None:
    if not force and target.exists():
        raise DownloadExists(target)


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents 0700 (downloads may be private); folders that
    exist, such as a `--dir` the user made, are left as they are. Raises OSError."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for level in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another download meanwhile
            level.mkdir(mode=0o700)


class AtomicFile:
    """`with AtomicFile(target, force=...) as out: out.write(...); out.commit()`.

    Until commit() the bytes sit in a hidden `.name.<random>.part` in the same folder (so the rename
    is atomic); leaving the block without commit() removes it. A kill -9 may leave that temporary
    file behind, never a partial file under the final name.
    """

    def __init__(self, target: Path, *, force: bool = False) -> None:
        self.target = target
        self.force = force
        self.temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        self._fd: int | None = None
        self._committed = False

    def __enter__(self) -> AtomicFile:
        refuse_existing(self.target, self.force)
        try:
            make_private_dirs(self.target.parent)
            # 0o666 minus the umask, as any new file gets (a mkstemp file would be private).
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            self._fd = os.open(self.temp, flags, 0o666)
        except OSError as exc:
            raise _failed("cannot write to", self.target.parent, exc) from None
        return self

    def write(self, data: bytes) -> None:
        assert self._fd is not None, "write() outside the with block"
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise _failed("cannot write", self.target, exc) from None

    def commit(self) -> None:
        assert self._fd is not None, "commit() outside the with block"
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            refuse_existing(self.target, self.force)  # it may have appeared while we downloaded
            os.replace(self.temp, self.target)
        except OSError as exc:
            raise _failed("cannot write", self.target, exc) from None
        self._committed = True
        _fsync_folder(self.target.parent)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self._committed:
            self.temp.unlink(missing_ok=True)


def _failed(what: str, path: Path, exc: OSError) -> SaveError:
    return SaveError(f"{what} {printable(path)}: {exc.strerror or exc}")


def _fsync_folder(folder: Path) -> None:
    """Makes the rename itself durable; not possible on every platform, and harmless to skip."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
