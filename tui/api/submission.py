"""A job submission as the user gives it (plain text fields), checked and turned into a SubmitRequest."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from tui.api.models import InParams, OutParams, S3KeyTemplate, SubmitRequest

PRESETS = ("transcript", "summarize", "soap-notes")
SOURCE_TYPES = ("recordingId", "uri")
# The submit docs' default-config language tags (the exact set can depend on the model).
LANGUAGES = (
    "da", "nl", "en", "en-AU", "en-GB", "en-IN", "en-NZ", "en-US", "fr", "fr-CA", "de", "hi", "hi-Latn", "id",
    "it", "ja", "ko", "no", "pl", "pt", "pt-BR", "pt-PT", "ru", "es", "es-419", "sv", "tr", "uk",
)  # fmt: skip
TOKENS = ("epoch_time", "domain_name", "job_id")
MAX_TEMPLATE = 1024
DEFAULT_TEMPLATE = "output"  # outParams is required; this is the name used when none is given
# transformParams.transcript options batchmon offers (`extra` stays out: it is an object).
TRANSCRIPT_OPTIONS = ("model", "punctuate", "profanity_filter", "redact", "endpointing", "tier", "language")

_TOKEN_RE = re.compile(r"\{(?:" + "|".join(TOKENS) + r")\}")
_TEMPLATE_CHARS_RE = re.compile(r"[A-Za-z0-9./*-]*")
_LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_PRESET_RE = re.compile(r"[A-Za-z0-9_-]+")


class InvalidSubmit(ValueError):
    """A field the server would refuse (or that cannot mean anything); `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def uses_tokens(template: str) -> bool:
    """Whether an S3 key template holds a {token}."""
    return _TOKEN_RE.search(template) is not None


def template_problem(template: str) -> str | None:
    """Why Daily would refuse this s3KeyTemplate, or None. Braces are valid only as the three tokens."""
    if len(template) > MAX_TEMPLATE:
        return f"the template is {len(template)} characters; at most {MAX_TEMPLATE}"
    rest = _TOKEN_RE.sub("", template)
    bad = sorted({char for char in rest if not _TEMPLATE_CHARS_RE.fullmatch(char)})
    if not bad:
        return None
    shown = " ".join(repr(char) for char in bad[:5])
    if "{" in bad or "}" in bad:
        return f"not allowed: {shown}; braces only in {{epoch_time}} {{domain_name}} {{job_id}}"
    return f"not allowed: {shown}; use letters, digits and . / - *"


def preview_template(template: str, *, job_id: str = "JOB-ID", domain: str = "DOMAIN", now: float | None = None) -> str:
    """The name Daily would make of the template (tokens substituted with the values given)."""
    values = {"epoch_time": str(int(time.time() if now is None else now)), "domain_name": domain, "job_id": job_id}
    return _TOKEN_RE.sub(lambda match: values[match.group(0)[1:-1]], template or DEFAULT_TEMPLATE)


def language_note(tag: str) -> str | None:
    """A note for a tag outside the documented list (it is sent all the same), else None."""
    if not tag or tag in LANGUAGES:
        return None
    return f"{tag!r} is not in the documented list; sent as typed"


def language_problem(tag: str) -> str | None:
    """Why a language tag is not one (like en or pt-BR), or None."""
    if tag and not _LANGUAGE_RE.fullmatch(tag):
        return f"{tag!r} is not a language tag (like en or pt-BR)"
    return None


def uri_problem(uri: str) -> str | None:
    """Why a source URI will not do, or None."""
    if not uri:
        return "a URI is needed"
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or any(c.isspace() for c in uri):
        return "the URI must be an http:// or https:// address"
    return None


def parse_value(raw: str) -> bool | int | float | str:
    """`true`/`false` as booleans, numbers as numbers, anything else as the string given."""
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    return number if math.isfinite(number) else raw  # JSON has no nan or inf


def parse_option(text: str) -> tuple[str, bool | int | float | str | list[str]]:
    """`key=value` for a transcript option; raises InvalidSubmit naming the known keys."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InvalidSubmit("options", f"{text!r}: expected KEY=VALUE")
    if key not in TRANSCRIPT_OPTIONS:
        raise InvalidSubmit("options", f"unknown option {key!r}; known: {', '.join(TRANSCRIPT_OPTIONS)}")
    value = parse_value(raw)
    if key == "redact" and isinstance(value, str):
        # Documented as a boolean or a list: `redact=pci,ssn` is the list.
        return key, [part.strip() for part in value.split(",") if part.strip()]
    return key, value


@dataclass
class SubmitForm:
    """What the user chose, as typed; `options` holds parsed transcript options."""

    preset: str
    source_type: str  # one of SOURCE_TYPES
    source: str
    language: str = ""
    template: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> dict[str, str]:
        """Every field Daily would refuse, by field name (empty when the form can be sent)."""
        found: dict[str, str] = {}
        preset = self.preset.strip()
        if not preset:
            found["preset"] = "choose a preset"
        elif not _PRESET_RE.fullmatch(preset):
            found["preset"] = f"{preset!r} is not a preset name"
        source = self.source.strip()
        if self.source_type == "uri":
            problem = uri_problem(source)
            if problem:
                found["source"] = problem
        elif self.source_type == "recordingId":
            if not source:
                found["source"] = "a recording id is needed"
            elif any(c.isspace() for c in source):
                found["source"] = "a recording id has no spaces"
        else:
            found["source_type"] = f"source type must be one of {', '.join(SOURCE_TYPES)}"
        problem = language_problem(self.language.strip())
        if problem:
            found["language"] = problem
        problem = template_problem(self.template.strip())
        if problem:
            found["template"] = problem
        for key in self.options:
            if key not in TRANSCRIPT_OPTIONS:
                found["options"] = f"unknown option {key!r}"
        return found

    def notes(self) -> list[str]:
        """Things worth saying that do not stop the submit."""
        notes = []
        note = language_note(self.language.strip())
        if note:
            notes.append(note)
        if self.options and self.preset.strip() != "transcript":
            notes.append("transcript options are only honoured by the transcript preset")
        return notes

    def request(self) -> SubmitRequest:
        """The POST body; raises InvalidSubmit for the first problem."""
        for name, message in self.problems().items():
            raise InvalidSubmit(name, message)
        source = self.source.strip()
        template = self.template.strip() or DEFAULT_TEMPLATE
        in_params = InParams(
            sourceType=self.source_type,  # type: ignore[arg-type]  # checked in problems()
            uri=source if self.source_type == "uri" else None,
            recordingId=source if self.source_type == "recordingId" else None,
            language=self.language.strip() or None,
        )
        out = OutParams(s3Config=S3KeyTemplate(s3KeyTemplate=template, useReplacement=uses_tokens(template) or None))
        transform = {"transcript": dict(self.options)} if self.options else None
        return SubmitRequest(preset=self.preset.strip(), inParams=in_params, outParams=out, transformParams=transform)
