"""A variant-aware view of the upstream indexes, served on 127.0.0.1 while an installer runs.

Installers that know nothing of variants (pip, uv without its preview) then install the right build:
for each project the view asks a *selector* which files to show, under which names; the selector
keeps only the best-fit variant of each version and presents it under its base filename. Bytes and
hashes are the upstream ones: files are streamed through, hashed on the way, and the last chunk is
held back until the hash is known, so a corrupt file never reaches the installer complete.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

from .simple import JSON_TYPE, FileLink, HashMismatch, SimpleClient, normalize, verify


@dataclass(frozen=True)
class PresentedFile:
    """An upstream file as the installer will see it: ``filename`` may drop the variant label."""

    filename: str
    link: FileLink


@dataclass(frozen=True)
class PresentedProject:
    """What the view shows for one project."""

    name: str
    files: tuple[PresentedFile, ...]


Selector = Callable[[str], PresentedProject | None]
"""Project name -> the files to present (None: the project is unknown, answer 404)."""


@dataclass
class IndexView:
    """The loopback index; use as a context manager around the installer run.

    ``problems`` collects what went wrong while serving (upstream down, hash mismatch, a selector
    error), each naming project, file and source, so the caller can report it after the installer
    fails. ``presented`` is the log of what each project looked like.
    """

    client: SimpleClient
    selector: Selector
    problems: list[str] = field(default_factory=list)
    presented: dict[str, PresentedProject] = field(default_factory=dict)
    _files: list[tuple[str, PresentedFile]] = field(default_factory=list)
    _pages: dict[str, tuple[PresentedProject, list[int]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _token: str = field(default_factory=lambda: secrets.token_hex(8))
    """In every URL: a later view on the same port never answers from an installer's cache of this one."""
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the index view is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self._token}/simple"

    def __enter__(self) -> IndexView:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="pyvariant-view", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

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
            if key not in self._pages:
                first = len(self._files)
                self._files.extend((key, presented) for presented in selected.files)
                self._pages[key] = (selected, list(range(first, len(self._files))))
                self.presented[key] = selected
            return self._pages[key]

    def file(self, file_id: int) -> tuple[str, PresentedFile] | None:
        with self._lock:
            return self._files[file_id] if 0 <= file_id < len(self._files) else None

    def report(self, problem: str) -> None:
        with self._lock:
            if problem not in self.problems:
                self.problems.append(problem)


def _json_page(project: PresentedProject, ids: list[int]) -> bytes:
    files = []
    for file_id, presented in zip(ids, project.files, strict=True):
        link = presented.link
        entry: dict[str, Any] = {
            "filename": presented.filename,
            "url": f"../../files/{file_id}/{quote(presented.filename)}",
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


def _html_page(project: PresentedProject, ids: list[int]) -> bytes:
    rows = []
    for file_id, presented in zip(ids, project.files, strict=True):
        link = presented.link
        href = f"../../files/{file_id}/{quote(presented.filename)}"
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
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        _started = False

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
            self._started = False  # one handler serves every request of a kept-alive connection
            try:
                if (match := _PAGE.fullmatch(path)) and match.group(1) == view._token:
                    self._page(match.group(2))
                elif (match := _FILE.fullmatch(path)) and match.group(1) == view._token:
                    self._file(int(match.group(2)), bool(match.group(4)))
                else:
                    self._reply(404, b"not found")
            except Exception as exc:  # a selector or upstream failure: tell the installer and the caller
                if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
                    return
                view.report(str(exc))
                if self._started:
                    self.close_connection = True  # a truncated body is all the installer may see
                else:
                    self._reply(502, str(exc).encode())

        def _page(self, name: str) -> None:
            found = view.project(name)
            if found is None:
                self._reply(404, f"{name}: no index lists this project".encode())
                return
            project, ids = found
            if JSON_TYPE in self.headers.get("Accept", ""):
                self._reply(200, _json_page(project, ids), JSON_TYPE)
            else:
                self._reply(200, _html_page(project, ids), "text/html; charset=utf-8")

        def _file(self, file_id: int, metadata: bool) -> None:
            found = view.file(file_id)
            if found is None:
                self._reply(404, b"unknown file")
                return
            project, presented = found
            link = presented.link
            if metadata:
                hashes = link.metadata_hashes or ()
                meta = FileLink(f"{link.filename}.metadata", f"{link.url}.metadata", link.index, hashes)
                self._reply(200, view.client.read(meta, project), "application/octet-stream")
                return
            self._stream(project, presented)

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

        def _stream(self, project: str, presented: PresentedFile) -> None:
            link = presented.link
            strongest = link.strongest_hash
            digest = hashlib.new(strongest[0]) if strongest else None
            with view.client.stream(link.url, project, link.filename) as response:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", _IMMUTABLE)
                self.end_headers()
                self._started = True
                held = b""
                for chunk in response.iter_bytes():
                    if digest is not None:
                        digest.update(chunk)
                    if held:
                        self._chunk(held)
                    held = chunk
            try:
                verify(link, project, digest.hexdigest() if digest else None)
            except HashMismatch as exc:
                view.report(f"{exc}; the file was not handed to the installer")
                self.close_connection = True
                return
            if held:
                self._chunk(held)
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    return Handler
