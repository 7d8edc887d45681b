"""One HTTP client configuration and one way of explaining HTTP failures, for catalog and fetch."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
# What to do when a download host does not answer; the catalog adds its own way out.
MIRROR_WAY_OUT = "To download from another mirror, use --mirror URL or PYVARIANT_PYTHON_MIRROR."


def http_client() -> httpx.Client:
    """A client that follows redirects (GitHub release assets redirect) and never hangs forever."""
    import httpx

    from .._version import __version__

    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    return httpx.Client(
        timeout=timeout, follow_redirects=True, headers={"User-Agent": f"jupyter-pyvariant/{__version__}"}
    )


def unreachable(exc: Exception) -> bool:
    """True when the server did not answer at all (rather than answering with an error)."""
    import httpx

    return isinstance(exc, httpx.TransportError)


def describe_http_error(exc: Exception, url: str, *, way_out: str = MIRROR_WAY_OUT) -> str:
    """``url``'s host and what went wrong, in words a user can act on; ``way_out`` when it did not answer."""
    import httpx

    host = urlsplit(url).netloc or url
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        hint = " (not on this server: check the mirror or catalog setting)" if status == 404 else ""
        return f"{url}: HTTP {status} {exc.response.reason_phrase}{hint}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({exc}); is the server or mirror up? {way_out}"
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer in time ({type(exc).__name__}). {way_out}"
    if isinstance(exc, httpx.TransportError):
        return f"{host} did not answer ({type(exc).__name__}: {exc}). {way_out}"
    return f"{url}: {type(exc).__name__}: {exc}"
