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

The view's address is the same from run to run (see :class:`ViewAddress`), and a file's URL names
its hash (and the variant claimed for it, see :func:`file_key`), not its place in one run:
installers key their caches by index URL, so a second install of the same files downloads nothing.
A per-run secret, sent as HTTP basic-auth credentials (which installers leave out of their cache
keys), keeps other local users out; it travels to the installer
by its environment, never on a command line.
"""

from __future__ import annotations

__all__ = ["IndexView", "PresentedFile", "PresentedProject", "ViewAddress", "metadata_link"]

import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from packaging.utils import canonicalize_name

from .client import SimpleClient
from .errors import HashMismatch
from .models import FileLink
from .pages import JSON_TYPE, Listed, html_page, json_page
from .spool import Spool

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ..variants.embedded import ExpectedVariant


@dataclass(frozen=True)
class PresentedFile:
    """An upstream file as the installer will see it: ``filename`` may drop the variant label."""

    filename: str
    link: FileLink
    expected: ExpectedVariant | None = None
    """For a variant wheel, what the index's ``variants.json`` says its label stands for: the spool
    hands it over only when the wheel's own ``variant.json`` says the same."""


@dataclass(frozen=True)
class PresentedProject:
    """What the view shows for one project, and the files an installer will most likely download."""

    name: str
    files: tuple[PresentedFile, ...]
    likely: tuple[PresentedFile, ...] = ()
    shared: bool = False
    """The page is the same for every host and target: no variants, no recipe route."""
    fresh_until: float = 0.0
    """Until when upstream lets its page be kept (see :func:`.cache.fresh_until`)."""


Selector = Callable[[str], PresentedProject | None]
"""Project name -> the files to present (None: the project is unknown, answer 404)."""


PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
"""A valid project name (PEP 508): anything else is answered 404 without asking upstream."""


@dataclass(frozen=True)
class ViewAddress:
    """Where the view listens: the same loopback port from run to run, kept in the cache folder.

    The port is drawn once per user (below the kernel's ephemeral range, so outgoing connections
    seldom hold it) and written to ``state_dir/view-port``. When it is taken (another install of
    this user is running, or another program holds it), the next few ports are tried in turn, so
    a second concurrent install also keeps a stable address; only when all are taken does the view
    take any free port for this run.
    """

    state_dir: Path | None
    tries: int = 8

    def preferred(self) -> int | None:
        if self.state_dir is None:
            return None
        path = self.state_dir / "view-port"
        try:
            port = int(path.read_text(encoding="ascii").strip())
            if 1024 <= port < 65536:
                return port
        except (OSError, ValueError):
            pass
        port = random.SystemRandom().randrange(20000, 32000)
        try:
            from .._atomic import write_text_atomic

            write_text_atomic(path, f"{port}\n")
        except OSError:
            pass  # an unwritable cache only costs the installer's cache hits
        return port

    def listen(self) -> socket.socket:
        """A listening loopback socket on the stable port, else on a free one."""
        first = self.preferred()
        ports = [first + step for step in range(self.tries) if first + step < 65536] if first else []
        for port in [*ports, 0]:
            try:
                return _listen(port)
            except OSError:
                if port == 0:
                    raise
        raise AssertionError("unreachable: port 0 either binds or raises")


def _listen(port: int) -> socket.socket:
    """A loopback socket on ``port``, listening: an installer may connect at once, and its
    connections wait in the backlog until the server takes them. The backlog is long for installers
    that open many connections at once (a short one drops the rest, and each waits a 1 s SYN retry)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # the last run's closed connections may linger in TIME_WAIT on the stable port
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


@dataclass
class PlainProjects:
    """Projects lately seen without variants on these indexes (no recipe routing them either): an
    installer that reads the indexes after the view may be left to read them itself.

    Kept per set of upstream indexes in the state folder, each verdict for ``lifetime`` seconds
    (the time PyPI lets installers keep a project page), so a project that gains variants is
    chosen for again soon after.
    """

    path: Path | None
    lifetime: float = 600.0
    _until: dict[str, float] = field(default_factory=dict)
    _changed: bool = False

    @classmethod
    def for_indexes(cls, state_dir: Path | None, urls: tuple[str, ...]) -> PlainProjects:
        digest = hashlib.sha256("\n".join(urls).encode()).hexdigest()[:16]
        return cls(state_dir / f"view-plain-{digest}.json" if state_dir is not None else None)

    def load(self) -> None:
        if self.path is None:
            return
        with suppress(OSError, ValueError, TypeError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            now = time.time()
            self._until = {str(k): float(v) for k, v in data.items() if float(v) > now}

    def known(self, project: str) -> bool:
        return self._until.get(project, 0.0) > time.time()

    def record(self, project: str) -> None:
        if not self.known(project):
            self._until[project] = time.time() + self.lifetime
            self._changed = True

    def save(self) -> None:
        """The verdicts still fresh when the run began, and this run's."""
        if self.path is None or not self._changed:
            return
        with suppress(OSError):
            from .._atomic import write_text_atomic

            write_text_atomic(self.path, json.dumps(self._until, sort_keys=True))


