"""Where /proc and /sys live.

Every read of the kernel's pseudo-filesystems goes through these roots so that a container with the
host's /proc mounted elsewhere can report the host, and tests can replay recorded machines
(``PYVARIANT_PROCFS`` / ``PYVARIANT_SYSFS``, like node_exporter's ``--path.procfs``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ._values import Record


class Roots(Record):
    """The filesystem roots a probe reads from (hashable: reports are cached per roots)."""

    procfs: Path = Path("/proc")
    sysfs: Path = Path("/sys")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Roots:
        env = os.environ if environ is None else environ
        return cls(
            procfs=Path(env.get("PYVARIANT_PROCFS") or "/proc"),
            sysfs=Path(env.get("PYVARIANT_SYSFS") or "/sys"),
        )

    def proc(self, *parts: str) -> Path:
        return self.procfs.joinpath(*parts)

    def sys(self, *parts: str) -> Path:
        return self.sysfs.joinpath(*parts)


def read_text(path: Path, limit: int = 4 << 20) -> str:
    """Read a small pseudo-file; raise OSError/ValueError for the caller's probe to record."""
    with open(path, "rb") as handle:
        data = handle.read(limit)
    return data.decode("utf-8", errors="replace")


def read_first_line(path: Path) -> str:
    return read_text(path, limit=65536).strip().splitlines()[0].strip() if path.exists() else ""
