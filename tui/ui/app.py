"""The batchmon Textual app: services, timers, workers and message routing around the WatchList."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

import tui
from tui.api.ids import PickedIds, pick_job_ids
from tui.api.models import JobListPage
from tui.core.endings import Announcement
from tui.core.session import Session
from tui.core.watchlist import JobView
from tui.present.text import printable
from tui.ui.actions.copying import CopyActions
from tui.ui.actions.jobs import JobActions
from tui.ui.actions.key import KeyActions
from tui.ui.actions.notices import NoticeHistory
from tui.ui.actions.outputs import OutputActions
from tui.ui.keymap import keys_in_force
from tui.ui.messages import ImportAsked, PollerStopped, PollUpdated
from tui.ui.palette import BatchmonCommands
from tui.ui.screens.add_jobs import AddJobsScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.import_jobs import ImportJobsScreen
from tui.ui.screens.main import MainScreen

FLUSH_EVERY = 0.5  # seconds: poll results are coalesced and painted at most twice a second
SAVE_EVERY = 1.5  # seconds: staged observations are written this often while there are any
KEY_RECHECK = 30.0  # seconds: while the key is refused, the config file and environment are read again this often


def styles_dir() -> Path:
    """Installed, the sheets ship as `tui/styles`; in a checkout they sit in the repo's `styles/`."""
    packaged = Path(tui.__file__).parent / "styles"
    if packaged.is_dir():
        return packaged
    return Path(tui.__file__).parent.parent / "styles"


