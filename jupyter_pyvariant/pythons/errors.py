"""What can go wrong while finding, fetching and storing interpreters, as exceptions a face can show.

Every message names the thing that was wrong (the URL, the file, the request) and what to do next;
callers catch :class:`PythonsError` (a branch of :mod:`..errors`) and show ``str(exc)``.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CatalogTimeout",
    "CatalogUnreachable",
    "ChecksumMismatch",
    "DownloadError",
    "IllegalInstruction",
    "NoMatchingBuild",
    "PythonsError",
    "SmokeTestFailed",
    "StoreError",
    "UnsafeArchive",
]

from ..errors import PythonsError


class CatalogError(PythonsError):
    """The release index could not be read (down, unparsable, no cached copy offline)."""


class CatalogUnreachable(CatalogError):
    """The catalog's server did not answer (no route, refused, DNS): the fault is upstream."""


class CatalogTimeout(CatalogUnreachable):
    """The catalog's server was reached but did not answer in time."""


class NoMatchingBuild(PythonsError):
    """No published build fits the request and the host; the message says what does exist."""


class DownloadError(PythonsError):
    """The archive could not be downloaded (mirror down, 404, too many dropped connections)."""


class ChecksumMismatch(DownloadError):
    """The downloaded bytes are not the file the catalog describes."""


class UnsafeArchive(PythonsError):
    """The archive holds an entry that would write outside its folder, or a device file."""


class SmokeTestFailed(PythonsError):
    """The new interpreter did not start or did not report what its name promised."""


class IllegalInstruction(SmokeTestFailed):
    """The interpreter died with SIGILL: the CPU lacks an instruction the build's level needs."""


class StoreError(PythonsError):
    """The managed store could not be written (read-only, full disk, locked by a dead process)."""
