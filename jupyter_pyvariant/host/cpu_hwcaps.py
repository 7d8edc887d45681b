"""glibc's own verdict on the CPU level, to check ours against.

glibc (2.33+) picks ``glibc-hwcaps/x86-64-v3`` (or ``power10``, ``z15`` ...) library directories from
its own reading of the CPU, and ``ld.so --help`` prints which of them it considers supported. When
glibc and the kernel's flags disagree (masked by ``GLIBC_TUNABLES``, a hypervisor quirk, a kernel
that hides a flag) the user should know, because libraries and wheels will be chosen differently.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping

from ._probe import Recorder
from ._values import Record, data_table, shaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    from ._fs import StrPath

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


def program_interpreter(executable: StrPath) -> str | None:
    """The ELF ``PT_INTERP`` path of ``executable`` (None for static or non-ELF files)."""
    with open(executable, "rb") as handle:
        header = handle.read(64)
        if header[:4] != b"\x7fELF" or len(header) < 64:
            return None
        wide = header[4] == 2
        order: Literal["little", "big"] = "little" if header[5] == 1 else "big"

        def number(data: bytes, offset: int, size: int) -> int:
            return int.from_bytes(data[offset : offset + size], order)

        word = 8 if wide else 4  # ELF64 addresses and offsets, else ELF32
        table_offset = number(header, 0x20 if wide else 0x1C, word)
        entry_size, entries = (number(header, at, 2) for at in ((0x36, 0x38) if wide else (0x2A, 0x2C)))
        handle.seek(table_offset)
        table = handle.read(entry_size * entries)
        for index in range(entries):
            entry = table[index * entry_size : (index + 1) * entry_size]
            if len(entry) < (56 if wide else 32) or number(entry, 0, 4) != _PT_INTERP:
                continue
            # p_offset and p_filesz
            offset, size = (number(entry, at, word) for at in ((8, 32) if wide else (4, 16)))
            handle.seek(offset)
            return handle.read(min(size, 4096)).rstrip(b"\0").decode("utf-8", errors="replace")
    return None


def find_loader(family: str, executable: str = sys.executable) -> str | None:
    """The dynamic loader this Python runs under, else the architecture's usual glibc loader."""
    if executable:
        interpreter = program_interpreter(executable)
        if interpreter and os.path.exists(interpreter):
            return interpreter
    candidates: list[str] = data_table("cpu_levels.json")["glibc_loaders"].get(family, [])
    return next((path for path in candidates if os.path.exists(path)), None)


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


class _LoaderRun:
    """``ld.so --help`` running with its output on a pipe.

    ``os.posix_spawn`` starts it without importing subprocess (a tenth of a terminal report), and
    starting it before the CPU is read lets the loader run while the report reads /proc.
    """

    __slots__ = ("_deadline", "_fd", "_pid")

    def __init__(self, loader: str, environ: Mapping[str, str], timeout_s: float) -> None:
        env = {"LC_ALL": "C"}
        if environ.get("GLIBC_TUNABLES"):
            env["GLIBC_TUNABLES"] = environ["GLIBC_TUNABLES"]  # the verdict this process's libraries get
        read_end, write_end = os.pipe()
        try:
            self._pid = os.posix_spawn(
                loader,
                [loader, "--help"],
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, write_end, 1),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self._fd, self._deadline = read_end, time.monotonic() + timeout_s

    def output(self) -> str:
        """Everything the loader printed; TimeoutError (the loader killed) past the deadline."""
        import select

        chunks: list[bytes] = []
        try:
            while True:
                left = self._deadline - time.monotonic()
                if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                    os.kill(self._pid, _SIGKILL)
                    raise TimeoutError("the loader gave no complete answer in time")
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            os.waitpid(self._pid, 0)
        return b"".join(chunks).decode("utf-8", errors="replace")


_SIGKILL = 9  # signal.SIGKILL, without importing signal for the one path that needs it


def ask_loader(
    family: str,
    rec: Recorder,
    environ: Mapping[str, str] = os.environ,
    loader: StrPath | None = None,
    timeout_s: float = 2.0,
) -> Callable[[str | None], GlibcHwcaps]:
    """Start asking the dynamic loader (``find_loader`` unless given); the verdict comes later.

    The returned function waits for the loader, at most ``timeout_s`` from now, and compares its
    answer with the level it is given; it must be called once, to reap the loader.
    """
    probe = "cpu.glibc_hwcaps"
    found = (
        os.fspath(loader)
        if loader
        else rec.run(probe, "PT_INTERP of sys.executable", lambda: find_loader(family), None)
    )
    if found is None:
        return _answer(
            rec, probe, "dynamic loader", "no dynamic loader found (static interpreter or not a glibc system)"
        )
    if "musl" in os.path.basename(found):
        return _answer(rec, probe, found, f"musl libc ({found}) has no glibc-hwcaps")
    source = f"{found} --help"
    running = rec.run(probe, source, lambda: _LoaderRun(found, environ, timeout_s), None)

    def verdict(our_level: str | None) -> GlibcHwcaps:
        output = None if running is None else rec.run(probe, source, running.output, None)
        if output is None:
            return GlibcHwcaps(reason=f"{found} --help failed (see diagnostics)")
        listing = parse_loader_help(output)
        if listing is None:
            reason = f"{found} lists no glibc-hwcaps subdirectories (glibc older than 2.33)"
            rec.note(probe, found, reason)
            return GlibcHwcaps(reason=reason)
        return compare(listing, our_level, environ)

    return verdict


def _answer(rec: Recorder, probe: str, source: str, reason: str) -> Callable[[str | None], GlibcHwcaps]:
    """A verdict known before asking: the loader cannot say anything."""
    rec.note(probe, source, reason)
    return lambda _level: GlibcHwcaps(reason=reason)


def glibc_hwcaps(
    family: str,
    our_level: str | None,
    rec: Recorder,
    environ: Mapping[str, str] = os.environ,
    loader: StrPath | None = None,
    timeout_s: float = 2.0,
) -> GlibcHwcaps:
    """Ask the dynamic loader and wait: a few milliseconds, never past ``timeout_s``."""
    return ask_loader(family, rec, environ, loader, timeout_s)(our_level)
