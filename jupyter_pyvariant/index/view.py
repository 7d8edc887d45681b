"""A variant-aware view of the upstream indexes, served on 127.0.0.1 while an installer runs.

Installers that know nothing of variants (pip, uv without its preview) then install the right build:
for each project the view asks a *selector* which files to show, under which names; the selector
keeps only the best-fit variant of each version and presents it under its base filename. Bytes and
hashes are the upstream ones: a renamed file is fetched into a private spool (:mod:`.spool`) and
handed over from local disk only after its hash matched, so a corrupt file never reaches the
installer. A file the installer may take as it is (its upstream name, an index without credentials)
is linked to its upstream URL instead: the installer downloads it directly and checks it against the
hash on the page, as it would on the plain index, and no byte of it passes through this process.
With ``read_ahead``, the file an installer will most likely take from a project is fetched as soon
as the project is selected (or, for a directly linked file, its PEP 658 metadata when the index
offers it), and the dependencies it names are selected and fetched in turn, concurrently: by the
time the installer asks for a file, it is usually on disk.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .simple import JSON_TYPE, FileLink, HashMismatch, SimpleClient, normalize
from .spool import Spool

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class PresentedFile:
    """An upstream file as the installer will see it: ``filename`` may drop the variant label."""

    filename: str
    link: FileLink


@dataclass(frozen=True)
class PresentedProject:
    """What the view shows for one project, and the files an installer will most likely download."""

    name: str
    files: tuple[PresentedFile, ...]
    likely: tuple[PresentedFile, ...] = ()


Selector = Callable[[str], PresentedProject | None]
"""Project name -> the files to present (None: the project is unknown, answer 404)."""


def _listen() -> socket.socket:
    """A loopback socket on a free port, listening: an installer may connect at once, and its
    connections wait in the backlog until the server takes them. The backlog is long for installers
    that open many connections at once (a short one drops the rest, and each waits a 1 s SYN retry)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def _server(listener: socket.socket, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """An HTTP server with a thread per request (daemon threads) on an already listening socket.

    ``http.server`` is imported here, on the serving thread: the installer starts meanwhile.
    """
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(listener.getsockname(), handler, bind_and_activate=False)
    server.socket.close()  # the unbound socket the constructor made; serve the listening one
    server.socket = listener
    return server


@dataclass
class IndexView:
    """The loopback index; use as a context manager around the installer run.

    ``problems`` collects what went wrong while serving (upstream down, hash mismatch, a selector
    error), each naming project, file and source, so the caller can report it after the installer
    fails. ``presented`` is the log of what each project looked like.
    """

    client: SimpleClient
    selector: Selector
    read_ahead: bool = False
    """Fetch each selected project's likely files at once (for installs; a dry run may need none)."""
    direct_links: bool = True
    """Link files the installer may take as they are to their upstream URL (see :meth:`is_direct`)."""
    problems: list[str] = field(default_factory=list)
    presented: dict[str, PresentedProject] = field(default_factory=dict)
    _files: list[tuple[str, PresentedFile]] = field(default_factory=list)
    _pages: dict[str, tuple[PresentedProject, list[int]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Future[ThreadingHTTPServer] | None = None
    """Made on the serving thread (see :func:`_server`)."""
    _port: int = 0
    _token: str = field(default_factory=lambda: secrets.token_hex(8))
    """In every URL: a later view on the same port never answers from an installer's cache of this one."""
    _thread: threading.Thread | None = None
    _spool: Spool = field(init=False)

    def __post_init__(self) -> None:
        self._spool = Spool(self.client)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the index view is not running")
        return f"http://127.0.0.1:{self._port}/{self._token}/simple"

    def __enter__(self) -> IndexView:
        self._spool.open()
        listener = _listen()
        self._port = listener.getsockname()[1]
        self._server = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(listener, self._server), name="pyvariant-view", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, listener: socket.socket, server: Future[ThreadingHTTPServer]) -> None:
        try:
            made = _server(listener, _handler(self))
        except Exception as exc:  # the installer's connections are refused; the caller learns why
            listener.close()
            self.report(f"the index view could not start: {exc}")
            server.set_exception(exc)
            return
        server.set_result(made)
        made.serve_forever(0.02)  # a short poll interval: shutdown() waits for the loop to notice

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            if self._server.exception() is None:  # a server that could not start has nothing to stop
                server = self._server.result()
                server.shutdown()
                server.server_close()
            self._server = None
        self._spool.close()

    # -- what the handler needs --------------------------------------------------------------------

    def project(self, name: str) -> tuple[PresentedProject, list[int]] | None:
        """The presented project (selected once) and the ids its files are served under."""
        key = normalize(name)
        with self._lock:
            known = self._pages.get(key)
        if known is not None:
            return known
        selected = self.selector(key)
        if selected is None:
            return None
        with self._lock:
            new = key not in self._pages
            if new:
                first = len(self._files)
                self._files.extend((key, presented) for presented in selected.files)
                self._pages[key] = (selected, list(range(first, len(self._files))))
                self.presented[key] = selected
            found = self._pages[key]
        if new and self.read_ahead:
            for presented in selected.likely:
                link = presented.link
                if not self.is_direct(presented):
                    self._spool.fetch(link, key).add_done_callback(self._follow)
                elif link.is_wheel and link.metadata_hashes is not None:
                    self._select_later(self._published_dependencies, link, key)
        return found

    def is_direct(self, presented: PresentedFile) -> bool:
        """Whether the installer may fetch this file from upstream itself: it is presented under its
        upstream name (only a renamed variant must be served from here) and the upstream needs no
        credentials (the installer, scrubbed of the user's settings, would not have them)."""
        link = presented.link
        return (
            self.direct_links
            and presented.filename == link.filename
            and self.client.installer_can_fetch(link.url)
        )

    def _follow(self, arrived: Future[Path]) -> None:
        """Read ahead the dependencies of a wheel that arrived, as the installer soon will."""
        if arrived.exception() is None and arrived.result().name.endswith(".whl"):
            self._select_later(wheel_dependencies, arrived.result())

    def _published_dependencies(self, link: FileLink, project: str) -> list[str]:
        return metadata_dependencies(self.client.read(metadata_link(link), project))

    def _select_later(self, dependencies: Callable[..., list[str]], *args: Any) -> None:
        """Select the projects ``dependencies(*args)`` names, on a thread of their own."""
        threading.Thread(
            target=self._read_ahead, args=(dependencies, *args), name="pyvariant-read-ahead", daemon=True
        ).start()

    def _read_ahead(self, dependencies: Callable[..., list[str]], *args: Any) -> None:
        """Only a guess: whatever goes wrong here is left for the installer's own request to meet."""
        with suppress(Exception):
            for name in dependencies(*args):
                with suppress(Exception):
                    self.project(name)

    def file(self, file_id: int) -> tuple[str, PresentedFile] | None:
        with self._lock:
            return self._files[file_id] if 0 <= file_id < len(self._files) else None

    def local_copy(self, project: str, presented: PresentedFile) -> Path:
        """The file on local disk, hash-checked (waits while it arrives)."""
        return self._spool.path(presented.link, project)

    def report(self, problem: str) -> None:
        with self._lock:
            if problem not in self.problems:
                self.problems.append(problem)


def metadata_link(link: FileLink) -> FileLink:
    """The PEP 658 metadata file of ``link``, with the hashes its page gave for it."""
    return FileLink(
        f"{link.filename}.metadata", f"{link.url}.metadata", link.index, link.metadata_hashes or ()
    )


def wheel_dependencies(wheel: Path) -> list[str]:
    """:func:`metadata_dependencies` of the wheel's own METADATA (none when it cannot be read)."""
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            member = next(
                m for m in archive.namelist() if m.count("/") == 1 and m.endswith(".dist-info/METADATA")
            )
            return metadata_dependencies(archive.read(member))
    except (OSError, zipfile.BadZipFile, StopIteration):
        return []


def metadata_dependencies(metadata: bytes) -> list[str]:
    """Projects a core metadata's ``Requires-Dist`` names unconditionally or for its environment
    (not extras)."""
    from email.parser import BytesHeaderParser

    from packaging.requirements import InvalidRequirement, Requirement

    headers = BytesHeaderParser().parsebytes(metadata)
    names = []
    for text in headers.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or "extra" not in str(requirement.marker):
            names.append(normalize(requirement.name))
    return names


def _href(view: IndexView, file_id: int, presented: PresentedFile) -> str:
    """Upstream for a file the installer may fetch itself, else this view's own (relative) URL."""
    return (
        presented.link.url
        if view.is_direct(presented)
        else f"../../files/{file_id}/{quote(presented.filename)}"
    )


def _json_page(view: IndexView, project: PresentedProject, ids: list[int]) -> bytes:
    files = []
    for file_id, presented in zip(ids, project.files, strict=True):
        link = presented.link
        entry: dict[str, Any] = {
            "filename": presented.filename,
            "url": _href(view, file_id, presented),
            "hashes": dict(link.hashes),
        }
        if link.requires_python:
            entry["requires-python"] = link.requires_python
        if link.yanked is not None:
            entry["yanked"] = link.yanked or True
        if link.metadata_hashes is not None:
            entry["core-metadata"] = dict(link.metadata_hashes) or True
        if link.size is not None:
            entry["size"] = link.size
        files.append(entry)
    return json.dumps({"meta": {"api-version": "1.1"}, "name": project.name, "files": files}).encode()


def _html_page(view: IndexView, project: PresentedProject, ids: list[int]) -> bytes:
    rows = []
    for file_id, presented in zip(ids, project.files, strict=True):
        link = presented.link
        href = _href(view, file_id, presented)
        if link.strongest_hash:
            href += "#{}={}".format(*link.strongest_hash)
        attrs = [f'href="{html.escape(href)}"']
        if link.requires_python:
            attrs.append(f'data-requires-python="{html.escape(link.requires_python)}"')
        if link.yanked is not None:
            attrs.append(f'data-yanked="{html.escape(link.yanked)}"')
        if link.metadata_hashes is not None:
            value = "=".join(link.metadata_hashes[0]) if link.metadata_hashes else "true"
            attrs.append(f'data-core-metadata="{html.escape(value)}"')
        rows.append(f"<a {' '.join(attrs)}>{html.escape(presented.filename)}</a><br>")
    body = "\n".join(rows)
    title = html.escape(project.name)
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n{body}\n</body></html>\n".encode()
    )


_IMMUTABLE = "max-age=3600, immutable"
"""A file URL carries the view's token and a file id: its bytes never change, so the installer's dry
run and real run may share one download."""
_FILE = re.compile(r"/(\w+)/files/(\d+)/([^/]+?)(\.metadata)?")
_PAGE = re.compile(r"/(\w+)/simple/([^/]+)/?")


def _handler(view: IndexView) -> type[BaseHTTPRequestHandler]:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes on a kept-alive connection: without this,
            # Nagle's algorithm meets the client's delayed ACK and every response waits ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            """The installer reports failures; the view's own log would only add noise."""

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            try:
                if (match := _PAGE.fullmatch(path)) and match.group(1) == view._token:
                    self._page(match.group(2))
                elif (match := _FILE.fullmatch(path)) and match.group(1) == view._token:
                    self._file(int(match.group(2)), bool(match.group(4)))
                else:
                    self._reply(404, b"not found")
            except (BrokenPipeError, ConnectionResetError):
                return  # the installer hung up
            except Exception as exc:  # a selector or upstream failure: tell the installer and the caller
                problem = str(exc)
                if isinstance(exc, HashMismatch):
                    problem += "; the file was not handed to the installer"
                view.report(problem)
                self._reply(502, problem.encode())

        def _page(self, name: str) -> None:
            found = view.project(name)
            if found is None:
                self._reply(404, f"{name}: no index lists this project".encode())
                return
            project, ids = found
            if JSON_TYPE in self.headers.get("Accept", ""):
                self._reply(200, _json_page(view, project, ids), JSON_TYPE)
            else:
                self._reply(200, _html_page(view, project, ids), "text/html; charset=utf-8")

        def _file(self, file_id: int, metadata: bool) -> None:
            found = view.file(file_id)
            if found is None:
                self._reply(404, b"unknown file")
                return
            project, presented = found
            link = presented.link
            if metadata:
                self._reply(200, view.client.read(metadata_link(link), project), "application/octet-stream")
                return
            self._send_file(project, presented)

        def do_HEAD(self) -> None:
            """Installers probe files before fetching (range support); answer without a body."""
            path = unquote(self.path.split("?", 1)[0])
            match = _FILE.fullmatch(path)
            if match is None or match.group(1) != view._token or view.file(int(match.group(2))) is None:
                self.do_GET()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Cache-Control", _IMMUTABLE)
            self.end_headers()

        def _send_file(self, project: str, presented: PresentedFile) -> None:
            path = view.local_copy(project, presented)
            with path.open("rb") as stream:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(os.fstat(stream.fileno()).st_size))
                self.send_header("Cache-Control", _IMMUTABLE)
                self.end_headers()
                self.connection.sendfile(stream)

    return Handler
