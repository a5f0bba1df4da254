"""ASGI middleware that logs /v1 requests and applies the switched-on faults to them."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tui.sim.errors import injected_error
from tui.sim.faults import Faults
from tui.sim.state import Simulator

MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Daily</title></head>"
    b"<body><h1>We'll be right back</h1><p>Scheduled maintenance in progress.</p></body></html>"
)


# The API log keeps only these (it grows with every poll); the file log keeps every header.
API_LOGGED_HEADERS = frozenset({"host", "authorization"})


def scope_headers(scope: Scope, only: frozenset[str] | None = None) -> tuple[tuple[str, str], ...]:
    pairs = ((name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope.get("headers", []))
    return tuple((name, value) for name, value in pairs if only is None or name in only)


class ConnectionDropped(ConnectionError):
    """Raised by the app to make the server close the socket mid-response."""


class FaultLayer:
    def __init__(self, app: ASGIApp, sim: Simulator, faults: Faults) -> None:
        self.app = app
        self.sim = sim
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/v1" or path.startswith("/v1/")):
            await self.app(scope, receive, send)
            return
        arrived = self.sim.clock()
        seen = {"status": 0}  # stays 0 if the connection is dropped
        logged = False

        def log() -> None:
            nonlocal logged
            if not logged:
                logged = True
                headers = scope_headers(scope, API_LOGGED_HEADERS)
                self.sim.requests.add(scope["method"], path, seen["status"], at=arrived, headers=headers)

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif not message.get("more_body", False):
                log()  # before the last byte goes out, so a client that has its answer sees it logged
            await send(message)

        try:
            await self._serve(scope, receive, noting_send, seen)
        finally:
            log()

    async def _serve(self, scope: Scope, receive: Receive, send: Send, seen: dict[str, int]) -> None:
        f = self.faults
        if f.latency > 0:
            await asyncio.sleep(f.latency)
        if f.should_drop():
            await self._drop(send, seen)
        if f.rate_limit is not None and not f.limiter.allow(f.rate_limit, self.sim.clock()):
            await injected_error(429, f.retry_after)(scope, receive, send)
        elif f.status is not None and f.status_applies(scope["path"]):
            await injected_error(f.status, f.retry_after)(scope, receive, send)
        elif f.truncate or f.non_json or f.wrong_shape:
            await self._mangled(scope, receive, send)
        elif f.take_lost_answer(scope["method"]):
            await self._act_then_drop(scope, receive, send, seen)
        else:
            await self.app(scope, receive, send)

    async def _drop(self, send: Send, seen: dict[str, int]) -> None:
        # ASGI has no "close without answering": raising before the response starts makes the
        # server send a 500. So start a response that promises a body, then raise; uvicorn
        # closes the socket and the client gets RemoteProtocolError (incomplete body).
        headers = [(b"content-type", b"application/json"), (b"content-length", b"512")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        seen["status"] = 0
        raise ConnectionDropped("simulated dropped connection")

    async def _act_then_drop(self, scope: Scope, receive: Receive, send: Send, seen: dict[str, int]) -> None:
        """The server does the work (a job is created or deleted), then the answer is lost on the way."""

        async def discard(_message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        await self._drop(send, seen)

    async def _mangled(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the real response and, if it is a 200, spoil its body."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = list(start.get("headers", []))
        if start.get("status") == 200:
            body, media_type = self._spoil(body)
            kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
            headers = [*kept, (b"content-type", media_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": start.get("status", 500), "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _spoil(self, body: bytes) -> tuple[bytes, bytes]:
        if self.faults.truncate:
            return body[: len(body) // 2], b"application/json"
        if self.faults.non_json:
            return MAINTENANCE_PAGE, b"text/html; charset=utf-8"
        try:
            original = json.loads(body)
        except ValueError:
            original = None
        return json.dumps([original]).encode(), b"application/json"
