"""glibc's own verdict on the CPU level, to check ours against.

glibc (2.33+) picks ``glibc-hwcaps/x86-64-v3`` (or ``power10``, ``z15`` ...) library directories from
its own reading of the CPU, and ``ld.so --help`` prints which of them it considers supported. When
glibc and the kernel's flags disagree (masked by ``GLIBC_TUNABLES``, a hypervisor quirk, a kernel
that hides a flag) the user should know, because libraries and wheels will be chosen differently.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ._probe import Recorder
from ._values import Record, data_table, shaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PT_INTERP = 3
_SECTION = "Subdirectories of glibc-hwcaps directories"


class GlibcHwcaps(Record):
    """Levels glibc supports (best first), its best, whether it matches ours, and why not known."""

    supported: tuple[str, ...] = ()
    level: str | None = None
    agrees: bool | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class LoaderListing(Record):
    """The glibc-hwcaps subdirectories the loader knows, in priority order, and those it supports."""

    listed: tuple[str, ...]
    supported: tuple[str, ...]


def program_interpreter(executable: Path) -> str | None:
    """The ELF ``PT_INTERP`` path of ``executable`` (None for static or non-ELF files)."""
    with open(executable, "rb") as handle:
        header = handle.read(64)
        if header[:4] != b"\x7fELF" or len(header) < 64:
            return None
        wide = header[4] == 2
        order = "<" if header[5] == 1 else ">"
        if wide:
            (table_offset,) = struct.unpack_from(order + "Q", header, 0x20)
            entry_size, entries = struct.unpack_from(order + "HH", header, 0x36)
        else:
            (table_offset,) = struct.unpack_from(order + "I", header, 0x1C)
            entry_size, entries = struct.unpack_from(order + "HH", header, 0x2A)
        handle.seek(table_offset)
        table = handle.read(entry_size * entries)
        for index in range(entries):
            entry = table[index * entry_size : (index + 1) * entry_size]
            if (
                len(entry) < (56 if wide else 32)
                or struct.unpack_from(order + "I", entry, 0)[0] != _PT_INTERP
            ):
                continue
            if wide:
                (offset,), (size,) = (
                    struct.unpack_from(order + "Q", entry, 8),
                    struct.unpack_from(order + "Q", entry, 32),
                )
            else:
                (offset,), (size,) = (
                    struct.unpack_from(order + "I", entry, 4),
                    struct.unpack_from(order + "I", entry, 16),
                )
            handle.seek(offset)
            return handle.read(min(size, 4096)).rstrip(b"\0").decode("utf-8", errors="replace")
    return None


def find_loader(family: str, executable: str = sys.executable) -> Path | None:
    """The dynamic loader this Python runs under, else the architecture's usual glibc loader."""
    if executable:
        interpreter = program_interpreter(Path(executable))
        if interpreter and Path(interpreter).exists():
            return Path(interpreter)
    candidates: list[str] = data_table("cpu_levels.json")["glibc_loaders"].get(family, [])
    return next((Path(path) for path in candidates if Path(path).exists()), None)


def parse_loader_help(text: str) -> LoaderListing | None:
    """The glibc-hwcaps section of ``ld.so --help`` (None when the loader prints none: glibc < 2.33)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(_SECTION)), None)
    if start is None:
        return None
    listed: list[str] = []
    supported: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith(" ") or not line.strip():
            break
        name, _, status = line.strip().partition(" ")
        listed.append(name)
        if "supported" in status:
            supported.append(name)
    return LoaderListing(tuple(listed), tuple(supported))


def compare(listing: LoaderListing, our_level: str | None, environ: Mapping[str, str]) -> GlibcHwcaps:
    """glibc's best level against ours; a level below every glibc-hwcaps one agrees with "none"."""
    best = listing.supported[0] if listing.supported else None
    if not listing.listed:
        return GlibcHwcaps(reason="glibc defines no glibc-hwcaps levels for this architecture")
    if our_level is None:
        return GlibcHwcaps(listing.supported, best, None, "the CPU level is unknown, nothing to compare")
    agrees = best == our_level if best else our_level not in listing.listed
    if agrees:
        return GlibcHwcaps(listing.supported, best, True, None)
    reason = f"glibc selects {best or 'no glibc-hwcaps level'} while the kernel's flags give {our_level}"
    if environ.get("GLIBC_TUNABLES"):
        reason += "; GLIBC_TUNABLES is set and can mask CPU features from glibc"
    return GlibcHwcaps(listing.supported, best, False, reason)


def _loader_help(loader: Path, environ: Mapping[str, str], timeout_s: float) -> str:
    env = {"LC_ALL": "C"}
    if environ.get("GLIBC_TUNABLES"):
        env["GLIBC_TUNABLES"] = environ["GLIBC_TUNABLES"]  # the verdict this process's libraries get
    done = subprocess.run(
        [str(loader), "--help"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )
    return done.stdout.decode("utf-8", errors="replace")


def glibc_hwcaps(
    family: str,
    our_level: str | None,
    rec: Recorder,
    environ: Mapping[str, str] = os.environ,
    loader: Path | None = None,
    timeout_s: float = 2.0,
) -> GlibcHwcaps:
    """Ask the dynamic loader (``find_loader`` unless given): a few milliseconds, never past ``timeout_s``."""
    probe = "cpu.glibc_hwcaps"
    if loader is None:
        loader = rec.run(probe, "PT_INTERP of sys.executable", lambda: find_loader(family), None)
    if loader is None:
        reason = "no dynamic loader found (static interpreter or not a glibc system)"
        rec.note(probe, "dynamic loader", reason)
        return GlibcHwcaps(reason=reason)
    if "musl" in loader.name:
        reason = f"musl libc ({loader}) has no glibc-hwcaps"
        rec.note(probe, str(loader), reason)
        return GlibcHwcaps(reason=reason)
    found = loader
    output = rec.run(probe, f"{found} --help", lambda: _loader_help(found, environ, timeout_s), None)
    if output is None:
        return GlibcHwcaps(reason=f"{loader} --help failed (see diagnostics)")
    listing = parse_loader_help(output)
    if listing is None:
        reason = f"{loader} lists no glibc-hwcaps subdirectories (glibc older than 2.33)"
        rec.note(probe, str(loader), reason)
        return GlibcHwcaps(reason=reason)
    return compare(listing, our_level, environ)
