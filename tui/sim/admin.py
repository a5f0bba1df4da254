"""The /_sim/ control surface (no auth) that lets tests drive a simulator running in another process."""

from __future__ import annotations

import json
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tui.sim.faults import Faults
from tui.sim.job import SimError
from tui.sim.state import Simulator

# create_job keyword arguments accepted over HTTP, plus `extra` for set_extra.
JOB_FIELDS = {"preset", "source", "status", "outcome", "processing_in", "done_in", "error", "job_id"}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise SimError(400, "json-parsing-error", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SimError(400, "invalid-request-error", "request body must be a JSON object")
    return body


def _sim(request: Request) -> Simulator:
    return cast(Simulator, request.app.state.sim)


def _faults(request: Request) -> Faults:
    return cast(Faults, request.app.state.faults)


async def get_faults(request: Request) -> JSONResponse:
    return JSONResponse(_faults(request).as_dict())


async def put_faults(request: Request) -> JSONResponse:
    try:
        _faults(request).update(await _json_object(request))
    except ValueError as exc:
        raise SimError(400, "invalid-request-error", str(exc)) from None
    return JSONResponse(_faults(request).as_dict())


async def reset_faults(request: Request) -> JSONResponse:
    _faults(request).reset()
    return JSONResponse(_faults(request).as_dict())


async def create_job(request: Request) -> JSONResponse:
    body = await _json_object(request)
    extra = body.pop("extra", None)
    unknown = set(body) - JOB_FIELDS
    if unknown:
        raise SimError(400, "invalid-request-error", f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        job_id = _sim(request).create_job(**body)
    except (TypeError, ValueError) as exc:
        raise SimError(400, "invalid-request-error", str(exc)) from None
    if isinstance(extra, dict):
        _sim(request).set_extra(job_id, extra)
    return JSONResponse({"id": job_id})


async def force_status(request: Request) -> JSONResponse:
    status = (await _json_object(request)).get("status")
    if not isinstance(status, str):
        raise SimError(400, "invalid-request-error", "status must be a string")
    job_id = request.path_params["job_id"]
    _sim(request).force_status(job_id, status)
    return JSONResponse(_sim(request).record(job_id))


async def transitions(request: Request) -> JSONResponse:
    pairs = _sim(request).transitions(request.path_params["job_id"], include_future=True)
    return JSONResponse({"transitions": [[status, at] for status, at in pairs], "now": _sim(request).now()})


async def set_api_key(request: Request) -> JSONResponse:
    key = (await _json_object(request)).get("api_key")
    if not isinstance(key, str):
        raise SimError(400, "invalid-request-error", "api_key must be a string")
    _sim(request).set_api_key(key)
    return JSONResponse({"ok": True})


async def get_stats(request: Request) -> JSONResponse:
    log = _sim(request).requests
    return JSONResponse(
        {
            "jobs": len(_sim(request)),
            "requests": log.count,
            "rate_limited": log.count_status(429),
            "by_status": {str(code): n for code, n in sorted(log.by_status().items())},
            "max_per_1s": log.max_in_window(1.0),
            "max_per_5s": log.max_in_window(5.0),
        }
    )


async def clear_stats(request: Request) -> JSONResponse:
    _sim(request).requests.clear()
    return JSONResponse({"ok": True})


async def get_file_requests(request: Request) -> JSONResponse:
    """What reached the file host: header names only (enough to show no Authorization arrived)."""
    entries = [
        {"path": e.path, "status": e.status, "host": e.host, "headers": [name for name, _ in e.headers]}
        for e in _sim(request).file_requests.entries()
    ]
    return JSONResponse({"requests": entries})


async def clear_file_requests(request: Request) -> JSONResponse:
    _sim(request).file_requests.clear()
    return JSONResponse({"ok": True})


routes = [
    Route("/_sim/faults", get_faults, methods=["GET"]),
    Route("/_sim/faults", put_faults, methods=["PUT"]),
    Route("/_sim/faults", reset_faults, methods=["DELETE"]),
    Route("/_sim/jobs", create_job, methods=["POST"]),
    Route("/_sim/jobs/{job_id}/status", force_status, methods=["POST"]),
    Route("/_sim/jobs/{job_id}/transitions", transitions, methods=["GET"]),
    Route("/_sim/api-key", set_api_key, methods=["PUT"]),
    Route("/_sim/stats", get_stats, methods=["GET"]),
    Route("/_sim/stats", clear_stats, methods=["DELETE"]),
    Route("/_sim/file-requests", get_file_requests, methods=["GET"]),
    Route("/_sim/file-requests", clear_file_requests, methods=["DELETE"]),
]
