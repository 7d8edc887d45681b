"""Write-then-rename, so that readers never see half a file."""

from __future__ import annotations

__all__ = ["write_bytes_atomic", "write_text_atomic"]

import os
import tempfile
from pathlib import Path


def _temporary(path: Path, shared: bool) -> tuple[int, str]:
    """An open new file beside ``path``: private (0600) unless ``shared``, then as ``open()`` makes
    files, with the user's umask (0644 under umask 022)."""
    if not shared:
        return tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def write_bytes_atomic(path: Path, data: bytes, *, create_parents: bool = True, shared: bool = False) -> None:
    """Replace ``path`` with ``data`` in one rename.

    ``create_parents=False`` for files the user named: a mistyped folder is an error, not a new tree.
    ``shared`` for files meant to be handed to others (locks, profiles); caches stay private.
    """
    if create_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary(path, shared)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, create_parents: bool = True, shared: bool = False) -> None:
    """:func:`write_bytes_atomic` of ``text`` in UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"), create_parents=create_parents, shared=shared)
