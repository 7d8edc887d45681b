"""Upstream files fetched ahead of the installer into a private temporary folder, several at once.

The view serves every file from here, so the installer's downloads come from local disk, and a file
is handed over only after its bytes matched the hash the index promised: a corrupt file never
reaches the installer at all. The folder, and anything still arriving, goes away on :meth:`close`.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from .simple import FileLink, IndexProblem, SimpleClient, verify


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
        self._folder = Path(tempfile.mkdtemp(prefix="pyvariant-spool-"))
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
        try:
            with self._gate:
                strongest = link.strongest_hash
                digest = hashlib.new(strongest[0]) if strongest else None
                with (
                    self.client.stream(link.url, project, link.filename) as response,
                    partial.open("wb") as out,
                ):
                    for chunk in response.iter_bytes():
                        if self._closed.is_set():
                            raise SpoolClosed(f"{project}: {link.filename}: the index view closed")
                        if digest is not None:
                            digest.update(chunk)
                        out.write(chunk)
                verify(link, project, digest.hexdigest() if digest else None)
                partial.replace(target)
            future.set_result(target)
        except BaseException as exc:  # the installer's request waiting on this future reports it
            partial.unlink(missing_ok=True)
            future.set_exception(exc)
        finally:
            if self._closed.is_set():  # closed while this file arrived: leave nothing behind
                shutil.rmtree(target.parent, ignore_errors=True)
