"""Turn an output file's bytes into readable, terminal-safe text: transcripts, summaries, SOAP notes."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

from tui.present.text import printable

CUT_NOTE = "cut at 5 MB"
SOAP_SECTIONS = ("Subjective", "Objective", "Assessment", "Plan")

# A file whose text is more than this share of U+FFFD after decoding is treated as binary.
_BINARY_SHARE = 0.05
_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)(?:\s.*)?$"
)
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|\{\\[^}]*\}")
# The first plain transcript string in (possibly cut) Deepgram JSON: it precedes the long word list.
_TRANSCRIPT_FIELD = re.compile(r'"transcript"\s*:\s*("(?:[^"\\]|\\.)*")')


@dataclass(frozen=True)
class Rendered:
    text: str  # printable text (Markdown source when markdown=True); no control chars but \n \t
    markdown: bool = False
    note: str | None = None  # shown above the text: "cut at 5 MB", "not valid JSON: shown as text", ...


def render(kind: str, format: str | None, data: bytes, *, truncated: bool = False) -> Rendered:
    """The readable form of one output file; never raises, whatever the bytes are."""
    notes = [CUT_NOTE] if truncated else []
    text, decode_note = _decode(data, truncated=truncated)
    if text is None:
        notes.append(f"binary, {len(data):,} bytes")
        return Rendered("", note="; ".join(notes))
    if decode_note:
        notes.append(decode_note)
    kind, fmt = kind.strip().lower(), (format or "").strip().lower()
    try:
        body, markdown, note = _render_text(kind, fmt, text)
    except Exception:
        body, markdown, note = text, False, f"could not read as {fmt or kind}: shown as text"
    if note:
        notes.append(note)
    return Rendered(printable(body, multiline=True), markdown, printable("; ".join(notes)) if notes else None)


def _decode(data: bytes, *, truncated: bool) -> tuple[str | None, str | None]:
    """(text, note) with newlines normalised; text None for binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        return (None, None) if _mostly_replaced(text) or "\x00" in text else (_newlines(text), None)
    if b"\x00" in data:
        return None, None
    try:
        return _newlines(data.decode("utf-8-sig")), None
    except UnicodeDecodeError as error:
        text = data.decode("utf-8-sig", errors="replace")
        # A cut may split the last character: that alone is no reason for a note.
        if truncated and error.start >= len(data) - 3:
            return _newlines(text), None
        if _mostly_replaced(text):
            return None, None
        return _newlines(text), "not valid UTF-8: some characters replaced"


def _mostly_replaced(text: str) -> bool:
    return text.count("\ufffd") > _BINARY_SHARE * max(len(text), 1)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _render_text(kind: str, fmt: str, text: str) -> tuple[str, bool, str | None]:
    """(body, markdown, note) for decoded text, by kind and format (sniffed when the format is unknown)."""
    fmt = fmt or _sniff(text)
    if fmt == "json":
        return _render_json(kind, text)
    if fmt == "srt":
        return _render_cues(text, "SRT")
    if fmt == "vtt":
        return _render_cues(text, "VTT")
    if kind == "summary" or fmt in ("md", "markdown"):
        return _summary_markdown(text) if kind == "summary" else text, True, None
    return text, False, None


def _sniff(text: str) -> str:
    head = text.lstrip()[:200]
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("WEBVTT"):
        return "vtt"
    if re.match(r"\d+\n[\d:,]+ --> ", head):
        return "srt"
    return ""


# --- timed lines (SRT, VTT) ---------------------------------------------------------------------


