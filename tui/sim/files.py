"""Signed, expiring download links for outputs and the route that serves them, standing in for pre-signed S3 URLs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tui.sim.content import render
from tui.sim.faultlayer import ConnectionDropped, scope_headers
from tui.sim.faults import Faults
from tui.sim.state import Simulator

_S3_ERROR = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
# Links name another host than the API, as S3 URLs do, so a client that sent the API key along
# would be caught: 127.0.0.1 and localhost reach the same loopback server under different names.
_OTHER_HOST = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}
TRICKLE_STEP = 0.05  # seconds between chunks when file_rate is set


def sign(secret: bytes, job_id: str, name: str, expires: str) -> str:
    return hmac.new(secret, f"{job_id}/{name}/{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def files_root(api_url: str) -> str:
    """The file host's root for an API served at `api_url`: same server, another host name."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    other = _OTHER_HOST.get(host, f"files.{host}")
    netloc = f"{other}:{parts.port}" if parts.port else other
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def file_link(request: Request, job_id: str, name: str) -> str:
    """An absolute URL on this server under the file host's name, valid for the link_ttl fault's seconds."""
    sim: Simulator = request.app.state.sim
    faults: Faults = request.app.state.faults
    expires = f"{sim.now() + faults.link_ttl:.3f}"
    signature = sign(sim.link_secret, job_id, name, expires)
    return f"{files_root(str(request.base_url))}/files/{job_id}/{name}?expires={expires}&sig={signature}"


async def serve_file(request: Request) -> Response:
    response = _answer(request)
    sim: Simulator = request.app.state.sim
    sim.file_requests.add(request.method, request.url.path, response.status_code, headers=scope_headers(request.scope))
    return response


def _answer(request: Request) -> Response:
    job_id, name = request.path_params["job_id"], request.path_params["name"]
    sim: Simulator = request.app.state.sim
    # The signature is the only credential, as with a pre-signed URL: no Authorization header.
    expires = request.query_params.get("expires", "")
    expected = sign(sim.link_secret, job_id, name, expires)
    if not hmac.compare_digest(request.query_params.get("sig", ""), expected):
        return _s3_error(403, "AccessDenied", "Request has invalid signature")
    if sim.now() >= _number(expires):
        return _s3_error(403, "AccessDenied", "Request has expired")
    job = sim.job(job_id) if job_id in sim else None
    if job is None or name not in {f.name for f in sim.outputs(job_id)}:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    rendered = render(name, job_id=job_id, preset=job.preset)
    if rendered is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    text, media_type = rendered
    faults: Faults = request.app.state.faults
    if faults.file_rate is None and faults.file_cut is None:
        return Response(text, media_type=media_type)
    body = text.encode()
    return StreamingResponse(
        _trickle(body, faults.file_rate, faults.file_cut),
        media_type=media_type,
        headers={"Content-Length": str(len(body))},
    )


async def _trickle(body: bytes, rate: float | None, cut: int | None) -> AsyncIterator[bytes]:
    """The body in small steps at `rate` bytes/s; the connection drops after `cut` bytes."""
    limit = len(body) if cut is None else min(cut, len(body))
    step = max(1, int(rate * TRICKLE_STEP)) if rate is not None else max(1, limit)
    for start in range(0, limit, step):
        yield body[start : min(start + step, limit)]
        if rate is not None:
            await asyncio.sleep(TRICKLE_STEP)
    if limit < len(body):
        raise ConnectionDropped("simulated dropped download")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0  # no expiry given: treated as expired


def _s3_error(status: int, code: str, message: str) -> Response:
    return Response(_S3_ERROR.format(code=code, message=message), status_code=status, media_type="application/xml")


routes = [Route("/files/{job_id}/{name}", serve_file, methods=["GET"])]
