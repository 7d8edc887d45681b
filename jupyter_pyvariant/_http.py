"""The one HTTP setup under every wing: client, size caps, progress-counting retries, redaction.

Index pages, ``variants.json``, metadata, wheels, the interpreter catalog and its archives are all
read through here, so each is bounded the same way: a document is held in memory only up to its
kind's cap (:data:`CAPS`), a file is written to disk only up to the size its catalog or page gave
(or its kind's cap), both checked while the bytes arrive. A dropped download resumes with ``Range``
and is retried as long as each try brings bytes the last did not; a server that stops sending gives
up after one read timeout. URLs in every message lose their password (:func:`redact`). Each retry
is logged on :data:`RETRY_LOGGER` (with a :class:`Retry` as ``record.retry``), so a face can show
it as it happens without every caller passing a callback down.
"""

from __future__ import annotations

__all__ = [
    "RETRY_LOGGER",
    "Document",
    "OnChunk",
    "Retries",
    "TooLarge",
    "cap",
    "client",
    "describe",
    "describe_status",
    "download",
    "error_text",
    "get_document",
    "local_url",
    "redact",
    "unreachable",
]

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .errors import PyvariantError

if TYPE_CHECKING:
    import httpx

MiB = 1 << 20
CAPS: Mapping[str, int] = {
    "catalog": 256 * MiB,  # the release index of every python-build-standalone release
    "page": 128 * MiB,  # a project page (the largest nightly projects' pages are tens of MB)
    "variants": 16 * MiB,  # a variants.json
    "metadata": 16 * MiB,  # a wheel's PEP 658 core metadata
    "archive": 1024 * MiB,  # an interpreter archive whose size the catalog does not give
    "file": 8192 * MiB,  # a wheel or sdist whose size the page does not give
}
"""The most bytes read of each kind of response. ``PYVARIANT_HTTP_CAPS`` overrides any of them:
``page=1000000,file=5000000`` (bytes)."""
CAPS_ENV = "PYVARIANT_HTTP_CAPS"
MAX_REDIRECTS = 10
TIMEOUT_S = 30.0
USER_AGENT = "jupyter-pyvariant"
_DROPPED = ("ReadError", "RemoteProtocolError", "WriteError")
"""Transport failures after the server answered: worth another try."""
RETRY_LOGGER = "jupyter_pyvariant.http.retry"
_retry_log = logging.getLogger(RETRY_LOGGER)


class TooLarge(PyvariantError):
    """A response was bigger than its cap (or than the size it was promised to have)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size
        """The size declared, or the bytes read when the read stopped."""


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``, fit for messages, logs and lock files."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.password is not None else f"{parts.username}@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def local_url(url: str) -> str:
    """``file:///x`` as ``file://localhost/x``: httpx takes a URL without a host for a relative one."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc:
        return url
    return urlunsplit(("file", "localhost", parts.path, parts.query, ""))


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")


def redact_text(text: str) -> str:
    """Every ``scheme://user:password@`` in free text (an exception's words) with ``***`` for the
    password."""
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)


def cap(kind: str, environ: Mapping[str, str] | None = None) -> int:
    """The cap of ``kind`` (a key of :data:`CAPS`), as ``PYVARIANT_HTTP_CAPS`` may override it."""
    setting = (os.environ if environ is None else environ).get(CAPS_ENV, "")
    for item in setting.split(","):
        name, _, value = item.partition("=")
        if name.strip() == kind and value.strip().isdigit():
            return int(value)
    return CAPS[kind]


def client(timeout: float | httpx.Timeout = TIMEOUT_S, **options: Any) -> httpx.Client:
    """The project's client: its User-Agent, timeouts on every step, a bounded redirect chain
    (GitHub release assets redirect once), plus ``options`` (``verify``, ``mounts``)."""
    import httpx

    from ._version import __version__

    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": f"{USER_AGENT}/{__version__}"},
        **options,
    )


def _declared_size(response: httpx.Response, offset: int = 0) -> int | None:
    """The whole file's size as the response gives it (``Content-Range`` total, else the length)."""
    match = re.match(r"bytes \d+-\d+/(\d+)", response.headers.get("content-range", ""))
    if match:
        return int(match[1])
    length = response.headers.get("content-length", "")
    return offset + int(length) if length.isdigit() else None


