"""Make server-supplied text safe to show: no terminal escapes, no control characters."""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; tab and newline are handled by callers that allow them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NO_NEWLINES = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    # Shown as a visible escape, so the data stays truthful without acting on the terminal.
    return f"\\x{ord(match.group()):02x}"


def printable(text: object, *, multiline: bool = False) -> str:
    """`text` as a string with every control character replaced by a visible `\\xNN`.

    This defuses escape sequences (ESC, CSI, OSC) in ids, URIs and error strings. Textual markup
    is a separate concern: render the result through `rich.text.Text`, never as markup.
    """
    pattern = _CONTROL if multiline else _CONTROL_NO_NEWLINES
    return pattern.sub(_visible, str(text))
