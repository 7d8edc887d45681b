"""The builds python-build-standalone publishes, from its release index or a release's SHA256SUMS.

Two machine-readable sources exist: the index uv reads (one JSON object per line, newest release
first, each with ``artifacts`` of platform, variant, url, sha256) and the ``SHA256SUMS`` file of one
release (``<hex>  <filename>``). Both end up as :class:`Build` values. A mirror replaces the release
download prefix the way ``UV_PYTHON_INSTALL_MIRROR`` does; an offline cache keeps the last index
read, so provisioning works without the network once the index has been seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from .._cache import user_cache_dir
from .errors import CatalogError
from .names import ArchiveName, InvalidArchiveName, parse_archive_name, pbs_data

CATALOG_ENV = "PYVARIANT_PYTHON_CATALOG"
MIRROR_ENV = "PYVARIANT_PYTHON_MIRROR"
# A cached index younger than this is used without asking the network again.
CACHE_FRESH_SECONDS = 600.0

_SUMS_LINE = re.compile(r"^(?P<sha256>[0-9a-fA-F]{64})\s+\*?(?P<filename>\S+)\s*$")


@dataclass(frozen=True)
class Build:
    """One published archive: what it is (from its name) and where to get it (url, sha256)."""

    version: str
    release: str
    triple: str
    flavour: str
    url: str
    sha256: str
    filename: str
    level: str | None
    libc: str | None

    @classmethod
    def from_name(cls, name: ArchiveName, url: str, sha256: str) -> Build:
        return cls(
            version=name.version,
            release=name.release,
            triple=name.triple,
            flavour=name.flavour,
            url=url,
            sha256=sha256.lower(),
            filename=name.filename,
            level=name.level,
            libc=name.libc,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Build:
        """The inverse of :meth:`to_dict` (markers and JSON output carry builds this way)."""
        values: dict[str, Any] = {f: data.get(f) for f in cls.__dataclass_fields__}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @cached_property
    def name(self) -> ArchiveName:
        return parse_archive_name(self.filename)

    @property
    def stem(self) -> str:
        """The store folder name of this build (the file name without ``.tar.*``)."""
        return self.name.stem

    @property
    def minor(self) -> str:
        return self.name.minor

    @property
    def freethreaded(self) -> bool:
        return self.name.freethreaded

    @property
    def debug(self) -> bool:
        return self.name.debug

    @property
    def full(self) -> bool:
        return self.name.full

    @property
    def static(self) -> bool:
        return self.name.static

    @property
    def optimizations(self) -> str:
        """How the interpreter was compiled, for display: ``"PGO+LTO"``, ``"LTO"``, ``"debug"``…"""
        data = pbs_data()
        tokens = self.name.tokens
        if tokens & {"install_only", "install_only_stripped"}:
            tokens = frozenset(_install_only_optimizations(self.triple).split("+"))
        labels: dict[str, str] = data["optimization_labels"]
        return "+".join(label for token, label in labels.items() if token in tokens) or "default"

    def describe(self) -> str:
        """A short human label: ``"CPython 3.13.5 · x86-64-v3 · PGO+LTO · free-threaded"``."""
        parts = [f"CPython {self.version}", self.level or self.triple.split("-")[0], self.optimizations]
        if self.freethreaded:
            parts.append("free-threaded")
        return " · ".join(parts)


def _install_only_optimizations(triple: str) -> str:
    """install_only archives do not say how they were built; the project documents it per platform."""
    from fnmatch import fnmatchcase

    table: dict[str, str] = pbs_data()["install_only_optimizations"]
    return next((opts for pattern, opts in table.items() if fnmatchcase(triple, pattern)), "")


@dataclass(frozen=True)
class Catalog:
    """Builds newest release first, and where they came from."""

    builds: tuple[Build, ...]
    source: str
    stale: bool = False
    notes: tuple[str, ...] = field(default=())

    def __iter__(self) -> Iterator[Build]:
        return iter(self.builds)

    def __len__(self) -> int:
        return len(self.builds)

    def releases(self) -> list[str]:
        """Release tags, newest first."""
        return sorted({b.release for b in self.builds}, reverse=True)


def default_download_prefix() -> str:
    prefixes: list[str] = pbs_data()["download_prefixes"]
    return prefixes[0]


def apply_mirror(url: str, mirror: str | None) -> str:
    """Replace the release download prefix with ``mirror`` (a URL, ``file://`` URL or folder)."""
    if not mirror:
        return url
    base = _as_url(mirror).rstrip("/")
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
    """Read the catalog from ``source`` (URL, ``file://`` URL or path; NDJSON index or SHA256SUMS).

    ``source`` defaults to ``$PYVARIANT_PYTHON_CATALOG``, then — with ``release`` — that release's
    SHA256SUMS under the mirror, then the public index. ``mirror`` defaults to
    ``$PYVARIANT_PYTHON_MIRROR``. ``offline`` reads only local files and the cache.
    """
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    source = source or os.environ.get(CATALOG_ENV) or None
    if source is None and release:
        source = apply_mirror(f"{default_download_prefix()}/{release}/SHA256SUMS", mirror)
    source = source or str(pbs_data()["catalog_url"])
    text, stale, notes = _read_source(source, offline, cache_dir or user_cache_dir())
    builds = parse_catalog_text(text, base_url=_as_url(source))
    if mirror:
        builds = [_with_url(b, apply_mirror(b.url, mirror)) for b in builds]
    if not builds:
        raise CatalogError(
            f"the catalog at {source} lists no CPython builds (is it an index or a SHA256SUMS file?)"
        )
    return Catalog(tuple(builds), source, stale, tuple(notes))


def parse_catalog_text(text: str, base_url: str) -> list[Build]:
    """Builds from NDJSON index text or SHA256SUMS text; SHA256SUMS names resolve against ``base_url``."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _parse_ndjson(stripped)
    return _parse_sums(stripped, base_url)


def _parse_ndjson(text: str) -> list[Build]:
    builds: list[Build] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            release = json.loads(line)
            artifacts = release["artifacts"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CatalogError(
                f"catalog line {number} is not a release object with artifacts: {exc}"
            ) from None
        for artifact in artifacts:
            url, sha256 = artifact.get("url"), artifact.get("sha256")
            if not url or not sha256:
                continue
            name = _archive_name_or_none(unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
            if name is not None:
                builds.append(Build.from_name(name, url, sha256))
    return builds


def _parse_sums(text: str, base_url: str) -> list[Build]:
    builds: list[Build] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line)
        if match is None:
            raise CatalogError(f"SHA256SUMS line {number} is not '<sha256>  <filename>': {line[:80]!r}")
        name = _archive_name_or_none(match["filename"])
        if name is not None:
            builds.append(Build.from_name(name, urljoin(base_url, quote(name.filename)), match["sha256"]))
    builds.sort(key=lambda b: b.release, reverse=True)
    return builds


def _archive_name_or_none(filename: str) -> ArchiveName | None:
    """Indexes also list non-CPython files (SBOMs, .sha256); those are not builds."""
    try:
        return parse_archive_name(filename)
    except InvalidArchiveName:
        return None


def _with_url(build: Build, url: str) -> Build:
    from dataclasses import replace

    return build if url == build.url else replace(build, url=url)


def _as_url(location: str) -> str:
    """URLs stay; local paths become ``file://`` URLs so one join rule serves both."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
        return location
    return Path(location).expanduser().resolve().as_uri()


def _read_source(source: str, offline: bool, cache_dir: Path) -> tuple[str, bool, list[str]]:
    """The catalog text, whether it came from a stale cache, and notes saying so."""
    url = _as_url(source)
    if url.startswith("file://"):
        path = Path(unquote(urlsplit(url).path))
        try:
            return path.read_text(encoding="utf-8"), False, []
        except OSError as exc:
            raise CatalogError(f"cannot read the catalog file {path}: {exc.strerror or exc}") from None
    cached = _CachedCatalog(cache_dir, url)
    if offline:
        text = cached.text()
        if text is None:
            raise CatalogError(f"offline and no cached copy of the catalog {url}; run once with the network")
        return text, True, [f"offline: using the catalog cached {cached.age_text()}"]
    if cached.fresh():
        text = cached.text()
        if text is not None:
            return text, False, []
    try:
        return cached.refresh(), False, []
    except CatalogError as exc:
        text = cached.text()
        if text is None:
            raise
        return text, True, [f"{exc}; using the catalog cached {cached.age_text()}"]


class _CachedCatalog:
    """The last copy of one catalog URL, with its ETag so an unchanged index is not sent again."""

    def __init__(self, cache_dir: Path, url: str) -> None:
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.url = url
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
        except OSError:
            return None

    def fresh(self) -> bool:
        fetched = self._meta().get("fetched_at")
        return isinstance(fetched, (int, float)) and time.time() - fetched < CACHE_FRESH_SECONDS

    def age_text(self) -> str:
        fetched = self._meta().get("fetched_at")
        if not isinstance(fetched, (int, float)):
            return "earlier"
        return f"{int((time.time() - fetched) // 60)} min ago"

    def refresh(self) -> str:
        """Fetch the URL (conditionally when a copy exists), store it, return its text."""
        import httpx

        from ._http import describe_http_error, http_client

        meta = self._meta()
        headers = {"If-None-Match": meta["etag"]} if meta.get("etag") and self.path.exists() else {}
        try:
            with http_client() as client:
                response = client.get(self.url, headers=headers)
                if response.status_code == 304:
                    text = self.text()
                    if text is not None:
                        self._store(None, meta.get("etag"))
                        return text
                    response = client.get(self.url)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise CatalogError(f"cannot fetch the catalog: {describe_http_error(exc, self.url)}") from None
        self._store(response.text, response.headers.get("etag"))
        return response.text

    def _store(self, text: str | None, etag: str | None) -> None:
        """Write atomically; a cache that cannot be written only costs the next run a download."""
        from .._atomic import write_text_atomic

        try:
            if text is not None:
                write_text_atomic(self.path, text)
            write_text_atomic(
                self.meta_path, json.dumps({"url": self.url, "etag": etag, "fetched_at": time.time()})
            )
        except OSError:
            pass


__all__ = ["Build", "Catalog", "apply_mirror", "load_catalog", "parse_catalog_text"]
