"""Upstream files fetched ahead of the installer into a private temporary folder, several at once.

The view serves every file from here, so the installer's downloads come from local disk, and a file
is handed over only after its bytes matched the hash the index promised, and a variant wheel only
after its own ``variant.json`` agreed with the index's ``variants.json`` about its label: a corrupt
or mislabelled file never reaches the installer at all. A dropped connection is resumed and retried
the way every download is (:func:`.._http.download`). The folder, and anything still arriving, goes
away on :meth:`close`; folders left by a process that was killed (so never closed) are removed by
the next :meth:`open` (see :mod:`.._scratch`).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .._http import redact
from .._scratch import process_folder
from .client import SimpleClient
from .errors import SpoolClosed
from .models import FileLink

if TYPE_CHECKING:
    from ..variants.embedded import ExpectedVariant

PREFIX = "pyvariant-spool-"


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
        self._folder = process_folder(PREFIX)
        self._closed.clear()

    def close(self) -> None:
        """Stop downloads (each stops at its next chunk) and remove the folder with what it holds."""
        self._closed.set()
        with self._lock:
            folder, self._folder = self._folder, None
            self._futures.clear()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def fetch(self, link: FileLink, project: str, expected: ExpectedVariant | None = None) -> Future[Path]:
        """The download of ``link`` (started now unless it already was); ``expected``: what the
        index says the wheel's label stands for, which its ``variant.json`` must say too."""
        with self._lock:
            if self._folder is None:
                raise SpoolClosed(f"{project}: {link.filename}: the index view is closed")
            future = self._futures.get(link.url)
            if future is None:
                future = self._futures[link.url] = Future()
                name = f"{hashlib.sha256(link.url.encode()).hexdigest()[:16]}-{link.filename}"
                thread = threading.Thread(
                    target=self._download,
                    args=(link, project, self._folder / name, future, expected),
                    name=f"pyvariant-spool-{link.filename}",
                    daemon=True,  # a download stuck on a slow index never keeps the process alive
                )
                thread.start()
            return future

    def path(self, link: FileLink, project: str, expected: ExpectedVariant | None = None) -> Path:
        """The verified local copy of ``link``; raises what the download (or its check) raised."""
        return self.fetch(link, project, expected).result()

    def _download(
        self,
        link: FileLink,
        project: str,
        target: Path,
        future: Future[Path],
        expected: ExpectedVariant | None,
    ) -> None:
        partial = target.with_name(f".{target.name}.part")

        def stop_if_closed(done: int, total: int | None) -> None:
            if self._closed.is_set():
                raise SpoolClosed(f"{project}: {link.filename}: the index view closed")

        try:
            with self._gate:
                self.client.download(link, project, partial, stop_if_closed)
                if expected is not None:
                    url = redact(link.url)
                    expected.check(
                        partial, package=project, filename=link.filename, url=url, index=link.index
                    )
                partial.replace(target)
            future.set_result(target)
        except BaseException as exc:  # the installer's request waiting on this future reports it
            partial.unlink(missing_ok=True)
            future.set_exception(exc)
        finally:
            if self._closed.is_set():  # closed while this file arrived: leave nothing behind
                shutil.rmtree(target.parent, ignore_errors=True)
