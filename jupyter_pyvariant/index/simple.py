"""A client for the simple repository API: PEP 691 JSON and PEP 503 HTML pages over httpx.

Pages of several indexes are fetched concurrently and revalidated with ETag / Last-Modified against
an on-disk cache, so a second plan of the same packages costs a few 304s. The indexes, find-links,
trusted hosts and CA bundle are the user's own (:mod:`.settings`); ``file://`` indexes and find-links
folders are read from disk (:mod:`.local`). Credentials may sit in the index URL or in ``~/.netrc``;
they are sent only to the host they belong to and never appear in messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from .._atomic import write_bytes_atomic
from .._cache import user_cache_dir
from .._http import error_text, local_url
from .._http import redact as redact  # the index wing's messages and lock files use it from here

if TYPE_CHECKING:
    import ssl

    import httpx

    from .._http import Document, OnChunk
    from .settings import IndexSettings

ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HASH_PREFERENCE = ("sha256", "sha384", "sha512")


class IndexProblem(Exception):
    """An index could not answer usefully; the message names the project, the URL and the cause."""


class IndexUnavailable(IndexProblem):
    """The index is down, slow, refused us, or answered with an HTTP error."""


class IndexGarbage(IndexProblem):
    """The index answered with something that is not a simple-API page."""


class IndexTooLarge(IndexProblem):
    """A page or file was larger than its cap or than the size its page gave (see :mod:`.._http`)."""


class HashMismatch(IndexProblem):
    """A file's bytes do not have the hash its index page promised."""


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(filename: str) -> str | None:
    """The normalized project of a distribution file's name (None: not a wheel, sdist or
    ``variants.json``), for find-links locations, which list every project together."""
    if filename.endswith(".whl"):
        return normalize(filename.split("-", 1)[0])
    for suffix in (".tar.gz", ".zip", "-variants.json"):
        if filename.endswith(suffix):
            name, sep, _ = filename.removesuffix(suffix).rpartition("-")
            return normalize(name) if sep and name else None
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


@dataclass(frozen=True)
class FileLink:
    """One file on an index page."""

    filename: str
    url: str
    index: str
    hashes: tuple[tuple[str, str], ...] = ()
    requires_python: str | None = None
    yanked: str | None = None
    """None when not yanked; the reason ("" when none was given) otherwise."""
    metadata_hashes: tuple[tuple[str, str], ...] | None = None
    """None when the index offers no PEP 658 metadata file; its hashes (maybe none) otherwise."""
    size: int | None = None

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")

    @property
    def strongest_hash(self) -> tuple[str, str] | None:
        known = dict(self.hashes)
        return next(((name, known[name]) for name in HASH_PREFERENCE if name in known), None)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class ProjectPage:
    """A project's files on the first index that knows it."""

    name: str
    index: str
    url: str
    files: tuple[FileLink, ...]
    fresh_until: float = 0.0
    """Until when the index lets the page be used without asking again (see :func:`fresh_until`)."""

    def variants_json(self, version: str) -> FileLink | None:
        """The ``{name}-{version}-variants.json`` link for ``version``, if the page lists one."""
        from packaging.version import InvalidVersion, Version

        for link in self.files:
            if not link.filename.endswith("-variants.json"):
                continue
            name, _, file_version = link.filename.removesuffix("-variants.json").rpartition("-")
            try:
                same = normalize(name) == self.name and Version(file_version) == Version(version)
            except InvalidVersion:
                continue
            if same:
                return link
        return None


# --------------------------------------------------------------------------------------------------
# Parsing


def _hash_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        return ()
    return tuple(sorted((str(k).lower(), str(v).lower()) for k, v in value.items()))


