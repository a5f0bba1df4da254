"""Output download links (from access-link), their file names, and which output a job is mainly about."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tui.api.models import AccessLinks
from tui.present.text import printable

# Safe in file names everywhere; anything else becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
MAX_NAME = 80


@dataclass(frozen=True)
class OutputLink:
    kind: str  # transcription, summary, soap, concept, or a kind the server adds later
    format: str | None
    url: str
    index: int = 0  # position among links of the same kind+format (for file names)

    @property
    def filename(self) -> str:
        """`transcription.srt`, `summary.txt`; `transcription-2.txt` for a second txt."""
        stem = safe_name(self.kind) or "output"
        if self.index:
            stem += f"-{self.index + 1}"
        extension = safe_name(self.format or "").lower()
        return f"{stem}.{extension}" if extension else stem

    @property
    def label(self) -> str:
        """`transcription srt` (printable), `#2` added for a second link of the same kind and format."""
        text = printable(self.kind) + (f" {printable(self.format)}" if self.format else "")
        return text + (f" #{self.index + 1}" if self.index else "")


def safe_name(text: str) -> str:
    """Server text reduced to a file-name part: no separators, dots, controls or spaces."""
    return _UNSAFE.sub("_", text).strip("_")[:MAX_NAME]


def links_from(body: AccessLinks) -> list[OutputLink]:
    """Every link of an access-link answer, indexed per kind+format; entries without a link are skipped."""
    links: list[OutputLink] = []
    seen: dict[tuple[str, str | None], int] = {}
    for kind, item in body.links():
        if not item.link:
            continue
        index = seen.get((kind, item.format), 0)
        seen[(kind, item.format)] = index + 1
        links.append(OutputLink(kind=kind, format=item.format, url=item.link, index=index))
    return links


class _Output(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def format(self) -> str | None: ...


T = TypeVar("T", bound=_Output)

# The kind a preset's users waited for.
MAIN_KIND = {"transcript": "transcription", "summarize": "summary", "soap-notes": "soap"}


def main_output(preset: str | None, outputs: Sequence[T]) -> T | None:
    """transcript -> transcription txt (else the first transcription); summarize -> summary;
    soap-notes -> soap; anything else, or the kind missing -> the first output."""
    kind = MAIN_KIND.get(preset or "")
    of_kind = [output for output in outputs if output.kind == kind]
    if kind == "transcription":
        of_kind = [o for o in of_kind if (o.format or "").lower() == "txt"] + of_kind
    if of_kind:
        return of_kind[0]
    return outputs[0] if outputs else None
