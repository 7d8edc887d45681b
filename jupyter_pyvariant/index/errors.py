"""The index wing's errors: every failure of an index, a page, a file or the user's index settings is
an :class:`IndexProblem` (a branch of :mod:`..errors`), whose message names the project, the URL and
the cause."""

from __future__ import annotations

__all__ = [
    "HashMismatch",
    "IndexGarbage",
    "IndexProblem",
    "IndexTooLarge",
    "IndexUnavailable",
    "SettingsError",
    "SpoolClosed",
]

from ..errors import IndexProblem


class IndexUnavailable(IndexProblem):
    """The index is down, slow, refused us, or answered with an HTTP error."""


class IndexGarbage(IndexProblem):
    """The index answered with something that is not a simple-API page."""


class IndexTooLarge(IndexProblem):
    """A page or file was larger than its cap or than the size its page gave (see :mod:`.._http`)."""


class HashMismatch(IndexProblem):
    """A file's bytes do not have the hash its index page promised."""


class SettingsError(IndexProblem):
    """A pip or uv configuration file cannot be read; the message names the file."""


class SpoolClosed(IndexProblem):
    """The spool was closed while a file was still arriving."""
