"""A client for the simple repository API: project pages and small files from the user's indexes.

Pages of several indexes are fetched concurrently and revalidated against an on-disk cache
(:mod:`.cache`). The indexes, find-links, trusted hosts and CA bundle are the user's own
(:mod:`.settings`); ``file://`` indexes and find-links folders are read from disk (:mod:`.local`).
Credentials may sit in the index URL or in ``~/.netrc``; they are sent only to the host they belong
to and never appear in messages.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from .._atomic import write_bytes_atomic
from .._cache import user_cache_dir
from .._http import error_text, local_url, redact
from .cache import CachedResponse, HttpCache, fresh_until
from .errors import IndexProblem, IndexTooLarge, IndexUnavailable
from .models import FileLink, ProjectPage, hash_bytes, verify
from .names import host_key, project_of, strip_credentials
from .pages import ACCEPT, parse_html_page, parse_page

if TYPE_CHECKING:
    import ssl

    import httpx

    from .._http import Document, OnChunk
    from .settings import IndexSettings

__all__ = ["Credentials", "SimpleClient"]


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
                by_host[host_key(url)] = auth
        netrc = Path(env["NETRC"]) if env.get("NETRC") else Path.home() / ".netrc"
        return cls(by_host, netrc if netrc.is_file() else None)

    def for_url(self, url: str) -> tuple[str, str] | None:
        found = self.by_host.get(host_key(url))
        if found or self.netrc_path is None:
            return found
        import netrc

        try:
            entry = netrc.netrc(str(self.netrc_path)).authenticators(urlsplit(url).hostname or "")
        except (OSError, netrc.NetrcParseError):
            return None
        return (entry[0] or "", entry[2] or "") if entry else None


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
        url = f"{index.rstrip('/')}/{canonicalize_name(project)}/"  # a local folder answers with its page
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

        names = list(dict.fromkeys(canonicalize_name(p) for p in projects))
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
        found = self._found_links(canonicalize_name(name)) if self.settings.find_links else ()
        if not found:
            return page
        if page is None:
            return ProjectPage(canonicalize_name(name), found[0].index, found[0].index, found)
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
