"""Every toast kept for the history screen (`N`), its long tokens wrapped at / and -."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.notifications import SeverityLevel

from tui.present.wrap import wrap_tokens
from tui.ui.screens.notifications import Notice, NotificationsScreen

TOAST_TEXT = 46  # characters a toast line holds (styles/app.tcss: Toast max-width 50, less padding)
HISTORY_KEPT = 1000  # notifications remembered for the history screen (`N`)


class NoticeHistory:
    """Mixed into the App first, so its typed `notify` wraps textual's (the next `notify` in the App's order)."""

    if TYPE_CHECKING:
        clock: Callable[[], float]
        size: Any  # textual's App API
        push_screen: Any

    notices: list[Notice]

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
        super().notify(  # type: ignore[misc]  # textual's App.notify, next in the App's order
            message, title=title, severity=severity, timeout=timeout, markup=markup
        )

    def action_notifications(self) -> None:
        self.push_screen(NotificationsScreen(list(self.notices), self.clock()))
