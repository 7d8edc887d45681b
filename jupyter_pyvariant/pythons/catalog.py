"""The builds python-build-standalone publishes, from any catalog its users have.

Four formats, recognised by content: the release index (one JSON object per line, newest release
first, each with ``artifacts`` of url and sha256), a release's ``SHA256SUMS`` (``<hex>  <filename>``),
uv's ``download-metadata.json`` (one object keyed ``cpython-3.13.15-linux-x86_64_v3-gnu``) and
pbs-installer's ``versions.json`` (a list of ``{"files": [...]}``). All end up as :class:`Build`
values. A mirror replaces the release download prefix the way ``UV_PYTHON_INSTALL_MIRROR`` does.

Which catalog answers: a named file; else the network (cached, revalidated with a conditional GET);
else the cached copy; else the snapshot shipped in the package (:mod:`.snapshot`), which is also
the list a mirror serves when no catalog is named, so ``PYVARIANT_PYTHON_MIRROR`` alone is enough.
"""

from __future__ import annotations

__all__ = ["FORMATS", "Build", "Catalog", "apply_mirror", "load_catalog", "parse_catalog_text"]

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from .._cache import user_cache_dir
from .._http import cap, redact
from .errors import CatalogError, CatalogTimeout, CatalogUnreachable
from .names import ArchiveName, InvalidArchiveName, parse_archive_name, pbs_data

CATALOG_ENV = "PYVARIANT_PYTHON_CATALOG"
MIRROR_ENV = "PYVARIANT_PYTHON_MIRROR"
# A cached index younger than this is used without asking the network again.
CACHE_FRESH_SECONDS = 600.0

FORMATS = (
    "the python-build-standalone release index (NDJSON), a release's SHA256SUMS, "
    "uv's download-metadata.json or pbs-installer's versions.json"
)
WAY_OUT = (
    "To work without it, name a local or reachable catalog with --catalog PATH|URL or "
    "PYVARIANT_PYTHON_CATALOG (any of: " + FORMATS + "), or name a mirror with --mirror URL or "
    "PYVARIANT_PYTHON_MIRROR to use the catalog shipped in the package."
)
_SUMS_LINE = re.compile(r"^(?P<sha256>[0-9a-fA-F]{64})\s+\*?(?P<filename>\S+)\s*$")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


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
        age = "age unknown" if self.made_at is None else _age_text(time.time() - self.made_at)
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


def _age_text(seconds: float) -> str:
    """``just now``, ``12 min ago``, ``3 h ago``, ``110 days ago``."""
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return "just now"


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
    base = _as_url(mirror).rstrip("/")
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
    builds, origin, made_at, notes = _read_source(source, offline, cache_dir)
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


def parse_catalog_text(text: str, base_url: str) -> list[Build]:
    """Builds, newest release first, from text in any of :data:`FORMATS` (recognised by content).

    SHA256SUMS names resolve against ``base_url``; :class:`CatalogError` names the formats accepted.
    """
    stripped = text.lstrip()
    if stripped.startswith("["):
        builds = _parse_pbs_installer(_json_document(stripped))
    elif stripped.startswith("{"):
        try:
            document: Any = json.loads(stripped)
        except RecursionError:
            raise _refused("JSON nested too deeply") from None
        except ValueError:
            document = None  # several JSON lines: the release index
        if isinstance(document, dict) and "artifacts" not in document:
            builds = _parse_uv(document)
        else:
            builds = _parse_ndjson(stripped)
    else:
        builds = _parse_sums(stripped, base_url)
    builds.sort(key=lambda b: b.release, reverse=True)
    return builds


def _json_document(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _refused(f"not valid JSON ({exc})") from None


def _refused(problem: str) -> CatalogError:
    return CatalogError(f"{problem}: this is none of the catalog formats read here ({FORMATS})")


def _parse_ndjson(text: str) -> list[Build]:
    builds: list[Build] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            artifacts = json.loads(line)["artifacts"]
            pairs = [(a.get("url"), a.get("sha256")) for a in artifacts]
        except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
            raise _refused(f"line {number} is not a release object with artifacts (url, sha256)") from None
        builds += _builds(pairs)
    return builds


def _parse_uv(document: Mapping[str, Any]) -> list[Build]:
    """uv's ``download-metadata.json``: other implementations and entries without a sha256 are skipped."""
    pairs = []
    for key, entry in document.items():
        if not isinstance(entry, Mapping) or "url" not in entry:
            raise _refused(f"entry {key!r} is not a download object with a url and a sha256")
        pairs.append((entry.get("url"), entry.get("sha256")))
    return _builds(pairs)


def _parse_pbs_installer(document: Any) -> list[Build]:
    """pbs-installer's ``versions.json``: a list of ``{"python_version": …, "files": [{url, sha256}]}``."""
    pairs = []
    for number, entry in enumerate(document if isinstance(document, list) else [None], 1):
        try:
            pairs += [(file.get("url"), file.get("sha256")) for file in entry["files"]]
        except (KeyError, TypeError, AttributeError):
            raise _refused(f"item {number} is not an object with files (url, sha256)") from None
    return _builds(pairs)


def _builds(pairs: list[tuple[Any, Any]]) -> list[Build]:
    """Builds from (url, sha256) pairs; pairs without both (a URL and a hex sha256), or not naming a
    CPython archive, are skipped."""
    builds: list[Build] = []
    for url, sha256 in pairs:
        if not isinstance(url, str) or not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            continue
        try:
            path = urlsplit(url).path
        except ValueError:  # not a URL (an unclosed IPv6 bracket)
            continue
        name = _archive_name_or_none(unquote(path.rsplit("/", 1)[-1]))
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
            raise _refused(f"line {number} {line[:80]!r} is neither JSON nor '<sha256>  <filename>'")
        name = _archive_name_or_none(match["filename"])
        if name is not None:
            builds.append(Build.from_name(name, urljoin(base_url, quote(name.filename)), match["sha256"]))
    return builds


def _archive_name_or_none(filename: str) -> ArchiveName | None:
    """Catalogs also list non-CPython files (PyPy, GraalPy, SBOMs, .sha256); those are not builds."""
    try:
        return parse_archive_name(filename)
    except InvalidArchiveName:
        return None


def _with_url(build: Build, url: str) -> Build:
    return build if url == build.url else replace(build, url=url)


def _as_url(location: str) -> str:
    """URLs stay; local paths become ``file://`` URLs so one join rule serves both."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
        return location
    return Path(location).expanduser().resolve().as_uri()


def _parse(text: str, url: str) -> list[Build]:
    try:
        return parse_catalog_text(text, base_url=url)
    except CatalogError as exc:
        raise CatalogError(f"the catalog at {redact(url)}: {exc}") from None


def _read_source(
    source: str, offline: bool, cache_dir: Path
) -> tuple[list[Build], str, float | None, list[str]]:
    """The catalog's builds, its origin (:data:`ORIGINS`), when that copy was made, and notes.

    Every text is parsed before it is used or kept: a network answer that is no catalog is never
    written to the cache (the cached copy answers instead, when there is one), and a cached copy
    that does not parse counts as none.
    """
    url = _as_url(source)
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
        return "earlier" if fetched is None else _age_text(time.time() - fetched)

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
