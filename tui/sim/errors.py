"""Error responses as Daily (or the proxy in front of it) would send them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from tui.sim.job import SimError

# Body for an injected status: (error, info); info None means the body has no `info`, like Daily's 401.
_JSON_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid-request-error", "simulated bad request"),
    401: ("authentication-error", None),
    403: ("forbidden-error", "simulated forbidden"),
    404: ("not-found", "simulated not found"),
    429: ("rate-limit-error", "too many requests, please slow down"),
    500: ("server-error", "unexpected server error"),
}
# Gateways answer these with their own HTML page, not the API's JSON.
_HTML_STATUSES = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
_HTML_PAGE = "<html>\r\n<head><title>{code} {text}</title></head>\r\n<body>\r\n<center><h1>{code} {text}</h1></center>\r\n</body>\r\n</html>\r\n"


def sim_error_response(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimError)
    return JSONResponse(exc.body(), status_code=exc.status)


def injected_error(status: int, retry_after: float | None = None) -> Response:
    """A realistic response for an injected status code; 429s carry Retry-After when asked."""
    if status in _HTML_STATUSES:
        response: Response = HTMLResponse(
            _HTML_PAGE.format(code=status, text=_HTML_STATUSES[status]), status_code=status
        )
    else:
        default = ("server-error", "unexpected server error") if status >= 500 else ("invalid-request-error", None)
        error, info = _JSON_ERRORS.get(status, default)
        response = JSONResponse(SimError(status, error, info).body(), status_code=status)
    if status == 429 and retry_after is not None:
        # Fractions are sent as-is (not strictly RFC 9110) so tests can use sub-second waits.
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response
