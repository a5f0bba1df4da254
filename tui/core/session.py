"""The one controller the App talks to: the watch list with its poller and store, endings and the key."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2
from pydantic import SecretStr

from tui.api import BatchClient, Job, RequestBudget
from tui.core import locations
from tui.core.config import ConfigError, Settings, load_settings
from tui.core.endings import Announcement, Endings
from tui.core.watchlist import JobView, Reconciled, WatchList
from tui.outputs import Outputs
from tui.poller import EngineState, Poller, PollUpdate
from tui.store.database import Store, StoreError

__all__ = ["EngineState", "Flushed", "KeyNews", "PollUpdate", "Session"]


@dataclass(frozen=True)
class Flushed:
    """What one flush of poll results changed: rows to repaint and the endings toast that is due."""

    views: list[JobView]
    announcement: Announcement | None


@dataclass(frozen=True)
class KeyNews:
    """What re-reading the configuration found while the key is refused."""

    problem: str | None = None  # a config problem not said before (never holds the key)
    found_new: bool = False  # a different key was found and is in use now


STORE_WAIT = 0.2  # seconds the UI waits for another instance's lock; then the write is queued and retried


class Session:
    """Owns the client, the outputs and the watch list (and through it the poller and the store).

    The App asks and renders: it hands over what is on screen at each flush and gets back the
    rows to repaint and the toast to show; it never calls the poller or the store itself.
    """

    def __init__(
        self,
        settings: Settings,
        client: BatchClient,
        outputs: Outputs,
        watchlist: WatchList,
        *,
        demo: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.client = client
        self.outputs = outputs  # access links and file transfers (files never get the key)
        self.watchlist = watchlist
        self.demo = demo
        self.endings = Endings(monotonic=monotonic)
        self._key = settings.api_key  # the key in use (SecretStr: never shown, never in a crash report)
        self._key_problem: str | None = None  # the config problem last said while re-reading the key

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        api_url: str,
        api_key: SecretStr | None,
        state_path: Path | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        backoff_initial: float = 1.0,
        follow: bool | None = None,
        recent: int | None = None,
        demo: bool = False,
    ) -> Session:
        """A session with its client, poller, store and watch list, nothing opened yet."""
        client = BatchClient(api_url, api_key, budget=RequestBudget(settings.rate), transport=transport)
        poller = Poller(client, interval=settings.interval, clock=clock, backoff_initial=backoff_initial)
        outputs = Outputs(client, transport=transport)  # files: the same transport, never the key
        store = Store(state_path or locations.state_db(), busy_timeout=STORE_WAIT)
        watchlist = WatchList(store, poller, clock=clock, follow=follow, recent=recent)
        return cls(settings, client, outputs, watchlist, demo=demo)

    # -- life -------------------------------------------------------------------------------------

    def open(self, ids: Sequence[str]) -> list[str]:
        """Open the watch list with `ids` added; the saved jobs are polled by `start_polling`. Warnings."""
        # The full integrity check runs in a thread (the App's _check_store): 0.2 s at 100,000 jobs.
        _, warnings = self.watchlist.open(ids, poll=False, check=False)
        self.watchlist.engine = self.poller.engine_state()
        return warnings

    def updates(self) -> AsyncIterator[PollUpdate]:
        """The poller's reports, for the App's one long-lived consumer."""
        return self.poller.updates()

    async def aclose(self) -> None:
        """Save and close the watch list, then the outputs and the client."""
        self.watchlist.close()
        try:
            await self.outputs.aclose()
        finally:
            await self.client.aclose()

    @property
    def poller(self) -> Poller:
        """The watch list's poller (for this controller and for tests; the App never calls it)."""
        return self.watchlist.poller

    # -- flushing and saving ----------------------------------------------------------------------

    def flush(self, on_screen: list[str]) -> Flushed:
        """Apply coalesced poll results; ask for the records of the rows on screen; the toast due."""
        changes = self.watchlist.take()
        due = self.endings.feed(changes.ended, self._record_of, self.watchlist.__contains__)
        self.poller.want_records(self.watchlist.lacking_records(on_screen))  # replaces the last wish
        return Flushed(changes.views, due)

    def _record_of(self, job_id: str) -> Job | None:
        return self.watchlist.view(job_id, load=True).job

    def save(self) -> Reconciled | None:
        """Write staged observations, then follow another instance's changes."""
        self.watchlist.save()
        return self.watchlist.reconcile()

    # -- what the user asks -----------------------------------------------------------------------

    def refresh(self, job_id: str) -> None:
        """Poll this job now, even while paused or backing off."""
        self.poller.refresh(job_id)

    def ids_with_prefix(self, prefix: str, limit: int) -> list[str]:
        """Watched ids starting with `prefix` (short ids).

        From the store's index, or from memory when the store cannot be read.
        """
        try:
            return self.watchlist.store.ids_with_prefix(prefix, limit)
        except StoreError:
            return sorted(job_id for job_id in self.watchlist.ids() if job_id.startswith(prefix))[:limit]

    @property
    def paused(self) -> bool:
        """Whether polling is paused by the user."""
        return self.poller.paused

    @property
    def unauthorised(self) -> bool:
        """Whether the API refused the key (polling waits for a new one)."""
        return self.poller.engine_state().mode == "unauthorised"

    def toggle_pause(self) -> None:
        """Pause polling, or resume it."""
        if self.poller.paused:
            self.poller.resume()
        else:
            self.poller.pause()
        self.watchlist.engine = self.poller.engine_state()

    # -- the API key ------------------------------------------------------------------------------

    def recheck_key(self, *, now: bool = False) -> KeyNews | None:
        """While the key is refused: read the config file and environment again, and use a new key.

        `now` also retries the old key at once (the poller itself tries it again every 30 s, in
        case it was fixed at the server). None when there is nothing to re-check.
        """
        if self.demo or not self.unauthorised:
            return None
        problem: str | None = None
        try:
            key = load_settings(flags={"profile": self.settings.profile}).api_key
            self._key_problem = None
        except ConfigError as exc:  # the message never holds the key
            if str(exc) != self._key_problem:
                problem = str(exc)
            self._key_problem = str(exc)
            key = None
        if key is not None and key != self._key:
            self.use_key(key)
            return KeyNews(problem, found_new=True)
        if now:
            self.poller.resume()
        self.watchlist.engine = self.poller.engine_state()
        return KeyNews(problem)

    def use_key(self, key: SecretStr) -> None:
        """Use this key from now on (for this session only: it is not saved)."""
        self._key = key
        self.client.set_key(key)  # Outputs asks for links through this same client
        self.poller.resume()
        self.watchlist.engine = self.poller.engine_state()