def _too_large(url: str, size: int, limit: int, promised: bool) -> TooLarge:
    what = "the size its index or catalog gave" if promised else "the most read for such a file"
    return TooLarge(
        f"{redact(url)} is larger than {what} ({size:,} > {limit:,} bytes); nothing of it was kept", size
    )


@dataclass(frozen=True)
class Document:
    """A response read whole, within its cap (``body`` is empty unless the status is 200)."""

    status_code: int
    headers: Mapping[str, str]
    url: str
    body: bytes


def get_document(
    http: httpx.Client,
    url: str,
    kind: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    attempts: int = 3,
) -> Document:
    """GET ``url`` and read its body, at most ``cap(kind)`` bytes (after decoding, so a compressed
    bomb is stopped too). A connection dropped after the server answered is tried again; a timeout
    or a refused connection is raised at once. Raises :class:`TooLarge` or ``httpx.HTTPError``."""
    import httpx

    limit = cap(kind)
    for attempt in range(1, attempts + 1):
        try:
            with http.stream("GET", url, headers=headers, auth=auth) as response:
                body = _read_capped(response, limit) if response.status_code == 200 else b""
                return Document(response.status_code, response.headers, str(response.url), body)
        except httpx.TransportError as exc:
            if attempt == attempts or type(exc).__name__ not in _DROPPED:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = _declared_size(response)
    if declared is not None and declared > limit:
        raise _too_large(str(response.url), declared, limit, promised=False)
    chunks, total = [], 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise _too_large(str(response.url), total, limit, promised=False)
        chunks.append(chunk)
    return b"".join(chunks)


OnChunk = Callable[[int, "int | None"], None]
"""Called as on_chunk(done, total) after each chunk written; it may raise to stop the download."""


@dataclass(frozen=True)
class Retries:
    """How a download is retried: ``attempts`` tries in a row that bring no new byte (a try that
    does starts the count again), waiting ``backoff_s`` doubled after each of them."""

    attempts: int = 5
    backoff_s: float = 0.5


@dataclass(frozen=True)
class Retry:
    """A download about to be tried again: try ``attempt`` of ``attempts`` without new bytes (0: the
    last try brought some, so the count starts again), after ``reason``, in a person's words."""

    url: str
    attempt: int
    attempts: int
    reason: str
    have: int

    def message(self) -> str:
        if not self.attempt:
            return f"resuming the download after {self.reason}…"
        return f"retrying the download ({self.attempt + 1} of {self.attempts}) after {self.reason}…"


def _retry_reason(failure: httpx.HTTPError) -> str:
    import httpx

    if isinstance(failure, httpx.HTTPStatusError):
        status = failure.response.status_code
        return "the server asked to slow down" if status == 429 else f"a server error ({status})"
    if isinstance(failure, httpx.ConnectError):
        return "the server could not be reached"
    return "a dropped connection"


