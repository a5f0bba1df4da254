"""Async client for the Batch Processor: one method per endpoint over one shared httpx2 client."""

from __future__ import annotations

import email.utils
import math
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, TypeVar

import httpx2
import stamina
from pydantic import BaseModel, RootModel, SecretStr, ValidationError

from tui import __version__
from tui.api import errors
from tui.api.budget import RequestBudget
from tui.api.ids import normalize_job_id
from tui.api.models import AccessLinks, Job, JobListPage, JobSummary, SubmitRequest, SubmitResponse

DEFAULT_API_URL = "https://api.daily.co/v1"
PAGE_LIMIT = 100
MAX_RETRY_AFTER = 3600.0  # s: the longest Retry-After honoured
ONE_SHOT_MAX_WAIT = 10.0  # s a CLI command waits on a Retry-After before giving up with the 429
ERROR_TEXT_MAX = 500  # characters kept of an error response's `error` and `info`

Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")


class BatchClient:
    """Talks to `{base_url}/batch-processor`; every request waits on the shared budget."""

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        api_key: SecretStr | str | None = None,
        *,
        budget: RequestBudget | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: httpx2.Timeout | None = None,
    ) -> None:
        if transport is None:
            # retries= covers connect errors only; keep-alive expiry stays under servers' idle timeout.
            transport = httpx2.AsyncHTTPTransport(
                retries=2,
                limits=httpx2.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=4),
            )
        self.budget = budget
        self._http = httpx2.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": f"batchmon/{__version__}", "Accept": "application/json"},
            auth=_BearerAuth(SecretStr(api_key) if isinstance(api_key, str) else api_key),
            transport=transport,
            timeout=timeout or httpx2.Timeout(10, connect=5, pool=5),
        )

    @property
    def host(self) -> str:
        """`host:port` of the API, for messages about the network."""
        url = self._http.base_url
        host = f"[{url.host}]" if ":" in url.host else url.host
        return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"

    def set_key(self, api_key: SecretStr | None) -> None:
        """Use another key from the next request on (the user fixed a refused one)."""
        self._http.auth = _BearerAuth(api_key)

    async def __aenter__(self) -> BatchClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # Endpoints

    async def get_job(self, job_id: str) -> Job:
        """GET one job's full record (its raw body kept beside it)."""
        return await self._call("GET", _job_path(job_id), Job)

    async def get_job_body(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """The job, and its JSON as the API sent it: unknown fields whole, uncut (`get --json`)."""
        path = _job_path(job_id)
        body = (await self._call("GET", path, _Body)).root
        try:
            return Job.model_validate(body), body
        except ValidationError as exc:
            raise errors.MalformedResponse(f"GET {path}: unexpected response shape ({_first_problem(exc)})") from None

    async def list_jobs(
        self,
        *,
        limit: int = PAGE_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
        recording_id: str | None = None,
        urgent: bool = False,
    ) -> JobListPage:
        """`urgent`: a user is waiting, so the request goes before queued background polling."""
        params = {
            "limit": limit,
            "starting_after": starting_after,
            "ending_before": ending_before,
            "recordingId": recording_id,
        }
        return await self._call(
            "GET",
            "/batch-processor",
            JobListPage,
            params={name: value for name, value in params.items() if value is not None},
            urgent=urgent,
        )

    async def iter_jobs(
        self, *, recording_id: str | None = None, max_pages: int | None = None
    ) -> AsyncIterator[JobSummary]:
        """Every job, newest first, page by page (stops on a short, empty or repeated page)."""
        cursor: str | None = None
        seen_first_ids: set[str] = set()
        pages = 0
        while max_pages is None or pages < max_pages:
            page = await self.list_jobs(starting_after=cursor, recording_id=recording_id)
            pages += 1
            if not page.data or page.data[0].id in seen_first_ids:
                return  # a server that ignores the cursor would otherwise loop forever
            seen_first_ids.add(page.data[0].id)
            for job in page.data:
                yield job
            if len(page.data) < PAGE_LIMIT:
                return
            cursor = page.data[-1].id

    async def access_link(self, job_id: str, *, urgent: bool = False) -> AccessLinks:
        """`urgent`: a user is waiting, so the request goes before queued background polling."""
        return await self._call("GET", f"{_job_path(job_id)}/access-link", AccessLinks, urgent=urgent)

    async def submit(self, request: SubmitRequest) -> SubmitResponse:
        """POST a new job; the answer names its id."""
        return await self._call("POST", "/batch-processor", SubmitResponse, json=request.to_json())

    async def delete_job(self, job_id: str) -> Job:
        """DELETE a job and its outputs at Daily; the answer is its last record."""
        return await self._call("DELETE", _job_path(job_id), Job)

    # Plumbing

    async def _call(
        self,
        method: str,
        path: str,
        model: type[Model],
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        urgent: bool = False,
    ) -> Model:
        response = await self._send(method, path, params=params, json=json, urgent=urgent)
        if not response.is_success:  # a 3xx too: redirects are not followed, and its body is no answer
            raise error_for_response(response, path)
        try:
            body = response.json()
        except (ValueError, RecursionError):  # RecursionError: JSON nested about 1,000 levels deep
            raise errors.MalformedResponse(
                f"{method} {path}: HTTP {response.status_code} with a body that is not JSON"
            ) from None
        try:
            parsed = model.model_validate(body)
        except ValidationError as exc:
            raise errors.MalformedResponse(
                f"{method} {path}: unexpected response shape ({_first_problem(exc)})"
            ) from None
        if isinstance(parsed, Job):
            parsed.keep_raw(response.text)  # stored as it came, never dumped again
        return parsed

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
        urgent: bool = False,
    ) -> httpx2.Response:
        # A GET on a keep-alive connection the server just closed fails at once; one immediate
        # retry is safe because GET is idempotent.
        attempts = 2 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                if self.budget is None:
                    return await self._http.request(method, path, params=params, json=json)
                async with self.budget.slot(urgent=urgent):
                    return await self._http.request(method, path, params=params, json=json)
            except httpx2.TimeoutException as exc:
                # Timed out connecting or waiting for a free connection: nothing was sent.
                sent = not isinstance(exc, (httpx2.ConnectTimeout, httpx2.PoolTimeout))
                raise errors.Timeout(
                    f"no answer from {self.host} in time ({method} {path})", may_have_arrived=sent
                ) from None
            except httpx2.DecodingError:
                # A body the server mis-encoded (bad gzip, say) is the server's fault, not a bug.
                raise errors.MalformedResponse(f"{method} {path}: a body that could not be decoded") from None
            except httpx2.TransportError as exc:
                if attempt + 1 < attempts and not isinstance(exc, httpx2.ConnectError):
                    continue
                raise errors.ConnectionFailed(
                    _transport_problem(exc, self.host), may_have_arrived=not isinstance(exc, httpx2.ConnectError)
                ) from None
        raise AssertionError("unreachable")


