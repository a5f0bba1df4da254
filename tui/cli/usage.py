"""The CLI's manners: `batchmon help [COMMAND]` and "did you mean" for a mistyped command."""

from __future__ import annotations

import argparse
import difflib

from tui.api.ids import pick_job_ids
from tui.api.shortids import looks_like_prefix


class UnknownCommand(Exception):
    """The first argument is a word that is neither a command nor a job id; the message is one line."""


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's commands by name, in the order they were added."""
    for action in parser._actions:  # argparse keeps its subparsers nowhere public
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {}


def overview(tui_parser: argparse.ArgumentParser, parser: argparse.ArgumentParser) -> str:
    """The TUI form's help followed by one line per command."""
    summaries = _summaries(parser)
    width = max((len(name) for name in summaries), default=0)
    lines = [tui_parser.format_help().rstrip(), "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in summaries.items()]
    lines += ["  " + "help".ljust(width) + "  this text, or a command's (batchmon help COMMAND)", ""]
    return "\n".join(lines)


def command_help(parser: argparse.ArgumentParser, name: str) -> str:
    """One command's help; UnknownCommand (with a suggestion) for a name that is none."""
    commands = subparsers(parser)
    if name not in commands:
        raise UnknownCommand(unknown_command_message(name, [*commands, "help"]))
    return commands[name].format_help()


def unknown_command_message(word: str, commands: list[str]) -> str:
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else "see `batchmon help`"
    return f"unknown command {word!r}: {hint}"


def check_first_word(argv: list[str], commands: list[str]) -> None:
    """UnknownCommand when the first argument reads as a mistyped command rather than a job id.

    A word with a letter beyond f (`lsit`, `wathc`) cannot be an id or a short id; hex words
    (`add` is one, `deadbeef` another) are left to the TUI form, which takes ids.
    """
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return
    word = argv[0]
    if pick_job_ids(word).ids or looks_like_prefix(word):
        return
    raise UnknownCommand(unknown_command_message(word, commands))
