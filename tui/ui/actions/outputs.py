"""The App's actions on a finished job's outputs: preview, copy the download link, download."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import App
from textual.widgets import Footer, OptionList

from tui.api.errors import ApiError
from tui.outputs import Outputs, download_folder
from tui.outputs.choose import pick_link
from tui.present.text import shown
from tui.ui.screens.preview import PreviewScreen, Wanted
from tui.ui.screens.transfers import download_links, problem
from tui.ui.widgets.transfer import TransferBar

if TYPE_CHECKING:
    from tui.core.config import Settings
    from tui.core.watchlist import JobView
    from tui.ui.widgets.job_detail import JobDetail


def _short(job_id: str) -> str:
    return shown(job_id)[:8]


class OutputActions:
    """Mixed into the App (before textual's App): uses its outputs service, settings and detail pane."""

    if TYPE_CHECKING:
        outputs: Outputs
        settings: Settings
        detail: JobDetail

        notify: Any  # textual's App API, and the App's own selection and copy
        push_screen: Any
        screen: Any
        screen_stack: Any
        focused: Any
        _selected: Callable[[], JobView | None]
        _copy: Any

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:  # noqa: ARG002  # Textual's signature
        # The app's keys act on the job list, which a preview covers: only quitting stays.
        if any(isinstance(screen, PreviewScreen) for screen in self.screen_stack):
            return action == "quit"
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list is self.detail.output_list:  # Enter on an output
            self.action_preview()

    def action_preview(self) -> None:
        view = self._finished_selected()
        if view is not None:
            from_list = self.focused is self.detail.output_list
            self.push_screen(
                PreviewScreen(
                    self.outputs,
                    view.id,
                    preset=view.preset,
                    wanted=self._wanted(view) if from_list else Wanted(),
                    folder=download_folder(self.settings.download_dir, view.id),
                    copy=self._copy,
                )
            )

    def action_copy_link(self) -> None:
        view = self._finished_selected()
        if view is not None:
            self._link_then(view, self._wanted(view), "copy")

    def action_download(self) -> None:
        view = self._finished_selected()
        if view is not None and self._transfer_free():
            self._link_then(view, self._wanted(view), "download")

    def action_download_all(self) -> None:
        view = self._finished_selected()
        if view is not None and self._transfer_free():
            self._link_then(view, None, "download")

    def _finished_selected(self) -> JobView | None:
        """The selected job if it has outputs to fetch; else a toast says why not."""
        view = self._selected()
        if view is None:
            return None
        short = _short(view.id)
        if view.gone:
            self.notify(f"Job {short} is gone (deleted, or never existed)", severity="warning", timeout=5, markup=False)
        elif view.status == "error":
            self.notify(f"Job {short} ended in error: it has no outputs", severity="warning", timeout=5, markup=False)
        elif view.status != "finished":
            now = shown(view.status or "not fetched yet", 60)
            self.notify(
                f"Job {short} has not finished (it is {now}): no outputs yet",
                severity="warning",
                timeout=5,
                markup=False,
            )
        else:
            return view
        return None

    def _wanted(self, view: JobView) -> Wanted:
        """The highlighted output (as `c` copies it), or the job's main one when none is known."""
        ref = self.detail.highlighted_output if self.detail.view and self.detail.view.id == view.id else None
        if ref is None:
            return Wanted()
        same = [r for r in view.outputs() if r.kind == ref.kind and r.format == ref.format]
        return Wanted(ref.kind, ref.format, next((i for i, r in enumerate(same) if r is ref), 0))

    def _transfer_free(self) -> bool:
        if self.screen.query(TransferBar) and self.screen.query_one(TransferBar).display:
            self.notify("A download is running already", severity="warning", timeout=3)
            return False
        return True

    @work(group="outputs", exit_on_error=False)
    async def _link_then(self, view: JobView, wanted: Wanted | None, then: str) -> None:
        """Mint the links, then copy one (`copy`) or download one or all (`download`, wanted None)."""
        try:
            links = await self.outputs.links(view.id)
        except ApiError as exc:
            self.notify(problem(exc, view.id, view.status), severity="error", timeout=6, markup=False)
            return
        if wanted is not None:
            link = pick_link(links, kind=wanted.kind, format=wanted.format, index=wanted.index, preset=view.preset)
            links = [link] if link is not None else []
        if not links:
            self.notify(f"Job {_short(view.id)} offers no such output", severity="warning", timeout=5, markup=False)
        elif then == "copy":
            self._copy(links[0].url, f"download link of {links[0].label}")
        else:
            screen = self.screen
            bar = screen.query_one(TransferBar) if screen.query(TransferBar) else TransferBar()
            if not bar.is_attached:
                await screen.mount(bar, before=screen.query_one(Footer))
            folder = download_folder(self.settings.download_dir, view.id)
            await download_links(cast(App[Any], self), self.outputs, view.id, links, folder, bar)
