"""`batchmon links`, `download` and `show`: the outputs of finished jobs."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.api import BatchClient, with_retries
from tui.api import errors as api_errors
from tui.cli.common import (
    EXIT_API,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
    NoRoute,
    UsageError,
    client_for,
    common_options,
    exit_code_for,
    no_route,
    one_id,
    resolved_ids,
    settings_for,
)
from tui.outputs import DownloadExists, OutputError, OutputLink, Outputs, SaveError, download_folder
from tui.present.text import printable

if TYPE_CHECKING:
    pass


def _add_output_commands(commands: Any) -> list[argparse.ArgumentParser]:
    links = commands.add_parser("links", help="every output's kind, format and download link")
    links.add_argument("job_id", metavar="JOB_ID")
    links.add_argument("--json", action="store_true", help="a JSON list of {kind, format, link}")

    download = commands.add_parser("download", help="save outputs; prints each path written")
    download.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    download.add_argument("--dir", metavar="DIR", help="save under DIR/<job id>/ (default: download_dir setting)")
    download.add_argument("--kind", metavar="K", help="only this kind (transcription, summary, soap, concept)")
    download.add_argument("--format", metavar="F", help="only outputs in this format (txt, srt, vtt, json)")
    download.add_argument("--force", action="store_true", help="replace files that exist")
    return [links, download]


async def _output_links(client: BatchClient, outputs: Outputs, job_id: str) -> list[OutputLink]:
    """The job's links; a job that is not finished is a usage error saying its status."""
    try:
        return await with_retries(lambda: outputs.links(job_id))
    except api_errors.NotFinished:
        try:
            status = (await with_retries(lambda: client.get_job(job_id))).status
        except api_errors.ApiError:
            status = None
        state = f"is {printable(status)}" if status else "is not finished"
        raise UsageError(f"job {job_id} {state}: it has no outputs to fetch yet") from None


async def _links(args: argparse.Namespace) -> int:
    job_id = one_id(args.job_id)
    async with client_for(settings_for(args)) as client, Outputs(client) as outputs:
        links = await _output_links(client, outputs, job_id)
    if args.json:
        print(json.dumps([{"kind": link.kind, "format": link.format, "link": link.url} for link in links], indent=2))
        return EXIT_OK
    if not links:
        print("no outputs")
        return EXIT_OK
    width = max(len(printable(link.kind)) for link in links)
    for link in links:
        print(f"{printable(link.kind):<{width}}  {printable(link.format or '-'):<6} {printable(link.url)}")
    return EXIT_OK


async def _download(args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(resolved_ids(args.job_ids)))  # each checked strictly; short ids resolved
    settings = settings_for(args)
    base = Path(args.dir).expanduser() if args.dir else settings.download_dir
    failures: list[int] = []

    def fail(message: object, code: int) -> None:
        print(f"batchmon: {printable(message)}", file=sys.stderr)
        failures.append(code)

    async with client_for(settings) as client, Outputs(client) as outputs:
        for job_id in ids:
            try:
                links = _chosen(await _output_links(client, outputs, job_id), args.kind, args.format, job_id)
            except UsageError as exc:
                fail(exc, EXIT_USAGE)
                continue
            except api_errors.ApiError as exc:
                if isinstance(exc, api_errors.NotFound) and await no_route(args):
                    raise NoRoute from None
                fail(api_errors.describe(exc), exit_code_for(exc))
                continue
            folder = download_folder(base, job_id)
            for link in links:
                progress = _ProgressLine(link.label) if sys.stderr.isatty() else None
                try:
                    path = await outputs.download(job_id, link, folder, force=args.force, progress=progress)
                except DownloadExists as exc:
                    fail(f"{exc.path} exists; --force replaces it", EXIT_USAGE)
                except SaveError as exc:
                    fail(exc, EXIT_USAGE)
                except OutputError as exc:
                    fail(exc, EXIT_API)
                except api_errors.ApiError as exc:  # minting a fresh link failed
                    fail(api_errors.describe(exc), exit_code_for(exc))
                else:
                    print(printable(path), flush=True)
                finally:
                    if progress is not None:
                        progress.clear()
    # A network failure outranks a usage one: it is the one worth retrying.
    return max(failures, default=EXIT_OK)


