"""Where /proc and /sys live.

Every read of the kernel's pseudo-filesystems goes through these roots so that a container with the
host's /proc mounted elsewhere can report the host, and tests can replay recorded machines
(``PYVARIANT_PROCFS`` / ``PYVARIANT_SYSFS``, like node_exporter's ``--path.procfs``). Paths are plain
strings: pathlib (with urllib.parse and ipaddress behind it) would cost a report run from a terminal
a tenth of its time.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping

from ._values import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    StrPath = str | os.PathLike[str]


class Roots(Record):
    """The filesystem roots a probe reads from (hashable: reports are cached per roots)."""

    procfs: str
    sysfs: str

    def __init__(self, procfs: StrPath = "/proc", sysfs: StrPath = "/sys") -> None:
        super().__init__(os.path.normpath(procfs), os.path.normpath(sysfs))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Roots:
        env = os.environ if environ is None else environ
        return cls(env.get("PYVARIANT_PROCFS") or "/proc", env.get("PYVARIANT_SYSFS") or "/sys")

    @property
    def live(self) -> bool:
        """True when these are this machine's own /proc and /sys."""
        return self.procfs == "/proc"

    def proc(self, *parts: str) -> str:
        return os.path.join(self.procfs, *parts)

    def sys(self, *parts: str) -> str:
        return os.path.join(self.sysfs, *parts)


def read_text(path: StrPath, limit: int = 4 << 20) -> str:
    """Read at most ``limit`` bytes of a pseudo-file; raise OSError for the caller's probe to record.

    A replayed root can hold anything under a /proc name: a FIFO or a device would block a plain
    ``open`` or never end, so the file is opened non-blocking and read only if it is a regular file.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        chunks: list[bytes] = []
        size = 0
        while size < limit and (chunk := os.read(fd, min(limit - size, 1 << 16))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def read_first_line(path: StrPath) -> str:
    return read_text(path, limit=65536).strip().splitlines()[0].strip() if os.path.exists(path) else ""