def file_key(presented: PresentedFile) -> str:
    """The part of a served file's URL that names it, the same in every run for the same file and
    the same claim: a plain file's sha256 (the URL's hash where the page gave none), so plain files
    share the installer's cache; for a variant wheel, a hash over that and the label and properties
    the index claims for it, so a changed claim is a new URL, which the installer fetches afresh
    and the wheel's own ``variant.json`` is checked against (a cached copy would skip the check)."""
    link = presented.link
    digest = link.sha256 or hashlib.sha256(link.url.encode()).hexdigest()
    expected = presented.expected
    if expected is None:
        return digest
    claim = [digest, expected.label, *sorted(str(p) for p in expected.properties)]
    return hashlib.sha256("\n".join(claim).encode()).hexdigest()


def _server(
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


@dataclass(eq=False)
class IndexView:
    """The loopback index; use as a context manager around the installer run.

    A running view is itself, not a value: two views are equal only when they are one (its
    address, secret and spool are its own, made by it, never passed in).

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
    state_dir: Path | None = None
    """Where the stable port is kept (:class:`ViewAddress`); None: any free port."""
    hand_through: Callable[[str], bool] | None = None
    """Set when the installer reads the upstream indexes itself after the view (uv's first-index
    order): a project for which this says yes and that has no variants is answered 404 (at once
    when it was seen so lately, see :class:`PlainProjects`), and the installer takes it from
    upstream, keyed in its cache by the upstream index as in a plain run, with its own client."""
    hand_through_on_sight: bool = True
    """Hand a project through as soon as its page shows no variants (an install: uv then caches it
    by upstream from the first run), not only when it was seen so in an earlier run (a plan, which
    shows the file it found for every project it read)."""
    handed_through: set[str] = field(default_factory=set, init=False)
    """The projects answered so."""
    problems: list[str] = field(default_factory=list, init=False)
    presented: dict[str, PresentedProject] = field(default_factory=dict, init=False)
    # The view's own state: made by the view, never given to it.
    _plain: PlainProjects = field(init=False, repr=False)
    _files: dict[str, tuple[str, PresentedFile]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _server: Future[ThreadingHTTPServer] | None = field(default=None, init=False, repr=False)
    """Made on the serving thread (see :func:`_server`)."""
    _port: int = field(default=0, init=False, repr=False)
    _secret: str = field(default_factory=lambda: secrets.token_urlsafe(18), init=False, repr=False)
    """The password every request must carry (basic auth)."""
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _spool: Spool = field(init=False, repr=False)
    _handed_before: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    """Files this address handed to an installer in earlier runs: it has them in its cache, so they
    are not read ahead (a request for one is still served, fetched then)."""
    _handed: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self._spool = Spool(self.client)
        self._plain = PlainProjects.for_indexes(self.state_dir, self.client.settings.urls)

    USER = "pyvariant"

    @property
    def url(self) -> str:
        """The view's index URL, without its secret (safe to show)."""
        if self._server is None:
            raise RuntimeError("the index view is not running")
        return f"http://127.0.0.1:{self._port}/simple"

    @property
    def auth(self) -> tuple[str, str]:
        """The credentials every request must carry."""
        return (self.USER, self._secret)

    @property
    def installer_url(self) -> str:
        """The index URL with its credentials, for the installer's environment (never a command line)."""
        return self.url.replace("http://", f"http://{self.USER}:{self._secret}@", 1)

    def authorized(self, header: str | None) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.USER}:{self._secret}".encode()).decode()
        return header is not None and hmac.compare_digest(header.encode(), expected.encode())

    def __enter__(self) -> IndexView:
        self._handed_before = frozenset(self._read_handed())
        self._plain.load()
        listener = ViewAddress(self.state_dir).listen()
        self._spool.open()  # after the last step that may fail: nothing to remove if one did
        self._port = listener.getsockname()[1]
        self._server = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(listener, self._server), name="pyvariant-view", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, listener: socket.socket, server: Future[ThreadingHTTPServer]) -> None:
        try:
            made = _server(listener, _handler(self), self.report)
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
        try:
            if self._server is not None:
                if self._server.exception() is None:  # a server that could not start has nothing to stop
                    server = self._server.result()
                    server.shutdown()
                    server.server_close()
                self._server = None
        finally:  # an interrupt while the server stops still removes the spool
            self._spool.close()
        self._write_handed()
        self._plain.save()

    _HANDED_FILE = "view-handed"
    _HANDED_KEPT = 20_000

    def _read_handed(self) -> list[str]:
        if self.state_dir is None:
            return []
        try:
            return (self.state_dir / self._HANDED_FILE).read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return []

    def _write_handed(self) -> None:
        """Remember this run's handed files (newest last, the oldest dropped past a bound)."""
        with self._lock:
            handed = sorted(self._handed)
        if self.state_dir is None or not handed:
            return
        kept = [key for key in self._read_handed() if key not in self._handed] + handed
        with suppress(OSError):
            from .._atomic import write_text_atomic

            write_text_atomic(
                self.state_dir / self._HANDED_FILE, "\n".join(kept[-self._HANDED_KEPT :]) + "\n"
            )

    # -- what the handler needs --------------------------------------------------------------------

    def hands_through(self, project: str) -> bool:
        """Whether this project is left to the installer's own reading of upstream."""
        return self.hand_through is not None and self.hand_through(project) and self._plain.known(project)

    def project(self, name: str) -> PresentedProject | None:
        """The presented project, selected once (None: unknown, not a valid project name, or
        handed through to the installer)."""
        if not PROJECT_NAME.fullmatch(name):
            return None
        key = canonicalize_name(name)
        with self._lock:
            known = self.presented.get(key)
        if known is not None:
            return known
        if self.hands_through(key):
            with self._lock:
                self.handed_through.add(key)
            return None
        selected = self.selector(key)
        if selected is None:
            return None
        if selected.shared and all(self.is_direct(f) for f in selected.files):
            self._plain.record(key)
            if self.hand_through_on_sight and self.hands_through(key):
                with self._lock:
                    self.handed_through.add(key)
                return None
        with self._lock:
            new = key not in self.presented
            if new:
                self.presented[key] = selected
                for presented in selected.files:
                    self._files.setdefault(file_key(presented), (key, presented))
            found = self.presented[key]
        if new and self.read_ahead:
            for presented in selected.likely:
                link = presented.link
                if not self.is_direct(presented):
                    if file_key(presented) not in self._handed_before:
                        self._spool.fetch(link, key, presented.expected).add_done_callback(self._follow)
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

    def keep_for(self, project: PresentedProject) -> int:
        """Seconds the installer may keep this page: only a shared page whose every file it fetches
        from upstream itself (a later view need not know the page to serve its files)."""
        remaining = int(project.fresh_until - time.time()) if project.shared else 0
        return remaining if remaining > 0 and all(self.is_direct(f) for f in project.files) else 0

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

    def file(self, key: str) -> tuple[str, PresentedFile] | None:
        with self._lock:
            return self._files.get(key)

    def local_copy(self, project: str, presented: PresentedFile) -> Path:
        """The file on local disk, hash-checked, a variant wheel's labels too (waits while it arrives)."""
        return self._spool.path(presented.link, project, presented.expected)

    def handed(self, presented: PresentedFile) -> None:
        """The installer received this file whole."""
        with self._lock:
            self._handed.add(file_key(presented))

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
    names: list[str] = []
    for text in headers.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or "extra" not in str(requirement.marker):
            names.append(canonicalize_name(requirement.name))
    return names


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