def _short(job_id: str) -> str:
    return printable(job_id)[:8]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class BatchmonApp(NoticeHistory, JobActions, OutputActions, CopyActions, KeyActions, App[None]):
    """Routes and renders what the session (the one controller) reports; the main screen draws it.

    Poll results arrive through one long-lived worker as `PollUpdated` messages; the WatchList
    coalesces them, and a timer (`flush_every`) has the session apply them, and repaints what
    changed. Another timer (`save_every`) saves and follows other instances' changes.
    """

    TITLE = "batchmon"
    CSS_PATH = styles_dir() / "app.tcss"
    COMMANDS = App.COMMANDS | {BatchmonCommands}

    def __init__(
        self,
        *,
        session: Session,
        picked: PickedIds | None = None,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        on_exit: Callable[[], None] | None = None,
        flush_every: float = FLUSH_EVERY,
        save_every: float = SAVE_EVERY,
    ) -> None:
        super().__init__()
        self.session = session
        self.settings = settings = session.settings
        self.client = session.client
        self.outputs = session.outputs  # access links and file transfers (files never get the key)
        self.watchlist = watchlist = session.watchlist
        self.demo = demo
        self.clock = clock
        self.flush_every = flush_every
        self.save_every = save_every
        self._picked = picked
        self._on_exit = on_exit
        self._warnings: list[str] = []  # from opening the store, shown once the screen is up
        self._problem_shown: str | None = None  # the store problem last shown, so it is shown once
        self._closed = False  # the watch list is closed: a timer tick during teardown does nothing
        self.notices = []  # every notification of this session, for `N`
        self.main = MainScreen(
            watchlist,
            title="batchmon demo" if demo else "batchmon",
            stale_after=max(5 * settings.interval, 15.0),
            clock=clock,
        )
        self.table = self.main.table
        self.detail = self.main.detail
        self.set_keymap(dict(settings.keymap))  # checked by build_app against the bindings' ids

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def on_load(self) -> None:
        """Open the watch list before the screens mount, so the first frame shows it."""
        picked = self._picked or PickedIds([], 0)
        # The saved jobs reach the poller after the first frame (see _start_polling).
        self._warnings = self.session.open(picked.ids)
        self._restore_theme()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        for warning in self._warnings:
            self.notify(printable(warning), title="Watch list", severity="warning", timeout=20, markup=False)
        for warning in self.settings.warnings:
            self.notify(printable(warning), title="Configuration", severity="warning", timeout=20, markup=False)
        picked = self._picked
        if picked is not None and picked.ignored:
            named = ", ".join(repr(printable(line)[:40]) for line in picked.samples)
            self.notify(
                f"Ignored {_plural(picked.ignored, 'argument')} without a job id: {named}",
                severity="error",
                timeout=10,
                markup=False,
            )
        self._show_problem()
        self.call_after_refresh(self._start_polling)
        self._check_store()
        self._consume_updates()
        self.set_interval(self.flush_every, self._flush_updates)
        self.set_interval(self.save_every, self._save)
        self.set_interval(KEY_RECHECK, self.recheck_key)
        if not self.is_headless:  # a headless App is a test's guest: the signals stay the test runner's
            self._on_signals(self._terminate)

    def _restore_theme(self) -> None:
        """The theme chosen last time (kept in the store's settings), if this Textual still has it."""
        theme = self.watchlist.setting("theme")
        if theme is not None and theme in self.available_themes:
            self.theme = theme

    def _theme_changed(self, theme: Theme) -> None:
        self.main.restyle()
        self.watchlist.remember("theme", theme.name)

    def _on_signals(self, handler: Callable[[], None] | None) -> None:
        """SIGTERM and SIGHUP (the terminal went away) quit cleanly: saved, terminal restored."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                if handler is None:
                    loop.remove_signal_handler(sig)
                else:
                    loop.add_signal_handler(sig, handler)
            except (NotImplementedError, RuntimeError, ValueError, AttributeError):
                pass  # not the main thread, or a platform without these signals

    def _terminate(self) -> None:
        self.exit()

    async def on_unmount(self) -> None:
        """Save the watch list, close the client and stop the demo server: on every exit path."""
        if not self.is_headless:
            self._on_signals(None)
        self._closed = True
        try:
            await self.session.aclose()
        finally:
            if self._on_exit is not None:
                await asyncio.to_thread(self._on_exit)

    async def _start_polling(self) -> None:
        """Hand the saved jobs to the poller in batches, letting keys and paints in between."""
        for _ in self.watchlist.start_polling():
            await asyncio.sleep(0)

    # -- poll results -----------------------------------------------------------------------------

    @work(exit_on_error=False, group="poll")
    async def _consume_updates(self) -> None:
        """The one long-lived poll consumer; a crash becomes a visible state, not an app exit."""
        try:
            async for update in self.session.updates():
                self.post_message(PollUpdated(update))
        except Exception as exc:  # anything the poller raises is shown, not raised
            self.post_message(PollerStopped(printable(str(exc) or type(exc).__name__)[:200]))

    def on_poll_updated(self, message: PollUpdated) -> None:
        self.watchlist.receive(message.update)

    def on_poller_stopped(self, message: PollerStopped) -> None:
        self.watchlist.stopped = message.error
        self.notify(
            f"Polling stopped: {message.error}. Restart batchmon to resume.", severity="error", timeout=30, markup=False
        )
        self._flush_updates()

    def _flush_updates(self) -> None:
        """Apply coalesced poll results; repaint what changed; toast the endings that are due."""
        if self._closed or not self.table.is_attached:
            return  # a last tick while the app shuts down
        on_screen = self.table.visible_ids()
        if self.main.selected_id is not None:
            on_screen.append(self.main.selected_id)
        flushed = self.session.flush(on_screen)
        self.main.repaint(flushed.views)
        if flushed.announcement is not None:
            self._announce(flushed.announcement)
        self.copy_if_fetched()

    def _announce(self, announcement: Announcement) -> None:
        """One toast (and the bell) for the jobs seen ending together; first sightings stay quiet."""
        severity: SeverityLevel = "error" if announcement.failed else "information"
        self.notify(announcement.text, severity=severity, timeout=announcement.timeout, markup=False)
        if self.settings.bell:
            self.bell()

    # -- the store --------------------------------------------------------------------------------

    def _save(self) -> None:
        """Write staged observations, then follow another instance's changes."""
        if self._closed:
            return
        reconciled = self.session.save()
        if reconciled is not None and self.table.is_attached:
            self.main.drop(reconciled.removed)
            self.main.repaint(reconciled.views)
        self._show_problem()

    @work(thread=True, exit_on_error=False, group="store-check")
    def _check_store(self) -> None:
        """The store's full integrity check, off the UI thread; a damaged file is set aside by the next save."""
        why = self.watchlist.check_integrity()
        if why is not None:
            self.call_from_thread(self.watchlist.damaged, why)

    def _show_problem(self) -> None:
        while self.watchlist.notices:
            notice = self.watchlist.notices.pop(0)
            self.notify(printable(notice), title="Watch list", severity="warning", timeout=20, markup=False)
        problem = self.watchlist.problem
        if problem is not None and problem != self._problem_shown:  # say it once, not every save
            self.notify(
                f"{printable(problem)}\nThe watch list is kept in memory and saved when possible.",
                title="Watch list not saved",
                severity="error",
                timeout=20,
                markup=False,
            )
        if problem != self._problem_shown and self.table.is_attached:
            self.main.refresh_header()  # the header says why changes are not saved, until they are
        self._problem_shown = problem

    # -- actions ----------------------------------------------------------------------------------

    def _selected(self) -> JobView | None:
        job_id = self.main.selected_id
        if job_id is None:
            self.notify("No job selected. Press a to add job ids.", severity="warning", timeout=4)
            return None
        return self.watchlist.view(job_id, load=True)

    def action_add(self) -> None:
        self.push_screen(AddJobsScreen(lookup=self.ids_with_prefix), callback=self.add_jobs)

    def ids_with_prefix(self, prefix: str, limit: int) -> list[str]:
        """Watched ids starting with `prefix` (short ids in the add dialog)."""
        return self.session.ids_with_prefix(prefix, limit)

    def on_import_asked(self, _message: ImportAsked) -> None:
        """`i` on the main screen: pick jobs from the domain's list and watch them."""
        client = self.client

        async def list_page(limit: int, cursor: str | None, recording: str | None) -> JobListPage:
            return await client.list_jobs(limit=limit, starting_after=cursor, recording_id=recording, urgent=True)

        def chosen(ids: list[str] | None) -> None:
            if ids:
                self.add_jobs(pick_job_ids("\n".join(ids)))

        self.push_screen(ImportJobsScreen(list_page, self.watchlist), callback=chosen)

    def add_jobs(self, picked: PickedIds | None) -> None:
        """Watch the ids picked out of the dialog's text; already watched ones are counted."""
        if picked is None or not picked.ids:
            return
        result = self.watchlist.add(picked.ids)
        if result.added:
            self.main.repaint(self.watchlist.view(job_id) for job_id in result.added)
            self.table.select(result.added[0])
        elif picked.ids[0] in self.watchlist:
            self.table.select(picked.ids[0])  # a short id typed to find a job: go to it
        message = f"Watching {_plural(len(result.added), 'more job')}" if result.added else "Nothing added"
        if result.already:
            message += f"; {result.already} already watched"
        if picked.ignored:
            message += f"; ignored {_plural(picked.ignored, 'line')} without a job id"
        self.notify(message, timeout=4)
        self._show_problem()

    def action_remove(self) -> None:
        job_id = self.main.selected_id
        if job_id is None:
            self._selected()
            return
        gone = self.watchlist.view(job_id).gone  # deleted elsewhere: "stays on Daily" would be wrong
        self.main.drop(self.watchlist.remove([job_id]))
        self.removed_with_undo(job_id, gone=gone)
        self._show_problem()

    def action_refresh(self) -> None:
        view = self._selected()
        if view is not None:
            self.session.refresh(view.id)
            self.notify(f"Refreshing {_short(view.id)}", timeout=2, markup=False)

    def action_help(self) -> None:
        bindings = self.help_bindings()
        keys = [(self.get_key_display(binding), binding.tooltip or binding.description) for binding in bindings]
        self.push_screen(HelpScreen(keys))

    def help_bindings(self) -> list[Binding]:
        """The main screen's keys as remapped by `[keymap]`: the keys in force."""
        return keys_in_force(MainScreen.BINDINGS, self._keymap)

    def action_profile(self) -> None:
        """Say which profile and API this instance uses (the palette's `Profile`)."""
        profile = self.settings.profile or "default (no profile chosen)"
        api = "the demo simulator" if self.demo else self.settings.api_url
        self.notify(f"Profile: {printable(profile)}\nAPI: {printable(api)}", title="Profile", timeout=8, markup=False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.table.follow_top = False  # the user is steering now
        typed = isinstance(event, events.Key) and event.is_forwarded and self.screen is self.main
        if typed and self.main.typed_into_filter(event):  # type: ignore[arg-type]  # right after `/`: text
            return
        await super().on_event(event)