def _metadata_hashes(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None or value is False:
        return None
    return _hash_pairs(value) if isinstance(value, Mapping) else ()


def _absolute(page_url: str, href: str) -> str:
    """``href`` resolved against the page; an absolute one as it is (urljoin was two thirds of
    reading a page of thousands of files)."""
    return href if href.startswith(("https://", "http://")) else urljoin(page_url, href)


def _fragment_hash(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    if "#" not in url:
        return url, ()
    base, _, fragment = url.partition("#")
    name, sep, digest = fragment.partition("=")
    return base, (
        ((name.lower(), digest.lower()),) if sep and name.lower() in hashlib.algorithms_available else ()
    )


def parse_json_page(body: bytes, page_url: str, index: str) -> ProjectPage:
    """A PEP 691 JSON page; raises ValueError when it is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValueError("a PEP 691 page must be an object with a 'files' list")
    api = str(data.get("meta", {}).get("api-version", "1.0"))
    if not api.startswith("1."):
        raise ValueError(f"unsupported simple API version {api}")
    links = []
    for entry in data["files"]:
        if not isinstance(entry, dict) or not entry.get("filename") or not entry.get("url"):
            raise ValueError("every file needs 'filename' and 'url'")
        yanked = entry.get("yanked", False)
        url, fragment_hashes = _fragment_hash(_absolute(page_url, str(entry["url"])))
        links.append(
            FileLink(
                filename=str(entry["filename"]),
                url=url,
                index=index,
                hashes=_hash_pairs(entry.get("hashes")) or fragment_hashes,
                requires_python=entry.get("requires-python") or None,
                yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
                metadata_hashes=_metadata_hashes(entry.get("core-metadata", entry.get("dist-info-metadata"))),
                size=entry.get("size") if isinstance(entry.get("size"), int) else None,
            )
        )
    return ProjectPage(normalize(str(data.get("name", ""))), index, page_url, tuple(links))


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], list[str]]] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._open = []
            self.anchors.append((dict(attrs), self._open))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None


def parse_html_page(body: bytes, page_url: str, index: str, project: str) -> ProjectPage:
    """A PEP 503 HTML page (with the PEP 592/658/714 attributes)."""
    parser = _AnchorParser()
    parser.feed(body.decode("utf-8", errors="replace"))
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links = []
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, hashes = _fragment_hash(_absolute(base, href))
        filename = "".join(text).strip() or url.rstrip("/").rsplit("/", 1)[-1]
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        metadata_hashes: tuple[tuple[str, str], ...] | None = None
        if metadata is not None:
            algo, sep, digest = metadata.partition("=")
            metadata_hashes = ((algo.lower(), digest.lower()),) if sep else ()
        links.append(
            FileLink(
                filename=filename,
                url=url,
                index=index,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=(attrs["data-yanked"] or "") if "data-yanked" in attrs else None,
                metadata_hashes=metadata_hashes,
            )
        )
    return ProjectPage(normalize(project), index, page_url, tuple(links))


def parse_page(body: bytes, content_type: str, page_url: str, index: str, project: str) -> ProjectPage:
    """Dispatch on the content type; raises :class:`IndexGarbage` naming the page."""
    try:
        if content_type.split(";")[0].strip().lower() in (JSON_TYPE, "application/json"):
            page = parse_json_page(body, page_url, index)
            return ProjectPage(normalize(project), index, page_url, page.files)
        if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
            return parse_html_page(body, page_url, index, project)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexGarbage(f"{project}: {redact(page_url)} is not a simple-API page ({exc})") from None
    raise IndexGarbage(
        f"{project}: {redact(page_url)} answered with unexpected content type {content_type!r}"
    )


# --------------------------------------------------------------------------------------------------
# Credentials and caching


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or ''}"


@dataclass(frozen=True)
class Credentials:
    """Per-host credentials from index URLs, then from netrc."""

    by_host: Mapping[str, tuple[str, str]]
    netrc_path: Path | None

    @classmethod
    def gather(cls, urls: Iterable[str], environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        by_host = {}
        for url in urls:
            _, auth = strip_credentials(url)
            if auth:
                by_host[_host_key(url)] = auth
        netrc = Path(env["NETRC"]) if env.get("NETRC") else Path.home() / ".netrc"
        return cls(by_host, netrc if netrc.is_file() else None)

    def for_url(self, url: str) -> tuple[str, str] | None:
        found = self.by_host.get(_host_key(url))
        if found or self.netrc_path is None:
            return found
        import netrc

        try:
            entry = netrc.netrc(str(self.netrc_path)).authenticators(urlsplit(url).hostname or "")
        except (OSError, netrc.NetrcParseError):
            return None
        return (entry[0] or "", entry[2] or "") if entry else None


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    page_url: str = ""
    """Where the page was finally read from (after redirects): its relative links resolve against it."""
    fresh_until: float = 0.0
    """Until when the index lets the page be used without asking again (its ``max-age``)."""

    def fresh(self) -> bool:
        return time.time() < self.fresh_until


def fresh_until(headers: Mapping[str, str]) -> float:
    """The end of a response's freshness from ``Cache-Control: max-age`` less its ``Age`` (as
    installers read it: uv uses a page of the default index for 10 minutes without asking)."""
    directives = [part.strip().lower() for part in headers.get("Cache-Control", "").split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    max_age = next((d.removeprefix("max-age=") for d in directives if d.startswith("max-age=")), "")
    try:
        lifetime = int(max_age) - int(headers.get("Age", "0") or 0)
    except ValueError:
        return 0.0
    return time.time() + lifetime if lifetime > 0 else 0.0


@dataclass(frozen=True)
class HttpCache:
    """Index pages on disk, keyed by URL, revalidated with the validators the server gave."""

    root: Path

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        folder = self.root / "http" / key[:2]
        return folder / f"{key}.json", folder / f"{key}.body"

    def load(self, url: str) -> CachedResponse | None:
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text())
            return CachedResponse(
                body_path.read_bytes(),
                meta["content_type"],
                meta.get("etag"),
                meta.get("last_modified"),
                meta.get("page_url") or url,
                float(meta.get("fresh_until", 0.0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, url: str, entry: CachedResponse, *, body: bool = True) -> None:
        """Keep ``entry`` (``body=False``: only its validators and freshness, the body is on disk)."""
        if not (entry.etag or entry.last_modified or entry.fresh_until):
            return
        meta_path, body_path = self._paths(url)
        meta = {
            "url": redact(url),
            "content_type": entry.content_type,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "page_url": strip_credentials(entry.page_url)[0] if entry.page_url != url else "",
            "fresh_until": entry.fresh_until,
        }
        try:
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            if body:
                write_bytes_atomic(body_path, entry.body)
            write_bytes_atomic(meta_path, json.dumps(meta).encode())
        except OSError:
            pass  # a cache that cannot be written only costs speed

    def blob(self, digest: str) -> Path:
        """Where content-addressed small files (variants.json) live."""
        return self.root / "blobs" / digest[:2] / digest


# --------------------------------------------------------------------------------------------------
# The client


@dataclass
class SimpleClient:
    """Reads project pages and small files from the configured indexes.

    ``timeout`` bounds every network step (connect, read); ``concurrency`` bounds requests in flight.
    """

    settings: IndexSettings
    cache_dir: Path | None = field(default_factory=user_cache_dir)
    timeout: float = 30.0
    concurrency: int = 16
    environ: Mapping[str, str] | None = None
    _credentials: Credentials = field(init=False)
    _clean_urls: tuple[str, ...] = field(init=False)
    _private_hosts: frozenset[str] = field(init=False)
    _sync: httpx.Client | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _found: dict[str, tuple[FileLink, ...]] | None = field(default=None, init=False)
    """Find-links files by project, read on first use."""
    _found_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        locations = (*self.settings.urls, *(link.value for link in self.settings.find_links))
        self._credentials = Credentials.gather(locations, self.environ)
        self._clean_urls = tuple(local_url(strip_credentials(url)[0]) for url in self.settings.urls)
        self._private_hosts = self.settings.private_hosts()

    @property
    def cache(self) -> HttpCache | None:
        return HttpCache(self.cache_dir) if self.cache_dir else None

    def _auth(self, url: str) -> tuple[str, str] | None:
        return self._credentials.for_url(url)

    def installer_can_fetch(self, url: str) -> bool:
        """Whether an installer run without the user's settings can download ``url`` itself: an
        HTTP(S) URL that needs no credentials (from the index URLs or netrc), on a host that needs
        neither a trusted-host entry nor the user's CA bundle. A local file never is one."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        return (
            parts.scheme in ("http", "https")
            and self._auth(url) is None
            and not {host, f"{host}:{parts.port}"} & self._private_hosts
        )

    # -- pages -------------------------------------------------------------------------------------

    def _request_headers(self, cached: CachedResponse | None) -> dict[str, str]:
        headers = {"Accept": ACCEPT}
        if cached and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        return headers

    def _get(self, url: str, kind: str, failed: str, headers: Mapping[str, str] | None = None) -> Document:
        """``url`` read whole within ``kind``'s cap; failures raised with ``failed`` leading their words."""
        import httpx

        from .._http import TooLarge, get_document

        try:
            return get_document(
                self._sync_client(), local_url(url), kind, headers=headers, auth=self._auth(url)
            )
        except TooLarge as exc:
            raise IndexTooLarge(f"{failed}: {exc}") from None
        except httpx.HTTPError as exc:
            raise IndexUnavailable(f"{failed} ({error_text(exc)})") from None

    def _page_from_response(
        self, response: Document, cached: CachedResponse | None, index: str, project: str, url: str
    ) -> ProjectPage | None:
        if response.status_code == 404:
            return None
        if response.status_code == 304 and cached is not None:
            entry = replace(cached, fresh_until=fresh_until(response.headers))
        elif response.status_code == 200:
            entry = CachedResponse(
                response.body,
                response.headers.get("Content-Type", ""),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
                response.url,
                fresh_until(response.headers),
            )
        else:
            raise IndexUnavailable(f"{project}: {redact(url)} answered HTTP {response.status_code}")
        page = parse_page(entry.body, entry.content_type, entry.page_url, index, project)
        if self.cache:
            self.cache.store(url, entry, body=response.status_code == 200)
        return replace(page, fresh_until=entry.fresh_until)

    def _fetch_page(self, index: str, project: str) -> ProjectPage | None:
        url = f"{index.rstrip('/')}/{normalize(project)}/"  # a local folder answers with its page
        cached = self.cache.load(url) if self.cache else None
        if cached is not None and cached.fresh():
            page = parse_page(cached.body, cached.content_type, cached.page_url, redact(index), project)
            return replace(page, fresh_until=cached.fresh_until)
        failed = f"{project}: {redact(url)} did not answer"
        response = self._get(url, "page", failed, self._request_headers(cached))
        return self._page_from_response(response, cached, redact(index), project, url)

    def _answer(self, key: tuple[str, str]) -> ProjectPage | IndexProblem | None:
        """One index's answer for a project; a failure is kept: it matters only if no earlier index has it."""
        name, index = key
        try:
            return self._fetch_page(index, name)
        except IndexProblem as exc:
            return exc

    def projects(self, projects: Iterable[str]) -> dict[str, ProjectPage | None]:
        """Every project's page from the first index that knows it; all requests concurrent.

        Threads share the client's connection pool; without an event loop this works the same inside
        a kernel, whose loop is already running. A broken index is an error only for projects that no
        index before it answered for.
        """
        from concurrent.futures import ThreadPoolExecutor

        names = list(dict.fromkeys(normalize(p) for p in projects))
        keys = [(name, index) for name in names for index in self._clean_urls]
        if not keys:
            return {}
        workers = min(self.concurrency, len(keys))
        with ThreadPoolExecutor(workers, thread_name_prefix="pyvariant-index") as pool:
            by_key = dict(zip(keys, pool.map(self._answer, keys), strict=True))
        return {
            name: self._with_found_links(
                name, _first_page(by_key[(name, index)] for index in self._clean_urls)
            )
            for name in names
        }

    def project(self, name: str) -> ProjectPage | None:
        """One project's page from the first index that knows it, asking them in turn."""
        for index in self._clean_urls:
            page = self._fetch_page(index, name)
            if page is not None:
                return self._with_found_links(name, page)
        return self._with_found_links(name, None)

    # -- find-links --------------------------------------------------------------------------------

    def _with_found_links(self, name: str, page: ProjectPage | None) -> ProjectPage | None:
        """The page with the project's find-links files added (files it already lists stay its own)."""
        found = self._found_links(normalize(name)) if self.settings.find_links else ()
        if not found:
            return page
        if page is None:
            return ProjectPage(normalize(name), found[0].index, found[0].index, found)
        known = {link.filename for link in page.files}
        return replace(page, files=(*page.files, *(link for link in found if link.filename not in known)))

    def _found_links(self, project: str) -> tuple[FileLink, ...]:
        """``project``'s files in the find-links locations (each location is read once)."""
        with self._found_lock:
            if self._found is None:
                by_project: dict[str, list[FileLink]] = {}
                for location in self.settings.find_links:
                    for link in self._links_at(location.value):
                        name = project_of(link.filename)
                        if name is not None:
                            by_project.setdefault(name, []).append(link)
                self._found = {name: tuple(links) for name, links in by_project.items()}
            return self._found.get(project, ())

    def _links_at(self, location: str) -> tuple[FileLink, ...]:
        """The links of a find-links page, or of the files in a find-links folder. A location that
        does not exist lists nothing, as in pip; one that does not answer is an error."""
        url = local_url(strip_credentials(location)[0].rstrip("/"))
        failed = f"find-links {redact(location)} did not answer"
        response = self._get(url, "page", failed, {"Accept": "text/html"})
        if response.status_code == 404:
            return ()
        if response.status_code != 200:
            raise IndexUnavailable(f"find-links {redact(location)} answered HTTP {response.status_code}")
        return parse_html_page(response.body, response.url, redact(location), "").files

    # -- files -------------------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._sync is None:
                from .._http import client
                from .local import LocalFiles

                unverified = {
                    f"https://{host}": httpx.HTTPTransport(verify=False)
                    for host in self.settings.trusted_hosts
                }
                self._sync = client(
                    self.timeout, verify=self._verify(), mounts={"file://": LocalFiles(), **unverified}
                )
            return self._sync

    def _verify(self) -> ssl.SSLContext | bool:
        """The configured CA bundle (a file or a folder), else httpx's default."""
        cert = self.settings.cert
        if cert is None:
            return True
        import ssl

        path = Path(cert.value).expanduser()
        try:
            if path.is_dir():
                return ssl.create_default_context(capath=str(path))
            return ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise IndexUnavailable(f"the CA bundle {path} ({cert.origin}) cannot be read ({exc})") from None

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None

    def read(self, link: FileLink, project: str) -> bytes:
        """A small file (variants.json, core metadata), hash-checked, cached by its hash when the page
        gave one."""
        cache = self.cache
        blob = cache.blob(link.sha256) if cache and link.sha256 else None
        if blob is not None and blob.is_file():
            data = blob.read_bytes()
            if hashlib.sha256(data).hexdigest() == link.sha256:
                return data
        kind = "metadata" if link.filename.endswith(".metadata") else "variants"
        failed = f"{project}: {link.filename} from {redact(link.url)}"
        response = self._get(link.url, kind, failed)
        if response.status_code != 200:
            raise IndexUnavailable(f"{failed} answered HTTP {response.status_code}")
        data = response.body
        verify(link, project, hash_bytes(link, data))
        if blob is not None:
            with suppress(OSError):
                write_bytes_atomic(blob, data)
        return data

    def download(self, link: FileLink, project: str, dest: Path, on_chunk: OnChunk | None = None) -> None:
        """``link``'s file into ``dest``, hash-checked; within the size its page gave (else the cap
        for files), resumed with Range and retried while the index keeps sending (see
        :func:`.._http.download`). Raises :class:`IndexProblem`."""
        import httpx

        from .._http import TooLarge
        from .._http import download as fetch_to

        strongest = link.strongest_hash
        failed = f"{project}: {link.filename} from {redact(link.url)}"
        try:
            digest = fetch_to(
                self._sync_client(),
                local_url(link.url),
                dest,
                kind="file",
                size=link.size,
                algorithm=strongest[0] if strongest else None,
                auth=self._auth(link.url),
                on_chunk=on_chunk,
            )
        except TooLarge as exc:
            raise IndexTooLarge(f"{project}: {exc}") from None
        except httpx.HTTPStatusError as exc:
            raise IndexUnavailable(f"{failed} answered HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise IndexUnavailable(f"{failed} ({error_text(exc)})") from None
        verify(link, project, digest)


def _first_page(answers: Iterable[ProjectPage | IndexProblem | None]) -> ProjectPage | None:
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
        if answer is not None:
            return answer
    return None


def hash_bytes(link: FileLink, data: bytes) -> str | None:
    """The digest of ``data`` in the link's strongest algorithm (None when the link has no hash)."""
    strongest = link.strongest_hash
    return hashlib.new(strongest[0], data).hexdigest() if strongest else None


def verify(link: FileLink, project: str, digest: str | None) -> None:
    """Raise :class:`HashMismatch` when ``digest`` is not the link's promised hash."""
    strongest = link.strongest_hash
    if strongest and digest != strongest[1]:
        raise HashMismatch(
            f"{project}: {link.filename} from {redact(link.url)} has {strongest[0]} {digest}, "
            f"but {link.index} promised {strongest[1]}"
        )
