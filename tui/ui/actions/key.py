"""The App's keys for the API key and polling: enter a key, pause, and the re-check while it is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from tui.core.session import KeyNews
from tui.present.text import printable
from tui.ui.screens.set_key import SetKeyScreen

if TYPE_CHECKING:
    from tui.core.session import Session
    from tui.ui.screens.main import MainScreen


class KeyActions:
    """Mixed into the App (before textual's App): says what the session's key re-check found."""

    if TYPE_CHECKING:
        session: Session
        main: MainScreen

        notify: Any  # textual's App API
        push_screen: Any

    @property
    def unauthorised(self) -> bool:
        return self.session.unauthorised

    def recheck_key(self, *, now: bool = False) -> None:
        """While the key is refused, the session reads the configuration again: say what it found.

        On a timer (KEY_RECHECK) and on `p`; `now` also retries the old key at once.
        """
        self._say(self.session.recheck_key(now=now))

    def _say(self, news: KeyNews | None) -> None:
        if news is None:
            return
        if news.problem is not None:
            self.notify(f"Cannot read the key: {printable(news.problem)}", severity="error", timeout=10, markup=False)
        if news.found_new:
            self.main.refresh_header()
            self.notify("Found a new API key in the configuration; trying it", timeout=5)

    def action_set_key(self) -> None:
        self.push_screen(SetKeyScreen(), callback=self._key_entered)

    def _key_entered(self, key: SecretStr | None) -> None:
        if key is None:
            return
        self.session.use_key(key)
        self.main.refresh_header()
        self.notify("Using the new API key for this session (not saved)", timeout=5)

    def action_pause(self) -> None:
        if self.unauthorised:
            # Pausing cannot fix a refused key: look for a new one and try again instead.
            self.recheck_key(now=True)
            self.notify("Trying the API key again (K enters a new one)", timeout=4)
        else:
            self.session.toggle_pause()
        self.main.refresh_header()
