"""Errors raised by the Batch Processor client.

The tree, so callers can catch as broadly or narrowly as they need:

    ApiError                      anything that went wrong talking to the API
    ├── ResponseError             the server answered with an error status
    │   ├── AuthHeaderError       400 authorization-header-error: key missing or malformed
    │   ├── BadRequest            400 anything else (bad parameters)
    │   │   └── NotFinished       400 from access-link: the job has no outputs yet
    │   ├── BadKey                401 the key was refused
    │   ├── Forbidden             403
    │   ├── NotFound              404 no such job (or it was deleted)
    │   ├── RateLimited           429, with `retry_after` when the server sent Retry-After
    │   ├── ServerError           5xx, including HTML error pages
    │   └── UnexpectedStatus      any other status
    ├── TransportError            no usable answer arrived
    │   ├── Timeout
    │   └── ConnectionFailed      refused, reset or dropped
    └── MalformedResponse         2xx, but not JSON, truncated, or not the expected shape

Messages carry the server's `error` and `info` when it sent them, and never the API key.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base class: something went wrong talking to the Batch Processor API."""

    # Whether trying the same request again later may succeed.
    retryable: bool = False


class ResponseError(ApiError):
    """The server answered with an error status."""

    def __init__(self, status: int, error: str | None = None, info: str | None = None) -> None:
        self.status = status
        self.error = error
        self.info = info
        super().__init__(self.describe())

    def describe(self) -> str:
        """The status and the server's error and info, in one line."""
        detail = ": ".join(part for part in (self.error, self.info) if part)
        return f"HTTP {self.status}" + (f" {detail}" if detail else "")


class AuthHeaderError(ResponseError):
    """400 authorization-header-error: the key is missing or malformed."""


class BadRequest(ResponseError):
    """400: the request was refused as invalid."""


class NotFinished(BadRequest):
    """400 from access-link: the job has not finished, so it has no links yet."""


class BadKey(ResponseError):
    """401: the API key was refused."""


class Forbidden(ResponseError):
    """403: the key is valid but may not do this."""


class NotFound(ResponseError):
    """404: no such job."""


class RateLimited(ResponseError):
    """429: too many requests."""

    retryable = True

    def __init__(
        self,
        status: int,
        error: str | None = None,
        info: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status, error, info)


class ServerError(ResponseError):
    """5xx: the server failed."""

    retryable = True


class UnexpectedStatus(ResponseError):
    """A status the API does not document."""


class TransportError(ApiError):
    """No usable answer arrived.

    `may_have_arrived` is False only when the request surely never reached the server (no
    connection was made); otherwise the server may have acted on it, which matters for POST/DELETE.
    """

    retryable = True

    def __init__(self, message: str, *, may_have_arrived: bool = True) -> None:
        super().__init__(message)
        self.may_have_arrived = may_have_arrived


class Timeout(TransportError):
    """The server did not answer in time."""


class ConnectionFailed(TransportError):
    """The connection was refused, reset or dropped."""


class MalformedResponse(ApiError):
    """A success status with a body that is not the JSON expected."""

    retryable = True


def describe(exc: BaseException) -> str:
    """One line for the user about an error met talking to the API (the TUI and the CLI say the same)."""
    if isinstance(exc, RateLimited):
        wait = f", retry after {exc.retry_after:g} s" if exc.retry_after is not None else ""
        return f"rate limited (HTTP 429{wait})"
    if isinstance(exc, BadKey):
        return "the API refused the key (HTTP 401); check DAILY_API_KEY"
    if isinstance(exc, AuthHeaderError):
        return "no usable API key (HTTP 400 authorization-header-error); check DAILY_API_KEY"
    if isinstance(exc, NotFound):
        return f"no such job ({exc})"
    if isinstance(exc, TransportError):
        return str(exc)  # names the host and the cause already
    return str(exc) or type(exc).__name__
