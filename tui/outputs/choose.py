"""Which output link a key press or a command line means: by kind, format and position, else the main one."""

from __future__ import annotations

from collections.abc import Sequence

from tui.outputs import OutputLink, main_output


def pick_link(
    links: Sequence[OutputLink],
    *,
    kind: str | None = None,
    format: str | None = None,
    index: int = 0,
    preset: str | None = None,
) -> OutputLink | None:
    """The link of that kind and format (case ignored) at that position among them; with neither
    given, the job's main output for its preset; with one, the best fit among those that match."""
    if kind is None and format is None:
        return main_output(preset, links)
    chosen = [
        link
        for link in links
        if (kind is None or link.kind.lower() == kind.lower())
        and (format is None or (link.format or "").lower() == format.lower())
    ]
    if not chosen:
        return None
    if format is None:
        # A kind alone: its plain-text form reads best, as for a transcript job's main output.
        return next((link for link in chosen if (link.format or "").lower() == "txt"), chosen[0])
    if kind is None:
        return main_output(preset, chosen)  # a format alone: the preset's main output in it
    return next((link for link in chosen if link.index == index), chosen[0])
