"""The index view's HTTP side: its pages and files, answered on loopback to the installer.

Every request must carry the view's secret; a page lists each file under its presented name, linked
to upstream where the installer may fetch it itself, else to the view's own URL for it.
"""

from __future__ import annotations

__all__ = ["handler_for", "make_server"]

import os
import re
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .errors import HashMismatch
from .models import metadata_link
from .pages import JSON_TYPE, Listed, html_page, json_page
from .view import IndexView, PresentedFile, PresentedProject, file_key

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_server(
    listener: socket.socket, handler: type[BaseHTTPRequestHandler], report: Callable[[str], None]
) -> ThreadingHTTPServer:
    """An HTTP server with a thread per request (daemon threads) on an already listening socket.

    It prints nothing: a client that hangs up (the installer stopped, a probe closed early) is no
    fault, and anything else that escapes a request goes to ``report``, not to the user's output.
    ``http.server`` is imported here, on the serving thread: the installer starts meanwhile.
    """
    import sys
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            failure = sys.exc_info()[1]
            if not isinstance(failure, (ConnectionError, TimeoutError)):
                report(f"the index view failed to answer a request: {type(failure).__name__}: {failure}")

    server = Server(listener.getsockname(), handler, bind_and_activate=False)
    server.socket.close()  # the unbound socket the constructor made; serve the listening one
    server.socket = listener
    return server


def _href(view: IndexView, presented: PresentedFile) -> str:
    """Upstream for a file the installer may fetch itself, else this view's own (relative) URL."""
    return (
        presented.link.url
        if view.is_direct(presented)
        else f"../../files/{file_key(presented)}/{quote(presented.filename)}"
    )


def _listed(view: IndexView, project: PresentedProject) -> Iterator[Listed]:
    """The project's files as its page lists them: presented names, the view's URLs or upstream's."""
    return ((presented.filename, _href(view, presented), presented.link) for presented in project.files)


_IMMUTABLE = "max-age=31536000, immutable"
"""A file URL names the file's hash (and its claimed variant): its bytes never change, so the
installer keeps them from one run (a dry run, an earlier install) to the next."""
_FILE = re.compile(r"/files/([0-9a-f]{64})/([^/]+?)(\.metadata)?")
_PAGE = re.compile(r"/simple/([^/]+)/?")


def handler_for(view: IndexView) -> type[BaseHTTPRequestHandler]:
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

        def _reply(
            self,
            status: int,
            body: bytes,
            content_type: str = "text/plain; charset=utf-8",
            cache_control: str = "no-store",
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache_control)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _refused(self) -> bool:
            """Answer 401 to a request without the view's credentials (another local user)."""
            if view.authorized(self.headers.get("Authorization")):
                return False
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="pyvariant"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True

        def do_GET(self) -> None:
            if self._refused():
                return
            path = unquote(self.path.split("?", 1)[0])
            try:
                if match := _PAGE.fullmatch(path):
                    self._page(match.group(1))
                elif match := _FILE.fullmatch(path):
                    self._file(match.group(1), bool(match.group(3)))
                else:
                    self._reply(404, b"not found")
            except ConnectionError:
                return  # the installer hung up (a broken pipe, a reset, an abort)
            except Exception as exc:  # a selector or upstream failure: tell the installer and the caller
                problem = str(exc)
                if isinstance(exc, HashMismatch):
                    problem += "; the file was not handed to the installer"
                view.report(problem)
                self._reply(502, problem.encode())

        def _page(self, name: str) -> None:
            project = view.project(name)
            if project is None:
                self._reply(404, f"{name}: no index lists this project".encode())
                return
            keep = view.keep_for(project)
            cache_control = f"max-age={keep}" if keep else "no-store"
            if JSON_TYPE in self.headers.get("Accept", ""):
                self._reply(200, json_page(project.name, _listed(view, project)), JSON_TYPE, cache_control)
            else:
                page = html_page(project.name, _listed(view, project))
                self._reply(200, page, "text/html; charset=utf-8", cache_control)

        def _file(self, key: str, metadata: bool) -> None:
            found = view.file(key)
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
            if (
                match is None
                or view.file(match.group(1)) is None
                or not view.authorized(self.headers.get("Authorization"))
            ):
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
            view.handed(presented)

    return Handler
