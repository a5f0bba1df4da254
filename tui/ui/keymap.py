"""Binding ids (the action's name) and the config file's `[keymap]` table that remaps them."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingsMap, BindingType
from textual.keys import Keys, _normalize_key_list, key_to_character

from tui.core.config import ConfigError

# The contract's ids (design.md); one whose binding is not built yet may be set all the same.
CONTRACT_IDS = frozenset(
    {
        "add",
        "remove",
        "refresh",
        "copy_key",
        "copy_uri",
        "copy_id",
        "copy_link",
        "preview",
        "download",
        "download_all",
        "submit",
        "delete",
        "import",
        "follow",
        "filter",
        "sort",
        "zoom",
        "pause",
        "help",
        "quit",
    }
)
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED_KEYS = frozenset(key.value for key in Keys if "+" not in key.value)
_ACTION = re.compile(r"^(?:\w+\.)?(?P<name>\w+)(?:\((?P<args>.*)\))?$")


def binding_id(action: str) -> str:
    """`app.add` -> `add`, `app.copy('uri')` -> `copy_uri`: the action's name, its argument appended."""
    match = _ACTION.match(action.strip())
    if match is None:
        return action
    words = [match["name"], *(arg.strip(" '\"") for arg in (match["args"] or "").split(",") if arg.strip(" '\""))]
    return "_".join(words)


def with_ids(bindings: Iterable[BindingType]) -> list[BindingType]:
    """The bindings, each without an id given one from its action (so a new binding is remappable at once)."""
    return [
        dataclasses.replace(binding, id=binding_id(binding.action))
        if isinstance(binding, Binding) and binding.id is None
        else binding
        for binding in bindings
    ]


def key_is_valid(key: str) -> bool:
    """A key Textual can bind: `f2`, `ctrl+p`, `G`, `?`, `question_mark`, `shift+tab`."""
    *modifiers, name = key.split("+")
    if not name or any(modifier not in MODIFIERS for modifier in modifiers):
        return False
    if len(name) == 1:
        return name.isprintable() and not name.isspace()
    return name in _NAMED_KEYS or key_to_character(name) is not None


def binding_ids(bindings: Iterable[BindingType]) -> set[str]:
    return {binding.id for binding in bindings if isinstance(binding, Binding) and binding.id}


# The App's own keys (Textual's), which a screen binding cannot take over.
APP_KEYS = (Binding("ctrl+q", "quit", id="quit"), Binding("ctrl+c", "help_quit", id="help_quit"))


def check_keymap(
    keymap: Mapping[str, str],
    known_ids: Iterable[str],
    where: str = "[keymap]",
    bindings: Iterable[BindingType] = (),
) -> dict[str, str]:
    """The keymap if every id is a binding's, every key one Textual can bind and none takes
    another binding's key (of `bindings`, as remapped), else ConfigError (one line)."""
    known = sorted(CONTRACT_IDS | set(known_ids))
    for binding, keys in keymap.items():
        if binding not in known:
            close = difflib.get_close_matches(binding, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (binding ids: {', '.join(known)})"
            raise ConfigError(f"{where}: unknown binding id '{binding}'{hint}")
        for key in keys.split(","):
            if not key_is_valid(key.strip()):
                example = 'e.g. "f2", "ctrl+n"'
                raise ConfigError(f"{where}: {binding} = {keys!r}: '{key.strip()}' is not a key ({example})")
    _check_shadowing(keymap, [*APP_KEYS, *bindings], where)
    return dict(keymap)


def _check_shadowing(keymap: Mapping[str, str], bindings: list[BindingType], where: str) -> None:
    """A remapped key must not be another binding's too: one of them would never fire (`add = "q"`
    would leave no way to quit). Textual's own clash check misses a clash with a binding that is
    not remapped, so the keys in force are worked out here."""
    holders: dict[str, list[str]] = {}
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        name = binding.id or binding_id(binding.action)
        keys = keymap.get(name, binding.key)
        for key in _normalize_key_list(keys).split(","):
            names = holders.setdefault(key.strip(), [])
            if name not in names:
                names.append(name)
    for name, keys in keymap.items():
        for key in _normalize_key_list(keys).split(","):
            others = [other for other in holders.get(key.strip(), []) if other != name]
            if others:
                raise ConfigError(
                    f"{where}: {name} = {keys!r} takes {key.strip()!r} from {others[0]}, which would then "
                    f"never work; choose another key, or remap {others[0]} too"
                )


def keys_in_force(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> list[Binding]:
    """The bindings as remapped by `keymap`, in their declared order (one entry per binding id)."""
    bindings = list(bindings)
    remapped = BindingsMap(bindings)
    remapped.apply_keymap({binding: _normalize_key_list(keys) for binding, keys in keymap.items()})
    by_id: dict[str, list[Binding]] = {}
    for _key, found in remapped.key_to_bindings.items():
        for binding in found:
            by_id.setdefault(binding.id or binding.action, []).append(binding)
    result: list[Binding] = []
    for originals in BindingsMap(bindings).key_to_bindings.values():
        for original in originals:
            group = by_id.pop(original.id or original.action, None)
            if group:
                keys = ",".join(dict.fromkeys(found.key for found in group))
                result.append(dataclasses.replace(group[0], key=keys))
    return result
