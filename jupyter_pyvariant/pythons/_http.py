"""One HTTP client configuration and one way of explaining HTTP failures, for catalog and fetch."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0


def http_client() -> httpx.Client:
    """A client that follows redirects (GitHub release assets redirect) and never hangs forever."""
    import httpx

    from .._version import __version__

    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    return httpx.Client(
        timeout=timeout, follow_redirects=True, headers={"User-Agent": f"jupyter-pyvariant/{__version__}"}
    )


def describe_http_error(exc: Exception, url: str) -> str:
    """``url``'s host and what went wrong, in words a user can act on."""
    import httpx

    host = urlsplit(url).netloc or url
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        hint = " (not on this server: check the mirror or catalog setting)" if status == 404 else ""
        return f"{url}: HTTP {status} {exc.response.reason_phrase}{hint}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({exc}); is the server or mirror up?"
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer in time ({type(exc).__name__})"
    return f"{url}: {type(exc).__name__}: {exc}"
