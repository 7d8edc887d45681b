"""Reading one catalog: a local file, or a URL through its cached copy (revalidated with a
conditional GET), so that a catalog that does not answer still leaves the last one that parsed."""

from __future__ import annotations

__all__ = ["CACHE_FRESH_SECONDS", "WAY_OUT", "age_text", "as_url", "read_source"]

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .._http import cap, redact
from .build import Build
from .errors import CatalogError, CatalogTimeout, CatalogUnreachable
from .formats import FORMATS, parse_catalog_text

# A cached index younger than this is used without asking the network again.
CACHE_FRESH_SECONDS = 600.0
WAY_OUT = (
    "To work without it, name a local or reachable catalog with --catalog PATH|URL or "
    "PYVARIANT_PYTHON_CATALOG (any of: " + FORMATS + "), or name a mirror with --mirror URL or "
    "PYVARIANT_PYTHON_MIRROR to use the catalog shipped in the package."
)


def age_text(seconds: float) -> str:
    """``just now``, ``12 min ago``, ``3 h ago``, ``110 days ago``."""
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return "just now"


def as_url(location: str) -> str:
    """URLs stay; local paths become ``file://`` URLs so one join rule serves both."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
        return location
    return Path(location).expanduser().resolve().as_uri()


def _parse(text: str, url: str) -> list[Build]:
    try:
        return parse_catalog_text(text, base_url=url)
    except CatalogError as exc:
        raise CatalogError(f"the catalog at {redact(url)}: {exc}") from None


def read_source(
    source: str, offline: bool, cache_dir: Path
) -> tuple[list[Build], str, float | None, list[str]]:
    """The catalog's builds, its origin (:data:`ORIGINS`), when that copy was made, and notes.

    Every text is parsed before it is used or kept: a network answer that is no catalog is never
    written to the cache (the cached copy answers instead, when there is one), and a cached copy
    that does not parse counts as none.
    """
    url = as_url(source)
    if url.startswith("file://"):
        path = Path(unquote(urlsplit(url).path))
        try:
            if path.stat().st_size > cap("catalog"):
                raise CatalogError(
                    f"the catalog file {path} is larger than any catalog ({path.stat().st_size:,} > "
                    f"{cap('catalog'):,} bytes)"
                )
            text = path.read_text(encoding="utf-8", errors="replace")
            return _parse(text, url), "file", path.stat().st_mtime, []
        except OSError as exc:
            raise CatalogError(f"cannot read the catalog file {path}: {exc.strerror or exc}") from None
    cached = _CachedCatalog(cache_dir, url)
    kept = cached.builds()
    if offline:
        if kept is None:
            raise CatalogError(f"offline and no cached copy of the catalog {cached.shown}. {WAY_OUT}")
        return kept, "cache", cached.fetched_at(), [f"offline: using the catalog cached {cached.age_text()}"]
    if kept is not None and cached.fresh():
        return kept, "cache", cached.fetched_at(), []
    try:
        return cached.refresh(kept is not None), "network", time.time(), []
    except CatalogError as exc:
        if kept is None:
            raise
        note = f"{exc} Now using the catalog cached {cached.age_text()}."
        return kept, "cache", cached.fetched_at(), [note]


class _CachedCatalog:
    """The last copy of one catalog URL that parsed, with its ETag so an unchanged index is not
    sent again."""

    def __init__(self, cache_dir: Path, url: str) -> None:
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.url = url
        self.shown = redact(url)
        self.path = cache_dir / f"catalog-{key}.txt"
        self.meta_path = cache_dir / f"catalog-{key}.json"

    def _meta(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data

    def text(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def builds(self) -> list[Build] | None:
        """The cached copy's builds (None: no copy, or one that is no catalog)."""
        text = self.text()
        try:
            return None if text is None else parse_catalog_text(text, self.url)
        except CatalogError:
            return None

    def fetched_at(self) -> float | None:
        fetched = self._meta().get("fetched_at")
        return float(fetched) if isinstance(fetched, (int, float)) else None

    def fresh(self) -> bool:
        fetched = self.fetched_at()
        return fetched is not None and time.time() - fetched < CACHE_FRESH_SECONDS

    def age_text(self) -> str:
        fetched = self.fetched_at()
        return "earlier" if fetched is None else age_text(time.time() - fetched)

    def refresh(self, conditional: bool) -> list[Build]:
        """Fetch the URL (asking only for a change when ``conditional``: a good copy is cached),
        within the catalog cap; keep it once it parsed; return its builds."""
        import httpx

        from .._http import TooLarge, describe_status, get_document
        from ._http import describe_http_error, http_client, unreachable

        meta = self._meta()
        headers = {}
        if conditional:
            validators = (("If-None-Match", "etag"), ("If-Modified-Since", "last_modified"))
            headers = {header: meta[key] for header, key in validators if meta.get(key)}
        try:
            with http_client() as client:
                response = get_document(client, self.url, "catalog", headers=headers)
                if response.status_code == 304 and conditional:
                    self._store(None, meta.get("etag"), meta.get("last_modified"))
                    return self.builds() or []
                if response.status_code != 200:
                    raise CatalogError(
                        f"cannot fetch the catalog: {describe_status(self.url, response.status_code)}"
                    )
        except TooLarge as exc:
            raise CatalogError(f"cannot fetch the catalog: {exc}") from None
        except httpx.HTTPError as exc:
            message = f"cannot fetch the catalog: {describe_http_error(exc, self.url, way_out=WAY_OUT)}"
            if isinstance(exc, httpx.TimeoutException):
                raise CatalogTimeout(message) from None
            raise (CatalogUnreachable if unreachable(exc) else CatalogError)(message) from None
        text = response.body.decode("utf-8", errors="replace")
        builds = _parse(text, self.url)
        self._store(text, response.headers.get("etag"), response.headers.get("last-modified"))
        return builds

    def _store(self, text: str | None, etag: str | None, last_modified: str | None) -> None:
        """Write atomically; a cache that cannot be written only costs the next run a download."""
        from .._atomic import write_text_atomic

        try:
            if text is not None:
                write_text_atomic(self.path, text)
            meta = {
                "url": self.shown,
                "etag": etag,
                "last_modified": last_modified,
                "fetched_at": time.time(),
            }
            write_text_atomic(self.meta_path, json.dumps(meta))
        except OSError:
            pass