def _render_cues(text: str, name: str) -> tuple[str, bool, str | None]:
    lines: list[str] = []
    cues = 0
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = [row for row in block.split("\n") if row.strip()]
        if not rows or (name == "VTT" and rows[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION"))):
            continue
        timing = next((i for i, row in enumerate(rows) if _TIMING.match(row)), None)
        if timing is None:
            lines.append(" ".join(rows))  # best effort: keep words that sit outside any cue
            continue
        match = _TIMING.match(rows[timing])
        assert match is not None
        cues += 1
        lines.append(f"{_clock(_seconds(match.group(1)))}  {_cue_text(rows[timing + 1 :])}".rstrip())
    if cues == 0:
        return text, False, f"not valid {name}: shown as text"
    return "\n".join(lines) + "\n", False, None


def _cue_text(rows: list[str]) -> str:
    """The words of one cue, a VTT voice tag turned into a "Name: " prefix, formatting tags dropped."""
    joined = " ".join(row.strip() for row in rows)
    voice = _VOICE.search(joined)
    words = _TAG.sub("", joined).strip()
    if voice and voice.group(1).strip():
        return f"{voice.group(1).strip()}: {words}"
    return words


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _clock(seconds: float) -> str:
    whole = int(max(seconds, 0))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


# --- JSON -----------------------------------------------------------------------------------------


def _render_json(kind: str, text: str) -> tuple[str, bool, str | None]:
    try:
        value = json.loads(text)
    except ValueError:
        salvaged = _salvage_transcript(text)
        if salvaged:
            return salvaged, False, "JSON incomplete: showing the transcript text only"
        return text, False, "not valid JSON: shown as text"
    soap = _soap_sections(value)
    if soap is not None and (kind == "soap" or len(soap) == len(SOAP_SECTIONS)):
        return _soap_markdown(value), True, None
    transcript = _deepgram(value)
    if transcript is not None:
        return transcript, False, None
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n", False, None


def _salvage_transcript(text: str) -> str | None:
    match = _TRANSCRIPT_FIELD.search(text)
    if match is None:
        return None
    try:
        transcript = json.loads(match.group(1))
    except ValueError:
        return None
    return transcript + "\n" if isinstance(transcript, str) and transcript.strip() else None


def _deepgram(value: Any) -> str | None:
    """Speaker-labelled paragraphs of a Deepgram response; None when it is not one."""
    results = _get(value, "results")
    if not isinstance(results, dict):
        return None
    utterances = results.get("utterances")
    if isinstance(utterances, list) and utterances:
        return _paragraphs(
            (u.get("speaker"), u.get("start"), str(u.get("transcript", ""))) for u in utterances if isinstance(u, dict)
        )
    alternative = _get(results, "channels", 0, "alternatives", 0)
    if not isinstance(alternative, dict):
        return None
    words = alternative.get("words")
    if isinstance(words, list) and any(isinstance(w, dict) and "speaker" in w for w in words):
        return _paragraphs(_speaker_turns(words))
    for transcript in (_get(alternative, "paragraphs", "transcript"), alternative.get("transcript")):
        if isinstance(transcript, str) and transcript.strip():
            return transcript.strip() + "\n"
    return ""


def _speaker_turns(words: list[Any]) -> list[tuple[Any, Any, str]]:
    """Consecutive words of one speaker joined into (speaker, start, text)."""
    turns: list[tuple[Any, Any, list[str]]] = []
    for word in words:
        if not isinstance(word, dict):
            continue
        token = str(word.get("punctuated_word") or word.get("word") or "")
        speaker = word.get("speaker")
        if turns and turns[-1][0] == speaker:
            turns[-1][2].append(token)
        else:
            turns.append((speaker, word.get("start"), [token]))
    return [(speaker, start, " ".join(tokens)) for speaker, start, tokens in turns]


def _paragraphs(turns: Any) -> str:
    blocks = []
    for speaker, start, words in turns:
        stamp = f"{_clock(float(start))}  " if isinstance(start, (int, float)) else ""
        who = f"Speaker {speaker}: " if speaker is not None else ""
        blocks.append(f"{stamp}{who}{words.strip()}")
    return "\n\n".join(blocks) + "\n"


def _get(value: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


# --- Markdown: summary and SOAP -------------------------------------------------------------------


def _summary_markdown(text: str) -> str:
    """Plain summary text with its short title lines ("Decisions", "Action items") made headings."""
    lines = text.split("\n")
    last_content = max((i for i, line in enumerate(lines) if line.strip()), default=0)
    out = []
    for i, line in enumerate(lines):
        before = lines[i - 1].strip() if i > 0 else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        stripped = line.strip()
        is_title = (
            stripped
            and len(stripped) <= 40
            and not before
            and not stripped.startswith(("#", "-", "*", ">"))
            and stripped[-1] not in ".,;!?"
            and (
                after.startswith(("-", "*"))
                or (after[:1].isdigit() and ". " in after[:4])
                or (not after and i + 1 < last_content)
            )
        )
        out.append(f"## {stripped}" if is_title else line)
    return "\n".join(out)


def _soap_sections(value: Any) -> dict[str, Any] | None:
    """The SOAP sections found (canonical name -> value), descending into a single wrapping object."""
    while isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), dict):
        value = next(iter(value.values()))
    if not isinstance(value, dict):
        return None
    canonical = {name.lower(): name for name in SOAP_SECTIONS}
    found = {canonical[_key(k)]: v for k, v in value.items() if _key(k) in canonical}
    return found or None


def _soap_markdown(value: Any) -> str:
    while isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), dict):
        value = next(iter(value.values()))
    canonical = {name.lower(): name for name in SOAP_SECTIONS}
    by_name = {canonical.get(_key(k), str(k)): v for k, v in value.items()}
    order = [name for name in SOAP_SECTIONS if name in by_name] + [k for k in by_name if k not in SOAP_SECTIONS]
    lines: list[str] = []
    for name in order:
        lines += [f"## {_title(name)}", "", *_markdown_value(by_name[name], 3), ""]
    return "\n".join(lines)


def _markdown_value(value: Any, level: int) -> list[str]:
    if isinstance(value, dict):
        if not value:
            return ["_(empty)_"]
        lines: list[str] = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{'#' * min(level, 6)} {_title(str(key))}", "", *_markdown_value(item, level + 1), ""]
            else:
                lines.append(f"- **{_title(str(key))}:** {_scalar(item)}")
        return lines
    if isinstance(value, list):
        return [f"- {_inline(item)}" for item in value] or ["_(empty)_"]
    return [_scalar(value)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{_title(str(k))}: {_inline(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value)
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "_(empty)_"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _key(key: object) -> str:
    return re.sub(r"[^a-z]", "", str(key).lower())


def _title(key: str) -> str:
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).replace("_", " ").replace("-", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else key
