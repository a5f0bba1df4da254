"""Which output files a finished job has, and how they appear in job and access-link bodies."""

from __future__ import annotations

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


def output_object(files: list[OutputFile], bucket: str, region: str) -> dict[str, Any]:
    """The `output` field of a finished job: a transcription list plus single objects."""
    return _group(files, lambda f: {"format": f.format, "s3Config": {"key": f.key, "bucket": bucket, "region": region}})


def access_link_entries(files: list[OutputFile], link_for: Callable[[OutputFile], str]) -> dict[str, Any]:
    """The flat link objects of an access-link body, keyed by kind."""
    return _group(files, lambda f: {"format": f.format, "link": link_for(f)})


def _group(files: list[OutputFile], entry: Callable[[OutputFile], dict[str, Any]]) -> dict[str, Any]:
    grouped: dict[str, Any] = {}
    for f in files:
        if f.kind == "transcription":
            grouped.setdefault("transcription", []).append(entry(f))
        else:
            grouped[f.kind] = entry(f)
    return grouped
