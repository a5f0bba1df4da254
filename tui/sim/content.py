"""Realistic output file contents (transcripts, summary, SOAP note, concepts), stable per job id."""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from typing import Any, NamedTuple

MEETING = (
    "Good morning everyone, let's get started.",
    "Yesterday I finished the export pipeline and opened a pull request.",
    "Today I'm pairing with Sam on the billing migration.",
    "I'm blocked on the staging credentials, can someone help?",
    "I can take that right after this call.",
    "The release candidate is scheduled for Thursday.",
    "Customer feedback on the new dashboard has been positive.",
    "Let's review the open incidents before we wrap up.",
    "Thanks everyone, see you tomorrow.",
)
VISIT = (
    "Hi, what brings you in today?",
    "I've had a sore throat and a mild fever for three days.",
    "Any cough or trouble breathing?",
    "A dry cough, mostly at night.",
    "Let me take a look. Your temperature is thirty eight point one.",
    "Your throat is red but I see no sign of an abscess.",
    "This looks like a viral pharyngitis.",
    "Rest, fluids and ibuprofen for the pain should help.",
    "Come back if the fever lasts more than five days.",
)
SUMMARY = """# Summary

The team reviewed progress since the last meeting. The export pipeline is complete and awaiting
review, and the billing migration is under way. One blocker was raised: access to staging
credentials, which will be resolved right after the call.

## Decisions

- The release candidate ships on **Thursday**.

## Action items

- Sam and the presenter pair on the billing migration.
- Unblock staging credentials today.
- Review open incidents at the next meeting.
"""
SOAP = {
    "Subjective": "Patient reports a sore throat and mild fever for three days, with a dry cough mostly at night.",
    "Objective": "Temperature 38.1 C. Pharyngeal erythema without exudate or signs of peritonsillar abscess.",
    "Assessment": "Acute viral pharyngitis.",
    "Plan": "Rest, oral fluids, ibuprofen as needed for pain. Return if fever persists beyond five days.",
}
CONCEPTS = [
    {"text": "sore throat", "category": "symptom", "system": "SNOMED CT", "code": "162397003"},
    {"text": "fever", "category": "symptom", "system": "SNOMED CT", "code": "386661006"},
    {"text": "dry cough", "category": "symptom", "system": "SNOMED CT", "code": "11833005"},
    {"text": "viral pharyngitis", "category": "diagnosis", "system": "SNOMED CT", "code": "195662009"},
    {"text": "ibuprofen", "category": "medication", "system": "RxNorm", "code": "5640"},
]
MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


class Utterance(NamedTuple):
    speaker: int
    start: float
    end: float
    text: str


def render(name: str, *, job_id: str, preset: str) -> tuple[str, str] | None:
    """(text, media type) for an output file name like `transcript.srt`; None if unknown."""
    kind, _, ext = name.partition(".")
    if kind == "transcript":
        utterances = _utterances(job_id, preset)
        renderers: dict[str, Callable[[list[Utterance]], str]] = {
            "txt": _txt,
            "srt": _srt,
            "vtt": _vtt,
            "json": functools.partial(_deepgram, job_id=job_id),
        }
        if ext not in renderers:
            return None
        text = renderers[ext](utterances)
    elif name == "summary.txt":
        text = SUMMARY
    elif name == "soap.json":
        text = json.dumps(SOAP, indent=2)
    elif name == "concept.json":
        text = json.dumps({"concepts": CONCEPTS}, indent=2)
    else:
        return None
    return text, MEDIA_TYPES[ext]


def _utterances(job_id: str, preset: str) -> list[Utterance]:
    # Seeded by the job id so every download of a job's transcript is identical.
    rng = random.Random(job_id)
    lines = VISIT if preset == "soap-notes" else MEETING
    kept = [line for i, line in enumerate(lines) if i == 0 or rng.random() < 0.8]
    utterances, clock = [], 0.0
    for i, line in enumerate(kept):
        duration = 0.35 * len(line.split()) + rng.uniform(0.2, 0.8)
        utterances.append(Utterance(i % 2, round(clock, 3), round(clock + duration, 3), line))
        clock += duration + rng.uniform(0.3, 1.5)
    return utterances


def _txt(utterances: list[Utterance]) -> str:
    return "".join(f"Speaker {u.speaker}: {u.text}\n" for u in utterances)


def _srt(utterances: list[Utterance]) -> str:
    blocks = [
        f"{i}\n{_stamp(u.start, ',')} --> {_stamp(u.end, ',')}\nSpeaker {u.speaker}: {u.text}\n"
        for i, u in enumerate(utterances, start=1)
    ]
    return "\n".join(blocks)


def _vtt(utterances: list[Utterance]) -> str:
    cues = [f"{_stamp(u.start, '.')} --> {_stamp(u.end, '.')}\n<v Speaker {u.speaker}>{u.text}\n" for u in utterances]
    return "WEBVTT\n\n" + "\n".join(cues)


def _stamp(seconds: float, sep: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _deepgram(utterances: list[Utterance], job_id: str) -> str:
    """A trimmed Deepgram pre-recorded response: words, transcript, paragraphs and utterances."""
    words_of = [_words(u) for u in utterances]
    plain = " ".join(u.text for u in utterances)
    paragraphs = [
        {
            "sentences": [{"text": u.text, "start": u.start, "end": u.end}],
            "speaker": u.speaker,
            "num_words": len(u.text.split()),
            "start": u.start,
            "end": u.end,
        }
        for u in utterances
    ]
    body = {
        "metadata": {
            "request_id": job_id,
            "duration": utterances[-1].end if utterances else 0.0,
            "channels": 1,
            "models": ["nova-2-general"],
        },
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": plain,
                            "confidence": 0.98,
                            "words": [word for words in words_of for word in words],
                            "paragraphs": {
                                "transcript": "".join(f"\nSpeaker {u.speaker}: {u.text}\n" for u in utterances),
                                "paragraphs": paragraphs,
                            },
                        }
                    ]
                }
            ],
            # What Deepgram adds with utterances=true: one entry per speaker turn.
            "utterances": [
                {
                    "start": u.start,
                    "end": u.end,
                    "confidence": 0.98,
                    "channel": 0,
                    "transcript": u.text,
                    "words": words,
                    "speaker": u.speaker,
                    "id": f"{job_id[:8]}-{i:04d}",
                }
                for i, (u, words) in enumerate(zip(utterances, words_of, strict=True))
            ],
        },
    }
    return json.dumps(body, indent=2)


def _words(u: Utterance) -> list[dict[str, Any]]:
    tokens = u.text.split()
    step = (u.end - u.start) / len(tokens)
    return [
        {
            "word": token.strip(".,?!").lower(),
            "start": round(u.start + i * step, 3),
            "end": round(u.start + (i + 1) * step, 3),
            "confidence": 0.98,
            "speaker": u.speaker,
            "punctuated_word": token,
        }
        for i, token in enumerate(tokens)
    ]
