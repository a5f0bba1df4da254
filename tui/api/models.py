"""Lenient pydantic models of the Batch Processor's requests and responses."""

from __future__ import annotations

import json
import re
from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

FINISHED = "finished"
ERROR = "error"
TERMINAL_STATUSES = frozenset({FINISHED, ERROR})
OUTPUT_KINDS = ("transcription", "summary", "soap", "concept")
# Unknown fields are the server's to shape: deeper nesting would break model_dump (pydantic stops
# at about 255 levels) and longer strings only cost memory; both are cut where they start.
MAX_UNKNOWN_DEPTH = 32
MAX_UNKNOWN_CHARS = 100_000
_SURROGATE = re.compile("[\ud800-\udfff]")


class Lenient(BaseModel):
    """Unknown fields are kept (for display) but never required."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """The fields this model does not know, as the server sent them (bounded)."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _bound_unknown_fields(self) -> Self:
        extra = self.__pydantic_extra__
        if extra:
            for name, value in extra.items():
                extra[name] = _bounded(value, MAX_UNKNOWN_DEPTH)
        return self


def _bounded(value: Any, depth: int) -> Any:
    """`value` with nesting below `depth` levels and strings beyond MAX_UNKNOWN_CHARS replaced by notes."""
    if isinstance(value, str):
        if len(value) > MAX_UNKNOWN_CHARS:
            value = value[:MAX_UNKNOWN_CHARS] + f"… ({len(value) - MAX_UNKNOWN_CHARS:,} more characters dropped)"
        # A lone surrogate (JSON allows "\ud800") would make model_dump(mode="json") raise.
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, (dict, list)) and depth <= 0:
        return "… (nested too deeply: dropped)"
    if isinstance(value, dict):
        return {_bounded(str(key), 0): _bounded(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_bounded(item, depth - 1) for item in value]
    return value


def _as_list(value: Any) -> Any:
    # The docs show one object per kind; live clients see lists too. Accept both.
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


ItemModel = TypeVar("ItemModel", bound=BaseModel)


def _extra_kinds(extra: dict[str, Any] | None, model: type[ItemModel], marker: str) -> list[tuple[str, ItemModel]]:
    """Unknown keys whose value is an object holding `marker` (or a list of them): kinds added later."""
    found: list[tuple[str, ItemModel]] = []
    for name, value in (extra or {}).items():
        items = _as_list(value)
        if not (isinstance(items, list) and items and all(isinstance(i, dict) and marker in i for i in items)):
            continue  # some other field the server added
        try:
            found.extend((name, model.model_validate(item)) for item in items)
        except ValidationError:
            continue  # an odd shape is ignored, as unknown fields are
    return found


class S3Config(Lenient):
    """Where an output file lies in S3."""

    key: str | None = None
    bucket: str | None = None
    region: str | None = None


class OutputFile(Lenient):
    """One output file of a finished job: its format and where it lies."""

    format: str | None = None
    s3_config: S3Config | None = Field(default=None, alias="s3Config")


class JobOutput(Lenient):
    """A finished job's outputs by kind (transcription, summary, soap, concept)."""

    transcription: list[OutputFile] = []
    summary: list[OutputFile] = []
    soap: list[OutputFile] = []
    concept: list[OutputFile] = []

    _normalize = field_validator(*OUTPUT_KINDS, mode="before")(_as_list)

    def files(self) -> list[tuple[str, OutputFile]]:
        """(kind, file) for known kinds, then for unknown keys holding {format, s3Config} objects."""
        files = [(kind, item) for kind in OUTPUT_KINDS for item in getattr(self, kind)]
        return files + _extra_kinds(self.model_extra, OutputFile, "s3Config")


class OutputRef(BaseModel):
    """One output file, flattened for display and copying."""

    model_config = ConfigDict(frozen=True)

    kind: str
    format: str | None
    key: str | None
    bucket: str | None
    region: str | None

    @property
    def s3_uri(self) -> str | None:
        """s3://bucket/key, when both are known."""
        if not (self.key and self.bucket):
            return None
        return f"s3://{self.bucket}/{self.key}"

    def has_format(self, name: str) -> bool:
        """Whether this file has this format (any case: the docs spell both `json` and `JSON`)."""
        return (self.format or "").lower() == name.lower()


class JobInput(Lenient):
    """What a job was made from: a recording or a URI."""

    source_type: str | None = Field(default=None, alias="sourceType")
    recording_id: str | None = Field(default=None, alias="recordingId")
    uri: str | None = None
    language: str | None = None


class Job(Lenient):
    """GET /batch-processor/:id (also the DELETE response)."""

    id: str
    preset: str | None = None
    status: str | None = None
    input: JobInput | None = None
    output: JobOutput | None = None
    error: str | None = None
    _raw: str | None = PrivateAttr(default=None)  # the JSON body it was parsed from, as it came

    @classmethod
    def from_body(cls, text: str) -> Job:
        """Parse a GET body (JSON text) and keep the text beside the record; ValueError if it is none.

        The one way a record is read, from the API and from the store alike: body -> Job + raw.
        """
        try:
            body = json.loads(text)
        except RecursionError:  # nested about 1,000 levels deep
            raise ValueError("a body nested too deeply") from None
        job = cls.model_validate(body)
        job._raw = text
        return job

    @property
    def raw(self) -> str | None:
        """The JSON body as the API sent it; None for a record not parsed from one."""
        return self._raw

    def keep_raw(self, text: str) -> None:
        """Remember the body this record was validated from (the client parses it only once)."""
        self._raw = text

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (finished or error)."""
        return self.status in TERMINAL_STATUSES

    def outputs(self) -> list[OutputRef]:
        """Every output file of the job, flattened with its kind."""
        if self.output is None:
            return []
        refs: list[OutputRef] = []
        for kind, item in self.output.files():
            s3 = item.s3_config or S3Config()
            refs.append(OutputRef(kind=kind, format=item.format, key=s3.key, bucket=s3.bucket, region=s3.region))
        return refs


class JobSummary(Lenient):
    """One item of the list endpoint: only id, preset and status."""

    id: str
    preset: str | None = None
    status: str | None = None


class JobListPage(Lenient):
    """One page of the list endpoint."""

    total_count: int | None = None
    data: list[JobSummary] = []


class AccessLink(Lenient):
    """One download link of an output file."""

    format: str | None = None
    link: str | None = None


class AccessLinks(Lenient):
    """GET /batch-processor/:id/access-link: link objects sit at top level, not under output."""

    id: str | None = None
    preset: str | None = None
    status: str | None = None
    transcription: list[AccessLink] = []
    summary: list[AccessLink] = []
    soap: list[AccessLink] = []
    concept: list[AccessLink] = []

    _normalize = field_validator(*OUTPUT_KINDS, mode="before")(_as_list)

    def links(self) -> list[tuple[str, AccessLink]]:
        """(kind, link) for known kinds, then for unknown top-level keys holding {format, link} objects."""
        links = [(kind, item) for kind in OUTPUT_KINDS for item in getattr(self, kind)]
        return links + _extra_kinds(self.model_extra, AccessLink, "link")


class InParams(BaseModel):
    """A submission's input: its source and transcription options."""

    source_type: Literal["uri", "recordingId", "transcriptUri"] = Field(alias="sourceType")
    uri: str | None = None
    recording_id: str | None = Field(default=None, alias="recordingId")
    language: str | None = None

    model_config = ConfigDict(populate_by_name=True)


class S3KeyTemplate(BaseModel):
    """Where a submission's outputs go: an S3 key template."""

    s3_key_template: str = Field(alias="s3KeyTemplate", max_length=1024)
    use_replacement: bool | None = Field(default=None, alias="useReplacement")

    model_config = ConfigDict(populate_by_name=True)


class OutParams(BaseModel):
    """A submission's outputs: where they are written."""

    s3_config: S3KeyTemplate = Field(alias="s3Config")

    model_config = ConfigDict(populate_by_name=True)


class SubmitRequest(BaseModel):
    """POST /batch-processor body."""

    preset: str
    in_params: InParams = Field(alias="inParams")
    out_params: OutParams = Field(alias="outParams")
    transform_params: dict[str, Any] | None = Field(default=None, alias="transformParams")

    model_config = ConfigDict(populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The request body, with the API's field names."""
        return self.model_dump(by_alias=True, exclude_none=True)


class SubmitResponse(Lenient):
    """The answer to a submission: the new job's id."""

    id: str