def _chosen(links: list[OutputLink], kind: str | None, fmt: str | None, job_id: str) -> list[OutputLink]:
    chosen = [
        link
        for link in links
        if (kind is None or link.kind.lower() == kind.lower())
        and (fmt is None or (link.format or "").lower() == fmt.lower())
    ]
    if not links:
        raise UsageError(f"job {job_id} has no outputs")
    if not chosen:
        wanted = " ".join(part for part in (kind, fmt) if part)
        offered = ", ".join(link.label for link in links)
        raise UsageError(f"job {job_id} has no {printable(wanted)} output (it has: {offered})")
    return chosen


class _ProgressLine:
    """`label  12.3 KB / 40.0 KB` redrawn in place on stderr, a few times a second at most."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._drawn_at = 0.0
        self._width = 0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._drawn_at < 0.1 and done != total:
            return
        self._drawn_at = now
        line = f"{self.label}  {_size(done)}" + (f" / {_size(total)}" if total else "")
        self._width = max(self._width, len(line))
        sys.stderr.write(f"\r{line:<{self._width}}")
        sys.stderr.flush()

    def clear(self) -> None:
        if self._width:
            sys.stderr.write(f"\r{' ' * self._width}\r")
            sys.stderr.flush()


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def _add_show_command(commands: Any) -> argparse.ArgumentParser:
    show: argparse.ArgumentParser = commands.add_parser(
        "show", help="an output rendered as text (the job's main output by default)"
    )
    show.add_argument("job_id", metavar="JOB_ID")
    show.add_argument("--kind", metavar="K", help="this kind (transcription, summary, soap, concept)")
    show.add_argument("--format", metavar="F", help="this format (txt, srt, vtt, json)")
    return show


async def _show(args: argparse.Namespace) -> int:
    from tui.outputs.choose import pick_link
    from tui.outputs.render import render

    job_id = one_id(args.job_id)
    async with client_for(settings_for(args)) as client, Outputs(client) as outputs:
        job = await with_retries(lambda: client.get_job(job_id))  # its preset decides the main output
        if job.status != "finished":
            raise UsageError(f"job {job_id} is {printable(job.status or 'not finished')}: it has no outputs to show")
        links = await _output_links(client, outputs, job_id)
        if args.kind or args.format:
            links = _chosen(links, args.kind, args.format, job_id)
        link = pick_link(links, kind=args.kind, format=args.format, preset=job.preset)
        if link is None:
            raise UsageError(f"job {job_id} has no outputs")
        try:
            fetched = await outputs.read(job_id, link)
        except OutputError as exc:
            print(f"batchmon: {printable(exc)}", file=sys.stderr)
            return EXIT_API
    rendered = render(link.kind, link.format, fetched.data, truncated=fetched.truncated)
    if rendered.note:
        print(f"batchmon: {link.label}: {rendered.note}", file=sys.stderr)
    _write_rendered(rendered.text, markdown=rendered.markdown)
    return EXIT_OK


def _write_rendered(text: str, *, markdown: bool) -> None:
    """Markdown drawn by Rich on a terminal; the text itself when piped (no escape sequences)."""
    try:
        if markdown and sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text, hyperlinks=False))
            return
        if text and not text.endswith("\n"):
            text += "\n"
        sys.stdout.buffer.write(text.encode(sys.stdout.encoding or "utf-8", errors="replace"))
        sys.stdout.flush()
    except BrokenPipeError:
        # `batchmon show ... | head`: the reader left; stop quietly, and keep Python from complaining at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115


def add_parsers(commands: Any) -> None:
    """This family's commands on the `batchmon` parser."""
    for sub in (*_add_output_commands(commands), _add_show_command(commands)):
        common_options(sub)


HANDLERS: dict[str, Handler] = {"links": _links, "download": _download, "show": _show}
