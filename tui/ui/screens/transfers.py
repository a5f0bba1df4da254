"""Downloading outputs from the TUI (asking before overwriting), and errors told in one short line."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel
from textual.screen import Screen

from tui.api import errors as api_errors
from tui.outputs import DownloadExists, OutputError, OutputLink, Outputs
from tui.present.text import printable
from tui.ui.screens.overwrite import ConfirmOverwrite
from tui.ui.widgets.transfer import TransferBar


def problem(exc: Exception, job_id: str, status: str | None = None) -> str:
    """One line for a toast: why outputs of this job could not be had."""
    short = printable(job_id)[:8]
    if isinstance(exc, api_errors.NotFinished):
        now = f" (it is {printable(status)})" if status else ""
        return f"Job {short} has not finished{now}: no outputs yet"
    if isinstance(exc, api_errors.NotFound):
        return f"Job {short} is gone (deleted, or never existed)"
    if isinstance(exc, api_errors.BadKey):
        return "The API refused the key"
    if isinstance(exc, api_errors.TransportError):
        return f"Could not reach the API: {printable(exc)}"
    return printable(exc) or type(exc).__name__


async def download_links(
    app: App[Any],
    outputs: Outputs,
    job_id: str,
    links: Sequence[OutputLink],
    folder: Path,
    bar: TransferBar,
) -> None:
    """Download `links` into `folder` one by one, with progress on `bar`; ask once before
    overwriting. Says in a toast what was written, kept or failed. Call from a worker."""
    existing = [link for link in links if (folder / link.filename).exists()]
    overwrite = False
    if existing:
        ask: Screen[Any] = ConfirmOverwrite(folder, [link.filename for link in existing])
        overwrite = bool(await app.push_screen_wait(ask))
    written: list[Path] = []
    kept: list[str] = []
    failed: list[str] = []
    for number, link in enumerate(links, start=1):
        if link in existing and not overwrite:
            kept.append(link.filename)
            continue
        bar.begin(link.filename if len(links) == 1 else f"{link.filename} ({number}/{len(links)})")
        try:
            written.append(await outputs.download(job_id, link, folder, force=overwrite, progress=bar.progress))
        except DownloadExists:
            kept.append(link.filename)  # it appeared meanwhile: never overwritten unasked
        except asyncio.CancelledError:
            # The screen went away (Escape in the preview): the partial file is already removed.
            app.notify(f"Download of {printable(link.filename)} cancelled", severity="warning", timeout=5, markup=False)
            raise
        except (OutputError, api_errors.ApiError) as exc:
            failed.append(f"{printable(link.filename)}: {problem(exc, job_id)}")
        finally:
            bar.end()
    lines = [printable(path) for path in written]
    if kept:
        lines.append(f"Kept the existing {', '.join(printable(name) for name in kept)}")
    lines += failed
    title = f"Downloaded {len(written)} file{'s' if len(written) != 1 else ''}" if written else "Nothing downloaded"
    severity: SeverityLevel = "error" if failed else "information" if written else "warning"
    app.notify("\n".join(lines) or "Nothing to download", title=title, severity=severity, timeout=10, markup=False)
