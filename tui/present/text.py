"""Make server-supplied text safe to show: no terminal escapes, no control characters."""

from __future__ import annotations

import json
import re

# C0 and C1 controls and DEL; tab and newline are handled by callers that allow them. Lone
# surrogates (JSON allows "\ud800") are included: printing one raises UnicodeEncodeError.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_NO_NEWLINES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    # Shown as a visible escape, so the data stays truthful without acting on the terminal.
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, multiline: bool = False) -> str:
    """`text` as a string with every control character replaced by a visible `\\xNN`.

    This defuses escape sequences (ESC, CSI, OSC) in ids, URIs and error strings. Textual markup
    is a separate concern: render the result through `rich.text.Text`, never as markup.
    """
    pattern = _CONTROL if multiline else _CONTROL_NO_NEWLINES
    return pattern.sub(_visible, str(text))


# Bounds for server text shown to people: a 1 MB field must not flood a terminal or stall a redraw.
MAX_SHOWN = 2000  # characters of one value
MAX_DEPTH = 6  # nesting levels of an unknown field's value
MAX_ITEMS = 50  # entries of one list or object


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` cut to `limit` characters, with a note saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def shown(text: object, limit: int = MAX_SHOWN) -> str:
    """Server text ready for a terminal line: cut to `limit`, every control character made visible."""
    return printable(clip(str(text), limit))


def json_preview(value: object, *, limit: int = MAX_SHOWN, depth: int = MAX_DEPTH) -> str:
    """Compact JSON of any parsed value for people: bounded depth, items and length; printable."""
    out: list[str] = []
    used = 0

    class Full(Exception):
        pass

    def put(piece: str) -> None:
        nonlocal used
        out.append(piece)
        used += len(piece)
        if used > limit:
            raise Full

    def walk(item: object, level: int) -> None:
        if isinstance(item, (dict, list)):
            opener, closer = ("{", "}") if isinstance(item, dict) else ("[", "]")
            if level >= depth and item:
                put(f"{opener}…{closer}")
                return
            put(opener)
            entries = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
            for index, (key, child) in enumerate(entries[:MAX_ITEMS]):
                put(", " if index else "")
                if isinstance(item, dict):
                    put(_scalar(clip(str(key), limit // 2)) + ": ")
                walk(child, level + 1)
            if len(entries) > MAX_ITEMS:
                put(f", … {len(entries) - MAX_ITEMS:,} more")
            put(closer)
        else:
            # Half the limit, so the note of one huge string survives the overall cut.
            put(_scalar(clip(item, limit // 2) if isinstance(item, str) else item))

    try:
        walk(value, 0)
        text = "".join(out)
    except Full:
        text = "".join(out)[:limit] + "… (cut)"
    return printable(text)


def _scalar(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON, or an int with more digits than Python will print
        return "…"
