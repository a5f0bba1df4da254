"""The App's actions that change jobs at Daily (submit, delete), and undoing a stop-watching."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work

from tui.api import errors
from tui.api.models import SubmitRequest
from tui.api.outcomes import DeleteOutcome, Submitted, delete_checked, submit_once
from tui.present.text import shown
from tui.ui.screens.confirm_delete import ConfirmDeleteScreen
from tui.ui.screens.submit_job import SubmitScreen

if TYPE_CHECKING:
    from tui.api import BatchClient
    from tui.core.session import Session
    from tui.core.watchlist import WatchList
    from tui.ui.screens.main import MainScreen

UNDO_SECONDS = 8.0  # how long `u` brings back a job that `x` stopped watching


def _short(job_id: str) -> str:
    return shown(job_id)[:8]


class JobActions:
    """Mixed into the App (before textual's App): uses its client, watch list, session and main screen."""

    if TYPE_CHECKING:
        client: BatchClient
        watchlist: WatchList
        session: Session
        main: MainScreen
        clock: Callable[[], float]

        notify: Any  # textual's App.notify and App.push_screen
        push_screen: Any

    _undoable: tuple[str, float] | None = None  # (job id, until): the last job `x` removed

    # -- submit -----------------------------------------------------------------------------------

    def action_submit(self) -> None:
        self.push_screen(SubmitScreen(self._submit_request), callback=self.watch_submitted)

    async def _submit_request(self, request: SubmitRequest) -> Submitted:
        return await submit_once(self.client, request)

    def watch_submitted(self, result: Submitted | None) -> None:
        """The new job is watched at once and selected."""
        if result is None or result.job_id is None:
            return
        job_id = result.job_id
        self.watchlist.add([job_id])
        self.main.repaint([self.watchlist.view(job_id)])
        self.main.table.select(job_id)
        if result.lost:
            self.notify(
                f"The submit's answer was lost; a matching job appeared since: {shown(job_id)} (most likely "
                "this one). Watching it; nothing was sent twice.",
                title="Outcome checked",
                severity="warning",
                timeout=12,
                markup=False,
            )
        else:
            self.notify(f"Submitted {shown(job_id)}; watching it", title="Job submitted", timeout=6, markup=False)

    # -- delete at Daily --------------------------------------------------------------------------

    def action_delete(self) -> None:
        job_id = self.main.selected_id
        if job_id is None:
            self.notify("No job selected.", severity="warning", timeout=4)
            return
        view = self.watchlist.view(job_id, load=True)

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.delete_at_daily(job_id)

        self.push_screen(ConfirmDeleteScreen(view), callback=answered)

    @work(exit_on_error=False, group="delete")
    async def delete_at_daily(self, job_id: str) -> None:
        self.notify(f"Deleting {_short(job_id)} at Daily…", timeout=3, markup=False)
        try:
            result = await delete_checked(self.client, job_id)
        except errors.ApiError as exc:
            self.notify(
                f"{_short(job_id)} not deleted: {shown(errors.describe(exc))}",
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        lost = "The answer was lost; a GET shows " if result.lost else ""
        # A job gone from Daily is dropped from the watch list, as k9s drops a deleted pod: a
        # "not found" row would only wait to be removed by hand.
        gone = result.outcome in (DeleteOutcome.DELETED, DeleteOutcome.NOT_FOUND)
        if gone and job_id in self.watchlist:
            self.main.drop(self.watchlist.remove([job_id]))
        if result.outcome is DeleteOutcome.DELETED:
            message = f"{lost}{'it is gone. ' if lost else ''}Deleted {_short(job_id)} at Daily, outputs included."
            self.notify(f"{message} No longer watched.", title="Job deleted", timeout=8, markup=False)
        elif result.outcome is DeleteOutcome.NOT_FOUND:
            self.notify(
                f"{_short(job_id)} was already gone at Daily; no longer watched",
                severity="warning",
                timeout=8,
                markup=False,
            )
        elif result.outcome is DeleteOutcome.STILL_THERE:
            self.notify(
                f"{lost}{_short(job_id)} still exists: it was not deleted. Press X to try again.",
                severity="error",
                timeout=12,
                markup=False,
            )
        else:
            self.notify(
                f"The answer to deleting {_short(job_id)} was lost and checking failed too: whether it was "
                "deleted is unknown.",
                severity="error",
                timeout=12,
                markup=False,
            )
        if job_id in self.watchlist:
            self.session.refresh(job_id)  # the row then shows the outcome: not found once deleted

    # -- undo for x (stop watching) ------------------------------------------------------------------

    def removed_with_undo(self, job_id: str, *, gone: bool = False) -> None:
        """Remember a job `x` just removed, and say that `u` brings it back (`gone`: Daily said 404)."""
        self._undoable = (job_id, self.clock() + UNDO_SECONDS)
        where = "it is not on Daily any more" if gone else "the job stays on Daily"
        self.notify(
            f"Stopped watching {_short(job_id)} ({where}) · u to undo",
            timeout=UNDO_SECONDS,
            markup=False,
        )

    def action_undo(self) -> None:
        undoable, self._undoable = self._undoable, None
        if undoable is None or self.clock() > undoable[1]:
            self.notify("Nothing to undo", severity="warning", timeout=3)
            return
        job_id = undoable[0]
        self.watchlist.add([job_id])
        self.main.repaint([self.watchlist.view(job_id)])
        self.main.table.select(job_id)
        self.notify(f"Watching {_short(job_id)} again", timeout=4, markup=False)