class _BearerAuth(httpx2.Auth):
    """Adds the key per request, so no plain copy of it sits in a variable a crash report shows."""

    def __init__(self, key: SecretStr | None) -> None:
        self._key = key

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        if self._key is not None and self._key.get_secret_value():
            # httpx2 masks Authorization in reprs; the key never goes into a URL.
            request.headers["Authorization"] = "Bearer " + self._key.get_secret_value()
        yield request


def _job_path(job_id: str) -> str:
    return f"/batch-processor/{normalize_job_id(job_id)}"


def error_for_response(response: httpx2.Response, path: str = "") -> errors.ResponseError:
    """Map an error response to the exception tree, keeping the server's `error` and `info`."""
    status = response.status_code
    error, info = _error_fields(response)
    if status == 400:
        if error == "authorization-header-error":
            return errors.AuthHeaderError(status, error, info)
        if path.endswith("/access-link"):
            return errors.NotFinished(status, error, info)
        return errors.BadRequest(status, error, info)
    if status == 429:
        return errors.RateLimited(
            status, error, info, retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500:
        return errors.ServerError(status, error, info or response.reason_phrase or None)
    mapped: dict[int, type[errors.ResponseError]] = {
        401: errors.BadKey,
        403: errors.Forbidden,
        404: errors.NotFound,
    }
    return mapped.get(status, errors.UnexpectedStatus)(status, error, info)


def _error_fields(response: httpx2.Response) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None, None  # an HTML error page, say
    if not isinstance(body, dict):
        return None, None
    error, info = body.get("error"), body.get("info")
    # Cut: these go into one-line messages, and the server decides their length.
    return (
        error[:ERROR_TEXT_MAX] if isinstance(error, str) else None,
        info[:ERROR_TEXT_MAX] if isinstance(info, str) else None,
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date).

    Clamped to 0..MAX_RETRY_AFTER; None when absent or not a number or date (NaN included).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError):
            return None
    if math.isnan(seconds):
        return None
    # The server's number must not overflow a clock ("inf", "1e18") or freeze us for good.
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def _transport_problem(exc: httpx2.TransportError, host: str) -> str:
    """One line naming the host and the cause, e.g. "could not reach api.daily.co:443: connection refused"."""
    if isinstance(exc, httpx2.ConnectError):
        return f"could not reach {host}: {_os_cause(exc)}"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return f"{host} closed the connection before answering"
    return f"the connection to {host} failed: {_os_cause(exc)}"


def _os_cause(exc: BaseException) -> str:
    """The operating system's reason under httpx2's (and anyio's) wrappers, in a few words."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    return "connection failed"


class _Body(RootModel[dict[str, Any]]):
    """A JSON object as sent, checked only for being an object."""


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _retry_wait(exc: Exception) -> bool | float:
    """Stamina hook: retry what may succeed later, honouring Retry-After."""
    if isinstance(exc, errors.RateLimited) and exc.retry_after is not None:
        # A one-shot command waits a little, not for whatever the server names (inf and 1e18 hung).
        return exc.retry_after if exc.retry_after <= ONE_SHOT_MAX_WAIT else False
    return isinstance(exc, errors.ApiError) and exc.retryable


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int = 3, timeout: float = 30) -> T:
    """Run a one-shot call (a CLI command), retrying transient failures with backoff."""
    async for attempt in stamina.retry_context(
        on=_retry_wait, attempts=attempts, timeout=timeout, wait_initial=0.5, wait_max=5
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable")
