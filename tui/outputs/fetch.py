"""Access links and file transfers of a job's outputs; file requests NEVER carry the API key."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tui import __version__
from tui.api.client import BatchClient
from tui.outputs.errors import OutputError
from tui.outputs.links import OutputLink, links_from
from tui.outputs.save import AtomicFile, refuse_existing
from tui.present.text import printable

PREVIEW_CAP = 5 * 1024 * 1024
# Statuses a stale or expired pre-signed link gets; such a link is minted afresh once.
STALE_STATUSES = frozenset({403, 404, 410})
GONE_STATUSES = frozenset({404, 410})
ERROR_BODY_CAP = 4096
_S3_MESSAGE = re.compile(rb"<(Message|Code)>([^<]{1,200})</\1>")

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


@dataclass(frozen=True)
class Fetched:
    link: OutputLink  # the link that answered (a fresh one if the first had expired)
    data: bytes  # at most `cap` bytes
    truncated: bool  # the file is longer than the cap
    size: int | None  # bytes announced by the host (Content-Length), if any


class Outputs:
    """Access links and file transfers; file requests NEVER carry the API key."""

    def __init__(self, client: BatchClient, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._client = client
        # A client of its own, without auth: the BatchClient's auth flow would send the key to the
        # link's host. Pre-signed URLs carry their credential in the query string.
        self._files = httpx2.AsyncClient(
            transport=transport,
            headers={"User-Agent": f"batchmon/{__version__}"},
            timeout=httpx2.Timeout(30, connect=5, pool=5),
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._files.aclose()

    async def __aenter__(self) -> Outputs:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def links(self, job_id: str) -> list[OutputLink]:
        """GET access-link through the client and its budget, ahead of background polling.

        Raises tui.api.errors (NotFinished for 400, NotFound for 404, ConnectionFailed, ...).
        """
        return links_from(await self._client.access_link(job_id, urgent=True))

    async def read(
        self, job_id: str, link: OutputLink, *, cap: int = PREVIEW_CAP, progress: Progress | None = None
    ) -> Fetched:
        """The first `cap` bytes of the file, streamed."""
        data = bytearray()
        truncated = False
        with _host_errors(link):
            async with self._open(job_id, link) as (current, response):
                size = _announced_size(response)
                async for chunk in response.aiter_bytes():
                    kept = chunk[: cap - len(data)]
                    data += kept
                    if progress is not None:
                        progress(len(data), size)
                    if len(kept) < len(chunk):
                        truncated = True
                        break
        return Fetched(link=current, data=bytes(data), truncated=truncated, size=size)

    async def download(
        self, job_id: str, link: OutputLink, folder: Path, *, force: bool = False, progress: Progress | None = None
    ) -> Path:
        """Writes folder/link.filename via a temporary name + rename; DownloadExists unless force."""
        target = folder / link.filename
        refuse_existing(target, force)  # before any request
        with _host_errors(link):
            async with self._open(job_id, link) as (_, response):
                size = _announced_size(response)
                done = 0
                with AtomicFile(target, force=force) as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, size)
                    out.commit()
        return target

    @asynccontextmanager
    async def _open(self, job_id: str, link: OutputLink) -> AsyncIterator[tuple[OutputLink, httpx2.Response]]:
        """A streaming 2xx response for the link, minting it afresh once if it is stale or expired."""
        current = link
        for attempt in range(2):
            async with self._files.stream("GET", current.url) as response:
                if response.status_code < 400:
                    yield current, response
                    return
                problem = await _problem(response)
            if attempt == 0 and (response.status_code in STALE_STATUSES or b"expired" in problem.lower()):
                current = await self._remint(job_id, link)
                continue
            raise OutputError(_refusal(link, response.status_code, problem))
        raise AssertionError("unreachable")

    async def _remint(self, job_id: str, link: OutputLink) -> OutputLink:
        for fresh in await self.links(job_id):
            if (fresh.kind, fresh.format, fresh.index) == (link.kind, link.format, link.index):
                return fresh
        raise OutputError(f"{link.label}: the job no longer offers this output")


def _announced_size(response: httpx2.Response) -> int | None:
    # With a Content-Encoding, Content-Length counts encoded bytes, not the bytes we hand on.
    if response.headers.get("Content-Encoding", "identity") != "identity":
        return None
    try:
        size = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return size if size >= 0 else None


async def _problem(response: httpx2.Response) -> bytes:
    """The start of an error body (S3 sends XML with a Code and a Message)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= ERROR_BODY_CAP:
            break
    return bytes(body[:ERROR_BODY_CAP])


def _refusal(link: OutputLink, status: int, problem: bytes) -> str:
    host = _host(link)
    parts = {tag.decode(): text.decode("utf-8", "replace") for tag, text in _S3_MESSAGE.findall(problem)}
    detail = ": ".join(part for part in (parts.get("Code"), parts.get("Message")) if part)
    detail = f"HTTP {status}" + (f" {printable(detail)}" if detail else "")
    if status in GONE_STATUSES:
        return f"{link.label}: the file is gone from {host} ({detail})"
    if status == 403:
        return f"{link.label}: {host} refused the link, even a fresh one ({detail})"
    return f"{link.label}: {host} answered {detail}"


def _host(link: OutputLink) -> str:
    try:
        return printable(httpx2.URL(link.url).host) or "the file host"
    except httpx2.InvalidURL:
        return "the file host"


@contextmanager
def _host_errors(link: OutputLink) -> Iterator[None]:
    """Transfer failures as one line naming the host; never a traceback."""
    host = _host(link)
    try:
        yield
    except httpx2.UnsupportedProtocol:
        raise OutputError(f"{link.label}: the link is not an http(s) URL") from None
    except httpx2.ConnectError:
        raise OutputError(f"{link.label}: could not connect to the file host {host}") from None
    except httpx2.TimeoutException:
        raise OutputError(f"{link.label}: the file host {host} did not answer in time") from None
    except httpx2.TransportError:
        raise OutputError(f"{link.label}: the connection to the file host {host} failed") from None
    except httpx2.TooManyRedirects:
        raise OutputError(f"{link.label}: the file host {host} redirected too many times") from None
    except httpx2.InvalidURL:
        raise OutputError(f"{link.label}: the link is not a valid URL") from None
