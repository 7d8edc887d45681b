"""Upstream files fetched ahead of the installer into a private temporary folder, several at once.

The view serves every file from here, so the installer's downloads come from local disk, and a file
is handed over only after its bytes matched the hash the index promised: a corrupt file never
reaches the installer at all. A dropped connection is resumed and retried the way every download is
(:func:`.._http.download`). The folder, and anything still arriving, goes away on :meth:`close`;
folders left by a process that was killed (so never closed) are removed by the next :meth:`open`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from .simple import FileLink, IndexProblem, SimpleClient

PREFIX = "pyvariant-spool-"
_OWNED = re.compile(re.escape(PREFIX) + r"(\d+)-")


class SpoolClosed(IndexProblem):
    """The spool was closed while a file was still arriving."""


@dataclass
class Spool:
    """Downloads upstream files on background threads (at most ``concurrency`` at a time).

    :meth:`fetch` starts a download (once per URL) and returns its future; :meth:`path` waits for it.
    """

    client: SimpleClient
    concurrency: int = 8
    _folder: Path | None = None
    _futures: dict[str, Future[Path]] = field(default_factory=dict)
    _gate: threading.Semaphore = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._gate = threading.Semaphore(self.concurrency)

    def open(self) -> None:
        """A fresh folder named for this process (after removing those of processes gone)."""
        _remove_orphans(Path(tempfile.gettempdir()))
        self._folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self._closed.clear()

    def close(self) -> None:
        """Stop downloads (each stops at its next chunk) and remove the folder with what it holds."""
        self._closed.set()
        with self._lock:
            folder, self._folder = self._folder, None
            self._futures.clear()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def fetch(self, link: FileLink, project: str) -> Future[Path]:
        """The download of ``link`` (started now unless it already was)."""
        with self._lock:
            if self._folder is None:
                raise SpoolClosed(f"{project}: {link.filename}: the index view is closed")
            future = self._futures.get(link.url)
            if future is None:
                future = self._futures[link.url] = Future()
                name = f"{hashlib.sha256(link.url.encode()).hexdigest()[:16]}-{link.filename}"
                thread = threading.Thread(
                    target=self._download,
                    args=(link, project, self._folder / name, future),
                    name=f"pyvariant-spool-{link.filename}",
                    daemon=True,  # a download stuck on a slow index never keeps the process alive
                )
                thread.start()
            return future

    def path(self, link: FileLink, project: str) -> Path:
        """The verified local copy of ``link``; raises what the download raised."""
        return self.fetch(link, project).result()

    def _download(self, link: FileLink, project: str, target: Path, future: Future[Path]) -> None:
        partial = target.with_name(f".{target.name}.part")

        def stop_if_closed(done: int, total: int | None) -> None:
            if self._closed.is_set():
                raise SpoolClosed(f"{project}: {link.filename}: the index view closed")

        try:
            with self._gate:
                self.client.download(link, project, partial, stop_if_closed)
                partial.replace(target)
            future.set_result(target)
        except BaseException as exc:  # the installer's request waiting on this future reports it
            partial.unlink(missing_ok=True)
            future.set_exception(exc)
        finally:
            if self._closed.is_set():  # closed while this file arrived: leave nothing behind
                shutil.rmtree(target.parent, ignore_errors=True)


def _remove_orphans(folder: Path) -> None:
    """Remove spool folders of this user whose process no longer runs (it was killed)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _OWNED.match(entry.name)
        try:
            if match is None or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            os.kill(int(match[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except (OSError, OverflowError):
            continue  # alive under another user, or unreadable: not ours to remove
