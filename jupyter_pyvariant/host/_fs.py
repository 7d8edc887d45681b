"""Where /proc and /sys live.

Every read of the kernel's pseudo-filesystems goes through these roots so that a container with the
host's /proc mounted elsewhere can report the host, and tests can replay recorded machines
(``PYVARIANT_PROCFS`` / ``PYVARIANT_SYSFS``, like node_exporter's ``--path.procfs``). Paths are plain
strings: pathlib (with urllib.parse and ipaddress behind it) would cost a report run from a terminal
a tenth of its time.
"""

from __future__ import annotations

import os
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
    """Read a small pseudo-file; raise OSError/ValueError for the caller's probe to record."""
    with open(path, "rb") as handle:
        data = handle.read(limit)
    return data.decode("utf-8", errors="replace")


def read_first_line(path: StrPath) -> str:
    return read_text(path, limit=65536).strip().splitlines()[0].strip() if os.path.exists(path) else ""
