"""The builds python-build-standalone publishes, from any catalog its users have.

Any of four formats (:mod:`.formats`), each read into :class:`.build.Build` values. A mirror
replaces the release download prefix the way ``UV_PYTHON_INSTALL_MIRROR`` does.

Which catalog answers: a named file; else the network (cached, revalidated with a conditional GET);
else the cached copy; else the snapshot shipped in the package (:mod:`.snapshot`), which is also
the list a mirror serves when no catalog is named, so ``PYVARIANT_PYTHON_MIRROR`` alone is enough.
"""

from __future__ import annotations

__all__ = ["Catalog", "apply_mirror", "load_catalog"]

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .._cache import user_cache_dir
from .._http import redact
from .build import Build
from .catalog_cache import age_text, as_url, read_source
from .errors import CatalogError
from .formats import FORMATS
from .names import pbs_data

CATALOG_ENV = "PYVARIANT_PYTHON_CATALOG"
MIRROR_ENV = "PYVARIANT_PYTHON_MIRROR"

# Where a catalog's text came from, in the words `python list` and `--explain` use.
ORIGINS = ("network", "cache", "snapshot", "file")


@dataclass(frozen=True)
class Catalog:
    """Builds newest release first, where they came from (``origin``: one of :data:`ORIGINS`), and
    when that copy was made (seconds since the epoch; None when unknown)."""

    builds: tuple[Build, ...]
    source: str
    stale: bool = False
    notes: tuple[str, ...] = field(default=())
    origin: str = "file"
    made_at: float | None = None

    def __iter__(self) -> Iterator[Build]:
        return iter(self.builds)

    def __len__(self) -> int:
        return len(self.builds)

    def releases(self) -> list[str]:
        """Release tags, newest first."""
        return sorted({b.release for b in self.builds}, reverse=True)

    def describe(self) -> str:
        """``catalog: network https://… (fetched just now)``: which catalog answered and how old it is."""
        age = "age unknown" if self.made_at is None else age_text(time.time() - self.made_at)
        newest = f", newest release {self.releases()[0]}" if self.builds else ""
        what = dict(zip(ORIGINS, ("fetched", "cached", "made", "written"), strict=True))[self.origin]
        return f"catalog: {self.origin} {self.source} ({what} {age}{newest})"

    def to_dict(self) -> dict[str, Any]:
        """The catalog's provenance for JSON output (the builds are listed separately)."""
        return {
            "source": self.source,
            "origin": self.origin,
            "made_at": self.made_at,
            "stale": self.stale,
            "notes": list(self.notes),
            "description": self.describe(),
        }


def default_download_prefix() -> str:
    prefixes: list[str] = pbs_data()["download_prefixes"]
    return prefixes[0]


def apply_mirror(url: str, mirror: str | None) -> str:
    """Replace the release download prefix with ``mirror`` (a URL, ``file://`` URL or folder)."""
    if not mirror:
        return url
    base = as_url(mirror).rstrip("/")
    for prefix in pbs_data()["download_prefixes"]:
        if url.startswith(prefix + "/"):
            return base + url[len(prefix) :]
    return url


def load_catalog(
    source: str | None = None,
    *,
    mirror: str | None = None,
    offline: bool = False,
    release: str | None = None,
    cache_dir: Path | None = None,
) -> Catalog:
    """Read the catalog from ``source`` (URL, ``file://`` URL or path, in any of :data:`FORMATS`).

    ``source`` defaults to ``$PYVARIANT_PYTHON_CATALOG``, then — with ``release`` — that release's
    SHA256SUMS under the mirror; with only a mirror, the snapshot shipped in the package; else the
    public index, falling back to its cached copy and then to the snapshot. ``mirror`` defaults to
    ``$PYVARIANT_PYTHON_MIRROR``. ``offline`` reads only local files, the cache and the snapshot.
    """
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    source = source or os.environ.get(CATALOG_ENV) or None
    if source is None and release:
        source = apply_mirror(f"{default_download_prefix()}/{release}/SHA256SUMS", mirror)
    if source is None and mirror:
        catalog = _snapshot_catalog(
            stale=False, notes=[f"no catalog named: the snapshot's builds, from {redact(mirror)}"]
        )
    elif source is None:
        catalog = _default_catalog(offline, cache_dir or user_cache_dir())
    else:
        catalog = _read_catalog(source, offline, cache_dir or user_cache_dir())
    if mirror:
        catalog = _under_mirror(catalog, mirror)
    if not catalog.builds:
        raise CatalogError(
            f"the catalog at {catalog.source} lists no CPython builds (it may be: {FORMATS})"
            + "".join(f"; {note}" for note in catalog.notes)
        )
    return catalog


def _under_mirror(catalog: Catalog, mirror: str) -> Catalog:
    """The builds with their URLs under ``mirror``; a URL that stays elsewhere once the release
    prefix is rewritten (another host or port, a local path outside the mirror) is refused."""
    base = as_url(mirror).rstrip("/")
    kept: list[Build] = []
    refused: list[Build] = []
    for build in catalog:
        url = apply_mirror(build.url, mirror)
        (kept if _is_under(url, base) else refused).append(_with_url(build, url))
    if not refused:
        return replace(catalog, builds=tuple(kept))
    note = (
        f"{len(refused)} catalog entries point outside the mirror {redact(mirror)} and were refused "
        f"(the first: {redact(refused[0].url)}); with a mirror set, every download comes from it"
    )
    return replace(catalog, builds=tuple(kept), notes=(*catalog.notes, note))


def _is_under(url: str, base: str) -> bool:
    import posixpath

    parts, root = urlsplit(url), urlsplit(base)
    hosts = {"localhost": ""} if parts.scheme == "file" else {}
    same_place = (parts.scheme, hosts.get(parts.netloc.lower(), parts.netloc.lower())) == (
        root.scheme,
        hosts.get(root.netloc.lower(), root.netloc.lower()),
    )
    path, prefix = posixpath.normpath(unquote(parts.path)), posixpath.normpath(unquote(root.path) or "/")
    return same_place and (path.startswith(prefix.rstrip("/") + "/") or path == prefix)


def _read_catalog(source: str, offline: bool, cache_dir: Path) -> Catalog:
    """A named catalog: a file, or a URL read through the cache. Its failures are errors."""
    builds, origin, made_at, notes = read_source(source, offline, cache_dir)
    return Catalog(
        tuple(builds), redact(source), origin == "cache" and bool(notes), tuple(notes), origin, made_at
    )


def _default_catalog(offline: bool, cache_dir: Path) -> Catalog:
    """The public index, else its cached copy, else the shipped snapshot (with a note saying why)."""
    try:
        return _read_catalog(str(pbs_data()["catalog_url"]), offline, cache_dir)
    except CatalogError as exc:
        return _snapshot_catalog(stale=True, notes=[f"{exc} Now using the snapshot shipped in the package."])


def _snapshot_catalog(*, stale: bool, notes: list[str]) -> Catalog:
    from . import snapshot

    builds = snapshot.builds()
    return Catalog(builds, snapshot.SOURCE, stale, tuple(notes), "snapshot", snapshot.made_at(builds))


def _with_url(build: Build, url: str) -> Build:
    return build if url == build.url else replace(build, url=url)
