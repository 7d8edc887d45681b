"""The pythons wing's use of the shared HTTP layer: download hosts' timeouts and their way out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._http import describe, unreachable

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
# What to do when a download host does not answer; the catalog adds its own way out.
MIRROR_WAY_OUT = "To download from another mirror, use --mirror URL or PYVARIANT_PYTHON_MIRROR."


def http_client(**options: Any) -> httpx.Client:
    """The shared client with this wing's timeouts (read at call time, so tests may shorten them)."""
    import httpx

    from .._http import client

    return client(httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S), **options)


def describe_http_error(exc: Exception, url: str, *, way_out: str = MIRROR_WAY_OUT) -> str:
    """``url``'s host and what went wrong, in words a user can act on; ``way_out`` when it did not answer."""
    return describe(exc, url, way_out=way_out)


__all__ = ["MIRROR_WAY_OUT", "describe_http_error", "http_client", "unreachable"]
