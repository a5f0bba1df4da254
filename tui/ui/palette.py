"""The command palette's batchmon commands: every key binding in force, run as if its key were pressed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from textual.app import App
from textual.binding import ActiveBinding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.markup import escape  # the palette reads help texts as markup
from textual.screen import Screen

SKIPPED_ACTIONS = frozenset({"command_palette", "back"})  # the palette itself; escape's "back"


@dataclass(frozen=True)
class Entry:
    """One palette command: what it says, and what runs it."""

    name: str
    help: str
    run: Callable[[], object]


class BatchmonCommands(Provider):
    """Built from the bindings active on the screen the palette was opened from, so a binding added
    (or remapped in `[keymap]`) shows here at once; plus `Profile`, which has no key."""

    def _entries(self) -> Iterator[Entry]:
        screen, app = self.screen, self.app
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding, node = active.binding, active.node
            if node is not screen and node is not app:
                continue  # a widget's navigation keys (up, down, home…) are no commands
            if binding.system or not binding.description or binding.action in SKIPPED_ACTIONS:
                continue
            ident = binding.id or binding.action
            if ident in seen:
                continue
            seen.add(ident)
            keys = ", ".join(app.get_key_display(found.binding) for found in _same(screen, ident, key))
            name = binding.description
            detail = binding.tooltip or binding.description
            yield Entry(name, escape(f"{detail} · key: {keys}"), partial(_run, app, binding.action, node))
        profile = getattr(app, "action_profile", None)
        if profile is not None:
            yield Entry("Profile", "show the active profile and API", profile)

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(entry.name, entry.run, help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            score = max(matcher.match(entry.name), matcher.match(entry.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(entry.name), entry.run, text=entry.name, help=entry.help)


def _same(screen: Screen[object], ident: str, key: str) -> list[ActiveBinding]:
    """Every active binding with this id (a remapped or multi-key binding has several keys)."""
    active = screen.active_bindings
    found = [item for item in active.values() if (item.binding.id or item.binding.action) == ident]
    return found or [active[key]]


async def _run(app: App[object], action: str, node: DOMNode) -> None:
    await app.run_action(action, node)
