"""Line breaking that keeps ids, URIs and S3 keys whole: at spaces, then after `/` and `-`."""

from __future__ import annotations

import re

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text


def wrap_tokens(text: str, width: int) -> list[str]:
    """Lines of at most `width`: words move whole to the next line; a word longer than a line
    breaks after its slashes and hyphens; only a piece longer than a line is cut (nothing else can)."""
    width = max(1, width)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in re.findall(r"\S+", paragraph):
            if line and len(line) + 1 + len(word) <= width:
                line += " " + word
                continue
            if line:
                lines.append(line)
                line = ""
            pieces = [word] if len(word) <= width else re.findall(r"[^/\-]*[/\-]|[^/\-]+", word)
            for piece in pieces:
                if line and len(line) + len(piece) > width:
                    lines.append(line)
                    line = ""
                line += piece
                while len(line) > width:
                    lines.append(line[:width])
                    line = line[width:]
        lines.append(line)
    return lines


class Wrapped:
    """A Rich renderable of `text` wrapped by `wrap_tokens` to whatever width it is given."""

    def __init__(self, text: str, style: Style | str = "") -> None:
        self.text = text
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrap_tokens(self.text, options.max_width):
            yield Text(line, style=self.style, no_wrap=True, end="\n")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((len(line) for line in self.text.splitlines()), default=0)
        return Measurement(min(longest, 8), longest)
