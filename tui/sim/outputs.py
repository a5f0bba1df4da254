"""Which output files a finished job has, and how they appear in job and access-link bodies."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TRANSCRIPT_FORMATS = ("json", "srt", "txt", "vtt")


@dataclass(frozen=True)
class OutputFile:
    """One output object: where it sits in S3 and under which name the simulator serves it."""

    kind: str  # transcription | summary | soap | concept
    format: str
    key: str
    name: str  # file name under /files/<jobId>/


def output_files(preset: str, domain: str, job_id: str, template: str) -> list[OutputFile]:
    """The outputs a job of this preset produces; unknown presets get a transcript only."""
    base = f"{domain}/{job_id}"
    files = [
        OutputFile("transcription", fmt, f"{base}/transcript/{template}.{fmt}", f"transcript.{fmt}")
        for fmt in TRANSCRIPT_FORMATS
    ]
    if preset == "summarize":
        # Summary keys carry no extension, as in the documented examples.
        files.append(OutputFile("summary", "txt", f"{base}/summary/{template}", "summary.txt"))
    elif preset == "soap-notes":
        files.append(OutputFile("soap", "json", f"{base}/soap/{template}.json", "soap.json"))
        files.append(OutputFile("concept", "json", f"{base}/concept/{template}.json", "concept.json"))
    return files


def lists_single_files(job_id: str) -> bool:
    """Whether this job's one-file kinds come as one-item lists rather than objects.

    The docs show objects, live clients read lists (api/ inconsistency 19): half the jobs do each,
    chosen from the (seeded) id, so demos and tests see both without drawing on the seed's stream.
    """
    return zlib.crc32(job_id.encode()) % 2 == 1


def output_object(files: list[OutputFile], bucket: str, region: str, *, as_lists: bool) -> dict[str, Any]:
    """The `output` field of a finished job: a transcription list plus objects (or one-item lists)."""
    return _group(
        files,
        lambda f: {"format": f.format, "s3Config": {"key": f.key, "bucket": bucket, "region": region}},
        as_lists,
    )


def access_link_entries(
    files: list[OutputFile], link_for: Callable[[OutputFile], str], *, as_lists: bool
) -> dict[str, Any]:
    """The flat link objects of an access-link body, keyed by kind."""
    return _group(files, lambda f: {"format": f.format, "link": link_for(f)}, as_lists)


def _group(files: list[OutputFile], entry: Callable[[OutputFile], dict[str, Any]], as_lists: bool) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for f in files:
        grouped.setdefault(f.kind, []).append(entry(f))
    # Several files of a kind are always a list; a single one is an object unless `as_lists`.
    return {kind: items if len(items) > 1 or as_lists else items[0] for kind, items in grouped.items()}
