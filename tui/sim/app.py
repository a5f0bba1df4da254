"""The simulated Batch Processor REST API as a Starlette app."""

from __future__ import annotations

import hmac
import json

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tui.sim import admin, files
from tui.sim.errors import sim_error_response
from tui.sim.faultlayer import FaultLayer
from tui.sim.faults import Faults
from tui.sim.job import FINISHED, SimError
from tui.sim.outputs import access_link_entries, lists_single_files
from tui.sim.state import MAX_LIMIT, Simulator


def create_app(sim: Simulator, faults: Faults | None = None) -> Starlette:
    """Routes under /v1 (Daily's API), /files (signed downloads) and /_sim (test control)."""
    faults = faults if faults is not None else Faults()
    app = Starlette(
        routes=[*api_routes, *files.routes, *admin.routes],
        middleware=[Middleware(FaultLayer, sim=sim, faults=faults)],
        exception_handlers={SimError: sim_error_response, HTTPException: _http_error},
    )
    app.state.sim = sim
    app.state.faults = faults
    return app


def _authorize(request: Request) -> Simulator:
    """Daily's checks: header missing or malformed is a 400, a wrong key a 401."""
    sim: Simulator = request.app.state.sim
    header = request.headers.get("authorization")
    if header is None:
        raise SimError(400, "authorization-header-error", "missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SimError(400, "authorization-header-error", "bad Authorization header format")
    if not hmac.compare_digest(token.strip().encode(), sim.api_key.encode()):
        raise SimError(401, "authentication-error")
    return sim


async def submit_job(request: Request) -> JSONResponse:
    sim = _authorize(request)
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise SimError(400, "json-parsing-error", "request body is not valid JSON") from None
    return JSONResponse({"id": sim.submit(body)})


async def list_jobs(request: Request) -> JSONResponse:
    sim = _authorize(request)
    faults: Faults = request.app.state.faults
    params = request.query_params
    if faults.list_ignores_paging:
        limit, starting_after, ending_before = MAX_LIMIT, None, None
    else:
        limit = _int_param(params.get("limit"), "limit", MAX_LIMIT)
        starting_after, ending_before = params.get("starting_after"), params.get("ending_before")
    body = sim.list_jobs(
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        recording_id=params.get("recordingId"),
        skip=faults.omits if faults.list_omits > 0 else None,
    )
    return JSONResponse(body)


async def get_job(request: Request) -> JSONResponse:
    sim = _authorize(request)
    return JSONResponse(sim.record(request.path_params["job_id"]))


async def access_link(request: Request) -> JSONResponse:
    sim = _authorize(request)
    job = sim.job(request.path_params["job_id"])
    status = job.status_at(sim.now())
    if status != FINISHED:
        raise SimError(400, "invalid-request-error", "job is not finished")
    entries = access_link_entries(
        sim.outputs(job.id), lambda f: files.file_link(request, job.id, f.name), as_lists=lists_single_files(job.id)
    )
    return JSONResponse({"id": job.id, "preset": job.preset, "status": status, **entries})


async def delete_job(request: Request) -> JSONResponse:
    sim = _authorize(request)
    return JSONResponse(sim.delete(request.path_params["job_id"]))


def _int_param(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SimError(400, "invalid-request-error", f"{name} must be an integer") from None


def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods answer in the API's JSON error shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = {"error": "not-found", "info": f"no route for {request.url.path}"}
    else:
        body = {"error": "invalid-request-error", "info": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


api_routes = [
    Route("/v1/batch-processor", list_jobs, methods=["GET"]),
    Route("/v1/batch-processor", submit_job, methods=["POST"]),
    Route("/v1/batch-processor/{job_id}", get_job, methods=["GET"]),
    Route("/v1/batch-processor/{job_id}", delete_job, methods=["DELETE"]),
    Route("/v1/batch-processor/{job_id}/access-link", access_link, methods=["GET"]),
]
