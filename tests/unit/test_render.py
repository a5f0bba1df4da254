"""Rendering of output files (tui.outputs.render): every format, malformed, cut and hostile input."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.outputs.render import Rendered, render
from tui.sim.content import SOAP, SUMMARY
from tui.sim.content import render as sim_file

JOB = "6f1c2a9e-1111-4222-8333-444455556666"
# What may remain in rendered text: no C0/C1 control but newline and tab.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b[31m[red]boom[/red]\x9b1m"


def sim_bytes(name: str, preset: str = "transcript") -> bytes:
    rendered = sim_file(name, job_id=JOB, preset=preset)
    assert rendered is not None
    return rendered[0].encode()


def assert_safe(rendered: Rendered) -> None:
    assert not CONTROL.search(rendered.text)
    assert rendered.note is None or not CONTROL.search(rendered.note)


# --- the simulator's files, as a user sees them ------------------------------------------------------


def test_txt_is_shown_as_is() -> None:
    data = sim_bytes("transcript.txt")
    rendered = render("transcription", "txt", data)
    assert rendered == Rendered(data.decode())


def test_srt_becomes_timed_lines_with_speakers() -> None:
    rendered = render("transcription", "srt", sim_bytes("transcript.srt"))
    lines = rendered.text.splitlines()
    assert lines[0] == "00:00:00  Speaker 0: Good morning everyone, let's get started."
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d  Speaker [01]: .+", line) for line in lines)
    assert not any("-->" in line for line in lines)
    assert rendered.note is None and not rendered.markdown


def test_vtt_becomes_the_same_timed_lines_as_srt() -> None:
    vtt = render("transcription", "vtt", sim_bytes("transcript.vtt"))
    srt = render("transcription", "srt", sim_bytes("transcript.srt"))
    assert "WEBVTT" not in vtt.text and "<v" not in vtt.text
    assert vtt.text == srt.text


def test_deepgram_json_becomes_speaker_paragraphs_never_raw_json() -> None:
    rendered = render("transcription", "json", sim_bytes("transcript.json"))
    paragraphs = rendered.text.strip().split("\n\n")
    txt_lines = sim_bytes("transcript.txt").decode().splitlines()
    # The speaker turns rebuild exactly the lines of the plain transcript.
    assert [p.split("  ", 1)[1] for p in paragraphs] == txt_lines
    assert paragraphs[0].startswith("00:00:00  Speaker 0: Good morning")
    assert "{" not in rendered.text and "confidence" not in rendered.text


def test_summary_markdown_is_kept_as_it_is() -> None:
    rendered = render("summary", "txt", SUMMARY.encode())
    assert rendered == Rendered(SUMMARY, markdown=True)


def test_plain_summary_gets_its_title_lines_as_headings() -> None:
    plain = (
        "Summary\n\nThe team reviewed progress.\nA second line of it\n\nDecisions\n- Ship on Thursday.\n\n"
        "Action items\n1. Pair on billing.\n\nThanks all, see you\n"
    )
    rendered = render("summary", "txt", plain.encode())
    assert rendered.markdown
    headings = re.findall(r"^## (.+)$", rendered.text, re.M)
    # A sentence's lines are never promoted, nor a closing line.
    assert headings == ["Summary", "Decisions", "Action items"]
    assert "- Ship on Thursday." in rendered.text and "1. Pair on billing." in rendered.text


def test_soap_json_becomes_the_four_sections_in_order() -> None:
    rendered = render("soap", "json", json.dumps(SOAP).encode())
    assert rendered.markdown
    headings = re.findall(r"^## (.+)$", rendered.text, re.M)
    assert headings == ["Subjective", "Objective", "Assessment", "Plan"]
    assert SOAP["Assessment"] in rendered.text


def test_other_json_is_pretty_printed() -> None:
    rendered = render("concept", "json", json.dumps({"concepts": [{"text": "fever", "code": "1"}]}).encode())
    assert rendered.text == '{\n  "concepts": [\n    {\n      "text": "fever",\n      "code": "1"\n    }\n  ]\n}\n'
    assert not rendered.markdown


def test_format_case_and_missing_format_are_tolerated() -> None:
    assert render("soap", "JSON", json.dumps(SOAP).encode()).markdown
    # No format at all: the content is sniffed.
    assert render("transcription", None, sim_bytes("transcript.vtt")).text.startswith("00:00:00  Speaker 0:")
    assert render("other", None, b'{"a": 1}').text == '{\n  "a": 1\n}\n'


def test_unknown_kind_and_format_is_text() -> None:
    rendered = render("minutes", "rtf", "Caf\u00e9 notes\n".encode())
    assert rendered == Rendered("Café notes\n")


# --- Deepgram variants ------------------------------------------------------------------------------


def test_deepgram_utterances_win_over_words() -> None:
    body = {
        "results": {
            "channels": [{"alternatives": [{"transcript": "ignored", "words": [{"word": "x", "speaker": 5}]}]}],
            "utterances": [
                {"start": 1.2, "end": 3.0, "speaker": 0, "transcript": "Hello there."},
                {"start": 62.5, "end": 64.0, "speaker": 1, "transcript": "Hi."},
                {"start": 3725.0, "end": 3726.0, "speaker": 0, "transcript": "Bye."},
            ],
        }
    }
    rendered = render("transcription", "json", json.dumps(body).encode())
    assert (
        rendered.text == "00:00:01  Speaker 0: Hello there.\n\n00:01:02  Speaker 1: Hi.\n\n01:02:05  Speaker 0: Bye.\n"
    )


def test_deepgram_words_without_punctuation_are_grouped_by_speaker() -> None:
    words = [
        {"word": "yes", "start": 0.5, "speaker": 0},
        {"word": "indeed", "start": 0.9, "speaker": 0},
        {"word": "no", "start": 70.0, "speaker": 1},
        {"word": "again", "start": 71.0, "speaker": 0},
    ]
    body = {"results": {"channels": [{"alternatives": [{"transcript": "yes indeed no again", "words": words}]}]}}
    rendered = render("transcription", "json", json.dumps(body).encode())
    assert rendered.text == "00:00:00  Speaker 0: yes indeed\n\n00:01:10  Speaker 1: no\n\n00:01:11  Speaker 0: again\n"


def test_deepgram_without_diarization_shows_the_paragraphs_transcript() -> None:
    alternative = {
        "transcript": "flat text",
        "words": [{"word": "flat", "start": 0.0}],
        "paragraphs": {"transcript": "\nFirst paragraph.\n\nSecond paragraph.\n"},
    }
    body = {"results": {"channels": [{"alternatives": [alternative]}]}}
    assert render("transcription", "json", json.dumps(body).encode()).text == "First paragraph.\n\nSecond paragraph.\n"


def test_deepgram_channel_transcript_is_the_last_resort() -> None:
    body = {"results": {"channels": [{"alternatives": [{"transcript": "Only this."}]}]}}
    assert render("transcription", "json", json.dumps(body).encode()).text == "Only this.\n"


# --- SRT / VTT details ------------------------------------------------------------------------------


def test_vtt_voice_tags_cue_settings_ids_and_notes() -> None:
    vtt = (
        "WEBVTT - a title\n\nSTYLE\n::cue { color: red }\n\nNOTE a comment\nover two lines\n\n"
        "intro\n00:01.000 --> 00:04.000 align:start position:10%\n<v.loud Dr. Who>Hello <i>there</i></v>\n\n"
        "01:02:03.500 --> 01:02:05.000\n<c.yellow>No voice</c>\nsecond line\n"
    )
    rendered = render("transcription", "vtt", vtt.encode())
    assert rendered.text == "00:00:01  Dr. Who: Hello there\n01:02:03  No voice second line\n"


def test_srt_with_crlf_tags_and_multiline_cues() -> None:
    srt = (
        "1\r\n00:00:01,000 --> 00:00:02,000\r\n<b>Speaker 2:</b> one\r\ntwo\r\n\r\n"
        "2\r\n00:01:02,900 --> 00:01:03,000\r\n{\\an8}top\r\n"
    )
    rendered = render("transcription", "srt", srt.encode())
    assert rendered.text == "00:00:01  Speaker 2: one two\n00:01:02  top\n"


def test_srt_without_any_cue_is_shown_as_text_with_a_note() -> None:
    rendered = render("transcription", "srt", b"this is not\na subtitle file\n")
    assert rendered.text == "this is not\na subtitle file\n"
    assert rendered.note == "not valid SRT: shown as text"


def test_srt_keeps_stray_text_between_cues() -> None:
    srt = b"1\n00:00:01,000 --> 00:00:02,000\nfirst\n\ngarbage block\n\n3\n00:00:05,000 --> 00:00:06,000\nlast\n"
    assert render("transcription", "srt", srt).text == "00:00:01  first\ngarbage block\n00:00:05  last\n"


# --- SOAP variants ----------------------------------------------------------------------------------


def test_soap_with_other_key_case_nested_objects_and_lists() -> None:
    body = {
        "soap_note": {
            "PLAN": ["Rest", "Fluids", {"drug": "ibuprofen", "dose_mg": 400}],
            "subjective": {"chief_complaint": "sore throat", "history": {"onset": "3 days", "fever": True}},
            "Objective": None,
            "assessment": "Viral pharyngitis.",
            "followUp": "5 days",
        }
    }
    text = render("soap", "json", json.dumps(body).encode()).text
    assert re.findall(r"^## (.+)$", text, re.M) == ["Subjective", "Objective", "Assessment", "Plan", "Follow Up"]
    assert "- **Chief complaint:** sore throat" in text
    assert "### History" in text and "- **Fever:** yes" in text
    assert "- Rest\n- Fluids\n- Drug: ibuprofen; Dose mg: 400" in text
    assert "## Objective\n\n_(empty)_" in text


def test_soap_kind_with_json_that_is_no_soap_note_is_pretty_printed() -> None:
    rendered = render("soap", "json", b'["a", "b"]')
    assert rendered.text == '[\n  "a",\n  "b"\n]\n' and not rendered.markdown


def test_json_of_another_kind_with_all_four_sections_is_still_a_soap_note() -> None:
    assert render("notes", "json", json.dumps(SOAP).encode()).markdown


# --- malformed, cut, binary -------------------------------------------------------------------------


def test_malformed_json_is_text_with_a_note() -> None:
    rendered = render("soap", "json", b'{"Subjective": "sore thr')
    assert rendered.text == '{"Subjective": "sore thr'
    assert rendered.note == "not valid JSON: shown as text"


def test_cut_deepgram_json_falls_back_to_its_transcript_text() -> None:
    data = sim_bytes("transcript.json")
    rendered = render("transcription", "json", data[: len(data) // 2], truncated=True)
    assert rendered.note == "cut at 5 MB; JSON incomplete: showing the transcript text only"
    assert rendered.text.startswith("Good morning everyone, let's get started. Yesterday")


def test_cut_text_gets_the_note_and_a_split_last_character_is_no_error() -> None:
    data = ("word " * 100 + "caf\u00e9").encode()[:-1]  # the cut splits the two bytes of é
    rendered = render("transcription", "txt", data, truncated=True)
    assert rendered.note == "cut at 5 MB"
    assert rendered.text.startswith("word word")


def test_invalid_utf8_in_text_is_replaced_with_a_note() -> None:
    rendered = render("transcription", "txt", b"caf\xe9 au lait, " * 3 + b"fine text " * 20)
    assert rendered.text.startswith("caf\ufffd au lait")
    assert rendered.note == "not valid UTF-8: some characters replaced"


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(256)) * 4,
        b"\xfc\xfd\xfe\xff" * 50,
        b"\xff\xfe" + b"\x00\xd8" * 20,
    ],
    ids=["nul-bytes", "all-bytes", "undecodable", "utf16-bom-then-garbage"],
)
def test_binary_is_a_note_with_its_size(data: bytes) -> None:
    rendered = render("transcription", "txt", data)
    assert rendered == Rendered("", note=f"binary, {len(data):,} bytes")


def test_binary_cut_keeps_both_notes() -> None:
    data = b"\x00" * 1234
    assert render("x", None, data, truncated=True).note == "cut at 5 MB; binary, 1,234 bytes"


def test_utf16_with_a_bom_is_decoded() -> None:
    assert render("transcription", "txt", "Hello\nWorld\n".encode("utf-16")).text == "Hello\nWorld\n"


def test_empty_file() -> None:
    assert render("transcription", "txt", b"") == Rendered("")
    assert render("transcription", "srt", b"").note == "not valid SRT: shown as text"


# --- hostile content --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fmt", "data"),
    [
        ("transcription", "txt", f"Speaker 0: {HOSTILE}\n".encode()),
        ("transcription", "srt", f"1\n00:00:01,000 --> 00:00:02,000\nSpeaker 0: {HOSTILE}\n".encode()),
        ("transcription", "vtt", f"WEBVTT\n\n00:01.000 --> 00:02.000\n<v {HOSTILE}>hi\n".encode()),
        (
            "transcription",
            "json",
            json.dumps({"results": {"utterances": [{"start": 0, "speaker": HOSTILE, "transcript": HOSTILE}]}}).encode(),
        ),
        ("summary", "txt", f"Summary\n\n{HOSTILE}\n".encode()),
        ("soap", "json", json.dumps({"Subjective": HOSTILE, HOSTILE: [HOSTILE]}).encode()),
        ("concept", "json", json.dumps({"x": HOSTILE}).encode()),
        ("transcription", "json", f'{{"transcript": "{HOSTILE}'.encode()),
    ],
    ids=["txt", "srt", "vtt", "deepgram", "summary", "soap", "json", "bad-json"],
)
def test_escape_sequences_never_survive_and_markup_stays_literal(kind: str, fmt: str, data: bytes) -> None:
    rendered = render(kind, fmt, data)
    assert_safe(rendered)
    # Shown visibly (as \x1b, or as a JSON escape in pretty-printed JSON), never acted on.
    assert re.search(r"(\\x1b|\\u001b)\]52;c;", rendered.text)
    assert "[red]boom[/red]" in rendered.text


def test_hostile_note_from_a_strange_format_name_is_safe() -> None:
    rendered = render("transcription", "json", b"not json")
    assert rendered.note == "not valid JSON: shown as text"
    assert_safe(render("\x1b[31m", "\x1b[2J", b"[\x1b"))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["transcription", "summary", "soap", "concept", "weird"]),
    fmt=st.sampled_from(["txt", "srt", "vtt", "json", "JSON", None, "bin"]),
    data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode),
    truncated=st.booleans(),
)
def test_any_bytes_render_without_raising_and_safely(kind: str, fmt: str | None, data: bytes, truncated: bool) -> None:
    rendered = render(kind, fmt, data, truncated=truncated)
    assert_safe(rendered)
    assert ("cut at 5 MB" in (rendered.note or "")) == truncated
