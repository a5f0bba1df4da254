"""The App's copy actions: the job id, an output's S3 key or URI, through tmux, OSC 52 or the OS."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work

from tui.core.copy_target import copy_target
from tui.present.text import printable, shown
from tui.ui.clipboard import copy_text
from tui.ui.messages import Copied

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui.core.config import Settings
    from tui.core.session import Session
    from tui.core.watchlist import JobView, WatchList
    from tui.ui.screens.main import MainScreen
    from tui.ui.widgets.job_detail import JobDetail

COPIED_SHOWN = 2000  # characters of copied text kept on screen (a whole transcript would flood it)
ERROR_SHOWN = 46  # characters of a fetch error in the toast (a toast line's width)


def _short(job_id: str) -> str:
    return printable(job_id)[:8]


class CopyActions:
    """Mixed into the App (before textual's App): copies what the selected job offers."""

    if TYPE_CHECKING:
        session: Session
        settings: Settings
        watchlist: WatchList
        main: MainScreen
        detail: JobDetail
        _selected: Callable[[], JobView | None]

        notify: Any  # textual's App API
        post_message: Any
        call_from_thread: Any
        copy_to_clipboard: Any

    _copy_when_fetched: tuple[str, str] | None = None  # (job id, what) awaiting its record

    def action_copy(self, what: str) -> None:
        view = self._selected()
        if view is not None:
            self._copy_from(view, what)

    def _copy_from(self, view: JobView, what: str) -> None:
        """Copy the job id (`id`), or the highlighted output's S3 key (`key`) or URI (`uri`)."""
        highlighted = self.detail.highlighted_output if self.detail.view and self.detail.view.id == view.id else None
        target = copy_target(view, what, highlighted)
        if target.fetch_first:
            self._copy_when_fetched = (view.id, what)
            self.session.refresh(view.id)
            self.notify(f"Fetching the outputs of {_short(view.id)}; copying when they arrive", timeout=4)
        elif target.text is None:
            self.notify(target.problem or "Nothing to copy", severity="warning", timeout=5, markup=False)
        else:
            self._copy(target.text, target.label)

    def copy_if_fetched(self) -> None:
        """Finish a copy that waited for its job's record (see `_copy_from`)."""
        if self._copy_when_fetched is None:
            return
        job_id, what = self._copy_when_fetched
        if job_id not in self.watchlist:
            self._copy_when_fetched = None  # removed meanwhile
            return
        view = self.watchlist.view(job_id, load=True)
        if view.job is not None and view.job.status == view.status:
            self._copy_when_fetched = None
            self._copy_from(view, what)
        elif view.last_error:
            self._copy_when_fetched = None
            self.notify(
                f"Could not fetch {_short(view.id)}: {shown(view.last_error, ERROR_SHOWN)}",
                severity="error",
                timeout=6,
                markup=False,
            )

    @work(group="copy")
    async def _copy(self, text: str, what: str) -> None:
        """tmux and clipboard tools are subprocesses: run them off the UI thread."""
        choice = self.settings.copy

        def osc52(value: str) -> None:
            self.call_from_thread(self.copy_to_clipboard, value)

        result = await asyncio.to_thread(
            copy_text,
            text,
            osc52=osc52 if choice.osc52 else None,
            use_tmux=choice.tmux,
            use_native=choice.native,
        )
        self.post_message(Copied(what, result))

    def on_copied(self, message: Copied) -> None:
        result = message.result
        visible = printable(result.text[:COPIED_SHOWN]) + ("…" if len(result.text) > COPIED_SHOWN else "")
        line = self.main.copied_line
        line.update(
            Text.assemble(("Copied " if result.ok else "Not copied ", "bold"), (f"{message.what}: ", "dim"), visible)
        )
        line.display = True
        self.notify(
            f"{result.summary()}\n{visible}",
            title=f"Copied {message.what}" if result.ok else "Nothing copied",
            severity="information" if result.ok else "warning",
            timeout=6,
            markup=False,
        )