def download(
    http: httpx.Client,
    url: str,
    dest: Path,
    *,
    kind: str,
    size: int | None = None,
    algorithm: str | None = None,
    auth: tuple[str, str] | None = None,
    retries: Retries = Retries(),
    on_chunk: OnChunk | None = None,
) -> str | None:
    """Fetch ``url`` into ``dest``, resuming what ``dest`` already holds with ``Range``; returns the
    file's digest in ``algorithm`` (None without one).

    Bytes beyond ``size`` (when the index or catalog gave it), else beyond ``cap(kind)``, are never
    written: :class:`TooLarge` is raised and ``dest`` removed. A dropped connection is tried again
    while tries bring new bytes (see :class:`Retries`); a timeout that brought none, an HTTP error
    other than 429 or 5xx, or the last try's failure is raised (``httpx.HTTPError``).
    """
    import httpx

    limit = size if size is not None else cap(kind)
    misses, best = 0, _size_of(dest)
    while True:
        try:
            return _download_once(http, url, dest, limit, size is not None, algorithm, auth, on_chunk)
        except TooLarge:
            dest.unlink(missing_ok=True)
            raise
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code < 500 and exc.response.status_code != 429:
                raise
            failure: httpx.HTTPError = exc
        except httpx.TransportError as exc:
            failure = exc
        now = _size_of(dest)
        if now > best:
            misses, best = 0, now
        else:
            misses += 1
            if isinstance(failure, httpx.TimeoutException) or misses >= retries.attempts:
                raise failure
        retry = Retry(redact(url), misses, retries.attempts, _retry_reason(failure), now)
        _retry_log.info("%s", retry.message(), extra={"retry": retry})
        if misses:
            time.sleep(retries.backoff_s * 2 ** (misses - 1))


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _download_once(
    http: httpx.Client,
    url: str,
    dest: Path,
    limit: int,
    promised: bool,
    algorithm: str | None,
    auth: tuple[str, str] | None,
    on_chunk: OnChunk | None,
) -> str | None:
    """One request, resuming from what ``dest`` holds; the digest when the file is complete."""
    import hashlib

    import httpx

    have = _size_of(dest)
    # Identity encoding: the bytes on the wire are the file, so byte offsets mean the same on resume.
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    with http.stream("GET", url, headers=headers, auth=auth) as response:
        if response.status_code == 416 and have:
            return _digest_of(dest, algorithm)  # nothing left to send: the hash decides
        response.raise_for_status()
        match = re.match(r"bytes (\d+)-", response.headers.get("content-range", ""))
        resumed = response.status_code == 206 and match is not None and int(match[1]) == have
        done = have if resumed else 0
        total = _declared_size(response, done)
        if total is not None and total > limit:
            raise _too_large(url, total, limit, promised)
        digest = hashlib.new(algorithm) if algorithm else None
        if digest is not None and resumed:
            _hash_into(digest, dest)
        with dest.open("ab" if resumed else "wb") as out:
            for chunk in response.iter_raw():  # as it arrives: a dropped connection loses nothing received
                done += len(chunk)
                if done > limit:
                    raise _too_large(url, done, limit, promised)
                out.write(chunk)
                if digest is not None:
                    digest.update(chunk)
                if on_chunk:
                    on_chunk(done, total)
    if total is not None and done < total:
        raise httpx.ReadError("the connection closed before the whole file arrived")
    return digest.hexdigest() if digest is not None else None


def _hash_into(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(MiB):
            digest.update(chunk)


def _digest_of(path: Path, algorithm: str | None) -> str | None:
    if algorithm is None:
        return None
    import hashlib

    digest = hashlib.new(algorithm)
    _hash_into(digest, path)
    return digest.hexdigest()


def unreachable(exc: BaseException) -> bool:
    """True when the server did not answer at all (rather than answering with an error)."""
    import httpx

    return isinstance(exc, httpx.TransportError)


def describe_status(url: str, status: int) -> str:
    """``url: HTTP 404 Not Found (…)``, the words for an answer that is not the file."""
    from http import HTTPStatus

    try:
        reason = f" {HTTPStatus(status).phrase}"
    except ValueError:
        reason = ""
    hint = " (not on this server: check the mirror or catalog setting)" if status == 404 else ""
    return f"{redact(url)}: HTTP {status}{reason}{hint}"


def describe(exc: BaseException, url: str, *, way_out: str = "") -> str:
    """What went wrong with ``url``, in words a user can act on (``way_out`` when the server did
    not answer); passwords redacted."""
    import httpx

    shown = redact(url)
    host = urlsplit(shown).netloc or shown
    tail = f" {way_out}" if way_out else ""
    if isinstance(exc, httpx.HTTPStatusError):
        return describe_status(url, exc.response.status_code)
    if isinstance(exc, httpx.TooManyRedirects):
        return f"{shown} redirected more than {MAX_REDIRECTS} times (a redirect loop?); check the URL"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({redact_text(str(exc))}); is the server or mirror up?{tail}"
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer in time ({type(exc).__name__}).{tail}"
    if isinstance(exc, httpx.TransportError):
        return f"{host} did not answer ({error_text(exc)}).{tail}"
    return f"{shown}: {error_text(exc)}"


def error_text(exc: BaseException) -> str:
    """``ReadError: …``: the exception's kind and its redacted words."""
    text = redact_text(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
