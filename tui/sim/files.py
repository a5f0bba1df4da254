"""Signed download links for outputs and the route that serves them, standing in for pre-signed S3 URLs."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.sim.content import render
from tui.sim.state import Simulator

_S3_ERROR = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'


def sign(secret: bytes, job_id: str, name: str) -> str:
    return hmac.new(secret, f"{job_id}/{name}".encode(), hashlib.sha256).hexdigest()[:32]


def file_link(request: Request, job_id: str, name: str) -> str:
    """An absolute URL on this server, so links work whatever port it listens on."""
    signature = sign(request.app.state.sim.link_secret, job_id, name)
    return f"{str(request.base_url).rstrip('/')}/files/{job_id}/{name}?sig={signature}"


async def serve_file(request: Request) -> Response:
    job_id, name = request.path_params["job_id"], request.path_params["name"]
    # The signature is the only credential, as with a pre-signed URL: no Authorization header.
    expected = sign(request.app.state.sim.link_secret, job_id, name)
    if not hmac.compare_digest(request.query_params.get("sig", ""), expected):
        return _s3_error(403, "AccessDenied", "Request has invalid signature")
    sim: Simulator = request.app.state.sim
    job = sim.job(job_id) if job_id in sim else None
    if job is None or name not in {f.name for f in sim.outputs(job_id)}:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    rendered = render(name, job_id=job_id, preset=job.preset)
    if rendered is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    text, media_type = rendered
    return Response(text, media_type=media_type)


def _s3_error(status: int, code: str, message: str) -> Response:
    return Response(_S3_ERROR.format(code=code, message=message), status_code=status, media_type="application/xml")


routes = [Route("/files/{job_id}/{name}", serve_file, methods=["GET"])]
