"""Temporary folders named for the process that made them, so that a killed process's are not kept.

A process killed with its folder open (no ``finally`` runs) leaves it behind; the folder's name
carries the process id, so the next run of any process removes folders of this user whose process
no longer runs, and never one of a process still running.
"""

from __future__ import annotations

__all__ = ["process_folder", "scratch_folder"]

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def process_folder(prefix: str) -> Path:
    """A fresh folder ``{prefix}{pid}-…`` in the temporary folder, after removing those of ``prefix``
    whose process is gone."""
    root = Path(tempfile.gettempdir())
    remove_orphans(root, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root))


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """:func:`process_folder`, removed with what it holds on leaving the block."""
    folder = process_folder(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_orphans(root: Path, prefix: str) -> None:
    """Remove the folders of ``prefix`` in ``root`` of this user whose process no longer runs."""
    owned = re.compile(re.escape(prefix) + r"(\d+)-")
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        match = owned.match(entry.name)
        try:
            if match is None or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            os.kill(int(match[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except (OSError, OverflowError):
            continue  # alive under another user, or unreadable: not ours to remove
