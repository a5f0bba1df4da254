"""The batchmon Textual app: services, timers, workers and message routing around the WatchList."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr
from rich.text import Text
from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

import tui
from tui.api import BatchClient
from tui.api.ids import PickedIds
from tui.core.config import ConfigError, Settings, load_settings
from tui.core.copy_target import copy_target
from tui.core.watchlist import Ended, JobView, WatchList
from tui.outputs import Outputs
from tui.present.formatting import symbol
from tui.present.text import printable, shown
from tui.present.wrap import wrap_tokens
from tui.store.database import StoreError
from tui.ui.clipboard import copy_text
from tui.ui.keymap import keys_in_force
from tui.ui.messages import Copied, PollerStopped, PollUpdated
from tui.ui.palette import BatchmonCommands
from tui.ui.screens.add_jobs import AddJobsScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.job_actions import JobActions
from tui.ui.screens.main import MainScreen
from tui.ui.screens.notifications import Notice, NotificationsScreen
from tui.ui.screens.output_actions import OutputActions
from tui.ui.screens.set_key import SetKeyScreen

FLUSH_EVERY = 0.5  # seconds: poll results are coalesced and painted at most twice a second
SAVE_EVERY = 1.5  # seconds: staged observations are written this often while there are any
STORE_WAIT = 0.2  # seconds the UI waits for another instance's lock; then the write is queued and retried
KEY_RECHECK = 30.0  # seconds: while the key is refused, the config file and environment are read again this often
COPIED_SHOWN = 2000  # characters of copied text kept on screen (a whole transcript would flood it)
GATHER = 1.0  # seconds endings are gathered into one toast ("3 finished, 1 failed")
REASON_WAIT = 5.0  # seconds a failure toast waits for the job's record (its reason) before going without
REASON_SHOWN = 160  # characters of a failure reason in a toast (the detail pane and `N` show it all)
TOAST_TEXT = 46  # characters a toast line holds (styles/app.tcss: Toast max-width 50, less padding)
HISTORY_KEPT = 1000  # notifications remembered for the history screen (`N`)


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


class BatchmonApp(JobActions, OutputActions, App[None]):
    """Owns the client, the poller and the WatchList; the main screen draws what the WatchList says.

    Poll results arrive through one long-lived worker as `PollUpdated` messages; the WatchList
    coalesces them, and a timer (`flush_every`) applies them and repaints what changed. Another
    timer (`save_every`) writes staged observations and follows other instances' changes.
    """

    TITLE = "batchmon"
    CSS_PATH = styles_dir() / "app.tcss"
    COMMANDS = App.COMMANDS | {BatchmonCommands}

    def __init__(
        self,
        *,
        settings: Settings,
        client: BatchClient,
        outputs: Outputs,
        watchlist: WatchList,
        picked: PickedIds | None = None,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        on_exit: Callable[[], None] | None = None,
        flush_every: float = FLUSH_EVERY,
        save_every: float = SAVE_EVERY,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.client = client
        self.outputs = outputs  # access links and file transfers (files never get the key)
        self.watchlist = watchlist
        self.poller = watchlist.poller
        self.demo = demo
        self.clock = clock
        self.flush_every = flush_every
        self.save_every = save_every
        self._picked = picked
        self._on_exit = on_exit
        self._warnings: list[str] = []  # from opening the store, shown once the screen is up
        self._problem_shown: str | None = None  # the store problem last shown, so it is shown once
        self._closed = False  # the watch list is closed: a timer tick during teardown does nothing
        self._copy_when_fetched: tuple[str, str] | None = None  # (job id, what) awaiting its record
        self.notices: list[Notice] = []  # every notification of this session, for `N`
        self._awaiting_reason: dict[str, tuple[Ended, float]] = {}  # failures waiting for their record
        self._gathered: list[Ended] = []  # endings for the next toast
        self._gather_until = 0.0  # monotonic time the next toast goes out
        self._key = settings.api_key  # the key in use (SecretStr: never shown, never in a crash report)
        self._key_problem: str | None = None  # the config problem last said while re-reading the key
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
        # The full integrity check runs in a thread (_check_store): 0.2 s at 100,000 jobs.
        _, self._warnings = self.watchlist.open(picked.ids, poll=False, check=False)
        self.watchlist.engine = self.poller.engine_state()
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
        self.set_interval(KEY_RECHECK, self._recheck_key)
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
        self._on_signals(None)
        self._closed = True
        self.watchlist.close()
        try:
            await self.outputs.aclose()
            await self.client.aclose()
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
            async for update in self.poller.updates():
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
        """Apply coalesced poll results; repaint what changed; ask for records of the rows on screen."""
        if self._closed or not self.table.is_attached:
            return  # a last tick while the app shuts down
        changes = self.watchlist.take()
        self._gather(self._with_reasons(changes.ended))
        self.main.repaint(changes.views)
        shown = self.table.visible_ids()
        if self.main.selected_id is not None:
            shown.append(self.main.selected_id)
        self.poller.want_records(self.watchlist.lacking_records(shown))  # replaces the last wish
        self._copy_if_fetched()

    def _with_reasons(self, ended: list[Ended]) -> list[Ended]:
        """Endings ready to announce: a failure seen by a list sweep (no error text) waits for its
        record, which the poller fetches at once, and goes without after `REASON_WAIT` seconds."""
        now = time.monotonic()
        ready: list[Ended] = []
        for end in ended:
            if end.status == "error" and end.error is None:
                self._awaiting_reason[end.id] = (end, now + REASON_WAIT)
            else:
                self._awaiting_reason.pop(end.id, None)
                ready.append(end)
        for job_id, (end, deadline) in list(self._awaiting_reason.items()):
            if job_id not in self.watchlist:
                del self._awaiting_reason[job_id]  # removed meanwhile
                continue
            job = self.watchlist.view(job_id, load=True).job
            if job is not None and job.status == "error":
                ready.append(dataclasses.replace(end, error=job.error))
            elif now < deadline:
                continue
            else:
                ready.append(end)
            del self._awaiting_reason[job_id]
        return ready

    def _gather(self, ready: list[Ended]) -> None:
        """Endings seen within `GATHER` seconds of the first go out as one toast."""
        now = time.monotonic()
        if ready and not self._gathered:
            self._gather_until = now + GATHER
        self._gathered += ready
        if self._gathered and now >= self._gather_until:
            ended, self._gathered = self._gathered, []
            self._announce(ended)

    def _announce(self, ended: list[Ended]) -> None:
        """One toast (and the bell) for the jobs seen ending in one flush; first sightings stay quiet."""
        if not ended:
            return
        failed = [end for end in ended if end.status == "error"]
        finished = [end for end in ended if end.status != "error"]
        if len(ended) == 1:
            end = ended[0]
            what = "failed" if failed else "finished"
            preset = shown(end.preset, 60) if end.preset else None  # server text: bounded
            lines = [" ".join(part for part in (symbol(end.status), _short(end.id), preset, what) if part)]
        else:
            counts = [f"{len(finished)} finished" if finished else "", f"{len(failed)} failed" if failed else ""]
            lines = [", ".join(part for part in counts if part)]
            lines += [f"{symbol('error')} {_short(end.id)}" for end in failed[:3] if not end.error]
        for end in failed[:3]:
            if end.error:
                reason = printable(end.error)
                reason = reason if len(reason) <= REASON_SHOWN else reason[: REASON_SHOWN - 1] + "…"
                lines.append(f"{symbol('error')} {_short(end.id)}: {reason}" if len(ended) > 1 else reason)
        if len(failed) > 3:
            lines.append(f"… and {len(failed) - 3} more (N lists them)")
        self.notify(
            printable("\n".join(lines), multiline=True),
            severity="error" if failed else "information",
            timeout=8 if failed else 4,
            markup=False,
        )
        if self.settings.bell:
            self.bell()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast is kept for the history screen (`N`); long tokens wrap at / and -, not mid-token."""
        self.notices.append(Notice(self.clock(), severity, title, message))
        del self.notices[:-HISTORY_KEPT]
        if not markup:
            width = max(10, min(TOAST_TEXT, self.size.width - 4))
            message = "\n".join(wrap_tokens(message, width))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_notifications(self) -> None:
        self.push_screen(NotificationsScreen(list(self.notices), self.clock()))

    # -- the store --------------------------------------------------------------------------------

    def _save(self) -> None:
        """Write staged observations, then follow another instance's changes."""
        if self._closed:
            return
        self.watchlist.save()
        reconciled = self.watchlist.reconcile()
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
        """Watched ids starting with `prefix` (short ids in the add dialog): from the store's index,
        or from memory when the store cannot be read."""
        try:
            return self.watchlist.store.ids_with_prefix(prefix, limit)
        except StoreError:
            return sorted(job_id for job_id in self.watchlist.ids() if job_id.startswith(prefix))[:limit]

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
            self.poller.refresh(view.id)
            self.notify(f"Refreshing {_short(view.id)}", timeout=2, markup=False)

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
            self.poller.refresh(view.id)
            self.notify(f"Fetching the outputs of {_short(view.id)}; copying when they arrive", timeout=4)
        elif target.text is None:
            self.notify(target.problem or "Nothing to copy", severity="warning", timeout=5, markup=False)
        else:
            self._copy(target.text, target.label)

    def _copy_if_fetched(self) -> None:
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
                f"Could not fetch {_short(view.id)}: {shown(view.last_error, TOAST_TEXT)}",
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

    # -- the API key ------------------------------------------------------------------------------

    @property
    def unauthorised(self) -> bool:
        engine = self.poller.engine_state()
        return engine.mode == "unauthorised"

    def _recheck_key(self, *, now: bool = False) -> None:
        """While the key is refused: read the config file and environment again, and use a new key.

        On a timer (KEY_RECHECK) and on `p`; `now` also retries the old key at once (the
        poller itself tries it again every 30 s, in case it was fixed at the server).
        """
        if self.demo or not self.unauthorised:
            return
        try:
            key = load_settings(flags={"profile": self.settings.profile}).api_key
            self._key_problem = None
        except ConfigError as exc:  # the message never holds the key
            if str(exc) != self._key_problem:
                self.notify(f"Cannot read the key: {printable(exc)}", severity="error", timeout=10, markup=False)
            self._key_problem = str(exc)
            key = None
        if key is not None and key != self._key:
            self._use_key(key)
            self.notify("Found a new API key in the configuration; trying it", timeout=5)
        elif now:
            self.poller.resume()

    def _use_key(self, key: SecretStr) -> None:
        self._key = key
        self.client.set_key(key)  # Outputs asks for links through this same client
        self.poller.resume()
        self.watchlist.engine = self.poller.engine_state()
        self.main.refresh_header()

    def action_set_key(self) -> None:
        self.push_screen(SetKeyScreen(), callback=self._key_entered)

    def _key_entered(self, key: SecretStr | None) -> None:
        if key is None:
            return
        self._use_key(key)
        self.notify("Using the new API key for this session (not saved)", timeout=5)

    def action_pause(self) -> None:
        if self.unauthorised:
            # Pausing cannot fix a refused key: look for a new one and try again instead.
            self._recheck_key(now=True)
            self.notify("Trying the API key again (K enters a new one)", timeout=4)
            self.watchlist.engine = self.poller.engine_state()
            self.main.refresh_header()
            return
        if self.poller.paused:
            self.poller.resume()
        else:
            self.poller.pause()
        self.watchlist.engine = self.poller.engine_state()
        self.main.refresh_header()

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
