"""Which output a key press or `show --kind/--format` means (tui.outputs.choose.pick_link)."""

from __future__ import annotations

from tui.outputs import OutputLink
from tui.outputs.choose import pick_link

LINKS = [
    OutputLink("transcription", "json", "u1"),
    OutputLink("transcription", "srt", "u2"),
    OutputLink("transcription", "txt", "u3"),
    OutputLink("transcription", "txt", "u4", index=1),
    OutputLink("summary", "txt", "u5"),
]


def test_nothing_asked_is_the_main_output_of_the_preset() -> None:
    assert pick_link(LINKS, preset="summarize") == LINKS[4]
    assert pick_link(LINKS, preset="transcript") == LINKS[2]
    assert pick_link(LINKS, preset="something-new") == LINKS[0]
    assert pick_link([], preset="transcript") is None


def test_kind_and_format_ignore_case_and_respect_the_position() -> None:
    assert pick_link(LINKS, kind="Transcription", format="SRT") == LINKS[1]
    assert pick_link(LINKS, kind="transcription", format="txt", index=1) == LINKS[3]
    assert pick_link(LINKS, kind="transcription", format="txt", index=7) == LINKS[2]  # gone: the first


def test_a_kind_alone_prefers_its_text_and_a_format_alone_the_preset_s_main() -> None:
    assert pick_link(LINKS, kind="transcription") == LINKS[2]
    assert pick_link(LINKS, format="txt", preset="summarize") == LINKS[4]
    assert pick_link(LINKS, format="vtt") is None
    assert pick_link(LINKS, kind="soap") is None
