"""What a copy key copies: the job id, or an output's S3 key or s3:// URI, or why nothing."""

from __future__ import annotations

from dataclasses import dataclass

from tui.api import OutputRef
from tui.core.watchlist import JobView
from tui.present.text import printable


@dataclass(frozen=True)
class CopyTarget:
    """One of: `text` to copy (described by `label`), a `problem` to show, or `fetch_first`."""

    text: str | None = None
    label: str = ""
    problem: str | None = None
    fetch_first: bool = False  # the job ended but its record (with the outputs) has not arrived


def copy_target(view: JobView, what: str, highlighted: OutputRef | None) -> CopyTarget:
    """`what` is `id`, `key` or `uri`; `highlighted` is the output chosen in the detail pane, if any."""
    if what == "id":
        return CopyTarget(view.id, "job id")
    outputs = view.outputs()
    output = highlighted or (outputs[0] if outputs else None)
    if output is None and view.terminal and (view.job is None or view.job.status != view.status):
        return CopyTarget(fetch_first=True)  # rather than claim there are no outputs
    short = printable(view.id)[:8]
    if output is None:
        when = "" if view.terminal else f" yet (it is {printable(view.status or 'not fetched')})"
        return CopyTarget(problem=f"Job {short} has no outputs{when}; nothing copied")
    label = f"{printable(output.kind)} {printable(output.format or '')}".strip()
    if what == "key":
        if not output.key:
            return CopyTarget(problem="This output has no S3 key; nothing copied")
        return CopyTarget(output.key, f"S3 key of {label}")
    if output.s3_uri is None:
        return CopyTarget(problem="This output has no bucket or key, so no s3:// URI; nothing copied")
    return CopyTarget(output.s3_uri, f"S3 URI of {label}")
