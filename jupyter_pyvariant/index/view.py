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
keys), keeps other local users out; it travels to the installer by its environment, never on a
command line.
"""

from __future__ import annotations

__all__ = ["IndexView", "PresentedFile", "PresentedProject", "Selector", "file_key"]

import base64
import hashlib
import hmac
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from .address import ViewAddress
from .client import SimpleClient
from .dependencies import metadata_dependencies, wheel_dependencies
from .models import FileLink, metadata_link
from .plain import PlainProjects
from .spool import Spool

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

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
    """Made on the serving thread (see :func:`.serve.make_server`)."""
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
            from .serve import handler_for, make_server

            made = make_server(listener, handler_for(self), self.report)
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
